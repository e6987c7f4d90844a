// meter.go is the one CPU and memory meter for every design, as UNP's
// servers share pr_cpu_time: the bench starts a server (a variant's
// `serve`, or the floor) as a child process, notes the CPU its processes
// have used once it is ready, reads the dispatcher's peak resident size
// (VmHWM in /proc/<pid>/status) just before stopping it, stops it with
// SIGTERM, and takes the CPU of the dispatcher and of its workers from the
// rusage that wait4 returns for the dispatcher.
//
// On Linux, the rusage of a reaped child is RUSAGE_BOTH: its own time
// plus that of every child it reaped itself (kernel/exit.c,
// wait_task_zombie; TestWait4IncludesReapedChildren checks it here). A
// dispatcher reaps its workers with cmd.Wait before it exits, so their
// CPU is in its rusage. Its ru_maxrss is the largest of the group, not
// the dispatcher's own: hence VmHWM.

package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"osps/common/cli"
	"osps/common/tools/procfs"
)

// server is one running server process (and its workers).
type server struct {
	cmd   *exec.Cmd
	Addr  string // host:port from its "ready" line
	pgid  int
	done  chan struct{}
	err   error         // cmd.Wait's result, once done is closed
	log   tailBuffer    // the end of its stderr
	start time.Duration // CPU of the group once ready
	own   time.Duration // CPU of the dispatcher alone once ready
}

// startServer runs argv (which must print "ready host:port" on stdout)
// in its own process group, and waits for its ready line.
func startServer(argv []string, readyWithin time.Duration) (*server, error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	// Its own group: a Ctrl-C in the terminal reaches the bench, which
	// stops its servers itself, in order.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	s := &server{cmd: cmd, done: make(chan struct{})}
	cmd.Stderr = &s.log
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("%s: stdout: %w", filepath.Base(argv[0]), err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", filepath.Base(argv[0]), err)
	}
	s.pgid = cmd.Process.Pid
	s.Addr, err = cli.WaitReady(cmd, stdout, readyWithin, func(err error) {
		s.err = err
		close(s.done)
	})
	switch {
	case errors.Is(err, cli.ErrExitedBeforeReady):
		return nil, fmt.Errorf("%s exited before it was ready: %v\n%s", strings.Join(argv, " "), s.err, s.log.String())
	case err != nil:
		s.kill()
		return nil, fmt.Errorf("%s: %w\n%s", strings.Join(argv, " "), err, s.log.String())
	}
	// DOC: meter-start-cpu: what start-up used is not the load's: note it now.
	cpu, err := groupCPU(s.cmd.Process.Pid)
	if err != nil {
		s.kill()
		return nil, err
	}
	s.start = cpu
	if s.own, err = procCPU(s.cmd.Process.Pid); err != nil {
		s.kill()
		return nil, err
	}
	return s, nil
}

// peakRSS is the dispatcher's own peak resident size (VmHWM), in bytes.
func (s *server) peakRSS() (int64, error) {
	// DOC: meter-vmhwm: the dispatcher's own high-water mark of resident memory.
	b, err := procfs.StatusBytes(s.cmd.Process.Pid, "VmHWM")
	if err != nil {
		return 0, fmt.Errorf("dispatcher's peak resident size: %w", err)
	}
	return b, nil
}

// ownCPU is the CPU the dispatcher alone has used since it was ready
// (not its workers): the share of a processor it needed, over the
// load's duration, tells whether it is the bottleneck.
func (s *server) ownCPU() (time.Duration, error) {
	d, err := procCPU(s.cmd.Process.Pid)
	return d - s.own, err
}

// stop sends SIGTERM, waits for the dispatcher (it reaps its workers
// first), and returns the CPU time of the dispatcher and its workers
// since startServer returned: the rusage of wait4 minus what they had
// used when ready (start-up is not the load's).
func (s *server) stop(grace time.Duration) (time.Duration, error) {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-s.done:
	case <-t.C:
		s.kill()
		return 0, fmt.Errorf("server did not exit %v after SIGTERM: killed\n%s", grace, s.log.String())
	}
	_ = syscall.Kill(-s.pgid, syscall.SIGKILL) // anything left of its group
	if s.err != nil {
		return 0, fmt.Errorf("server exited with %v\n%s", s.err, s.log.String())
	}
	// DOC: meter-rusage: the dispatcher's rusage from wait4 counts the workers it reaped.
	ru, ok := s.cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok || ru == nil {
		return 0, errors.New("no rusage from wait4")
	}
	return rusageCPU(ru) - s.start, nil
}

