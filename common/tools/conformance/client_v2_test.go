// client_v2_test.go checks the v2 driver itself (V2, the raw client of the
// suites and of BenchmarkRespawn) against a fake dispatcher: a driver that
// loses step, or waits for nobody, turns a sound server into a flaky
// failure.

package conformance

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"osps/common/wire"
)

// proof is the second secret of every WAIT the fake dispatcher sends.
const proof = "fedcba9876543210fedcba9876543210"

// The two tests below check the conformance driver itself (V2,
// the raw client of BenchmarkRespawn and of the suites) against a fake
// dispatcher: a driver that loses step, or waits for nobody, turns a sound
// server into a flaky failure.

// TestDriverERRRightBehindWAIT: when the session's ERR comes right behind
// WAIT (with --watchdog, a kill -9 can race with the dispatcher handing
// out that very worker: its ping or its pong then fails at once), the
// driver stops waiting for a call-back at once, every time. It used to
// set its listener's deadline in the goroutine that accepts, which could
// run after the stop and undo it: 1 request in a few hundred then waited
// IOTimeout (20 s) for a call-back that never comes. The race cannot be
// forced from outside, so many such requests are made, all within the
// fake's single IOTimeout: a driver stuck once makes the fake give up, and
// the test fail, instead of passing late.
func TestDriverERRRightBehindWAIT(t *testing.T) {
	const ticket = "0123456789abcdef0123456789abcdef"
	const n = 2000
	answered := make(chan int, 1)
	addr := FakeDispatcher(t, func(sess net.Conn, r *bufio.Reader, _ string) {
		k := 0
		defer func() { answered <- k }()
		for {
			l, err := r.ReadString('\n')
			if err != nil {
				return
			}
			if l == "QUIT\n" {
				_, _ = io.WriteString(sess, "BYE\n")
				return
			}
			// One write: the driver has the ERR before it starts accepting.
			if _, err := io.WriteString(sess, "WAIT "+ticket+" "+proof+"\nERR worker-failed worker 0 died\n"); err != nil {
				return
			}
			k++
		}
	})
	s := V2.Open(t, addr)
	for i := range n {
		if o := V2.Do(s, "requetetype1"); o.Err != nil || o.Code != "worker-failed" {
			t.Fatalf("request %d: got %v, want ERR worker-failed", i+1, o)
		}
	}
	if err := s.Send("QUIT"); err != nil {
		t.Fatal(err)
	}
	if l, err := s.Line(); l != "BYE" || err != nil {
		t.Errorf("QUIT: got %q, %v; want BYE", l, err)
	}
	if k := <-answered; k != n {
		t.Errorf("the fake dispatcher answered %d requests, want %d", k, n)
	}
}

