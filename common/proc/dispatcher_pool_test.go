// Tests of the dispatcher's pool against real worker processes (this
// test binary, re-executed): start-up and "pong ready",
// handing workers out and taking them back, a bounded wait when all are
// busy, which idle worker is handed out, a worker killed with SIGKILL,
// draining, and stopping with every child reaped and the segment gone.

package proc

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"

	"osps/common/pingpong"
	"osps/common/shm"
)

func TestPoolStartAcquireRelease(t *testing.T) {
	p := startPool(t, 2, "serve")
	ws := p.Workers()
	if len(ws) != 2 {
		t.Fatalf("Workers() has %d entries, want 2", len(ws))
	}
	for i, w := range ws {
		if w == nil || w.ID != i {
			t.Fatalf("worker %d: %+v", i, w)
		}
		// Both said ready: their slot is idle and holds their pid, and
		// the process is our child, running.
		if st := w.Slot.State(); st != shm.Idle {
			t.Errorf("worker %d: slot state %v, want idle", i, st)
		}
		if w.Slot.Pid() != w.Pid || w.Pid <= 0 {
			t.Errorf("worker %d: slot pid %d, handle pid %d", i, w.Slot.Pid(), w.Pid)
		}
		if st := procState(w.Pid); st == "" || st == "Z" {
			t.Errorf("worker %d (pid %d): process state %q, want a live process", i, w.Pid, st)
		}
		if !w.Alive() {
			t.Errorf("worker %d: Alive() = false", i)
		}
	}
	if stats := string(p.Stats()); !strings.Contains(stats, "worker=0 pid=") || !strings.Contains(stats, "state=idle served=0 restarts=0 total=0\n") || strings.Count(stats, "\n") != 2 {
		t.Errorf("Stats() = %q, want one idle line per worker", stats)
	}

	ctx := context.Background()
	a, err := p.Acquire(ctx)
	if err != nil {
		t.Fatalf("Acquire: %v", err)
	}
	if idle, busy := p.Count(shm.Idle), p.Count(shm.Busy); idle != 1 || busy != 1 {
		t.Errorf("one of two workers acquired: Count(idle), Count(busy) = %d, %d; want 1, 1", idle, busy)
	}
	b, err := p.Acquire(ctx)
	if err != nil {
		t.Fatalf("second Acquire: %v", err)
	}
	if a == b {
		t.Fatal("Acquire handed out the same worker twice")
	}
	for _, w := range []*Handle{a, b} {
		if st := w.Slot.State(); st != shm.Busy {
			t.Errorf("acquired worker %d: slot state %v, want busy", w.ID, st)
		}
	}

	// All busy: a bounded wait, then the context's error.
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if w, err := p.Acquire(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Acquire with every worker busy = %v, %v; want context.DeadlineExceeded", w, err)
	}

	// One request through worker a: ping, pong of the same request number.
	seq := a.Begin()
	if err := a.Ping(pingpong.PingRequest, 41); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	m, err := a.Await(patience)
	if err != nil {
		t.Fatalf("Await: %v", err)
	}
	if m.Op != pingpong.PongDone || m.Seq != seq || m.Arg != 42 {
		t.Errorf("pong %+v, want pong done seq %d arg 42", m, seq)
	}
	if a.Slot.Served() != 1 || a.Slot.Total() != 1 {
		t.Errorf("served %d, total %d; want 1, 1", a.Slot.Served(), a.Slot.Total())
	}

	// Released, a worker is idle again and the next Acquire gets it.
	p.Release(a)
	if st := a.Slot.State(); st != shm.Idle {
		t.Errorf("released worker: slot state %v, want idle", st)
	}
	c, err := p.Acquire(short2(t))
	if err != nil || c != a {
		t.Fatalf("Acquire after Release = %v, %v; want worker %d", c, err, a.ID)
	}
	p.Release(b)
	p.Release(c)

	pids := []int{a.Pid, b.Pid}
	id := p.Seg.ID()
	p.stop()
	for _, w := range []*Handle{a, b} {
		if w.Alive() || w.Slot == nil {
			t.Errorf("worker %d alive after StopWorkers", w.ID)
		}
		if w.Status() != nil {
			t.Errorf("worker %d exit status %v, want 0 (it saw end of file and exited)", w.ID, w.Status())
		}
	}
	for _, pid := range pids {
		if st := procState(pid); st != "" {
			t.Errorf("pid %d after StopWorkers: state %q, want gone (reaped)", pid, st)
		}
	}
	var d unix.SysvShmDesc
	if _, err := unix.SysvShmCtl(id, unix.IPC_STAT, &d); !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.EIDRM) {
		t.Errorf("segment %d after Close: IPC_STAT = %v, want it gone", id, err)
	}
}

