// session.go talks the protocol with nothing but a socket: write a line,
// read a line, read exactly n bytes, as nc would.

package conformance

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"
)

// IOTimeout bounds every read and write of the harness: a server that
// does not answer fails the check, it never hangs the suite.
const IOTimeout = 20 * time.Second

// Session is one raw connection to a dispatcher.
type Session struct {
	T     testing.TB
	Addr  string // the dispatcher's host:port
	Conn  net.Conn
	R     *bufio.Reader
	Extra any // the driver's own state (v2: its call-back listener)
	// OnPayload, if set, is called once when the first payload bytes of
	// an answer arrive (to act in the middle of a transfer).
	OnPayload func()
	// OnAnswer, if set, is called once with the connection that carries
	// an answer, after its "OK <n>" line and before its payload is read
	// (the server is still writing it: the structure checks look at who
	// holds that connection).
	OnAnswer func(c net.Conn)
	// Pace, if set, is called after each read of a payload with the
	// bytes read so far; it may sleep (a slow reader), and an error
	// stops the reading. ReadSize, if positive, bounds each read.
	Pace     func(got int64) error
	ReadSize int
}

// Line reads one reply line, without its LF (and CR).
func (s *Session) Line() (string, error) {
	return readLine(s.Conn, s.R)
}

func readLine(c net.Conn, r *bufio.Reader) (string, error) {
	_ = c.SetReadDeadline(time.Now().Add(IOTimeout))
	l, err := r.ReadString('\n')
	if err != nil {
		return l, fmt.Errorf("read line (got %q): %w", l, err)
	}
	return strings.TrimSuffix(strings.TrimSuffix(l, "\n"), "\r"), nil
}

// Send writes line and an LF.
func (s *Session) Send(line string) error { return s.SendRaw([]byte(line + "\n")) }

// SendRaw writes b as it is.
func (s *Session) SendRaw(b []byte) error {
	_ = s.Conn.SetWriteDeadline(time.Now().Add(IOTimeout))
	_, err := s.Conn.Write(b)
	return err
}

// Close closes the connection.
func (s *Session) Close() { s.Conn.Close() }

// Outcome is the final answer to one request.
type Outcome struct {
	Header  string // "OK <n>" or the ERR line or whatever came
	Code    string // the ERR code, "" for OK
	N       int64  // payload bytes received
	Payload []byte // the payload when at most 1 MiB (not for requetetype2 checks)
	Err     error  // a protocol violation: short payload, bad bytes, no reply
}

// String is for test messages.
func (o Outcome) String() string {
	if o.Err != nil {
		return fmt.Sprintf("%q (error: %v)", o.Header, o.Err)
	}
	return fmt.Sprintf("%q (%d payload bytes)", o.Header, o.N)
}

// readReply reads an "OK <n>" + payload or an "ERR" line from r. For a
// requetetype2 request the payload is checked byte for byte as it comes.
// The answer is read from c and r, which are s's or another connection's
// (v2, v3: the worker's).
func (s *Session) readReply(c net.Conn, r *bufio.Reader, request string) Outcome {
	h, err := readLine(c, r)
	if err != nil {
		return Outcome{Header: h, Err: err}
	}
	return s.readAfterHeader(c, r, request, h)
}

func (s *Session) readAfterHeader(c net.Conn, r *bufio.Reader, request, h string) Outcome {
	o := Outcome{Header: h}
	if code, ok := errCode(h); ok {
		o.Code = code
		return o
	}
	nstr, ok := strings.CutPrefix(h, "OK ")
	n, err := strconv.ParseInt(nstr, 10, 64)
	if !ok || err != nil || n < 0 {
		o.Err = fmt.Errorf("expected OK <n> or ERR, got %q", h)
		return o
	}
	if s.OnAnswer != nil {
		s.OnAnswer(c)
		s.OnAnswer = nil
	}
	pattern := strings.HasPrefix(request, "requetetype2")
	buf := make([]byte, 256<<10)
	if s.ReadSize > 0 {
		buf = buf[:min(s.ReadSize, len(buf))]
	}
	var kept bytes.Buffer
	for o.N < n {
		_ = c.SetReadDeadline(time.Now().Add(IOTimeout))
		k, err := r.Read(buf[:min(int64(len(buf)), n-o.N)])
		if k > 0 && s.OnPayload != nil {
			s.OnPayload()
			s.OnPayload = nil
		}
		if pattern {
			for i := range k {
				if want := patternByte(o.N + int64(i)); buf[i] != want {
					o.Err = fmt.Errorf("payload byte %d is %#x, want %#x", o.N+int64(i), buf[i], want)
					return o
				}
			}
		}
		if n <= 1<<20 {
			kept.Write(buf[:k])
		}
		o.N += int64(k)
		if s.Pace != nil && o.N < n {
			if err := s.Pace(o.N); err != nil {
				o.Err = fmt.Errorf("reading stopped at byte %d of %d: %w", o.N, n, err)
				return o
			}
		}
		if err != nil && o.N < n {
			o.Err = fmt.Errorf("short payload: %d of %d bytes: %w", o.N, n, err)
			return o
		}
	}
	if n <= 1<<20 {
		o.Payload = kept.Bytes()
	}
	return o
}

func errCode(line string) (string, bool) {
	rest, ok := strings.CutPrefix(line, "ERR ")
	if !ok {
		return "", false
	}
	code, _, _ := strings.Cut(rest, " ")
	return code, true
}

// patternByte is docs/protocol.md's byte i ("The requetetype2 pattern"), written here again on purpose:
// the harness shares no code with the servers it checks.
func patternByte(i int64) byte {
	return byte(((uint64(i) * 2654435761) % (1 << 32)) >> 24)
}

// ExpectClosed reports whether the server closed the connection (EOF)
// within IOTimeout, with nothing more to read.
func ExpectClosed(c net.Conn, r *bufio.Reader) error {
	_ = c.SetReadDeadline(time.Now().Add(IOTimeout))
	b, err := r.ReadByte()
	if err == nil {
		rest, _ := r.Peek(r.Buffered())
		return fmt.Errorf("expected the connection closed, got %q", append([]byte{b}, rest...))
	}
	if err != io.EOF && !isReset(err) {
		return fmt.Errorf("expected EOF, got %w", err)
	}
	return nil
}

func isReset(err error) bool {
	return strings.Contains(err.Error(), "connection reset")
}
