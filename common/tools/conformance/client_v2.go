// client_v2.go is v2's client written from the outside, raw: listen on a
// port P, dial the dispatcher from P, and for each request read WAIT
// <ticket> <proof>, accept the worker's call-back, check its HELLO, send
// HELLO <proof> and the line, read the answer there, then read DONE
// <ticket> on the session. It shares no code with v2's own client (its
// socket options are written here again on purpose).

package conformance

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// V2 is the call-back design, its client on 127.0.0.1.
var V2 = V2From("127.0.0.1")

// V2From is the V2 driver with the client's listener and session bound
// to the local address ip (e.g. "127.0.0.7": the worker must call back
// there, the address the dispatcher saw).
func V2From(ip string) Driver {
	return Driver{
		Name: "v2",
		Pkg:  "osps/v2-worker-calls-client",
		Dial: func(t testing.TB, addr string) (*Session, error) { return v2Dial(t, ip, addr) },
		Do:   v2Do,
		// A 64 MiB answer that nobody reads: the worker blocks on the full
		// call-back connection until the holder leaves (Session.Close).
		Hold: v2Hold,
	}
}

// v2State is what a v2 session holds besides its connection.
type v2State struct {
	ln      *net.TCPListener
	held    []net.Conn          // call-backs taken by Hold and never read
	tickets map[string]struct{} // every ticket a WAIT gave on this session
}

// v2Conn is a v2 session's connection: closing it is the client leaving,
// so it closes the call-back listener and every held call-back too.
type v2Conn struct {
	*net.TCPConn // CloseWrite too
	st           *v2State
}

func (c *v2Conn) Close() error {
	err := c.TCPConn.Close()
	c.st.ln.Close()
	for _, h := range c.st.held {
		h.Close()
	}
	return err
}

func v2Reuse(_, _ string, c syscall.RawConn) error {
	var serr error
	err := c.Control(func(fd uintptr) {
		if serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); serr == nil {
			serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
		}
	})
	if err != nil {
		return err
	}
	return serr
}

func v2Dial(t testing.TB, ip, addr string) (*Session, error) {
	ctx, cancel := context.WithTimeout(context.Background(), IOTimeout)
	defer cancel()
	lc := net.ListenConfig{Control: v2Reuse}
	l, err := lc.Listen(ctx, "tcp4", net.JoinHostPort(ip, "0"))
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", ip, err)
	}
	ln := l.(*net.TCPListener)
	d := net.Dialer{LocalAddr: ln.Addr(), Control: v2Reuse}
	c, err := d.DialContext(ctx, "tcp4", addr)
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("dial %s from %s: %w", addr, ln.Addr(), err)
	}
	st := &v2State{ln: ln, tickets: map[string]struct{}{}}
	return &Session{T: t, Addr: addr, Conn: &v2Conn{c.(*net.TCPConn), st}, R: bufio.NewReaderSize(c, 64<<10), Extra: st}, nil
}

// v2Wait sends line and reads the first answer on the session. It
// returns the ticket and proof of a WAIT, or the final Outcome of
// anything else.
func v2Wait(s *Session, line string) (ticket, proof string, o *Outcome) {
	if err := s.Send(line); err != nil {
		return "", "", &Outcome{Err: err}
	}
	h, err := s.Line()
	if err != nil {
		return "", "", &Outcome{Header: h, Err: err}
	}
	if code, ok := errCode(h); ok { // an immediate ERR replaces WAIT
		return "", "", &Outcome{Header: h, Code: code}
	}
	if strings.TrimSpace(line) == "STATS" {
		o := s.readAfterHeader(s.Conn, s.R, line, h)
		return "", "", &o
	}
	rest, ok := strings.CutPrefix(h, "WAIT ")
	t, p, ok2 := strings.Cut(rest, " ")
	if !ok || !ok2 || !isTicket(t) || !isTicket(p) {
		return "", "", &Outcome{Header: h, Err: fmt.Errorf("expected WAIT <32 hex digits> <32 hex digits> or ERR, got %q", h)}
	}
	s.Extra.(*v2State).tickets[t] = struct{}{}
	return t, p, nil
}

func isTicket(t string) bool {
	if len(t) != 32 {
		return false
	}
	for _, c := range t {
		if !strings.ContainsRune("0123456789abcdef", c) {
			return false
		}
	}
	return true
}

// v2Arm gives the session's listener its deadline for one call-back.
// It is called before v2Accept runs, never from v2Accept's goroutine:
// v2Do stops a wait by moving that deadline into the past, and a stop
// made before the accepting goroutine got to run must not be undone by
// it (that goroutine would then wait IOTimeout for a worker that is
// already dead, and v2Do with it).
func v2Arm(s *Session) {
	_ = s.Extra.(*v2State).ln.SetDeadline(time.Now().Add(IOTimeout))
}

