// The end-to-end checks of the call-back, against the real binary: the
// worker calls the address the dispatcher saw, a client that stops
// listening or leaves after WAIT keeps no worker, and the worker serves
// only the checked request.

package main

import (
	"io"
	"net/netip"
	"strings"
	"testing"

	"osps/common/client"
	"osps/common/tools/conformance"
)

// TestCallbackToSessionAddress: the client's session comes from
// 127.0.0.7 while the dispatcher listens on 127.0.0.1. The worker must
// call back 127.0.0.7, the peer the dispatcher's socket saw: its
// listener is there and nowhere else.
func TestCallbackToSessionAddress(t *testing.T) {
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
