// client_v3.go is v3's client written from the outside: a request line on
// the session is answered "GOTO <host> <port> <ticket> <key>"; the answer
// itself is fetched from that worker, over a second connection, with the
// ticket, once the worker has proved with the key that it is the one the
// dispatcher chose.

package conformance

import (
	"bufio"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"
)

// V3 is the client-calls-worker variant, driven raw.
var V3 = Driver{
	Name: "v3",
	Pkg:  "osps/v3-client-calls-worker",
	Do: func(s *Session, line string) Outcome {
		if err := s.Send(line); err != nil {
			return Outcome{Err: err}
		}
		h, err := s.Line()
		if err != nil {
			return Outcome{Header: h, Err: err}
		}
		g, ok := ParseGoto(h)
		if !ok {
			// ERR from the dispatcher, or a protocol violation (OK is
			// not a v3 answer to a request, but STATS is read here too).
			return s.readAfterHeader(s.Conn, s.R, line, h)
		}
		return s.FollowGoto(g, "HELLO "+g.Ticket+"\n"+line+"\n", line)
	},
	// A GOTO that is never followed: the worker waits for its client
	// until the ticket expires (HoldArgs: after 1s).
	Hold: func(s *Session) error {
		if err := s.Send("requetetype1"); err != nil {
			return err
		}
		h, err := s.Line()
		if err != nil {
			return err
		}
		if _, ok := ParseGoto(h); !ok {
			return fmt.Errorf("hold: expected GOTO, got %q", h)
		}
		return nil
	},
	HoldArgs: []string{"--ticket-ttl", "1s"},
}

// Goto is a parsed "GOTO <host> <port> <ticket> <key>" line.
type Goto struct {
	Host, Port, Ticket, Key string
}

// Addr is host:port, ready to dial.
func (g Goto) Addr() string { return net.JoinHostPort(g.Host, g.Port) }

// ParseGoto parses a GOTO line (docs/protocol.md, "What differs between the variants"). It checks only the
// shape; the checks decide what the values must be.
func ParseGoto(line string) (Goto, bool) {
	f := strings.Fields(line)
	if len(f) != 5 || f[0] != "GOTO" {
		return Goto{}, false
	}
	return Goto{Host: f[1], Port: f[2], Ticket: f[3], Key: f[4]}, true
}

// DialWorker opens a raw connection to the worker a GOTO names; the
// test's cleanup closes it.
func (s *Session) DialWorker(g Goto) (net.Conn, *bufio.Reader, error) {
	c, err := net.DialTimeout("tcp", g.Addr(), IOTimeout)
	if err != nil {
		return nil, nil, fmt.Errorf("dial worker %s: %w", g.Addr(), err)
	}
	s.T.Cleanup(func() { c.Close() })
	return c, bufio.NewReaderSize(c, 64<<10), nil
}

// FollowGoto dials the worker g names, demands its proof (Prove), then
// sends hello (the raw bytes: HELLO and the request line, or anything a
// check wants to try), and reads the final answer to request. After an
// answer, the worker must close: nothing may follow the payload. A worker
// that cannot prove itself gets nothing: the Outcome's Err says why.
func (s *Session) FollowGoto(g Goto, hello, request string) Outcome {
	c, r, err := s.DialWorker(g)
	if err != nil {
		return Outcome{Err: err}
	}
	defer c.Close()
	if err := Prove(c, r, g.Key); err != nil {
		return Outcome{Err: fmt.Errorf("worker %s: %w (hello not sent)", g.Addr(), err)}
	}
	_ = c.SetWriteDeadline(time.Now().Add(IOTimeout))
	if _, err := c.Write([]byte(hello)); err != nil {
		return Outcome{Err: fmt.Errorf("write to worker %s: %w", g.Addr(), err)}
	}
	o := s.readReply(c, r, request)
	if o.Err == nil {
		if err := ExpectClosed(c, r); err != nil {
			o.Err = fmt.Errorf("worker %s after its answer: %w", g.Addr(), err)
		}
	}
	return o
}

// ErrNoProof marks a worker that did not prove itself.
var ErrNoProof = errors.New("no valid proof")

// Prove sends "PROVE <nonce>" with a fresh nonce on c and checks the
// answer "PROOF <mac>": mac must be HMAC-SHA256(key, nonce) in lowercase
// hex, key and nonce as their ASCII hex text (docs/protocol.md), written
// here again on purpose, compared in constant time.
func Prove(c net.Conn, r *bufio.Reader, key string) error {
	var b [16]byte
	_, _ = rand.Read(b[:])
	nonce := hex.EncodeToString(b[:])
	_ = c.SetWriteDeadline(time.Now().Add(IOTimeout))
	if _, err := c.Write([]byte("PROVE " + nonce + "\n")); err != nil {
		return fmt.Errorf("write PROVE: %w", err)
	}
	l, err := readLine(c, r)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrNoProof, err)
	}
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte(nonce))
	want := "PROOF " + hex.EncodeToString(m.Sum(nil))
	if !hmac.Equal([]byte(l), []byte(want)) {
		return fmt.Errorf("%w: got %q", ErrNoProof, l)
	}
	return nil
}
