// syscalls.go counts what a server asks of the kernel per request: strace
// -c -f attached to the dispatcher (all its threads) and to its workers
// (each pid given with its own -p: they already run, so -f on the
// dispatcher would not follow them), over a fixed number of requests (16
// clients at once), then each count divided by the requests. The counts
// are deterministic where times are not (strace slows everything down:
// read the calls, not the seconds), so Go v1 and its C twin are compared
// call by call (docs/comparison.md, "What the Go runtime adds").
//
//	osps-bench syscalls [--requests 16000] [--clients 16]    what the page shows

package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/pflag"

	"osps/common/cli"
	"osps/common/tools/procfs"
)

// syscallCount is what strace -c counted for one role of one server.
type syscallCount struct {
	Server, Role string           // v1 or c-v1; dispatcher or workers
	Calls        map[string]int64 // by system call
	Errors       map[string]int64 // failed calls (EAGAIN...), included in Calls
}

// syscallReport is the count for each server, over the same load.
type syscallReport struct {
	Requests, Clients int
	OK                map[string]int64 // requests served, per server
	Counts            []syscallCount
	Err               error // why nothing was counted (no strace...)
}

// countRequests and countClients are the load counted by the bench.
const countRequests, countClients = 16000, 16

func runSyscalls(args []string) int {
	fs := pflag.NewFlagSet("syscalls", pflag.ContinueOnError)
	requests := fs.Int("requests", countRequests, "requests counted, in all")
	clients := fs.Int("clients", countClients, "sessions at once")
	root := fs.String("root", ".", "the osps module's directory")
	binDir := fs.String("bin", "", "where to build v1 and its C twin (default ROOT/bin)")
	if st, done := cli.Parse(fs, args, "osps-bench syscalls [--requests 16000] [--clients 16]"); done {
		return st
	}
	c := config{root: *root, binDir: *binDir, workers: 4, variants: []string{"v1", "c-v1"}}
	if c.binDir == "" {
		c.binDir = filepath.Join(c.root, "bin")
	}
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintf(os.Stderr, "syscalls: %v\n", err)
		return 1
	}
	vs, err := prepare(c, self)
	if err != nil {
		fmt.Fprintf(os.Stderr, "syscalls: %v\n", err)
		return 1
	}
	sc := countSyscallsN(context.Background(), vs, c.workers, *requests, *clients)
	sc.markdown(os.Stdout)
	fmt.Println()
	fmt.Println(sc.summary())
	if sc.Err != nil {
		return 1
	}
	return 0
}

// countSyscalls counts v1's and the C twin's calls, as the bench does.
func countSyscalls(ctx context.Context, c config, vs []variant) *syscallReport {
	n := countRequests
	if c.quick {
		n = 4800
	}
	return countSyscallsN(ctx, vs, c.workers, n, countClients)
}

func countSyscallsN(ctx context.Context, vs []variant, workers, requests, clients int) *syscallReport {
	sc := &syscallReport{Requests: requests, Clients: clients, OK: map[string]int64{}}
	strace, err := exec.LookPath("strace")
	if err != nil {
		sc.Err = errors.New("strace is not installed (apt-get install strace)")
		return sc
	}
	for _, name := range []string{"v1", "c-v1"} {
		v, ok := find(vs, name)
		if !ok || v.skip != "" {
			continue
		}
		progress("strace -c -f: %s, %d requests, %d client(s)", name, requests, clients)
		counts, served, err := straceServer(ctx, strace, v, workers, requests, clients)
		if err != nil {
			sc.Err = fmt.Errorf("%s: %w", name, err)
			return sc
		}
		sc.OK[name] = served
		sc.Counts = append(sc.Counts, counts...)
	}
	if len(sc.Counts) == 0 {
		sc.Err = errors.New("neither v1 nor its C twin was built")
	}
	return sc
}