// v2Accept accepts the worker's call-back for ticket and checks its
// HELLO line, until the listener's deadline (see v2Arm). A call-back
// with the ticket of an earlier request of this session is late, not
// wrong: that request ended with ERR before its worker got through (ERR
// timeout on a slow worker, or an ERR that stopped the accepting while
// the call-back sat in the listen queue). It is closed and the wait goes
// on. Any other first line is an error.
func v2Accept(s *Session, ticket string) (net.Conn, *bufio.Reader, error) {
	st := s.Extra.(*v2State)
	for {
		c, err := st.ln.Accept()
		if err != nil {
			return nil, nil, fmt.Errorf("no call-back on %s: %w", st.ln.Addr(), err)
		}
		r := bufio.NewReaderSize(c, 64<<10)
		h, err := readLine(c, r)
		if err == nil && h == "HELLO "+ticket {
			return c, r, nil
		}
		c.Close()
		if old, ok := strings.CutPrefix(h, "HELLO "); ok && err == nil {
			if _, earlier := st.tickets[old]; earlier {
				continue
			}
		}
		return nil, nil, fmt.Errorf("call-back from %s said %q (%v), want HELLO %s", c.RemoteAddr(), h, err, ticket)
	}
}

func v2Do(s *Session, line string) Outcome {
	ticket, proof, o := v2Wait(s, line)
	if o != nil {
		return *o
	}
	// The session's last word may come before any call-back (ERR: the
	// call-back could not be made), so it is read while we accept.
	last := make(chan Outcome, 1)
	go func() {
		h, err := s.Line()
		code, _ := errCode(h)
		last <- Outcome{Header: h, Code: code, Err: err}
	}()
	type callback struct {
		c   net.Conn
		r   *bufio.Reader
		err error
	}
	got := make(chan callback, 1)
	v2Arm(s) // here, before the goroutine starts: see v2Arm
	go func() {
		c, r, err := v2Accept(s, ticket)
		got <- callback{c, r, err}
	}()
	var cb callback
	select {
	case cb = <-got:
	case f := <-last:
		// The session spoke first: stop accepting. The accepting
		// goroutine then ends at once (see v2Arm).
		_ = s.Extra.(*v2State).ln.SetDeadline(time.Unix(1, 0))
		if cb = <-got; cb.c != nil {
			cb.c.Close()
		}
		switch {
		case cb.err != nil && !errors.Is(cb.err, os.ErrDeadlineExceeded):
			return badCallback(cb.err, f) // a wrong call-back came all the same
		case f.Err == nil && f.Code == "":
			f.Err = fmt.Errorf("after WAIT, the session said %q before any call-back", f.Header)
		}
		return f
	}
	if cb.err != nil {
		// The session's last word on this request still comes (the
		// worker's own deadlines bound it): read it, so that the next
		// request does not take it for its own first answer.
		return badCallback(cb.err, <-last)
	}
	if _, err := cb.c.Write([]byte("HELLO " + V2BoundProof(cb.c, proof, ticket) + "\n" + line + "\n")); err != nil {
		cb.c.Close()
		<-last
		return Outcome{Err: fmt.Errorf("send the request on the call-back: %w", err)}
	}
	o = new(Outcome)
	*o = s.readReply(cb.c, cb.r, line)
	cb.c.Close()
	f := <-last
	switch {
	case f.Err != nil:
		o.Err = fmt.Errorf("no DONE or ERR on the session after the call-back: %w", f.Err)
	case o.Err == nil && o.Code == "" && f.Header != "DONE "+ticket:
		o.Err = fmt.Errorf("the worker answered %q, then the session said %q, want DONE %s", o.Header, f.Header, ticket)
	case (o.Err != nil || o.Code != "") && f.Code == "":
		// The call-back failed: the session must say so with ERR.
		if o.Err == nil {
			o.Err = fmt.Errorf("the worker answered %q, then the session said %q, want ERR", o.Header, f.Header)
		}
	}
	return *o
}

// badCallback is the outcome of a request whose call-back failed (none
// in time, or a wrong HELLO), given f, the session's last word on it.
func badCallback(err error, f Outcome) Outcome {
	if f.Err != nil {
		f.Err = fmt.Errorf("%w; and no last word on the session: %v", err, f.Err)
	} else {
		f.Err = fmt.Errorf("%w; the session then said %q", err, f.Header)
	}
	return f
}

func v2Hold(s *Session) error {
	line := "requetetype2 " + strconv.Itoa(64<<20)
	ticket, proof, o := v2Wait(s, line)
	if o != nil {
		return fmt.Errorf("hold %q: %v", line, *o)
	}
	v2Arm(s)
	c, _, err := v2Accept(s, ticket)
	if err != nil {
		return fmt.Errorf("hold: %w", err)
	}
	st := s.Extra.(*v2State)
	st.held = append(st.held, c)
	if _, err := c.Write([]byte("HELLO " + V2BoundProof(c, proof, ticket) + "\n" + line + "\n")); err != nil {
		return fmt.Errorf("hold: send the request on the call-back: %w", err)
	}
	return nil
}
