// callback_test.go checks the call-back from both ends: the worker calls
// the address the dispatcher saw, a client that stops listening or leaves
// after WAIT keeps no worker, the worker serves only the checked request,
// and the client refuses a wrong ticket and believes the session.

package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"osps/common/client"
	"osps/common/tools/conformance"
	"osps/common/wire"
)

// proof is the second secret of every WAIT a fake dispatcher sends.
const proof = "fedcba9876543210fedcba9876543210"

// TestCallBackToSessionAddress: the client's session comes from
// 127.0.0.7 while the dispatcher listens on 127.0.0.1. The worker must
// call back 127.0.0.7, the peer the dispatcher's socket saw: its
// listener is there and nowhere else.
func TestCallBackToSessionAddress(t *testing.T) {
	srv := conformance.Start(t, bin, "--workers", "2", "--trace")
	d := conformance.V2From("127.0.0.7")
	s := d.Open(t, srv.Addr)
	for _, line := range []string{"requetetype1", "requetetype2 100000", "requetetype2 0"} {
		if o := d.Do(s, line); o.Err != nil || o.Code != "" {
			t.Fatalf("%q from 127.0.0.7: %v", line, o)
		}
	}
	if !strings.Contains(srv.Log(), "call-back address 127.0.0.7:") {
		t.Errorf("the dispatcher's trace does not show a call-back to 127.0.0.7:\n%s", srv.Log())
	}
	// v2's own client, bound to 127.0.0.7 too.
	c := &client.Client{Server: srv.Addr, Timeout: conformance.IOTimeout, V: variant(netip.MustParseAddr("127.0.0.7"))}
	var out strings.Builder
	failed, err := c.Session(&out, []string{"requetetype1", "requetetype2 70000"})
	if err != nil || failed != 0 {
		t.Fatalf("client bound to 127.0.0.7: %d failed, %v\n%s", failed, err, out.String())
	}
	if !strings.Contains(out.String(), "requetetype2 70000: OK 70000 bytes") {
		t.Errorf("client output:\n%s", out.String())
	}
}

// TestClientStoppedListening: a client that sent a request and no longer
// listens (closed listener: refused; open but never accepting: silent)
// gets ERR on its session within the call-back timeout, far below the
// request timeout, and the worker is idle again.
func TestClientStoppedListening(t *testing.T) {
	srv := conformance.Start(t, bin, "--workers", "1", "--callback-timeout", "1s", "--request-timeout", "60s")
	for _, tc := range []struct {
		name  string
		close bool
		code  string
	}{
		{"listener closed", true, "worker-failed"},
		{"listener never accepts", false, "timeout"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := dialRaw(t, "127.0.0.1", srv.Addr)
			if tc.close {
				c.ln.Close()
			}
			c.wait("requetetype2 1000")
			// Read within IOTimeout (20s): only the 1s call-back bound can
			// answer in time; the 60s request timeout cannot.
			l := c.line()
			if !strings.HasPrefix(l, "ERR "+tc.code+" ") {
				t.Fatalf("after WAIT, the session said %q, want ERR %s", l, tc.code)
			}
			// The session goes on, and its worker is idle again (asked on
			// this session, which the dispatcher serves in order).
			if st := c.stats(); !strings.HasPrefix(st, "worker=0 ") || !strings.Contains(st, " state=idle ") {
				t.Errorf("STATS after the failed call-back: %q, want worker 0 idle", st)
			}
		})
	}
}