// TestDriverSkipsLateCallback: a request that ended with ERR before its
// worker got through (ERR timeout, then the worker is continued) leaves
// a late call-back with the old ticket in the listen queue. The next
// request on the same session must skip it and take its own call-back;
// the driver used to take the late one for a wrong HELLO and fail.
func TestDriverSkipsLateCallback(t *testing.T) {
	const t1, t2 = "11111111111111111111111111111111", "22222222222222222222222222222222"
	errc := make(chan error, 1)
	addr := FakeDispatcher(t, func(sess net.Conn, r *bufio.Reader, peer string) {
		errc <- func() error {
			if _, err := r.ReadString('\n'); err != nil {
				return err
			}
			_, _ = io.WriteString(sess, "WAIT "+t1+" "+proof+"\nERR timeout worker 0 did not finish the call-back\n")
			// The next request line comes once the driver is done with
			// the first: only then does the late worker get through.
			if _, err := r.ReadString('\n'); err != nil {
				return err
			}
			late, err := net.Dial("tcp", peer)
			if err != nil {
				return err
			}
			defer late.Close()
			if _, err := io.WriteString(late, "HELLO "+t1+"\n"); err != nil {
				return err
			}
			_, _ = io.WriteString(sess, "WAIT "+t2+" "+proof+"\n")
			c, err := net.Dial("tcp", peer) // queued behind the late one
			if err != nil {
				return err
			}
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(IOTimeout))
			_, _ = io.WriteString(c, "HELLO "+t2+"\n")
			cr := bufio.NewReader(c)
			if l, err := cr.ReadString('\n'); l != "HELLO "+V2BoundProof(otherEnd{c}, proof, t2)+"\n" {
				return fmt.Errorf("the call-back for %s got %q, %v; want HELLO <mac>", t2, l, err)
			}
			if l, err := cr.ReadString('\n'); l != "requetetype2 5\n" {
				return fmt.Errorf("the call-back for %s got %q, %v", t2, l, err)
			}
			payload := make([]byte, 5)
			wire.FillPattern(payload, 0)
			_, _ = c.Write(append([]byte("OK 5\n"), payload...))
			c.Close()
			_, _ = io.WriteString(sess, "DONE "+t2+"\n")
			return nil
		}()
	})
	s := V2.Open(t, addr)
	if o := V2.Do(s, "requetetype2 5"); o.Err != nil || o.Code != "timeout" {
		t.Fatalf("first request: got %v, want ERR timeout", o)
	}
	if o := V2.Do(s, "requetetype2 5"); o.Err != nil || o.Code != "" || o.N != 5 {
		t.Errorf("second request, after a late call-back of the first: got %v, want OK 5", o)
		s.Close() // the fake's call-back, still queued, is reset: it stops waiting
	}
	if err := <-errc; err != nil {
		t.Errorf("fake dispatcher: %v", err)
	}
}

// TestDriverKeepsStepAfterBadCallback: a call-back with a wrong HELLO
// fails the request, and the session's last word on it (ERR, which the
// dispatcher still sends) is read then, not left for the next request
// to take as its own first answer. The driver used to cut the session's
// read short instead: the next request then read the stale ERR.
func TestDriverKeepsStepAfterBadCallback(t *testing.T) {
	const bad, ticket = "ffffffffffffffffffffffffffffffff", "0123456789abcdef0123456789abcdef"
	const n = 200
	errc := make(chan error, 1)
	addr := FakeDispatcher(t, func(sess net.Conn, r *bufio.Reader, peer string) {
		errc <- func() error {
			for range n {
				if _, err := r.ReadString('\n'); err != nil {
					return err
				}
				_, _ = io.WriteString(sess, "WAIT "+ticket+" "+proof+"\n")
				c, err := net.Dial("tcp", peer)
				if err != nil {
					return err
				}
				_ = c.SetDeadline(time.Now().Add(IOTimeout))
				_, _ = io.WriteString(c, "HELLO "+bad+"\n")
				_, _ = io.ReadAll(c) // until the client closes it
				c.Close()
				_, _ = io.WriteString(sess, "ERR worker-failed the call-back failed\n")
			}
			if l, err := r.ReadString('\n'); l != "requetetype1\n" {
				return fmt.Errorf("last request: got %q, %v", l, err)
			}
			_, _ = io.WriteString(sess, "ERR busy last one\n")
			return nil
		}()
	})
	s := V2.Open(t, addr)
	for i := range n {
		o := V2.Do(s, "requetetype1")
		if o.Err == nil || !strings.Contains(o.Err.Error(), "HELLO "+bad) {
			t.Fatalf("request %d with a wrong HELLO: got %v, want a failure that says so", i+1, o)
		}
	}
	if o := V2.Do(s, "requetetype1"); o.Err != nil || o.Header != "ERR busy last one" {
		t.Errorf("the request after: got %v, want its own ERR busy", o)
	}
	if err := <-errc; err != nil {
		t.Errorf("fake dispatcher: %v", err)
	}
}

// otherEnd is a connection seen from its other end (the client's view
// of the fake worker's call-back).
type otherEnd struct{ net.Conn }

func (o otherEnd) LocalAddr() net.Addr  { return o.Conn.RemoteAddr() }
func (o otherEnd) RemoteAddr() net.Addr { return o.Conn.LocalAddr() }