// straceServer starts v, warms it up, attaches one strace to the
// dispatcher and one to its workers, runs the counted load, and reads
// both summaries.
func straceServer(ctx context.Context, strace string, v variant, workers, requests, clients int) ([]syscallCount, int64, error) {
	srv, err := startServer([]string{v.bin, "serve", "--listen", "127.0.0.1", "--port", "0", "--workers", strconv.Itoa(workers)}, 15*time.Second)
	if err != nil {
		return nil, 0, err
	}
	defer func() { _, _ = srv.stop(30 * time.Second) }()
	load := func(n int) (int64, error) {
		out, _, err := runClient(ctx, []string{v.cli, "client", "--server", srv.Addr, "--clients", strconv.Itoa(clients),
			"--requests", strconv.Itoa(max(1, n/clients)), "--timeout", "60s", "requetetype1"})
		if err != nil {
			return 0, err
		}
		s, err := ParseSummary(strings.NewReader(out))
		if err != nil {
			return 0, err
		}
		return s.OK, nil
	}
	if _, err := load(100 * clients); err != nil { // warm: every worker has served
		return nil, 0, err
	}
	dir, err := os.MkdirTemp("", "osps-strace-")
	if err != nil {
		return nil, 0, err
	}
	defer os.RemoveAll(dir)
	d := srv.cmd.Process.Pid
	ws := procfs.ChildPids(d)
	if len(ws) == 0 {
		return nil, 0, fmt.Errorf("no worker process under pid %d", d)
	}
	groups := []struct {
		role string
		pids []int
	}{{"dispatcher", []int{d}}, {"workers", ws}}
	var tracers []*exec.Cmd
	stopAll := func() {
		for _, t := range tracers {
			_ = t.Process.Signal(os.Interrupt) // strace detaches and writes its summary
		}
		for _, t := range tracers {
			_ = t.Wait()
		}
	}
	for i, g := range groups {
		argv := []string{"-c", "-f", "-o", filepath.Join(dir, strconv.Itoa(i))}
		for _, p := range g.pids {
			argv = append(argv, "-p", strconv.Itoa(p))
		}
		t := exec.Command(strace, argv...)
		t.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // a Ctrl-C reaches the bench, which stops it
		var errb tailBuffer
		t.Stderr = &errb
		if err := t.Start(); err != nil {
			stopAll()
			return nil, 0, fmt.Errorf("start strace: %w", err)
		}
		tracers = append(tracers, t)
	}
	if err := awaitTraced(append([]int{d}, ws...), 10*time.Second); err != nil {
		stopAll()
		return nil, 0, err
	}
	served, err := load(requests)
	stopAll()
	if err != nil {
		return nil, 0, err
	}
	var counts []syscallCount
	for i, g := range groups {
		f, err := os.Open(filepath.Join(dir, strconv.Itoa(i)))
		if err != nil {
			return nil, 0, fmt.Errorf("strace's summary: %w", err)
		}
		c, err := parseStrace(f)
		f.Close()
		if err != nil {
			return nil, 0, err
		}
		c.Server, c.Role = v.Name, g.role
		counts = append(counts, c)
	}
	return counts, served, nil
}

