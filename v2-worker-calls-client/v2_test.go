// v2_test.go runs the conformance and fault suites against the real
// v2-worker-calls-client binary, and v2's own checks: the call-back goes
// to the address the dispatcher's socket saw, a client that stops
// listening or leaves right after WAIT does not keep a worker, the worker
// serves only the request the dispatcher checked, and the client refuses
// a call-back with a wrong ticket.

package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"osps/common/client"
	"osps/common/tools/conformance"
	"osps/common/wire"
)

var bin string

func TestMain(m *testing.M) {
	os.Exit(conformance.MainBuild(m, "osps/v2-worker-calls-client", &bin))
}

func TestConformance(t *testing.T) {
	conformance.Run(t, bin, conformance.V2)
}

func TestFaults(t *testing.T) {
	conformance.RunFaults(t, bin, conformance.V2)
}

// raw is a hand-driven v2 client for the checks that break the protocol
// on purpose: a session dialed from the port of a listener.
type raw struct {
	t    *testing.T
	ln   *net.TCPListener
	conn *net.TCPConn
	r    *bufio.Reader
}

func dialRaw(t *testing.T, bind, server string) *raw {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), conformance.IOTimeout)
	defer cancel()
	ln, conn, err := listenAndDial(ctx, netip.MustParseAddr(bind), server)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(); ln.Close() })
	return &raw{t: t, ln: ln, conn: conn, r: bufio.NewReader(conn)}
}

func (c *raw) send(line string) {
	c.t.Helper()
	_ = c.conn.SetWriteDeadline(time.Now().Add(conformance.IOTimeout))
	if _, err := io.WriteString(c.conn, line+"\n"); err != nil {
		c.t.Fatalf("send %q: %v", line, err)
	}
}

// line reads one line of the session.
func (c *raw) line() string {
	c.t.Helper()
	return readLineOn(c.t, c.conn, c.r)
}

func readLineOn(t *testing.T, conn net.Conn, r *bufio.Reader) string {
	t.Helper()
	_ = conn.SetReadDeadline(time.Now().Add(conformance.IOTimeout))
	l, err := r.ReadString('\n')
	if err != nil {
		t.Fatalf("read a line from %s (got %q): %v", conn.RemoteAddr(), l, err)
	}
	return strings.TrimSuffix(l, "\n")
}

// stats sends STATS on the session and returns its payload.
func (c *raw) stats() string {
	c.t.Helper()
	c.send("STATS")
	h := c.line()
	var n int
	if _, err := fmt.Sscanf(h, "OK %d", &n); err != nil || n < 0 || n > 1<<20 {
		c.t.Fatalf("STATS: got %q", h)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(c.r, b); err != nil {
		c.t.Fatalf("STATS payload: %v", err)
	}
	return string(b)
}

// wait sends a request line and returns the ticket of its WAIT.
func (c *raw) wait(line string) string {
	c.t.Helper()
	c.send(line)
	l := c.line()
	ticket, ok := strings.CutPrefix(l, "WAIT ")
	if !ok {
		c.t.Fatalf("%q: got %q, want WAIT <ticket>", line, l)
	}
	return ticket
}

// accept takes the worker's call-back and checks its HELLO.
func (c *raw) accept(ticket string) (net.Conn, *bufio.Reader) {
	c.t.Helper()
	_ = c.ln.SetDeadline(time.Now().Add(conformance.IOTimeout))
	conn, err := c.ln.Accept()
	if err != nil {
		c.t.Fatalf("no call-back: %v", err)
	}
	c.t.Cleanup(func() { conn.Close() })
	r := bufio.NewReader(conn)
	if h := readLineOn(c.t, conn, r); h != "HELLO "+ticket {
		c.t.Fatalf("call-back said %q, want HELLO %s", h, ticket)
	}
	return conn, r
}

// slot0 is worker 0's STATS line, asked on a new plain session.
func slot0(t *testing.T, addr string) conformance.Slot {
	t.Helper()
	return conformance.Stats(t, addr)[0]
}

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
				if _, err := io.WriteString(conn, "requetetype2 300000\n"); err != nil {
					t.Fatal(err)
				}
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
	if _, err := io.WriteString(conn, "requetetype2 100000\n"); err != nil {
		t.Fatal(err)
	}
	if h := readLineOn(t, conn, r); !strings.HasPrefix(h, "ERR bad-request ") {
		t.Errorf("worker answered %q to another request line, want ERR bad-request", h)
	}
	if l := c.line(); !strings.HasPrefix(l, "ERR bad-request ") {
		t.Errorf("session said %q, want ERR bad-request", l)
	}
	// Same request, other spelling: fine.
	ticket = c.wait("requetetype2 10")
	conn, r = c.accept(ticket)
	if _, err := io.WriteString(conn, "  requetetype2   10 \r\n"); err != nil {
		t.Fatal(err)
	}
	if h := readLineOn(t, conn, r); h != "OK 10" {
		t.Errorf("worker answered %q, want OK 10", h)
	}
	if l := c.line(); l != "DONE "+ticket {
		t.Errorf("session said %q, want DONE %s", l, ticket)
	}
}