// kill stops the server's whole group at once and reaps the dispatcher.
func (s *server) kill() {
	_ = syscall.Kill(-s.pgid, syscall.SIGKILL)
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
	}
}

func rusageCPU(ru *syscall.Rusage) time.Duration {
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// groupCPU is the CPU time used so far by process pid and its children
// (the workers). It is read while they run, where rusage is not
// available yet.
func groupCPU(pid int) (time.Duration, error) {
	var sum time.Duration
	for _, p := range append([]int{pid}, procfs.ChildPids(pid)...) {
		d, err := procCPU(p)
		if err != nil {
			return 0, err
		}
		sum += d
	}
	return sum, nil
}

// procCPU is the CPU time used so far by the live threads of process
// pid: the sum of the first field of /proc/<pid>/task/<tid>/schedstat,
// in nanoseconds.
func procCPU(pid int) (time.Duration, error) {
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		return 0, fmt.Errorf("threads of %d: %w", pid, err)
	}
	var sum time.Duration
	for _, t := range tasks {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/schedstat", pid, t.Name()))
		if err != nil {
			continue // the thread just exited
		}
		f := strings.Fields(string(b))
		if len(f) == 0 {
			continue
		}
		ns, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("schedstat of %d/%s: %q", pid, t.Name(), b)
		}
		sum += time.Duration(ns)
	}
	return sum, nil
}

// runClient runs a variant's client in load mode; it returns what the
// client printed and the CPU the client used.
func runClient(ctx context.Context, argv []string) (stdout string, cpu time.Duration, err error) {
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.WaitDelay = 5 * time.Second
	var out bytes.Buffer
	var errb tailBuffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	if cmd.ProcessState != nil {
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			cpu = rusageCPU(ru)
		}
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.ExitCode() == 1 {
		err = nil // some requests failed: the summary counts them
	}
	if err != nil {
		return out.String(), cpu, fmt.Errorf("%s: %w\n%s", strings.Join(argv, " "), err, errb.String())
	}
	return out.String(), cpu, nil
}

// cpuTimes reads the first line of /proc/stat: the time all the CPUs
// spent running processes, and in all, since boot, in clock ticks of
// 10 ms.
func cpuTimes() (busy, total uint64, err error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0, err
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line) // cpu user nice system idle iowait irq softirq steal ...
	if len(f) < 5 || f[0] != "cpu" {
		return 0, 0, fmt.Errorf("unexpected /proc/stat line %q", line)
	}
	for i, x := range f[1:] {
		v, err := strconv.ParseUint(x, 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("/proc/stat field %q: %w", x, err)
		}
		if i >= 8 {
			break // guest time is already in user time
		}
		total += v
		// Busy is user, nice and system time: the time of processes.
		// Interrupt and softirq time (loopback TCP's receive side) is
		// accounted apart from any process, ours included; steal is the
		// hypervisor's.
		if i <= 2 {
			busy += v
		}
	}
	return busy, total, nil
}

// ticks is the length of a /proc/stat clock tick (USER_HZ, 100 on Linux).
const ticks = 10 * time.Millisecond

// othersShare is the share of all the CPUs that processes other than
// ours used between two readings of cpuTimes, ours having used ours.
func othersShare(busy0, total0, busy1, total1 uint64, ours time.Duration) float64 {
	if total1 <= total0 {
		return 0
	}
	busy := time.Duration(busy1-busy0) * ticks
	return max(0, float64(busy-ours)/float64(time.Duration(total1-total0)*ticks))
}

// tailBuffer keeps the last 16 KiB written to it.
type tailBuffer struct {
	mu sync.Mutex
	b  []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if n := len(t.b); n > 16<<10 {
		t.b = append(t.b[:0], t.b[n-16<<10:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.b)
}

var _ io.Writer = (*tailBuffer)(nil)
