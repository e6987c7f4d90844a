// v3_test.go runs the conformance suite against the real
// v3-client-calls-worker binary, then v3's own checks: where GOTO points,
// what a worker does with wrong, used and expired tickets, and that an
// answer streams from the worker without growing its memory.

package main

import (
	"bytes"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"osps/common/tools/conformance"
	"osps/common/wire"
)

var bin string

func TestMain(m *testing.M) {
	os.Exit(conformance.MainBuild(m, "osps/v3-client-calls-worker", &bin))
}

func TestConformance(t *testing.T) {
	conformance.Run(t, bin, conformance.V3)
}

var d = conformance.V3

// askGoto sends line on s and returns the GOTO it must get.
func askGoto(t testing.TB, s *conformance.Session, line string) conformance.Goto {
	t.Helper()
	if err := s.Send(line); err != nil {
		t.Fatal(err)
	}
	h, err := s.Line()
	if err != nil {
		t.Fatal(err)
	}
	g, ok := conformance.ParseGoto(h)
	if !ok {
		t.Fatalf("%q: got %q, want GOTO <host> <port> <ticket> <key>", line, h)
	}
	return g
}

// knock connects to the worker g names, sends data, and returns the one
// line it answers; the worker must then close the connection.
func knock(t *testing.T, s *conformance.Session, g conformance.Goto, data string) string {
	t.Helper()
	c, r, err := s.DialWorker(g)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte(data)); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(conformance.IOTimeout))
	l, err := r.ReadString('\n')
	if err != nil {
		t.Fatalf("worker %s after %q: %v (got %q)", g.Addr(), data, err, l)
	}
	if err := conformance.ExpectClosed(c, r); err != nil {
		t.Errorf("worker %s after %q: %v", g.Addr(), data, err)
	}
	return strings.TrimSuffix(l, "\n")
}

func expectOK(t *testing.T, o conformance.Outcome, line string, n int64) {
	t.Helper()
	if o.Err != nil || o.Code != "" || o.N != n {
		t.Fatalf("%q: got %v, want OK with %d bytes", line, o, n)
	}
}

// TestGotoPoints holds every worker at once and checks each GOTO: a
// host the client can dial, a port above the dispatcher's, a fresh ticket.
func TestGotoPoints(t *testing.T) {
	srv := conformance.Start(t, bin, "--workers", "4")
	_, dport, _ := net.SplitHostPort(srv.Addr)
	dp, _ := strconv.Atoi(dport)
	var gs []conformance.Goto
	var ss []*conformance.Session
	for range 4 { // each GOTO holds its worker: four GOTOs, four workers
		s := d.Open(t, srv.Addr)
		gs = append(gs, askGoto(t, s, "requetetype2 1000"))
		ss = append(ss, s)
	}
	ports, tickets := map[string]bool{}, map[string]bool{}
	for _, g := range gs {
		if g.Host != "127.0.0.1" {
			t.Errorf("GOTO host %q, want 127.0.0.1 (where the dispatcher listens)", g.Host)
		}
		if p, err := strconv.Atoi(g.Port); err != nil || p <= dp || p > 65535 {
			t.Errorf("GOTO port %q, want a TCP port above the dispatcher's %d", g.Port, dp)
		}
		if !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(g.Ticket) {
			t.Errorf("GOTO ticket %q, want 32 lowercase hex digits", g.Ticket)
		}
		if !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(g.Key) || g.Key == g.Ticket {
			t.Errorf("GOTO proof key %q, want 32 lowercase hex digits, not the ticket", g.Key)
		}
		ports[g.Port], tickets[g.Ticket], tickets[g.Key] = true, true, true
	}
	if len(ports) != 4 || len(tickets) != 8 {
		t.Errorf("4 held workers: %d distinct ports, %d distinct tickets and keys, want 4 and 8: %v", len(ports), len(tickets), gs)
	}
	for i, g := range gs {
		expectOK(t, ss[i].FollowGoto(g, "HELLO "+g.Ticket+"\nrequetetype2 1000\n", "requetetype2 1000"), "requetetype2 1000", 1000)
	}
}

