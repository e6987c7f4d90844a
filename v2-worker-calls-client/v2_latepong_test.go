// The end-to-end checks that a slow worker is not a lost one: a late
// pong gives it back, and --watchdog does not take a slow client for a hang.

package main

import (
	"strings"
	"syscall"
	"testing"
	"time"

	"osps/common/tools/conformance"
)

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