// patience bounds the test's wait for a pong or a worker that should
// come at once (a hang would fail, not block the suite).
const patience = 10 * time.Second

// short2 is a context that ends the test's wait for a worker after
// patience.
func short2(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	t.Cleanup(cancel)
	return ctx
}

func TestWorkerKilledWhileBusy(t *testing.T) {
	p := startPool(t, 2, "serve")
	w, err := p.Acquire(short2(t))
	if err != nil {
		t.Fatal(err)
	}
	w.Begin()
	if err := syscall.Kill(w.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_, err = w.Await(patience)
	if !errors.Is(err, ErrWorkerDied) {
		t.Fatalf("Await after kill -9: %v, want ErrWorkerDied", err)
	}
	<-w.Exited()
	if w.Alive() {
		t.Error("Alive() = true after the worker was reaped")
	}
	if st := w.Slot.State(); st != shm.Dead {
		t.Errorf("slot state %v, want dead", st)
	}
	if st := w.Status(); st == nil || !strings.Contains(st.Error(), "killed") {
		t.Errorf("Status() = %v, want signal: killed", st)
	}
	if st := procState(w.Pid); st != "" {
		t.Errorf("killed worker pid %d: state %q, want reaped", w.Pid, st)
	}
	if err := w.Ping(pingpong.PingRequest, 0); err == nil {
		t.Error("Ping to a dead worker succeeded")
	}
	p.Release(w) // a dead worker is not put back
	other, err := p.Acquire(short2(t))
	if err != nil || other == w {
		t.Fatalf("Acquire = %v, %v; want the other worker", other, err)
	}
	short, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if got, err := p.Acquire(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Acquire with one busy and one dead worker = %v, %v; want DeadlineExceeded", got, err)
	}
	if !strings.Contains(string(p.Stats()), "state=dead") {
		t.Errorf("Stats() = %q, want a dead slot", p.Stats())
	}
}

func TestWorkerKilledWhileIdle(t *testing.T) {
	p := startPool(t, 2, "serve")
	dead := p.Workers()[0]
	dead.Kill()
	<-dead.Exited()
	// Acquire skips the dead worker in the idle queue.
	for range 2 {
		short, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		w, err := p.Acquire(short)
		cancel()
		if w == dead {
			t.Fatal("Acquire handed out a dead worker")
		}
		if w != nil {
			continue // the live one, first time
		}
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Acquire: %v", err)
		}
	}
}

func TestDrain(t *testing.T) {
	p := startPool(t, 2, "serve")
	w, err := p.Acquire(short2(t))
	if err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if p.Drain(short) {
		t.Error("Drain reported done with a worker busy")
	}
	if got, err := p.Acquire(short2(t)); !errors.Is(err, ErrClosing) {
		t.Errorf("Acquire while draining = %v, %v; want ErrClosing", got, err)
	}
	p.Release(w)
	if !p.Drain(short2(t)) {
		t.Error("Drain reported not done with no worker busy")
	}
}

