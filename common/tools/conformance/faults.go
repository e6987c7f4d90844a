// faults.go is the fault suite: worker crash and hang, dispatcher
// death, start-rate limit, each with and without --watchdog, and the
// server's limits under abuse (limits.go), as black-box checks run
// against every variant.

package conformance

import (
	"fmt"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"osps/common/tools/procfs"
	"osps/common/wire"
)

// RunFaults runs every fault check against the variant binary bin.
func RunFaults(t *testing.T, bin string, d Driver) { RunFaultsWith(t, bin, d, nil) }

// RunFaultsWith is RunFaults, each check behind gate; a check of another
// variant's protocol (VariantOnly) skips.
func RunFaultsWith(t *testing.T, bin string, d Driver, gate Gate) {
	checks := []struct {
		name string
		f    func(t *testing.T, bin string, d Driver)
	}{
		{"KillIdleWorkerBare", checkKillIdleBare},
		{"KillIdleWorkerWatchdog", checkKillIdleWatchdog},
		{"ServedAfterRespawn", checkServedAfterRespawn},
		{"KillWorkerMidPayload", checkKillMidPayload},
		{"HangWatchdog", checkHangWatchdog},
		{"HangBare", checkHangBare},
		{"StopThenContinue", checkStopThenContinue},
		{"KillDispatcher", checkKillDispatcher},
		{"StartRateLimit", checkStartRateLimit},
		{"SessionCap", checkSessionCap},
		{"SessionTimeouts", checkSessionTimeouts},
		{"SteadySlowReader", checkSteadySlowReader},
		{"TrickleReaders", checkTrickleReaders},
		{"StrangersHoldNoSession", checkStrangersHoldNoSession},
		{"RefusedLinesClose", checkRefusedLinesClose},
		{"FloodMemoryReturned", checkFloodMemoryReturned},
		{"PacedReaders", checkPacedReaders},
		{"SlowReadersBesideFast", checkSlowReadersBesideFast},
		{"HoardersBesideHonest", checkHoardersBesideHonest},
		{"QuitCancelsGoto", checkQuitCancelsGoto},
		{"DeadPortAnswers", checkDeadPortAnswers},
		{"RelayedCallback", checkRelayedCallback},
		{"HalfLinesAtListener", checkHalfLinesAtListener},
		{"DispatcherStopped", checkDispatcherStopped},
		{"SessionsPerPeer", checkSessionsPerPeer},
		{"EmptyLinesDoNotHold", checkEmptyLinesDoNotHold},
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			if !Applies(c.name, d.Name) {
				t.Skipf("%s only: not %s's protocol (VariantOnly)", VariantOnly[c.name], d.Name)
			}
			t.Parallel()
			if gate != nil {
				gate(t, c.name)
			}
			c.f(t, bin, d)
		})
	}
}

// Slot is one line of STATS (wire.ParseStats reads it).
type Slot = wire.Slot

// Stats asks STATS on a new session and parses it.
func Stats(t testing.TB, addr string) []Slot {
	t.Helper()
	s, err := PlainDial(t, addr)
	if err != nil {
		t.Fatalf("dial for STATS: %v", err)
	}
	defer s.Close()
	slots, err := wire.ParseStats(stats(t, s).Payload)
	if err != nil {
		t.Fatal(err)
	}
	return slots
}

