// Port stealing from the client's side, reproduced: a worker dies after
// its GOTO went out, and another process answers like a worker where the
// client is sent. The dispatcher holds every worker's port, so the dead
// worker's port itself cannot be taken (checked here); the squatter
// listens elsewhere and the GOTO is bent towards it. The client (the real
// binary's demandProof, and the raw driver) must accept no byte of it,
// and never hand it the ticket.

package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"osps/common/tools/conformance"
)

// forged is what the squatter answers: a well-formed requetetype1 answer.
const forged = "OK 28\nworker=0 pid=666 served=666\n"

// squatter holds a dead worker's port and plays the worker: it answers
// forged at once, then records what its caller sends until end of file.
type squatter struct {
	ln   net.Listener
	mu   sync.Mutex
	got  []byte
	done chan struct{}
}

// squat listens on a free loopback port and plays the worker there. The
// test's cleanup closes it.
func squat(t *testing.T) (*squatter, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	q := &squatter{ln: ln, done: make(chan struct{})}
	t.Cleanup(func() { ln.Close() })
	go q.serve()
	return q, nil
}

// port is the squatter's port.
func (q *squatter) port() string { return strconv.Itoa(q.ln.Addr().(*net.TCPAddr).Port) }

// portTaken reports whether addr, a dead worker's port, is still held
// (by the dispatcher's copy of the socket): a bind there fails.
func portTaken(addr string) bool {
	ln, err := net.Listen("tcp", addr)
	if err == nil {
		ln.Close()
		return false
	}
	return errors.Is(err, syscall.EADDRINUSE)
}

func (q *squatter) serve() {
	defer close(q.done)
	c, err := q.ln.Accept()
	if err != nil {
		return
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	_, _ = io.WriteString(c, forged)
	b, _ := io.ReadAll(c)
	q.mu.Lock()
	q.got = b
	q.mu.Unlock()
}

// heard waits for the squatter's one caller to leave and returns what it sent.
func (q *squatter) heard(t *testing.T) string {
	t.Helper()
	select {
	case <-q.done:
	case <-time.After(10 * time.Second):
		t.Fatal("nobody called the squatter, or the caller never left")
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	return string(q.got)
}

// killOnly SIGKILLs the server's one worker.
func killOnly(srv *conformance.Server) error {
	ws := srv.Workers()
	if len(ws) != 1 {
		return fmt.Errorf("workers %v, want one", ws)
	}
	return syscall.Kill(ws[0], syscall.SIGKILL)
}

// TestSquatterRawDriver: the raw driver, step by step: GOTO, the worker
// killed, its port still held, another process answering where the GOTO
// is bent to, the GOTO followed.
func TestSquatterRawDriver(t *testing.T) {
	srv := conformance.Start(t, bin, "--workers", "1", "--watchdog", "--queue-timeout", "10s")
	s := v3.Open(t, srv.Addr)
	g := askGoto(t, s, "requetetype1")
	if err := killOnly(srv); err != nil {
		t.Fatal(err)
	}
	if !portTaken(g.Addr()) {
		t.Errorf("the killed worker's port %s is free for anyone to bind", g.Addr())
	}
	q, err := squat(t)
	if err != nil {
		t.Fatal(err)
	}
	port := g.Port
	g.Port = q.port()
	o := s.FollowGoto(g, "HELLO "+g.Ticket+"\nrequetetype1\n", "requetetype1")
	if !errors.Is(o.Err, conformance.ErrNoProof) || o.N != 0 {
		t.Errorf("following a GOTO to a squatted port: got %v, want no proof and no byte accepted", o)
	}
	if got := q.heard(t); strings.Contains(got, g.Ticket) || strings.Contains(got, "HELLO") {
		t.Errorf("the squatter received the ticket: %q", got)
	}
	// The session goes on: the watchdog's new worker serves it, on the
	// same port (the same socket, which the dispatcher kept).
	g2 := askGoto(t, s, "requetetype1")
	if g2.Port != port {
		t.Errorf("the new worker listens on %s, want the dead worker's port %s", g2.Port, port)
	}
	if o := s.FollowGoto(g2, "HELLO "+g2.Ticket+"\nrequetetype1\n", "requetetype1"); o.Err != nil || o.Code != "" || strings.Contains(string(o.Payload), "pid=666") {
		t.Errorf("requetetype1 after the squatter: got %v %q, want the new worker's answer", o, o.Payload)
	}
}

// TestSquatterRealClient: the real client binary, through a relay that
// kills the worker and squats its port as the GOTO passes by.
func TestSquatterRealClient(t *testing.T) {
	srv := conformance.Start(t, bin, "--workers", "1", "--watchdog", "--queue-timeout", "10s")
	relay, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { relay.Close() })
	type squatted struct {
		q      *squatter
		ticket string
	}
	found := make(chan squatted, 1)
	go func() {
		q, ticket := relayOnce(t, relay, srv)
		found <- squatted{q, ticket}
	}()
	out, err := exec.Command(bin, "client", "--server", relay.Addr().String(), "--timeout", "20s", "requetetype1", "requetetype1").CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Errorf("client: %v, want exit 1 (one request failed)\n%s", err, out)
	}
	var sq squatted
	select {
	case sq = <-found:
	case <-time.After(10 * time.Second):
		t.Fatalf("the relay saw no GOTO:\n%s", out)
	}
	if sq.q == nil {
		t.Fatalf("the relay could not set up the squatter:\n%s", out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) < 2 || !strings.HasPrefix(lines[0], "requetetype1: ERR worker-failed") || !strings.Contains(lines[0], "proof") {
		t.Errorf("first request, squatted worker: want ERR worker-failed naming the proof, got:\n%s", out)
	}
	if strings.Contains(string(out), "pid=666") {
		t.Errorf("the client accepted the forged answer:\n%s", out)
	}
	if len(lines) < 2 || !strings.HasPrefix(lines[1], "requetetype1: OK") {
		t.Errorf("second request: want it served by the new worker (the session goes on):\n%s", out)
	}
	if got := sq.q.heard(t); strings.Contains(got, sq.ticket) || strings.Contains(got, "HELLO") {
		t.Errorf("the squatter received the ticket: %q", got)
	}
}

// relayOnce relays one client connection to the dispatcher. When the
// first GOTO comes by, it kills the worker, checks its port is still
// held, and passes the GOTO on bent towards a squatter; it returns the
// squatter and the GOTO's ticket.
func relayOnce(t *testing.T, relay net.Listener, srv *conformance.Server) (*squatter, string) {
	c, err := relay.Accept()
	if err != nil {
		return nil, ""
	}
	t.Cleanup(func() { c.Close() })
	up, err := net.DialTimeout("tcp", srv.Addr, conformance.IOTimeout)
	if err != nil {
		return nil, ""
	}
	t.Cleanup(func() { up.Close() })
	go func() { _, _ = io.Copy(up, c) }()
	r := bufio.NewReader(up)
	line, err := r.ReadString('\n')
	f := strings.Fields(line)
	if err != nil || len(f) < 4 || f[0] != "GOTO" {
		return nil, ""
	}
	if err := killOnly(srv); err != nil {
		t.Error(err)
		return nil, ""
	}
	if !portTaken(net.JoinHostPort(f[1], f[2])) {
		t.Errorf("the killed worker's port %s is free for anyone to bind", f[2])
	}
	q, err := squat(t)
	if err != nil {
		t.Error(err)
		return nil, ""
	}
	f[2] = q.port()
	_, _ = io.WriteString(c, strings.Join(f, " ")+"\n")
	go func() { _, _ = io.Copy(c, r) }()
	return q, f[3]
}