// fakeDispatcher answers one session as a script says, and plays the
// worker's part of the call-back itself: it checks v2's client alone.
func fakeDispatcher(t *testing.T, script func(sess net.Conn, r *bufio.Reader, peer string)) string {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { ln.Close(); <-done })
	go func() {
		defer close(done)
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(conformance.IOTimeout))
		script(conn, bufio.NewReader(conn), conn.RemoteAddr().String())
	}()
	return ln.Addr().String()
}

// TestClientRefusesWrongTicket: call-backs with a wrong or malformed
// HELLO are closed without a word, and the client keeps waiting for the
// right one.
func TestClientRefusesWrongTicket(t *testing.T) {
	const ticket = "0123456789abcdef0123456789abcdef"
	refused := make(chan string, 2)
	addr := fakeDispatcher(t, func(sess net.Conn, r *bufio.Reader, peer string) {
		if l, _ := r.ReadString('\n'); l != "requetetype2 5\n" {
			refused <- fmt.Sprintf("session line %q", l)
			return
		}
		_, _ = io.WriteString(sess, "WAIT "+ticket+"\n")
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
		addr := fakeDispatcher(t, func(sess net.Conn, r *bufio.Reader, _ string) {
			_, _ = r.ReadString('\n')
			_, _ = io.WriteString(sess, "WAIT "+ticket+"\nERR timeout no call-back\n")
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
		addr := fakeDispatcher(t, func(sess net.Conn, r *bufio.Reader, peer string) {
			_, _ = r.ReadString('\n')
			_, _ = io.WriteString(sess, "WAIT "+ticket+"\n")
			c, err := net.Dial("tcp", peer)
			if err != nil {
				return
			}
			_, _ = io.WriteString(c, "HELLO "+ticket+"\n")
			_, _ = bufio.NewReader(c).ReadString('\n')
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

// TestSamePortTrick checks the platform facts docs/v2 relies on: without
// SO_REUSEPORT a socket cannot bind the port of a listener (EADDRINUSE);
// with it on both, the client dials from its listening port; a second
// connection with the same four-tuple fails with EADDRNOTAVAIL.
func TestSamePortTrick(t *testing.T) {
	srv, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), conformance.IOTimeout)
	defer cancel()

	plain, err := net.Listen("tcp4", "127.0.0.1:0") // Go sets SO_REUSEADDR, not SO_REUSEPORT
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	d := net.Dialer{LocalAddr: plain.Addr(), Control: reuse}
	if c, err := d.DialContext(ctx, "tcp4", srv.Addr().String()); !errors.Is(err, syscall.EADDRINUSE) {
		if c != nil {
			c.Close()
		}
		t.Errorf("dial from the port of a listener without SO_REUSEPORT: got %v, want EADDRINUSE", err)
	}

	ln, conn, err := listenAndDial(ctx, netip.MustParseAddr("127.0.0.1"), srv.Addr().String())
	if err != nil {
		t.Fatalf("with SO_REUSEPORT on both: %v", err)
	}
	defer ln.Close()
	defer conn.Close()
	if got, want := conn.LocalAddr().String(), ln.Addr().String(); got != want {
		t.Errorf("session from %s, listener on %s: want the same", got, want)
	}
	d = net.Dialer{LocalAddr: ln.Addr(), Control: reuse}
	if c, err := d.DialContext(ctx, "tcp4", srv.Addr().String()); !errors.Is(err, syscall.EADDRNOTAVAIL) {
		if c != nil {
			c.Close()
		}
		t.Errorf("a second connection with the same four-tuple: got %v, want EADDRNOTAVAIL", err)
	}
}

// TestLatePongGivesWorkerBack: a worker that pongs after the dispatcher
// gave up (ERR timeout) is idle again then, not busy for ever. The
// worker is stopped (SIGSTOP) across the whole wait, then continued.
func TestLatePongGivesWorkerBack(t *testing.T) {
	srv := conformance.Start(t, bin, "--workers", "1", "--callback-timeout", "500ms", "--request-timeout", "500ms", "--queue-timeout", "15s")
	pid := slot0(t, srv.Addr).Pid
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGCONT) })
	c := dialRaw(t, "127.0.0.1", srv.Addr)
	c.wait("requetetype1")
	if l := c.line(); !strings.HasPrefix(l, "ERR timeout ") {
		t.Fatalf("with the worker stopped: got %q, want ERR timeout", l)
	}
	if s := slot0(t, srv.Addr); s.State != "busy" {
		t.Fatalf("after ERR timeout, the stopped worker is %q, want busy", s.State)
	}
	if err := syscall.Kill(pid, syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	// Continued, it tries the call-back (our listener never accepts),
	// gives up after its call-back timeout, and pongs late.
	// The next request waits for it (--queue-timeout 15s).
	s := conformance.V2.Open(t, srv.Addr)
	if o := conformance.V2.Do(s, "requetetype1"); o.Err != nil || o.Code != "" {
		t.Fatalf("after the late pong: got %v, want the worker back", o)
	}
}

// TestSlowClientIsNotAHang: with --watchdog, a worker that waits for a
// slow client (here 2.5s before it sends its request line, more than
// --hang-timeout but within --callback-timeout) is waiting, not hung:
// it beats its heartbeat, and is not killed.
func TestSlowClientIsNotAHang(t *testing.T) {
	srv := conformance.Start(t, bin, "--workers", "1", "--watchdog", "--hang-timeout", "1s", "--callback-timeout", "5s")
	pid := slot0(t, srv.Addr).Pid
	c := dialRaw(t, "127.0.0.1", srv.Addr)
	ticket := c.wait("requetetype2 10")
	conn, r := c.accept(ticket)
	time.Sleep(2500 * time.Millisecond) // the slow client
	if _, err := io.WriteString(conn, "requetetype2 10\n"); err != nil {
		t.Fatal(err)
	}
	if h := readLineOn(t, conn, r); h != "OK 10" {
		t.Errorf("the slow client got %q, want OK 10", h)
	}
	if l := c.line(); l != "DONE "+ticket {
		t.Errorf("session said %q, want DONE %s", l, ticket)
	}
	if s := slot0(t, srv.Addr); s.Pid != pid || s.Restarts != 0 {
		t.Errorf("the worker was replaced while it waited for its client: %+v, pid was %d", s, pid)
	}
}

// peerConn is a connection whose peer address a test chooses.
type peerConn struct {
	net.Conn
	peer net.Addr
}

func (c peerConn) RemoteAddr() net.Addr { return c.peer }

// TestPeerAddr: the call-back address is the session's peer, unmapped,
// and never a privileged port (RFC 2577's advice to FTP servers).
func TestPeerAddr(t *testing.T) {
	for _, tc := range []struct {
		peer net.Addr
		want string // "" for refused
	}{
		{&net.TCPAddr{IP: net.ParseIP("127.0.0.7"), Port: 40000}, "127.0.0.7:40000"},
		{&net.TCPAddr{IP: net.ParseIP("::ffff:10.1.2.3"), Port: 1024}, "10.1.2.3:1024"},
		{&net.TCPAddr{IP: net.ParseIP("::1"), Port: 50000}, "[::1]:50000"},
		{&net.TCPAddr{IP: net.ParseIP("127.0.0.1"), Port: 25}, ""},
		{&net.TCPAddr{IP: net.ParseIP("127.0.0.1"), Port: 1023}, ""},
		{&net.UnixAddr{Name: "/tmp/x", Net: "unix"}, ""},
	} {
		got, err := peerAddr(peerConn{peer: tc.peer})
		switch {
		case tc.want == "" && err == nil:
			t.Errorf("peer %v: got %v, want refused", tc.peer, got)
		case tc.want != "" && (err != nil || got.String() != tc.want):
			t.Errorf("peer %v: got %v, %v; want %s", tc.peer, got, err, tc.want)
		}
	}
}

func BenchmarkRespawn(b *testing.B) { conformance.BenchRespawn(b, bin, conformance.V2) }

func BenchmarkOrphans(b *testing.B) { conformance.BenchOrphans(b, bin, conformance.V2) }

// The two tests below check the conformance driver itself (conformance.V2,
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
	addr := fakeDispatcher(t, func(sess net.Conn, r *bufio.Reader, _ string) {
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
			if _, err := io.WriteString(sess, "WAIT "+ticket+"\nERR worker-failed worker 0 died\n"); err != nil {
				return
			}
			k++
		}
	})
	s := conformance.V2.Open(t, addr)
	for i := range n {
		if o := conformance.V2.Do(s, "requetetype1"); o.Err != nil || o.Code != "worker-failed" {
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

// TestDriverSkipsLateCallBack: a request that ended with ERR before its
// worker got through (ERR timeout, then the worker is continued) leaves
// a late call-back with the old ticket in the listen queue. The next
// request on the same session must skip it and take its own call-back;
// the driver used to take the late one for a wrong HELLO and fail.
func TestDriverSkipsLateCallBack(t *testing.T) {
	const t1, t2 = "11111111111111111111111111111111", "22222222222222222222222222222222"
	errc := make(chan error, 1)
	addr := fakeDispatcher(t, func(sess net.Conn, r *bufio.Reader, peer string) {
		errc <- func() error {
			if _, err := r.ReadString('\n'); err != nil {
				return err
			}
			_, _ = io.WriteString(sess, "WAIT "+t1+"\nERR timeout worker 0 did not finish the call-back\n")
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
			_, _ = io.WriteString(sess, "WAIT "+t2+"\n")
			c, err := net.Dial("tcp", peer) // queued behind the late one
			if err != nil {
				return err
			}
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(conformance.IOTimeout))
			_, _ = io.WriteString(c, "HELLO "+t2+"\n")
			if l, err := bufio.NewReader(c).ReadString('\n'); l != "requetetype2 5\n" {
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
	s := conformance.V2.Open(t, addr)
	if o := conformance.V2.Do(s, "requetetype2 5"); o.Err != nil || o.Code != "timeout" {
		t.Fatalf("first request: got %v, want ERR timeout", o)
	}
	if o := conformance.V2.Do(s, "requetetype2 5"); o.Err != nil || o.Code != "" || o.N != 5 {
		t.Errorf("second request, after a late call-back of the first: got %v, want OK 5", o)
		s.Close() // the fake's call-back, still queued, is reset: it stops waiting
	}
	if err := <-errc; err != nil {
		t.Errorf("fake dispatcher: %v", err)
	}
}

// TestDriverKeepsStepAfterBadCallBack: a call-back with a wrong HELLO
// fails the request, and the session's last word on it (ERR, which the
// dispatcher still sends) is read then, not left for the next request
// to take as its own first answer. The driver used to cut the session's
// read short instead: the next request then read the stale ERR.
func TestDriverKeepsStepAfterBadCallBack(t *testing.T) {
	const bad, ticket = "ffffffffffffffffffffffffffffffff", "0123456789abcdef0123456789abcdef"
	const n = 200
	errc := make(chan error, 1)
	addr := fakeDispatcher(t, func(sess net.Conn, r *bufio.Reader, peer string) {
		errc <- func() error {
			for range n {
				if _, err := r.ReadString('\n'); err != nil {
					return err
				}
				_, _ = io.WriteString(sess, "WAIT "+ticket+"\n")
				c, err := net.Dial("tcp", peer)
				if err != nil {
					return err
				}
				_ = c.SetDeadline(time.Now().Add(conformance.IOTimeout))
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
	s := conformance.V2.Open(t, addr)
	for i := range n {
		o := conformance.V2.Do(s, "requetetype1")
		if o.Err == nil || !strings.Contains(o.Err.Error(), "HELLO "+bad) {
			t.Fatalf("request %d with a wrong HELLO: got %v, want a failure that says so", i+1, o)
		}
	}
	if o := conformance.V2.Do(s, "requetetype1"); o.Err != nil || o.Header != "ERR busy last one" {
		t.Errorf("the request after: got %v, want its own ERR busy", o)
	}
	if err := <-errc; err != nil {
		t.Errorf("fake dispatcher: %v", err)
	}
}
