// refservers_test.go checks the two reference servers (fdpass.go,
// prefork.go) as the bench runs them, as processes: every answer of a
// persistent session checked byte for byte, more sessions than workers
// served at once, the worker that answered being a real child, and
// nothing left once the server is stopped.

package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"osps/common/tools/procfs"
	"osps/common/wire"
)

// startRef runs this test binary as reference server kind with workers
// workers on 127.0.0.1:0 and returns it and its workers' pids. The test's
// cleanup stops it and checks that no process of it is left.
func startRef(t *testing.T, kind string, workers int, flags ...string) (*server, []int) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	argv := append([]string{exe, kind, "--listen", "127.0.0.1", "--port", "0", "--workers", strconv.Itoa(workers)}, flags...)
	srv, err := startServer(argv, 20*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	kids := procfs.ChildPids(srv.cmd.Process.Pid)
	t.Cleanup(func() {
		if _, err := srv.stop(20 * time.Second); err != nil {
			t.Errorf("stop %s: %v", kind, err)
		}
		for _, pid := range append(kids, srv.cmd.Process.Pid) {
			if err := syscall.Kill(pid, 0); err == nil {
				t.Errorf("%s: process %d still exists after stop", kind, pid)
			}
		}
	})
	if len(kids) != workers {
		t.Fatalf("%s --workers %d: %d children %v", kind, workers, len(kids), kids)
	}
	return srv, kids
}

// answer reads one reply: the OK payload, or the ERR line.
func answer(t *testing.T, r *bufio.Reader) (payload []byte, errLine string) {
	t.Helper()
	p, e, err := readAnswer(r)
	if err != nil {
		t.Fatal(err)
	}
	return p, e
}

// readAnswer is answer for a goroutine other than the test's.
func readAnswer(r *bufio.Reader) (payload []byte, errLine string, err error) {
	h, err := r.ReadString('\n')
	if err != nil {
		return nil, "", fmt.Errorf("read reply line (got %q): %w", h, err)
	}
	h = strings.TrimSuffix(h, "\n")
	if strings.HasPrefix(h, "ERR ") {
		return nil, h, nil
	}
	var n int
	if _, err := fmt.Sscanf(h, "OK %d", &n); err != nil {
		return nil, "", fmt.Errorf("expected OK <n> or ERR, got %q", h)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, "", fmt.Errorf("payload of %d bytes: %w", n, err)
	}
	return b, "", nil
}

var type1Answer = regexp.MustCompile(`^worker=(\d+) pid=(\d+) served=\d+\n$`)

// checkType1 checks a requetetype1 answer and returns the pid it names,
// which must be one of the workers'.
func checkType1(t *testing.T, p []byte, workers []int) int {
	t.Helper()
	pid, err := type1Pid(p, workers)
	if err != nil {
		t.Error(err)
	}
	return pid
}

func type1Pid(p []byte, workers []int) (int, error) {
	m := type1Answer.FindSubmatch(p)
	if m == nil {
		return 0, fmt.Errorf("requetetype1 answered %q", p)
	}
	pid, _ := strconv.Atoi(string(m[2]))
	if !slices.Contains(workers, pid) {
		return pid, fmt.Errorf("requetetype1 answered by pid %d, not one of the workers %v", pid, workers)
	}
	return pid, nil
}

// checkType2 checks a requetetype2 payload of n bytes byte for byte.
func checkType2(t *testing.T, p []byte, n int) {
	t.Helper()
	if err := type2OK(p, n); err != nil {
		t.Error(err)
	}
}

func type2OK(p []byte, n int) error {
	if len(p) != n {
		return fmt.Errorf("requetetype2 %d: %d bytes", n, len(p))
	}
	if err := wire.CheckPattern(p, 0); err != nil {
		return fmt.Errorf("requetetype2 %d: %w", n, err)
	}
	return nil
}

func testRefSession(t *testing.T, kind string) {
	srv, workers := startRef(t, kind, 2)
	c, r := dial(t, srv.Addr)
	// Several lines at once, as a pipelining client sends them: each is
	// answered in order on the same connection.
	if _, err := io.WriteString(c, "requetetype1\nrequetetype2 100000\nrequetetype2\nrequetetype2 67108865\nbogus\n\nSTATS\nrequetetype2 3\nrequetetype1\r\nQUIT\n"); err != nil {
		t.Fatal(err)
	}
	p, _ := answer(t, r)
	checkType1(t, p, workers)
	p, _ = answer(t, r)
	checkType2(t, p, 100000)
	p, _ = answer(t, r)
	checkType2(t, p, wire.DefaultType2Bytes)
	var codes []string
	for range 3 {
		if _, e := answer(t, r); e != "" {
			codes = append(codes, strings.Fields(e)[1])
		}
	}
	if diff := cmp.Diff([]string{wire.CodeTooLarge, wire.CodeUnknownType, wire.CodeBadRequest}, codes); diff != "" {
		t.Errorf("error codes (-want +got):\n%s", diff)
	}
	if p, _ := answer(t, r); !regexp.MustCompile(`^worker=\d+ pid=\d+ state=idle served=\d+ restarts=0\n$`).Match(p) {
		t.Errorf("STATS answered %q", p)
	}
	p, _ = answer(t, r)
	if diff := cmp.Diff([]byte{0x00, 0x9e, 0x3c}, p); diff != "" {
		t.Errorf("requetetype2 3 (-want +got):\n%s", diff)
	}
	p, _ = answer(t, r)
	checkType1(t, p, workers)
	if l := line(t, r); l != wire.BYE {
		t.Errorf("QUIT answered %q", l)
	}
	if b, err := r.ReadByte(); err != io.EOF {
		t.Errorf("after BYE: %q, %v; want end of file", b, err)
	}
}

