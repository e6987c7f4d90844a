// main_test.go makes the test binary play the worker too (the
// helper-process pattern of Go's os/exec tests): when it finds
// OSPS_TEST_CHILD=1 in its environment it is not a test run but a tiny
// worker (RunWorker with a test role), started by the pool under test.
// The helpers below look at what the tests leave in the system, asking
// the kernel (waitid, shm.CreatedBy) rather than an instrument: child
// processes (zombies included) and shared-memory segments.

package proc

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spf13/pflag"
	"golang.org/x/sys/unix"

	"osps/common/pingpong"
	"osps/common/shm"
	"osps/common/trace"
)

// childEnv marks a process started by these tests as a test worker.
const childEnv = "OSPS_TEST_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		// os.Args: test binary, "worker", then the worker's flags.
		os.Exit(RunWorker(os.Args[2:], testRole))
	}
	code := m.Run()
	if kids := children(); len(kids) > 0 {
		fmt.Fprintf(os.Stderr, "proc tests: child processes left: %v\n", kids)
		code = 1
	}
	if segs := segments(); len(segs) > 0 {
		fmt.Fprintf(os.Stderr, "proc tests: shared-memory segments left: %v\n", segs)
		code = 1
	}
	os.Exit(code)
}

// mode is what the test worker does, from its --mode flag.
var mode string

// testRole is the worker of these tests. Modes:
//
//	serve        answer every ping with a pong done (the loop passes requests only)
//	fail         exit with an error before saying ready
//	fail-slot-1  the same, in slot 1 only
//	silent       never say ready
//	chatty       say "done" instead of "ready"
//	stubborn     serve, but do not exit when the dispatcher closes the pipe
//	hang         say ready, then hang on the first request (no pong, no heartbeat)
//	files        write "slot <i>" into the one extra file it inherited (fd 5), then serve
var testRole = WorkerRole{
	Variant: "vt",
	Flags:   func(fs *pflag.FlagSet) { fs.StringVar(&mode, "mode", "serve", "what the test worker does") },
	Open: func(c *Self, _ *trace.Tracer) (PingServer, error) {
		serve := PingFunc(func(m pingpong.Msg) error {
			c.Slot.AddServed()
			return c.Pong(pingpong.Msg{Op: pingpong.PongDone, Seq: m.Seq, Arg: m.Arg + 1})
		})
		switch mode {
		case "serve":
			return serve, nil
		case "fail":
			return nil, errors.New("test worker fails on purpose")
		case "fail-slot-1":
			if c.ID == 1 {
				return nil, errors.New("test worker in slot 1 fails on purpose")
			}
			return serve, nil
		case "files":
			f := c.ExtraFile(0, "extra")
			if f == nil || c.ExtraFile(1, "none") != nil {
				return nil, errors.New("want exactly one extra file, fd 5")
			}
			defer f.Close()
			if _, err := fmt.Fprintf(f, "slot %d\n", c.ID); err != nil {
				return nil, err
			}
			return serve, nil
		case "silent":
			time.Sleep(time.Hour) // the pool kills it after ReadyTimeout
		case "chatty":
			_ = c.Pong(pingpong.Msg{Op: pingpong.PongDone})
			time.Sleep(time.Hour)
		case "stubborn":
			return stubborn{serve}, nil
		case "hang":
			return PingFunc(func(m pingpong.Msg) error {
				if m.Op == pingpong.PingRequest {
					time.Sleep(time.Hour) // the watchdog's SIGTERM ends it
				}
				return nil
			}), nil
		}
		return nil, fmt.Errorf("unknown test mode %q", mode)
	},
}

// stubborn serves, but does not exit when the dispatcher closes the pipe.
type stubborn struct{ PingFunc }

func (stubborn) Close() error { time.Sleep(time.Hour); return nil }