// TestSessionClosedAfterWait: a client that leaves right after WAIT
// (keeping or closing its listener, or even taking the call-back) must
// not keep the only worker: a request queued behind it is served long
// before the request timeout (60s) would free it.
func TestSessionClosedAfterWait(t *testing.T) {
	srv := conformance.Start(t, bin, "--workers", "1", "--callback-timeout", "1s",
		"--request-timeout", "60s", "--queue-timeout", "15s")
	for _, how := range []string{"listener kept, never accepts", "listener closed too", "call-back taken, answer read"} {
		t.Run(how, func(t *testing.T) {
			c := dialRaw(t, "127.0.0.1", srv.Addr)
			ticket := c.wait("requetetype2 300000")
			c.conn.Close()
			switch how {
			case "listener closed too":
				c.ln.Close()
			case "call-back taken, answer read":
				conn, r := c.accept(ticket)
				c.request(conn, "requetetype2 300000")
				if h := readLineOn(t, conn, r); h != "OK 300000" {
					t.Fatalf("worker answered %q", h)
				}
				if n, err := io.Copy(io.Discard, r); n != 300000 || err != nil {
					t.Fatalf("payload: %d bytes, %v", n, err)
				}
			}
			s := conformance.V2.Open(t, srv.Addr)
			if o := conformance.V2.Do(s, "requetetype1"); o.Err != nil || o.Code != "" {
				t.Fatalf("the next client: %v (the worker stayed with the client that left)", o)
			}
		})
	}
}

// TestWorkerServesTheCheckedRequest: the line sent on the call-back must
// be the one the dispatcher checked; another one gets ERR bad-request
// from the worker, and ERR on the session. A line the dispatcher would
// refuse (over --max-bytes) never gets served this way.
func TestWorkerServesTheCheckedRequest(t *testing.T) {
	srv := conformance.Start(t, bin, "--workers", "1", "--max-bytes", "1000")
	c := dialRaw(t, "127.0.0.1", srv.Addr)
	ticket := c.wait("requetetype2 10")
	conn, r := c.accept(ticket)
	c.request(conn, "requetetype2 100000")
	if h := readLineOn(t, conn, r); !strings.HasPrefix(h, "ERR bad-request ") {
		t.Errorf("worker answered %q to another request line, want ERR bad-request", h)
	}
	if l := c.line(); !strings.HasPrefix(l, "ERR bad-request ") {
		t.Errorf("session said %q, want ERR bad-request", l)
	}
	// Same request, other spelling: fine.
	ticket = c.wait("requetetype2 10")
	conn, r = c.accept(ticket)
	c.request(conn, "  requetetype2   10 \r")
	if h := readLineOn(t, conn, r); h != "OK 10" {
		t.Errorf("worker answered %q, want OK 10", h)
	}
	if l := c.line(); l != "DONE "+ticket {
		t.Errorf("session said %q, want DONE %s", l, ticket)
	}
}

// TestClientRefusesWrongTicket: call-backs with a wrong or malformed
// HELLO are closed without a word, and the client keeps waiting for the
// right one.
func TestClientRefusesWrongTicket(t *testing.T) {
	const ticket = "0123456789abcdef0123456789abcdef"
	refused := make(chan string, 2)
	addr := conformance.FakeDispatcher(t, func(sess net.Conn, r *bufio.Reader, peer string) {
		if l, _ := r.ReadString('\n'); l != "requetetype2 5\n" {
			refused <- fmt.Sprintf("session line %q", l)
			return
		}
		_, _ = io.WriteString(sess, "WAIT "+ticket+" "+proof+"\n")
		for _, hello := range []string{"HELLO ffffffffffffffffffffffffffffffff\n", "hello " + ticket + "\n"} {
			c, err := net.Dial("tcp", peer)
			if err != nil {
				refused <- err.Error()
				return
			}
			_, _ = io.WriteString(c, hello)
			_ = c.SetReadDeadline(time.Now().Add(conformance.IOTimeout))
			b, err := io.ReadAll(c) // the client closes it, saying nothing
			c.Close()
			refused <- fmt.Sprintf("%q %v", b, err)
		}
		c, err := net.Dial("tcp", peer)
		if err != nil {
			return
		}
		defer c.Close()
		_, _ = io.WriteString(c, "HELLO "+ticket+"\n")
		cr := bufio.NewReader(c)
		if l, _ := cr.ReadString('\n'); l != "HELLO "+conformance.V2BoundProof(swap{c}, proof, ticket)+"\n" {
			refused <- fmt.Sprintf("the client's proof: %q", l)
			return
		}
		if l, _ := cr.ReadString('\n'); l == "requetetype2 5\n" {
			payload := make([]byte, 5)
			wire.FillPattern(payload, 0)
			_, _ = c.Write(append([]byte("OK 5\n"), payload...))
		}
		c.Close()
		_, _ = io.WriteString(sess, "DONE "+ticket+"\n")
		_, _ = r.ReadString('\n') // QUIT
	})
	c := &client.Client{Server: addr, Timeout: conformance.IOTimeout, V: variant(netip.Addr{})}
	var out strings.Builder
	failed, err := c.Session(&out, []string{"requetetype2 5"})
	if err != nil || failed != 0 {
		t.Fatalf("client: %d failed, %v\n%s", failed, err, out.String())
	}
	var got []string
	for range 2 {
		got = append(got, <-refused)
	}
	if diff := cmp.Diff([]string{`"" <nil>`, `"" <nil>`}, got); diff != "" {
		t.Errorf("the wrong call-backs should be closed without a word (-want +got):\n%s", diff)
	}
}