func TestStopWorkersKillsStubbornWorker(t *testing.T) {
	cfg := testConfig(t, 1, "stubborn")
	pool, err := Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	w := pool.Workers()[0]
	stopped := make(chan struct{})
	go func() {
		pool.StopWorkers(100 * time.Millisecond) // it will not exit by itself
		close(stopped)
	}()
	select {
	case <-stopped:
	case <-time.After(20 * time.Second):
		_ = syscall.Kill(w.Pid, syscall.SIGKILL) // clean up, then fail
		<-stopped
		t.Fatal("StopWorkers did not kill a worker that ignores the end of its ping pipe")
	}
	pool.Close()
	if w.Alive() {
		t.Fatal("worker alive after StopWorkers")
	}
	if st := w.Status(); st == nil || !strings.Contains(st.Error(), "killed") {
		t.Errorf("Status() = %v, want signal: killed", st)
	}
	checkNothingLeft(t)
}

func TestHeartbeatWhileIdle(t *testing.T) {
	p := startPool(t, 1, "serve")
	sl := p.Seg.Slot(0)
	first := sl.Heartbeat()
	if first.IsZero() || first.Unix() == 0 {
		t.Fatalf("no heartbeat after start-up: %v", first)
	}
	// The worker beats every 20ms while it waits; poll until it did
	// (bounded, so a worker that never beats fails instead of hanging).
	for deadline := time.Now().Add(10 * time.Second); !sl.Heartbeat().After(first); {
		if time.Now().After(deadline) {
			t.Fatal("an idle worker did not beat its heartbeat")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestStartFails(t *testing.T) {
	tests := []struct {
		mode    string
		workers int
		ready   time.Duration
		want    string
	}{
		{"fail", 2, 10 * time.Second, "worker 0 did not start: exit status 1"},
		{"fail-slot-1", 3, 10 * time.Second, "worker 1 did not start: exit status 1"},
		{"silent", 1, 200 * time.Millisecond, "worker 0 did not say ready within 200ms"},
		{"chatty", 1, 10 * time.Second, "worker 0 did not start: signal: killed"},
	}
	for _, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			cfg := testConfig(t, tt.workers, tt.mode)
			cfg.ReadyTimeout = tt.ready
			startFails(t, cfg, tt.want)
		})
	}
}

func TestStartBadConfig(t *testing.T) {
	for _, tt := range []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"no worker", func(c *Config) { c.Workers = 0 }, "at least one worker"},
		{"slot too small", func(c *Config) { c.SlotSize = 10 }, "slot size 10 below minimum"},
		{"no such binary", func(c *Config) { c.Exe = "/nonexistent/osps-worker" }, "start worker 0 (/nonexistent/osps-worker)"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig(t, 2, "serve")
			tt.edit(&cfg)
			startFails(t, cfg, tt.want)
		})
	}
}

// startFails starts a pool that must not start: the error names want,
// and nothing is left behind.
func startFails(t *testing.T, cfg Config, want string) {
	t.Helper()
	p, err := Start(cfg)
	if err == nil {
		p.StopWorkers(time.Second)
		p.Close()
		t.Fatal("Start succeeded")
	}
	if !strings.Contains(err.Error(), want) {
		t.Errorf("Start: %v; want %q", err, want)
	}
	checkNothingLeft(t)
}

// TestPickOrder checks which idle worker takes each request: by default
// the one idle the longest (the workers take turns); with LIFO the one
// idle the shortest (one client keeps getting worker#0, still warm).
// Either way worker#0 takes the first request.
func TestPickOrder(t *testing.T) {
	for _, tc := range []struct {
		lifo bool
		want []int
	}{
		{false, []int{0, 1, 2, 0, 1, 2}},
		{true, []int{0, 0, 0, 0, 0, 0}},
	} {
		t.Run(fmt.Sprintf("lifo=%v", tc.lifo), func(t *testing.T) {
			cfg := testConfig(t, 3, "serve")
			cfg.LIFO = tc.lifo
			p := startPoolWith(t, cfg)
			var got []int
			for range tc.want {
				w, err := p.Acquire(short2(t))
				if err != nil {
					t.Fatalf("Acquire: %v", err)
				}
				got = append(got, w.ID)
				p.Release(w)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("workers handed out (-want +got):\n%s", diff)
			}
		})
	}
}