// testConfig is a pool of n test workers in the given mode.
func testConfig(t *testing.T, n int, mode string) Config {
	t.Helper()
	t.Setenv(childEnv, "1") // inherited by the workers only: TestMain has looked already
	// Under -race a process sleeps 1s before it exits (the race detector's
	// atexit_sleep_ms), which would make every stop take a second.
	t.Setenv("GORACE", strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0"))
	exe, err := Executable()
	if err != nil {
		t.Fatal(err)
	}
	return Config{
		Exe:          exe,
		Role:         []string{"worker", "--mode", mode},
		Worker:       WorkerFlags{Heartbeat: 20 * time.Millisecond},
		Workers:      n,
		SlotSize:     4096,
		ReadyTimeout: 10 * time.Second,
		Log:          slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
}

// testPool is a pool that a test may stop itself, or leave to cleanup.
type testPool struct {
	*Pool
	once sync.Once
}

// stop stops the workers and detaches the segment, once.
func (p *testPool) stop() {
	p.once.Do(func() {
		p.StopWorkers(5 * time.Second)
		p.Close()
	})
}

// startPool starts a pool of n test workers; at the end of the test it is
// stopped and nothing may be left.
func startPool(t *testing.T, n int, mode string) *testPool {
	t.Helper()
	return startPoolWith(t, testConfig(t, n, mode))
}

// startPoolWith is startPool with a configuration of the test's own.
func startPoolWith(t *testing.T, cfg Config) *testPool {
	t.Helper()
	pool, err := Start(cfg)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	p := &testPool{Pool: pool}
	t.Cleanup(func() {
		p.stop()
		checkNothingLeft(t)
	})
	return p
}

// checkNothingLeft fails the test if a child process (even a zombie) or
// a segment made by this process is left.
func checkNothingLeft(t *testing.T) {
	t.Helper()
	if kids := children(); len(kids) > 0 {
		t.Errorf("child processes left: %v", kids)
	}
	if segs := segments(); len(segs) > 0 {
		t.Errorf("shared-memory segments left: %v", segs)
	}
}

// children describes the child processes this process still has,
// zombies (exited, not reaped) included; nil if it has none. The kernel
// answers, as it answers the pool's reaper: waitid with WNOWAIT looks at
// the children without reaping any, and fails with ECHILD when there are
// none.
func children() []string {
	var info unix.Siginfo
	err := unix.Waitid(unix.P_ALL, 0, &info, unix.WEXITED|unix.WNOHANG|unix.WNOWAIT, nil)
	switch {
	case errors.Is(err, unix.ECHILD):
		return nil
	case err != nil:
		return []string{fmt.Sprintf("waitid: %v", err)}
	case info.Signo == int32(unix.SIGCHLD):
		return []string{fmt.Sprintf("a zombie at least (ps --ppid %d lists them)", os.Getpid())}
	}
	return []string{fmt.Sprintf("a live one at least (ps --ppid %d lists them)", os.Getpid())}
}

// procState is what the tests need to know of pid, one of this process's
// workers: "" once it is reaped (no longer our child), "Z" if it has
// exited and is not reaped yet, "live" otherwise; the kernel answers, as
// in children.
func procState(pid int) string {
	var info unix.Siginfo
	err := unix.Waitid(unix.P_PID, pid, &info, unix.WEXITED|unix.WNOHANG|unix.WNOWAIT, nil)
	switch {
	case errors.Is(err, unix.ECHILD):
		return ""
	case err != nil:
		return fmt.Sprintf("waitid: %v", err)
	case info.Signo == int32(unix.SIGCHLD):
		return "Z"
	}
	return "live"
}

// segments lists the segments this process created that still exist.
func segments() []string {
	ids, err := shm.CreatedBy(os.Getpid())
	if err != nil {
		return []string{err.Error()}
	}
	var out []string
	for _, id := range ids {
		out = append(out, fmt.Sprintf("shmid %d", id))
	}
	return out
}

// recvWithin reads one record from r, waiting at most d.
func recvWithin(r *os.File, d time.Duration) (pingpong.Msg, error) {
	if err := r.SetReadDeadline(time.Now().Add(d)); err != nil {
		return pingpong.Msg{}, err
	}
	defer r.SetReadDeadline(time.Time{})
	return pingpong.Recv(r)
}

// The helpers that look for leftovers see one: a live child, then a
// zombie, then nothing once it is reaped.
func TestLeftoverHelpersSeeAChild(t *testing.T) {
	cmd := exec.Command("sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Skip("no sleep binary:", err)
	}
	pid := cmd.Process.Pid
	reaped := false
	t.Cleanup(func() {
		if !reaped {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	if st := procState(pid); st != "live" {
		t.Errorf("procState(running child) = %q; want live", st)
	}
	if kids := children(); len(kids) == 0 {
		t.Errorf("children() = nil with a child running")
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); procState(pid) != "Z"; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("killed child %d: state %q 10s later; want Z (exited, not reaped)", pid, procState(pid))
		}
	}
	if kids := children(); len(kids) == 0 || !strings.Contains(kids[0], "zombie") {
		t.Errorf("children() = %q with a zombie child; want it named", kids)
	}
	reaped = true
	_ = cmd.Wait()
	if st := procState(pid); st != "" {
		t.Errorf("procState(reaped child) = %q; want \"\"", st)
	}
	if kids := children(); kids != nil {
		t.Errorf("children() = %q after the reap; want nil", kids)
	}
}