// TestGotoHostOtherLoopback: a dispatcher on 127.0.0.5 sends its clients
// to 127.0.0.5, never to a wildcard or another address.
func TestGotoHostOtherLoopback(t *testing.T) {
	srv := conformance.Start(t, bin, "--workers", "2", "--listen", "127.0.0.5")
	if !strings.HasPrefix(srv.Addr, "127.0.0.5:") {
		t.Fatalf("ready %s, want 127.0.0.5:<port>", srv.Addr)
	}
	s := d.Open(t, srv.Addr)
	g := askGoto(t, s, "requetetype1")
	if g.Host != "127.0.0.5" {
		t.Fatalf("GOTO host %q, want 127.0.0.5", g.Host)
	}
	o := s.FollowGoto(g, "HELLO "+g.Ticket+"\nrequetetype1\n", "requetetype1")
	if o.Err != nil || o.Code != "" || !bytes.HasPrefix(o.Payload, []byte("worker=")) {
		t.Fatalf("following GOTO %v: got %v %q", g, o, o.Payload)
	}
}

// TestGotoHostWildcard: a worker on 0.0.0.0 or :: is announced by the
// address the client reached the dispatcher at (tested without opening a
// wildcard socket: the tests use loopback only).
func TestGotoHostWildcard(t *testing.T) {
	local := &net.TCPAddr{IP: net.ParseIP("127.0.0.3"), Port: 2222}
	local6 := &net.TCPAddr{IP: net.ParseIP("::1"), Port: 2222}
	mapped := &net.TCPAddr{IP: net.ParseIP("::ffff:127.0.0.4"), Port: 2222}
	cases := []struct {
		worker string
		local  net.Addr
		want   string
	}{
		{"127.0.0.5", local, "127.0.0.5"},
		{"::ffff:127.0.0.5", local, "127.0.0.5"},
		{"::1", local6, "::1"},
		{"0.0.0.0", local, "127.0.0.3"},
		{"::", local, "127.0.0.3"},
		{"::", local6, "::1"},
		{"::", mapped, "127.0.0.4"},
	}
	for _, c := range cases {
		if got := gotoHost(netip.MustParseAddr(c.worker), c.local); got != c.want {
			t.Errorf("gotoHost(%s, %v) = %q, want %q", c.worker, c.local, got, c.want)
		}
	}
}

// TestWrongTicketThenRight: strangers with every kind of wrong first line
// are refused at once, and the client with the right ticket is still
// served, also while a silent stranger keeps a connection open.
func TestWrongTicketThenRight(t *testing.T) {
	srv := conformance.Start(t, bin, "--workers", "1", "--ticket-ttl", "3s")
	s := d.Open(t, srv.Addr)
	g := askGoto(t, s, "requetetype2 70000")

	silent, silentR, err := s.DialWorker(g) // connects, says nothing
	if err != nil {
		t.Fatal(err)
	}
	other := wire.NewTicket()
	for _, c := range []struct{ data, code string }{
		{"HELLO " + other + "\nrequetetype2 70000\n", "bad-ticket"},
		{"HELLO " + strings.ToUpper(g.Ticket) + "\n", "bad-ticket"},
		{"HELLO " + g.Ticket[:31] + "\n", "bad-ticket"},
		{"HELLO " + g.Ticket + " extra\n", "bad-ticket"},
		{"HELLO\n", "bad-ticket"},
		{"\n", "bad-ticket"},
		{"requetetype2 70000\n", "bad-ticket"},
		{"\xff\xfe HELLO " + g.Ticket + "\n", "bad-ticket"},
		{strings.Repeat("H", 2000) + "\n", "line-too-long"},
	} {
		l := knock(t, s, g, c.data)
		if code, _, _ := strings.Cut(strings.TrimPrefix(l, "ERR "), " "); !strings.HasPrefix(l, "ERR ") || code != c.code {
			t.Errorf("first line %q: worker answered %q, want ERR %s", wire.Printable([]byte(c.data), 60), l, c.code)
		}
		if strings.Contains(l, g.Ticket) {
			t.Errorf("a refusal leaks the pending ticket: %q", l)
		}
	}
	expectOK(t, s.FollowGoto(g, "HELLO "+g.Ticket+"\nrequetetype2 70000\n", "requetetype2 70000"), "right ticket", 70000)

	// The silent stranger is cut off once the ticket lifetime is over.
	_ = silent.SetReadDeadline(time.Now().Add(conformance.IOTimeout))
	l, err := silentR.ReadString('\n')
	if err != nil || !strings.HasPrefix(l, "ERR timeout") {
		t.Errorf("a silent connection: got %q, %v; want ERR timeout", l, err)
	}
	if err := conformance.ExpectClosed(silent, silentR); err != nil {
		t.Errorf("a silent connection: %v", err)
	}
	// And the worker serves the next request.
	expectOK(t, d.Do(s, "requetetype2 5"), "requetetype2 5", 5)
}

