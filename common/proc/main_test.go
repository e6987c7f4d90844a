// main_test.go demonstrates the helper-process pattern of Go's os/exec
// tests: the test binary re-executes itself, and when it finds
// OSPS_TEST_CHILD=1 in its environment it is not a test run but a tiny
// worker (RunWorker with a test role), started by the pool under test.
// The helpers below look at what the tests leave in the system: child
// processes (zombies included) and shared-memory segments.

package proc

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"osps/common/pingpong"
	"osps/common/tools/procfs"
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
//	serve        answer every ping request with a pong done
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
			if m.Op != pingpong.PingRequest {
				return nil
			}
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
		t.Errorf("child processes left (pid: state): %v", kids)
	}
	if segs := segments(); len(segs) > 0 {
		t.Errorf("shared-memory segments left: %v", segs)
	}
}

// children lists this process's children from /proc, as "pid:state"
// (state Z is a zombie: exited, not reaped).
func children() []string {
	var out []string
	for _, p := range procfs.Children(os.Getpid()) {
		out = append(out, fmt.Sprintf("%d:%s", p.Pid, p.State))
	}
	return out
}

// procState is the state letter of process pid ("" if it does not exist).
func procState(pid int) string {
	p, _ := procfs.Read(pid)
	return p.State
}

// segments lists the segments this process created that still exist.
func segments() []string {
	ids, err := procfs.SegmentsCreatedBy(os.Getpid())
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