// More persistent sessions than workers, all open at once, each with
// several requests in turn: under fdpass, a worker held for a whole
// session would leave three sessions unanswered (the read deadline of
// dial fails them).
func testRefManySessions(t *testing.T, kind string) {
	srv, workers := startRef(t, kind, 2)
	const sessions, rounds = 5, 4
	var wg sync.WaitGroup
	for i := range sessions {
		c, r := dial(t, srv.Addr)
		wg.Go(func() {
			for k := range rounds {
				n := 1000*i + 70000*k + 1
				_, err := fmt.Fprintf(c, "requetetype2 %d\nrequetetype1\n", n)
				var p1, p2 []byte
				if err == nil {
					p2, _, err = readAnswer(r)
				}
				if err == nil {
					err = type2OK(p2, n)
				}
				if err == nil {
					p1, _, err = readAnswer(r)
				}
				if err == nil {
					_, err = type1Pid(p1, workers)
				}
				if err != nil {
					t.Errorf("session %d, round %d: %v", i, k, err)
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestFdpassSession(t *testing.T)       { testRefSession(t, "fdpass") }
func TestPreforkSession(t *testing.T)      { testRefSession(t, "prefork") }
func TestFdpassManySessions(t *testing.T)  { testRefManySessions(t, "fdpass") }
func TestPreforkManySessions(t *testing.T) { testRefManySessions(t, "prefork") }

// A worker killed between two requests is dropped: the request handed
// to it fails and ends its session (the answer might be half written),
// and a new session is served by the worker left.
func TestFdpassWorkerKilled(t *testing.T) {
	srv, workers := startRef(t, "fdpass", 2)
	c, r := dial(t, srv.Addr)
	var pids []int
	for range 2 {
		_, _ = io.WriteString(c, "requetetype1\n")
		p, _ := answer(t, r)
		pids = append(pids, checkType1(t, p, workers))
	}
	// The idle list is oldest first: the two workers took turns, and the
	// first is next. The session reads a line only once the previous
	// request's worker has said done: the first is idle now. Kill it.
	if pids[0] == pids[1] {
		t.Fatalf("two requests in a row went to worker %d", pids[0])
	}
	if err := syscall.Kill(pids[0], syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_, _ = io.WriteString(c, "requetetype1\n")
	if b, err := r.ReadByte(); err != io.EOF {
		t.Errorf("request to the dead worker: %q, %v; want end of file", b, err)
	}
	c2, r2 := dial(t, srv.Addr)
	for range 3 {
		_, _ = io.WriteString(c2, "requetetype2 70000\nrequetetype1\n")
		p, _ := answer(t, r2)
		checkType2(t, p, 70000)
		p, _ = answer(t, r2)
		if pid := checkType1(t, p, workers); pid != pids[1] {
			t.Errorf("answered by %d, not by the worker left, %d", pid, pids[1])
		}
	}
}

// The dispatcher can refuse: with its only worker busy writing to a
// client that does not read, another request gets ERR busy after
// --queue-timeout; once that client goes, the worker is idle again.
func TestFdpassRefusesWhenBusy(t *testing.T) {
	srv, workers := startRef(t, "fdpass", 1, "--queue-timeout", "200ms")
	hog, hr := dial(t, srv.Addr)
	_, _ = io.WriteString(hog, "requetetype2 67108864\n")
	if l := line(t, hr); l != "OK 67108864" { // the worker has it; the rest is never read
		t.Fatalf("requetetype2 67108864 answered %q", l)
	}
	c, r := dial(t, srv.Addr)
	_, _ = io.WriteString(c, "requetetype1\n")
	if _, e := answer(t, r); !strings.HasPrefix(e, "ERR "+wire.CodeBusy+" ") {
		t.Fatalf("with the only worker busy: %q, want ERR %s", e, wire.CodeBusy)
	}
	hog.Close() // the worker's write fails: it says so and is idle again
	_, _ = io.WriteString(c, "requetetype1\n")
	p, e := answer(t, r)
	if e != "" {
		t.Fatalf("once the worker was free: %q", e)
	}
	checkType1(t, p, workers)
}

// The prefork workers accept on the very socket the parent made: its
// address answers even though the parent never accepts.
func TestPreforkParentDoesNotAccept(t *testing.T) {
	srv, _ := startRef(t, "prefork", 1)
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", srv.cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(srv.Addr)
	for _, fd := range fds {
		if l, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", srv.cmd.Process.Pid, fd.Name())); err == nil && strings.HasPrefix(l, "socket:") {
			t.Errorf("the prefork parent still holds a socket (fd %s, %s; port %s)", fd.Name(), l, port)
		}
	}
	c, r := dial(t, srv.Addr)
	_, _ = io.WriteString(c, "requetetype2 5\n")
	p, _ := answer(t, r)
	checkType2(t, p, 5)
}