// TestTicketSingleUse: a ticket serves once; presented again, whether the
// worker is idle or waits for another client, it is refused, and it does
// not spoil the other client's ticket.
func TestTicketSingleUse(t *testing.T) {
	srv := conformance.Start(t, bin, "--workers", "1")
	s := d.Open(t, srv.Addr)
	g := askGoto(t, s, "requetetype1")
	hello := "HELLO " + g.Ticket + "\nrequetetype1\n"
	if o := s.FollowGoto(g, hello, "requetetype1"); o.Err != nil || o.Code != "" {
		t.Fatalf("first use: %v", o)
	}
	if l := knock(t, s, g, hello); !strings.HasPrefix(l, "ERR bad-ticket") {
		t.Errorf("second use, worker idle: %q, want ERR bad-ticket", l)
	}
	g2 := askGoto(t, s, "requetetype1") // the only worker again, a new ticket
	if g2.Addr() != g.Addr() || g2.Ticket == g.Ticket {
		t.Fatalf("second GOTO %v after %v: want the same worker, a new ticket", g2, g)
	}
	if l := knock(t, s, g, hello); !strings.HasPrefix(l, "ERR bad-ticket") {
		t.Errorf("old ticket while a new one is pending: %q, want ERR bad-ticket", l)
	}
	if o := s.FollowGoto(g2, "HELLO "+g2.Ticket+"\nrequetetype1\n", "requetetype1"); o.Err != nil || o.Code != "" {
		t.Fatalf("the new ticket after the replay: %v", o)
	}
}

// TestTicketForOneRequest: the request line sent to the worker must be the
// one the dispatcher checked and issued the ticket for (otherwise a client
// could dodge --max-bytes); such a try uses the ticket up.
func TestTicketForOneRequest(t *testing.T) {
	srv := conformance.Start(t, bin, "--workers", "1", "--max-bytes", "5000")
	s := d.Open(t, srv.Addr)
	g := askGoto(t, s, "requetetype2 10")
	if l := knock(t, s, g, "HELLO "+g.Ticket+"\nrequetetype2 100000\n"); !strings.HasPrefix(l, "ERR bad-request") {
		t.Errorf("another request than the ticket's: %q, want ERR bad-request", l)
	}
	if l := knock(t, s, g, "HELLO "+g.Ticket+"\nrequetetype2 10\n"); !strings.HasPrefix(l, "ERR bad-ticket") {
		t.Errorf("the ticket after a refused request: %q, want ERR bad-ticket", l)
	}
	// The same request written differently is the same request.
	g = askGoto(t, s, "requetetype2")
	o := s.FollowGoto(g, "HELLO "+g.Ticket+"\r\n  requetetype2   4096 \r\n", "requetetype2")
	expectOK(t, o, "requetetype2 as 'requetetype2   4096'", 4096)
}

