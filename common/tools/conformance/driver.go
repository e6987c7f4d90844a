// driver.go is what differs between the variants as seen from the outside:
// how one request line becomes one final answer.

package conformance

import (
	"bufio"
	"net"
	"testing"
)

// Driver carries out the protocol of one variant, raw.
type Driver struct {
	Name string // "v1", "v2", "v3"
	Pkg  string // the package to build, e.g. "osps/v1-relay"
	// Dial opens a dispatcher session (v2: from its listening port).
	// nil means a plain dial.
	Dial func(t testing.TB, addr string) (*Session, error)
	// Do sends one request line on s and returns the final answer.
	Do func(s *Session, line string) Outcome
	// Close releases what Dial made besides the connection (may be nil).
	Close func(s *Session)
	// Hold sends a request that keeps a worker busy for a while (the
	// "busy" check); it does not read the answer.
	Hold func(s *Session) error
	// HoldArgs are serve flags for the busy check's server (v3: a short
	// --ticket-ttl, so that a held worker comes back soon).
	HoldArgs []string
}

// Open opens a session with driver d; cleanup closes it.
func (d Driver) Open(t testing.TB, addr string) *Session {
	t.Helper()
	var s *Session
	var err error
	if d.Dial != nil {
		s, err = d.Dial(t, addr)
	} else {
		s, err = PlainDial(t, addr)
	}
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	t.Cleanup(func() {
		s.Close()
		if d.Close != nil {
			d.Close(s)
		}
	})
	return s
}

// PlainDial opens a TCP connection to addr.
func PlainDial(t testing.TB, addr string) (*Session, error) {
	c, err := net.DialTimeout("tcp", addr, IOTimeout)
	if err != nil {
		return nil, err
	}
	return &Session{T: t, Addr: addr, Conn: c, R: bufio.NewReaderSize(c, 64<<10)}, nil
}

// V1 is the relay: the answer comes on the session itself.
var V1 = Driver{
	Name: "v1",
	Pkg:  "osps/v1-relay",
	Do: func(s *Session, line string) Outcome {
		if err := s.Send(line); err != nil {
			return Outcome{Err: err}
		}
		return s.readReply(s.Conn, s.R, line)
	},
	// A 64 MiB answer that nobody reads: the dispatcher blocks on the
	// full socket, and its worker stays busy until the session closes.
	Hold: func(s *Session) error { return s.Send("requetetype2 67108864") },
}