// waitStats polls STATS until ok(slots) or the deadline.
func waitStats(t *testing.T, addr string, d time.Duration, what string, ok func([]Slot) bool) []Slot {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		slots := Stats(t, addr)
		if ok(slots) {
			return slots
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v, STATS still does not show %s: %+v", d, what, slots)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func requestsOK(t *testing.T, d Driver, addr string, n int) {
	t.Helper()
	s := d.Open(t, addr)
	for i := range n {
		line := fmt.Sprintf("requetetype2 %d", 1000+i)
		expectOK(t, d.Do(s, line), line, int64(1000+i))
	}
}

func checkKillIdleBare(t *testing.T, bin string, d Driver) {
	srv := Start(t, bin, "--workers", "2")
	victim := Stats(t, srv.Addr)[0]
	_ = syscall.Kill(victim.Pid, syscall.SIGKILL)
	waitStats(t, srv.Addr, 2*time.Second, "slot 0 dead", func(s []Slot) bool { return s[0].State == "dead" })
	requestsOK(t, d, srv.Addr, 20) // served by the one worker left
	if s := Stats(t, srv.Addr); s[0].State != "dead" || s[0].Restarts != 0 || s[1].Served < 20 {
		t.Errorf("bare mode: want slot 0 dead and not restarted, slot 1 serving: %+v", s)
	}
}

func checkKillIdleWatchdog(t *testing.T, bin string, d Driver) {
	srv := Start(t, bin, "--workers", "2", "--watchdog")
	victim := Stats(t, srv.Addr)[0]
	_ = syscall.Kill(victim.Pid, syscall.SIGKILL)
	slots := waitStats(t, srv.Addr, 2*time.Second, "slot 0 respawned", func(s []Slot) bool {
		return s[0].Restarts == 1 && s[0].State == "idle" && s[0].Pid != victim.Pid
	})
	if !slices.Contains(srv.Workers(), slots[0].Pid) {
		t.Errorf("the new pid %d is not a live worker of the server", slots[0].Pid)
	}
	requestsOK(t, d, srv.Addr, 20)
}

// checkServedAfterRespawn: STATS served= counts the current process's
// requests (a new pid starts at 0), total= the slot's since start.
func checkServedAfterRespawn(t *testing.T, bin string, d Driver) {
	srv := Start(t, bin, "--workers", "1", "--watchdog")
	requestsOK(t, d, srv.Addr, 3)
	before := Stats(t, srv.Addr)[0]
	if before.Served != 3 || before.Total != 3 {
		t.Fatalf("after 3 requests: served=%d total=%d, want 3 and 3", before.Served, before.Total)
	}
	_ = syscall.Kill(before.Pid, syscall.SIGKILL)
	waitStats(t, srv.Addr, 5*time.Second, "slot 0 respawned", func(s []Slot) bool {
		return s[0].Restarts == 1 && s[0].State == "idle"
	})
	requestsOK(t, d, srv.Addr, 1)
	after := Stats(t, srv.Addr)[0]
	if after.Pid == before.Pid || after.Served != 1 || after.Total != 4 {
		t.Errorf("after a respawn and 1 request: pid %d (was %d) served=%d total=%d, want a new pid, served=1, total=4",
			after.Pid, before.Pid, after.Served, after.Total)
	}
}

func checkKillMidPayload(t *testing.T, bin string, d Driver) {
	for _, args := range [][]string{{"--workers", "2"}, {"--workers", "2", "--watchdog"}} {
		srv := Start(t, bin, args...)
		s := d.Open(t, srv.Addr)
		killed := 0
		s.OnPayload = func() {
			for _, sl := range Stats(t, srv.Addr) {
				if sl.State == "busy" {
					_ = syscall.Kill(sl.Pid, syscall.SIGKILL)
					killed = sl.Pid
				}
			}
		}
		o := d.Do(s, "requetetype2 67108864")
		if killed == 0 {
			t.Fatalf("%v: no busy worker found to kill during the transfer", args)
		}
		if o.Err == nil && o.Code == "" {
			t.Fatalf("%v: the worker was killed mid-payload, yet the answer looks whole: %v", args, o)
		}
		if o.Code != "" && o.Code != "worker-failed" {
			t.Errorf("%v: got %v, want ERR worker-failed or a short payload", args, o)
		}
		requestsOK(t, d, srv.Addr, 3) // a new session is served
	}
}

func checkHangWatchdog(t *testing.T, bin string, d Driver) {
	srv := Start(t, bin, "--workers", "1", "--watchdog", "--hang-timeout", "1s",
		"--chaos", "hang=1", "--request-timeout", "20s")
	before := Stats(t, srv.Addr)[0]
	s := d.Open(t, srv.Addr)
	o := d.Do(s, "requetetype1")
	if o.Code != "worker-failed" && o.Code != "timeout" && o.Err == nil {
		t.Errorf("a request on a hanging worker: got %v, want ERR worker-failed or timeout", o)
	}
	slots := waitStats(t, srv.Addr, 5*time.Second, "the hung worker replaced", func(s []Slot) bool {
		return s[0].Restarts >= 1 && s[0].Pid != before.Pid
	})
	if !strings.Contains(srv.Log(), "worker hung") {
		t.Errorf("the log does not say the worker hung; STATS %+v", slots)
	}
}

func checkHangBare(t *testing.T, bin string, d Driver) {
	srv := Start(t, bin, "--workers", "2", "--chaos", "hang=1", "--request-timeout", "1s", "--grace", "1s", "--rate-window", "2s")
	s := d.Open(t, srv.Addr)
	o := d.Do(s, "requetetype1")
	if o.Code != "timeout" && o.Code != "worker-failed" && o.Err == nil {
		t.Errorf("a request on a hanging worker, bare: got %v, want ERR timeout", o)
	}
	busy := 0
	for _, sl := range Stats(t, srv.Addr) {
		if sl.State == "busy" {
			busy++
		}
	}
	if busy == 0 {
		t.Errorf("bare mode: the hung worker's slot should stay busy")
	}
}

func checkKillDispatcher(t *testing.T, bin string, d Driver) {
	for _, args := range [][]string{{"--workers", "3"}, {"--workers", "3", "--watchdog"}} {
		srv := Start(t, bin, args...)
		requestsOK(t, d, srv.Addr, 2)
		if len(srv.Workers()) != 3 {
			t.Fatalf("want 3 workers, see %v", srv.Workers())
		}
		srv.Signal(syscall.SIGKILL)
		srv.Wait(2 * time.Second)
		if err := srv.CheckGone(2 * time.Second); err != nil {
			t.Fatalf("%v: 2s after kill -9 of the dispatcher: %v", args, err)
		}
	}
}

func checkStartRateLimit(t *testing.T, bin string, d Driver) {
	srv := Start(t, bin, "--workers", "1", "--watchdog", "--chaos", "crash=1", "--queue-timeout", "3s")
	s := d.Open(t, srv.Addr)
	deadline := time.Now().Add(15 * time.Second)
	for !strings.Contains(srv.Log(), "start-rate limit") {
		if time.Now().After(deadline) {
			t.Fatalf("a worker that dies at every request never triggered the start-rate limit")
		}
		if o := d.Do(s, "requetetype1"); o.Code == "" && o.Err == nil {
			t.Fatalf("with crash=1 a request succeeded: %v", o)
		}
	}
}

// checkStopThenContinue: a worker that is only slow (kill -STOP, then
// kill -CONT after its request timed out) must come back to the pool.
func checkStopThenContinue(t *testing.T, bin string, d Driver) {
	// A short --rate-window: v2's dispatcher waits for a worker as long
	// as the min-rate rule lets its answer take.
	srv := Start(t, bin, "--workers", "1", "--request-timeout", "500ms", "--queue-timeout", "300ms", "--rate-window", "2s")
	victim := Stats(t, srv.Addr)[0]
	_ = syscall.Kill(victim.Pid, syscall.SIGSTOP)
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) { // a stop takes effect a moment later
		if p, ok := procfs.Read(victim.Pid); !ok || p.State == "T" || time.Now().After(deadline) {
			break
		}
	}
	s := d.Open(t, srv.Addr)
	if o := d.Do(s, "requetetype2 300000"); o.Code != "timeout" {
		_ = syscall.Kill(victim.Pid, syscall.SIGCONT)
		t.Fatalf("a request on a stopped worker: got %v, want ERR timeout", o)
	}
	_ = syscall.Kill(victim.Pid, syscall.SIGCONT)
	// Continued, the worker finishes the request it was given within its
	// own bounds: a v2 worker waits up to --callback-timeout (5 s by
	// default) for a client that no longer takes its call-back; a v3
	// worker is idle again when its ticket expires (--ticket-ttl, 5 s).
	waitStats(t, srv.Addr, 15*time.Second, "the slow worker idle again", func(s []Slot) bool {
		return s[0].State == "idle" && s[0].Pid == victim.Pid
	})
	requestsOK(t, d, srv.Addr, 3)
}
