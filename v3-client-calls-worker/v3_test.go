// v3's end-to-end test: the conformance suite against the real
// v3-client-calls-worker binary, then v3's own checks: the client's
// trace, serve's flags, an answer that streams without growing the
// worker's memory, and the worker's concurrent paths under -race.

package main

import (
	"bytes"
	"fmt"
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

var v3 = conformance.V3 // the raw driver of v3's protocol

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
	s := v3.Open(t, srv.Addr)
	const n = 64 << 20
	start := time.Now()
	expectOK(t, v3.Do(s, fmt.Sprintf("requetetype2 %d", n)), "requetetype2 64 MiB", n)
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
			s := v3.Open(t, srv.Addr)
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

func TestFaults(t *testing.T) {
	conformance.RunFaults(t, bin, conformance.V3)
}

func BenchmarkRespawn(b *testing.B) { conformance.BenchRespawn(b, bin, conformance.V3) }

func BenchmarkOrphans(b *testing.B) { conformance.BenchOrphans(b, bin, conformance.V3) }
