// Tests of supervision with real worker processes: a worker killed with
// SIGKILL is replaced in its slot (and Config.Exited hears of it first),
// and a worker whose heartbeat stops is killed and replaced.

package proc

import (
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"osps/common/pingpong"
	"osps/common/shm"
)

// startWatched starts a pool of n workers with the watchdog on.
func startWatched(t *testing.T, n int, mode string, hang time.Duration) *testPool {
	t.Helper()
	cfg := testConfig(t, n, mode)
	cfg.Watchdog = Watchdog{Enabled: true, HangTimeout: hang, KillGrace: 200 * time.Millisecond}
	return startPoolWith(t, cfg)
}

// replaced waits until slot i has a ready worker other than old, and
// returns it (bounded: a watchdog that never respawns fails the test).
func replaced(t *testing.T, p *testPool, i int, old *Handle) *Handle {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if w := p.Workers()[i]; w != old && w != nil && w.Slot.State() == shm.Idle {
			return w
		}
	}
	t.Fatalf("slot %d: no new worker after the old one (pid %d) died", i, old.Pid)
	return nil
}

func TestWatchdogRespawnsDeadWorker(t *testing.T) {
	p := startWatched(t, 1, "serve", 10*time.Second)
	old := p.Workers()[0]
	old.Kill()
	nw := replaced(t, p, 0, old)
	if nw.Pid == old.Pid || nw.Slot.Pid() != nw.Pid {
		t.Errorf("new worker pid %d (slot says %d), old %d", nw.Pid, nw.Slot.Pid(), old.Pid)
	}
	if r := nw.Slot.Restarts(); r != 1 {
		t.Errorf("restarts %d, want 1", r)
	}
	// The new worker serves; the dead one is never handed out.
	w, err := p.Acquire(short2(t))
	if err != nil || w != nw {
		t.Fatalf("Acquire = %v, %v; want the new worker", w, err)
	}
	seq := w.Begin()
	if err := w.Ping(pingpong.PingRequest, 1); err != nil {
		t.Fatal(err)
	}
	if m, err := w.Await(patience); err != nil || m.Seq != seq || m.Op != pingpong.PongDone {
		t.Fatalf("Await = %+v, %v", m, err)
	}
	p.Release(w)
	if !strings.Contains(string(p.Stats()), "state=idle served=1 restarts=1") {
		t.Errorf("Stats() = %q", p.Stats())
	}
}

func TestWatchdogKillsHungWorker(t *testing.T) {
	p := startWatched(t, 1, "hang", 500*time.Millisecond)
	w, err := p.Acquire(short2(t))
	if err != nil {
		t.Fatal(err)
	}
	w.Begin()
	if err := w.Ping(pingpong.PingRequest, 0); err != nil {
		t.Fatal(err)
	}
	// The worker hangs: no pong, no heartbeat. The watchdog sends SIGTERM.
	if _, err := w.Await(patience); !errors.Is(err, ErrWorkerDied) {
		t.Fatalf("Await on a hung worker: %v, want ErrWorkerDied once the watchdog killed it", err)
	}
	<-w.Exited()
	if st := w.Status(); st == nil || !strings.Contains(st.Error(), "terminated") {
		t.Errorf("hung worker's status %v, want signal: terminated", st)
	}
	p.Release(w)
	nw := replaced(t, p, 0, w)
	if r := nw.Slot.Restarts(); r < 1 {
		t.Errorf("restarts %d, want at least 1", r)
	}
}

// TestExitedBeforeRespawn: Config.Exited hears of a death once the
// worker is reaped, while it is still its slot's worker (the watchdog's
// successor comes after), and not of the workers stopped at shutdown.
func TestExitedBeforeRespawn(t *testing.T) {
	type call struct {
		pid            int
		alive, current bool
	}
	calls := make(chan call, 4)
	var pool atomic.Pointer[Pool]
	cfg := testConfig(t, 1, "serve")
	cfg.Watchdog = Watchdog{Enabled: true, HangTimeout: 10 * time.Second, KillGrace: 200 * time.Millisecond}
	cfg.Exited = func(w *Handle) {
		calls <- call{pid: w.Pid, alive: w.Alive(), current: pool.Load().Workers()[w.ID] == w}
	}
	p := startPoolWith(t, cfg)
	pool.Store(p.Pool)
	old := p.Workers()[0]
	old.Kill()
	select {
	case got := <-calls:
		if diff := cmp.Diff(call{pid: old.Pid, alive: false, current: true}, got, cmp.AllowUnexported(call{})); diff != "" {
			t.Errorf("Exited (-want +got):\n%s", diff)
		}
	case <-time.After(10 * time.Second): // a guard against a hang, not a measure
		t.Fatal("Exited not called for a worker killed")
	}
	replaced(t, p, 0, old)
	p.stop() // StopWorkers returns once every watchExit has
	select {
	case got := <-calls:
		t.Errorf("Exited called at shutdown: %+v", got)
	default:
	}
}