// TestUnfollowedGotos: with 2 workers and a 1 s ticket lifetime, five
// GOTOs nobody follows leave both workers usable again soon after.
func TestUnfollowedGotos(t *testing.T) {
	srv := conformance.Start(t, bin, "--workers", "2", "--ticket-ttl", "1s", "--queue-timeout", "30s")
	s := d.Open(t, srv.Addr)
	var first conformance.Goto
	for i := range 5 { // the 3rd to 5th wait for a worker whose ticket expired
		g := askGoto(t, s, "requetetype1")
		if i == 0 {
			first = g
		}
	}
	last := time.Now()
	for {
		if stats := statsOf(t, s); strings.Count(stats, "state=idle") == 2 {
			break
		}
		// Not a speed check: 4 s is far beyond the 1 s lifetime, but below
		// the 5 s default, so a --ticket-ttl that is not passed on fails.
		if time.Since(last) > 4*time.Second {
			t.Fatalf("4 s after the last unfollowed GOTO, workers still busy:\n%s", statsOf(t, s))
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("both workers idle %v after the last unfollowed GOTO (ticket-ttl 1s)", time.Since(last).Round(time.Millisecond))
	if l := knock(t, s, first, "HELLO "+first.Ticket+"\nrequetetype1\n"); !strings.HasPrefix(l, "ERR bad-ticket") {
		t.Errorf("an expired ticket: %q, want ERR bad-ticket", l)
	}
	// Both workers serve: hold both at once, then follow.
	s2 := d.Open(t, srv.Addr)
	ga, gb := askGoto(t, s, "requetetype1"), askGoto(t, s2, "requetetype1")
	if ga.Addr() == gb.Addr() {
		t.Fatalf("two held workers share an address %s", ga.Addr())
	}
	for i, g := range []conformance.Goto{ga, gb} {
		if o := []*conformance.Session{s, s2}[i].FollowGoto(g, "HELLO "+g.Ticket+"\nrequetetype1\n", "requetetype1"); o.Err != nil || o.Code != "" {
			t.Errorf("worker at %s after the expiries: %v", g.Addr(), o)
		}
	}
}

func statsOf(t *testing.T, s *conformance.Session) string {
	t.Helper()
	o := d.Do(s, "STATS")
	if o.Err != nil || o.Code != "" {
		t.Fatalf("STATS: %v", o)
	}
	return string(o.Payload)
}

// TestLargeAnswerStreams: a 64 MiB answer goes from the worker to the
// client without the worker ever holding it: its peak resident memory
// stays far below 64 MiB.
func TestLargeAnswerStreams(t *testing.T) {
	srv := conformance.Start(t, bin, "--workers", "1")
	workers := srv.Workers()
	if len(workers) != 1 {
		t.Fatalf("workers %v, want one", workers)
	}
	before := vmHWM(t, workers[0])
	s := d.Open(t, srv.Addr)
	const n = 64 << 20
	start := time.Now()
	expectOK(t, d.Do(s, fmt.Sprintf("requetetype2 %d", n)), "requetetype2 64 MiB", n)
	took := time.Since(start)
	after := vmHWM(t, workers[0])
	t.Logf("64 MiB in %v (%.0f MB/s); worker peak RSS %d KiB before, %d KiB after", took.Round(time.Millisecond), n/took.Seconds()/1e6, before, after)
	if after > 32<<10 {
		t.Errorf("worker peak RSS %d KiB after a 64 MiB answer: it holds the payload instead of streaming it", after)
	}
}

// vmHWM is a process's peak resident set size in KiB.
func vmHWM(t *testing.T, pid int) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^VmHWM:\s+(\d+) kB`).FindSubmatch(b)
	if m == nil {
		t.Fatalf("no VmHWM in /proc/%d/status", pid)
	}
	kb, _ := strconv.Atoi(string(m[1]))
	return kb
}

// TestClientTrace: the client's --trace tells the six steps in order,
// which is what ./run.sh v3 shows a newcomer.
func TestClientTrace(t *testing.T) {
	srv := conformance.Start(t, bin, "--workers", "2")
	cmd := exec.Command(bin, "client", "--trace", "--server", srv.Addr, "requetetype2 100", "requetetype1")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("client: %v\n%s%s", err, stdout.String(), stderr.String())
	}
	var steps []int
	for _, l := range strings.Split(strings.TrimSpace(stderr.String()), "\n") {
		var k int
		if _, err := fmt.Sscanf(l, "v3 step %d client:", &k); err != nil {
			t.Fatalf("trace line %q is not 'v3 step K client: ...'", l)
		}
		steps = append(steps, k)
	}
	want := []int{1, 2, 3, 4, 4, 5, 6, 2, 3, 4, 4, 5, 6} // step 4: PROVE, then HELLO
	if diff := cmp.Diff(want, steps); diff != "" {
		t.Errorf("client trace steps (-want +got):\n%s\n%s", diff, stderr.String())
	}
	if !strings.Contains(stdout.String(), "requetetype2 100: OK 100 bytes, every byte checked") {
		t.Errorf("client output:\n%s", stdout.String())
	}
}

// TestServeFlags: a ticket lifetime must be positive, said at once.
func TestServeFlags(t *testing.T) {
	for _, ttl := range []string{"0s", "-1s", "soon"} {
		out, err := exec.Command(bin, "serve", "--port", "0", "--ticket-ttl", ttl).CombinedOutput()
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 || !strings.Contains(string(out), "ticket-ttl") {
			t.Errorf("serve --ticket-ttl %s: %v, want exit 2 and a message naming the flag:\n%s", ttl, err, out)
		}
	}
	out, err := exec.Command(bin, "serve", "--help").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--ticket-ttl") {
		t.Errorf("serve --help does not list --ticket-ttl: %v\n%s", err, out)
	}
}

// TestListenAbove: the worker's port rule, in process.
func TestListenAbove(t *testing.T) {
	for _, dp := range []int{1024, 40000, 65500} { // 65500: above most ephemeral ports, the walk upwards
		ln, err := listen("127.0.0.1", dp, true, 3)
		if err != nil {
			t.Fatalf("any port above %d: %v", dp, err)
		}
		if p := ln.Addr().(*net.TCPAddr).Port; p <= dp {
			t.Errorf("any port above %d: got %d", dp, p)
		}
		ln.Close()
	}
	if _, err := listen("127.0.0.1", 65534, false, 3); err == nil {
		t.Errorf("dispatcher port 65534 + 1 + 3 is not a port: want an error")
	}
	// Fixed ports: dispatcher port + 1 + id. Find a base whose slot 2 is free.
	for try := 0; ; try++ {
		base, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		dp := base.Addr().(*net.TCPAddr).Port
		ln, err := listen("127.0.0.1", dp, false, 2)
		base.Close()
		if err != nil {
			if try < 5 {
				continue // that port happened to be taken
			}
			t.Fatal(err)
		}
		if p := ln.Addr().(*net.TCPAddr).Port; p != dp+3 {
			t.Errorf("worker 2 of a dispatcher on %d listens on %d, want %d", dp, p, dp+3)
		}
		ln.Close()
		return
	}
}

// TestRaceDetector runs the worker's concurrent paths (the ping loop, the
// accept loop, strangers and the right client at once) in a binary built
// with -race, and fails on any race report.
func TestRaceDetector(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a second binary")
	}
	dir := t.TempDir()
	race := filepath.Join(dir, "v3-race")
	if out, err := exec.Command("go", "build", "-race", "-o", race, "osps/v3-client-calls-worker").CombinedOutput(); err != nil {
		t.Fatalf("go build -race: %v\n%s", err, out)
	}
	srv := conformance.Start(t, race, "--workers", "2", "--ticket-ttl", "1s", "--queue-timeout", "30s")
	var wg sync.WaitGroup
	for k := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := d.Open(t, srv.Addr)
			for i := range 10 {
				g := askGoto(t, s, "requetetype2 20000")
				stranger := knock(t, s, g, "HELLO "+wire.NewTicket()+"\n")
				if !strings.HasPrefix(stranger, "ERR bad-ticket") {
					t.Errorf("stranger: %q", stranger)
				}
				if k == 0 && i%3 == 0 {
					continue // let this ticket expire
				}
				if o := s.FollowGoto(g, "HELLO "+g.Ticket+"\nrequetetype2 20000\n", "requetetype2 20000"); o.Err != nil || o.N != 20000 {
					t.Errorf("session %d request %d: %v", k, i, o)
				}
			}
		}()
	}
	wg.Wait()
	if st := srv.Stop(); st != 0 {
		t.Errorf("serve exited %d", st)
	}
	if strings.Contains(srv.Log(), "DATA RACE") {
		t.Fatalf("race detector report:\n%s", srv.Log())
	}
}

// TestTicketClaim: the claim rule in process: the pending ticket, once,
// before it expires.
func TestTicketClaim(t *testing.T) {
	w := &desk{}
	tk := wire.NewTicket()
	w.pending = &pending{ticket: tk, expires: time.Now().Add(time.Hour), claimed: make(chan struct{})}
	if w.claim(wire.NewTicket()) != nil || w.claim("") != nil {
		t.Fatal("a wrong ticket claimed the request")
	}
	if w.claim(tk) == nil {
		t.Fatal("the right ticket did not claim the request")
	}
	if w.claim(tk) != nil {
		t.Fatal("a ticket claimed twice")
	}
	w.pending = &pending{ticket: tk, expires: time.Now().Add(-time.Millisecond), claimed: make(chan struct{})}
	if w.claim(tk) != nil {
		t.Fatal("an expired ticket claimed the request")
	}
}

func TestFaults(t *testing.T) {
	conformance.RunFaults(t, bin, conformance.V3)
}

func BenchmarkRespawn(b *testing.B) { conformance.BenchRespawn(b, bin, conformance.V3) }

func BenchmarkOrphans(b *testing.B) { conformance.BenchOrphans(b, bin, conformance.V3) }
