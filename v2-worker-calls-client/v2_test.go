// v2_test.go runs the conformance and fault suites against the real
// v2-worker-calls-client binary, and v2's own checks: the call-back goes
// to the address the dispatcher's socket saw, a client that stops
// listening or leaves right after WAIT does not keep a worker, the worker
// serves only the request the dispatcher checked, the client refuses a
// call-back with a wrong ticket, and a process that shares the client's
// port gets no answer (it cannot prove it is the client).

package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
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

var listeners = flag.Int("listeners", 1000, "TestPortZeroIsPrivate: listeners to open on port 0 (0: until the open-file limit)")

// proof is the second secret of every WAIT a fake dispatcher sends.
const proof = "fedcba9876543210fedcba9876543210"

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
	t     *testing.T
	ln    *net.TCPListener
	conn  *net.TCPConn
	r     *bufio.Reader
	proof string // of the last WAIT
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

// wait sends a request line and returns the ticket of its WAIT (the
// proof is kept for send).
func (c *raw) wait(line string) string {
	c.t.Helper()
	c.send(line)
	l := c.line()
	r, err := wire.ParseReply([]byte(l))
	if err != nil || r.Word != wire.WAIT {
		c.t.Fatalf("%q: got %q, want WAIT <ticket> <proof>", line, l)
	}
	c.proof = r.Args[1]
	return r.Args[0]
}

// request proves the client on a call-back (HELLO <proof> of the last
// WAIT) and sends line there.
func (c *raw) request(conn net.Conn, line string) {
	c.t.Helper()
	if _, err := io.WriteString(conn, "HELLO "+c.proof+"\n"+line+"\n"); err != nil {
		c.t.Fatalf("send %q on the call-back: %v", line, err)
	}
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
		if l, _ := cr.ReadString('\n'); l != "HELLO "+proof+"\n" {
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

// TestPortZeroIsPrivate: with SO_REUSEPORT set, a listener on port 0
// still gets a port that no other socket holds, so two clients never
// share a call-back port by chance. -listeners 0 opens listeners until
// the open-file limit.
func TestPortZeroIsPrivate(t *testing.T) {
	n := *listeners
	ports := map[int]bool{}
	lc := net.ListenConfig{Control: reuse}
	var lns []net.Listener
	defer func() {
		for _, ln := range lns {
			ln.Close()
		}
	}()
	for n == 0 || len(lns) < n {
		ln, err := lc.Listen(context.Background(), "tcp4", "127.0.0.1:0")
		if n == 0 && errors.Is(err, syscall.EMFILE) {
			break
		}
		if err != nil {
			t.Fatalf("listener %d: %v", len(lns)+1, err)
		}
		lns = append(lns, ln)
		p := ln.Addr().(*net.TCPAddr).Port
		if ports[p] {
			t.Fatalf("listener %d got port %d, which another listener holds", len(lns), p)
		}
		ports[p] = true
	}
	t.Logf("%d listeners on port 0 with SO_REUSEPORT: %d different ports", len(lns), len(ports))
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
	c.request(conn, "requetetype2 10")
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

// thief is another process of the same user on the client's call-back
// port: it binds the very address of the client's listener with
// SO_REUSEADDR and SO_REUSEPORT, as the client does, so the kernel
// shares the worker's call-backs between the two listeners. On each
// call-back it takes, it hears HELLO <ticket>, then tries what a thief
// can: the request line at once, or the ticket back as a proof. It
// records every byte the worker sends it after the HELLO line.
type thief struct {
	ln    net.Listener
	done  chan struct{}
	calls int
	leak  []byte
}

func stealFrom(t *testing.T, addr net.Addr, req string) *thief {
	t.Helper()
	lc := net.ListenConfig{Control: reuse}
	ln, err := lc.Listen(context.Background(), "tcp4", addr.String())
	if err != nil {
		t.Fatalf("thief cannot bind %s: %v", addr, err)
	}
	th := &thief{ln: ln, done: make(chan struct{})}
	go func() {
		defer close(th.done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_ = c.SetDeadline(time.Now().Add(conformance.IOTimeout))
			r := bufio.NewReader(c)
			hello, _ := r.ReadString('\n')
			ticket, _ := strings.CutPrefix(strings.TrimSpace(hello), "HELLO ")
			attack := req + "\n" // the line the client sends, which a thief may guess
			if th.calls%2 == 1 {
				attack = "HELLO " + ticket + "\n" + attack
			}
			th.calls++
			_, _ = io.WriteString(c, attack)
			b, _ := io.ReadAll(r) // until the worker closes
			th.leak = append(th.leak, b...)
			c.Close()
		}
	}()
	t.Cleanup(th.stop)
	return th
}

// stop closes the thief's listener and waits for it; then its fields
// may be read.
func (th *thief) stop() {
	th.ln.Close()
	<-th.done
}

// TestCallBackThief: a thief shares the client's call-back port. Every
// call-back it takes ends with no byte of answer for it (it cannot send
// HELLO <proof>), and the honest client's request then fails at once
// with a clear ERR on its session; every other request is served. For
// v2's own client and for the raw driver.
func TestCallBackThief(t *testing.T) {
	srv := conformance.Start(t, bin, "--workers", "2")
	const n = 24 // the kernel picks one of two listeners per call-back: 2^-24 that the thief never gets one
	lines := make([]string, n)
	for i := range lines {
		lines[i] = "requetetype2 1000"
	}
	check := func(t *testing.T, th *thief, failed int) {
		t.Helper()
		th.stop()
		if th.calls == 0 {
			t.Fatalf("the thief got none of %d call-backs: the theft was not reproduced", n)
		}
		if len(th.leak) != 0 {
			t.Errorf("the thief got %q after its %d stolen call-backs, want nothing", wire.Printable(th.leak, 80), th.calls)
		}
		if failed != th.calls {
			t.Errorf("%d requests failed, want one per stolen call-back (%d)", failed, th.calls)
		}
		t.Logf("%d of %d call-backs stolen, each refused", th.calls, n)
	}

	t.Run("v2 client", func(t *testing.T) {
		v := variant(netip.Addr{})
		dial := v.Dial
		var th *thief
		v.Dial = func(ctx context.Context, c *client.Client) (net.Conn, error) {
			conn, err := dial(ctx, c)
			if err == nil {
				th = stealFrom(t, conn.LocalAddr(), lines[0]) // the listener's address too
			}
			return conn, err
		}
		c := &client.Client{Server: srv.Addr, Timeout: conformance.IOTimeout, V: v}
		var out strings.Builder
		failed, err := c.Session(&out, lines)
		if err != nil {
			t.Fatalf("session: %v\n%s", err, out.String())
		}
		for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
			if !strings.HasPrefix(l, "requetetype2 1000: OK 1000 bytes") && !strings.HasPrefix(l, "requetetype2 1000: ERR worker-failed the call-back at 127.0.0.1:") {
				t.Errorf("client printed %q, want OK or ERR worker-failed naming the call-back", l)
			}
		}
		check(t, th, failed)
	})

	t.Run("raw driver", func(t *testing.T) {
		s := conformance.V2.Open(t, srv.Addr)
		th := stealFrom(t, s.Conn.LocalAddr(), lines[0])
		failed := 0
		for range n {
			switch o := conformance.V2.Do(s, lines[0]); {
			case o.Err == nil && o.Code == "":
			case o.Err == nil && o.Code == "worker-failed":
				failed++
			default:
				t.Fatalf("with a thief on the port: got %v, want OK or ERR worker-failed", o)
			}
		}
		check(t, th, failed)
	})
}
