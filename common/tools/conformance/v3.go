// v3.go demonstrates v3 from the outside: a request line on the session
// is answered "GOTO <host> <port> <ticket>"; the answer itself is fetched
// from that worker, over a second connection, with the ticket.

package conformance

import (
	"bufio"
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

// Goto is a parsed "GOTO <host> <port> <ticket>" line.
type Goto struct {
	Host, Port, Ticket string
}

// Addr is host:port, ready to dial.
func (g Goto) Addr() string { return net.JoinHostPort(g.Host, g.Port) }

// ParseGoto parses a GOTO line (docs/protocol.md, "What differs between the variants"). It checks only the
// shape; the checks decide what the values must be.
func ParseGoto(line string) (Goto, bool) {
	f := strings.Fields(line)
	if len(f) != 4 || f[0] != "GOTO" {
		return Goto{}, false
	}
	return Goto{Host: f[1], Port: f[2], Ticket: f[3]}, true
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

// FollowGoto dials the worker g names, sends hello (the raw bytes: HELLO
// and the request line, or anything a check wants to try), and reads the
// final answer to request. After an answer, the worker must close: nothing
// may follow the payload.
func (s *Session) FollowGoto(g Goto, hello, request string) Outcome {
	c, r, err := s.DialWorker(g)
	if err != nil {
		return Outcome{Err: err}
	}
	defer c.Close()
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