// TestClientTakesTheSessionsWord: the client believes the dispatcher's
// last word: ERR before any call-back ends the request at once (it does
// not wait for a call-back until its deadline), and a DONE with another
// ticket is an error.
func TestClientTakesTheSessionsWord(t *testing.T) {
	const ticket = "0123456789abcdef0123456789abcdef"
	t.Run("ERR before the call-back", func(t *testing.T) {
		addr := conformance.FakeDispatcher(t, func(sess net.Conn, r *bufio.Reader, _ string) {
			_, _ = r.ReadString('\n')
			_, _ = io.WriteString(sess, "WAIT "+ticket+" "+proof+"\nERR timeout no call-back\n")
			_, _ = r.ReadString('\n')
		})
		// A client that waited for a call-back until its deadline would
		// fail with "wait for the call-back", not report ERR timeout.
		c := &client.Client{Server: addr, Timeout: conformance.IOTimeout, V: variant(netip.Addr{})}
		var out strings.Builder
		failed, err := c.Session(&out, []string{"requetetype1"})
		if err != nil || failed != 1 || !strings.Contains(out.String(), "requetetype1: ERR timeout") {
			t.Fatalf("got %d failed, %v:\n%s", failed, err, out.String())
		}
	})
	t.Run("DONE with another ticket", func(t *testing.T) {
		addr := conformance.FakeDispatcher(t, func(sess net.Conn, r *bufio.Reader, peer string) {
			_, _ = r.ReadString('\n')
			_, _ = io.WriteString(sess, "WAIT "+ticket+" "+proof+"\n")
			c, err := net.Dial("tcp", peer)
			if err != nil {
				return
			}
			_, _ = io.WriteString(c, "HELLO "+ticket+"\n")
			cr := bufio.NewReader(c)
			_, _ = cr.ReadString('\n') // HELLO <proof>
			_, _ = cr.ReadString('\n') // the request line
			_, _ = io.WriteString(c, "OK 0\n")
			c.Close()
			_, _ = io.WriteString(sess, "DONE ffffffffffffffffffffffffffffffff\n")
		})
		c := &client.Client{Server: addr, Timeout: conformance.IOTimeout, V: variant(netip.Addr{})}
		var out strings.Builder
		if failed, err := c.Session(&out, []string{"requetetype2 0"}); err != nil || failed != 1 || !strings.Contains(out.String(), "FAILED: DONE for ticket ffff") {
			t.Fatalf("got %d failed, %v:\n%s", failed, err, out.String())
		}
	})
}

// swap is a connection seen from its other end: the client's view of
// the fake worker's call-back (its caller is our local end).
type swap struct{ net.Conn }

func (s swap) LocalAddr() net.Addr  { return s.Conn.RemoteAddr() }
func (s swap) RemoteAddr() net.Addr { return s.Conn.LocalAddr() }