// awaitTraced waits until every thread of every pid has a tracer
// (TracerPid in /proc/PID/task/TID/status), so that no counted request
// goes unseen.
func awaitTraced(pids []int, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		all := true
		for _, p := range pids {
			tasks, _ := os.ReadDir(fmt.Sprintf("/proc/%d/task", p))
			for _, t := range tasks {
				tracer, err := procfs.Field(fmt.Sprintf("/proc/%d/task/%s/status", p, t.Name()), "TracerPid")
				if err == nil && tracer == "0" {
					all = false // err: the thread just exited
				}
			}
		}
		if all {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("strace did not attach to %v within %v (is ptrace allowed here?)", pids, within)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// parseStrace reads the table strace -c writes:
//
//	% time     seconds  usecs/call     calls    errors syscall
//	------ ----------- ----------- --------- --------- ----------------
//	 30.60    0.181587          18     10002           epoll_wait
//	 26.36    0.156444          15     10001      5000 read
//	------ ----------- ----------- --------- --------- ----------------
//	100.00    0.593448          19     30009      5000 total
func parseStrace(r io.Reader) (syscallCount, error) {
	c := syscallCount{Calls: map[string]int64{}, Errors: map[string]int64{}}
	sc := bufio.NewScanner(r)
	header := false
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		switch {
		case len(f) > 0 && f[0] == "%":
			header = true
			continue
		case !header || len(f) < 5 || strings.HasPrefix(f[0], "---"):
			continue
		}
		name := f[len(f)-1]
		if name == "total" {
			break
		}
		calls, err := strconv.ParseInt(f[3], 10, 64)
		if err != nil {
			return c, fmt.Errorf("strace summary line %q: %w", sc.Text(), err)
		}
		c.Calls[name] = calls
		if len(f) == 6 {
			if e, err := strconv.ParseInt(f[4], 10, 64); err == nil {
				c.Errors[name] = e
			}
		}
	}
	if err := sc.Err(); err != nil {
		return c, err
	}
	if !header {
		return c, errors.New("no strace -c summary (no table header)")
	}
	return c, nil
}

// perRequest is the calls of one role of one server per request served
// (dispatcher, or worker: the workers' calls together, per request).
func (s *syscallReport) perRequest(server, role string) float64 {
	if role == "worker" {
		role = "workers"
	}
	for _, c := range s.Counts {
		if c.Server == server && c.Role == role && s.OK[server] > 0 {
			var n int64
			for _, k := range c.Calls {
				n += k
			}
			return float64(n) / float64(s.OK[server])
		}
	}
	return 0
}

// summary is the verdict's line.
func (s *syscallReport) summary() string {
	if s.Err != nil {
		return "system calls per request: not counted: " + s.Err.Error()
	}
	if s.OK["v1"] == 0 || s.OK["c-v1"] == 0 {
		return "system calls per request: not compared (v1 and c-v1 must both be measured)."
	}
	return fmt.Sprintf("system calls per request (strace -c -f, %d requests, %s): worker %.1f in Go against %.1f in C (target: at most 1 more), dispatcher %.1f against %.1f (at most 2 more).",
		s.Requests, clientsWord(s.Clients), s.perRequest("v1", "worker"), s.perRequest("c-v1", "worker"),
		s.perRequest("v1", "dispatcher"), s.perRequest("c-v1", "dispatcher"))
}

// markdown prints one row per server and role: every call that reached
// 0.05 per request, failed ones in brackets.
func (s *syscallReport) markdown(w io.Writer) {
	fmt.Fprintf(w, "\n### System calls per request (strace -c -f, %d requests of requetetype1, %s)\n\n", s.Requests, clientsWord(s.Clients))
	if s.Err != nil {
		fmt.Fprintf(w, "Not counted: %v.\n", s.Err)
		return
	}
	var rs [][]string
	for _, c := range s.Counts {
		ok := float64(max(s.OK[c.Server], 1))
		names := slices.Collect(maps.Keys(c.Calls))
		slices.SortFunc(names, func(a, b string) int { return int(c.Calls[b] - c.Calls[a]) })
		var parts []string
		for _, n := range names {
			if x := float64(c.Calls[n]) / ok; x >= 0.05 {
				p := fmt.Sprintf("%s %.2f", n, x)
				if e := c.Errors[n]; e > 0 {
					p += fmt.Sprintf(" (%.2f failed)", float64(e)/ok)
				}
				parts = append(parts, p)
			}
		}
		rs = append(rs, []string{c.Server, c.Role, fmt.Sprintf("%.2f", s.perRequest(c.Server, c.Role)), strings.Join(parts, ", ")})
	}
	table(w, []string{"server", "processes", "calls per request", "by call"}, rs)
}

// clientsWord is "1 client" or "16 clients".
func clientsWord(n int) string {
	if n == 1 {
		return "1 client"
	}
	return fmt.Sprintf("%d clients", n)
}
