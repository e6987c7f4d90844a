// The bounds of a worker's answer: a client that stops reading is cut by
// the min-rate rule and its worker comes back, and a transfer that makes
// no progress stops the heartbeat, so the watchdog sees it.

package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"osps/common/tools/conformance"
)

// stall follows g for line, reads the answer's header, and then reads
// nothing more: the worker's writes soon block on the full socket.
func stall(t *testing.T, s *conformance.Session, g conformance.Goto, line string) {
	t.Helper()
	c, r, err := s.DialWorker(g)
	if err != nil {
		t.Fatal(err)
	}
	if err := conformance.Prove(c, r, g.Key); err != nil {
		t.Fatal(err)
	}
	if _, err := fmt.Fprintf(c, "HELLO %s\n%s\n", g.Ticket, line); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(conformance.IOTimeout))
	if h, err := r.ReadString('\n'); err != nil || !strings.HasPrefix(h, "OK ") {
		t.Fatalf("%q: got %q, %v; want OK <n>", line, h, err)
	}
}

// waitSlot polls STATS until slot 0 satisfies ok (bounded: a liveness
// check, not a speed check).
func waitSlot(t *testing.T, addr, what string, ok func(conformance.Slot) bool) conformance.Slot {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		sl := conformance.Stats(t, addr)[0]
		if ok(sl) {
			return sl
		}
		if time.Now().After(deadline) {
			t.Fatalf("20 s on, slot 0 is still not %s: %+v", what, sl)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestStalledReaderCut: a client that takes the header of a 64 MiB
// answer and then reads nothing is cut by the min-rate rule; its worker
// is idle again and serves the next client.
func TestStalledReaderCut(t *testing.T) {
	srv := conformance.Start(t, bin, "--workers", "1", "--min-rate", "65536", "--rate-window", "1s")
	s := v3.Open(t, srv.Addr)
	const line = "requetetype2 67108864"
	stall(t, s, askGoto(t, s, line), line)
	waitSlot(t, srv.Addr, "idle again", func(sl conformance.Slot) bool { return sl.State == "idle" })
	if !strings.Contains(srv.Log(), "answer cut") {
		t.Errorf("the worker is idle again, but its log does not say the answer was cut:\n%s", srv.Log())
	}
	other := v3.Open(t, srv.Addr)
	expectOK(t, v3.Do(other, "requetetype2 1000"), "requetetype2 1000 after the cut", 1000)
}

// TestStalledTransferSeenByWatchdog: with a min-rate window far longer
// than --hang-timeout, a stalled transfer is not cut yet, but it stops
// the heartbeat: the watchdog kills the worker and replaces it.
func TestStalledTransferSeenByWatchdog(t *testing.T) {
	srv := conformance.Start(t, bin, "--workers", "1", "--min-rate", "1", "--rate-window", "10m",
		"--watchdog", "--hang-timeout", "1s")
	victim := conformance.Stats(t, srv.Addr)[0]
	s := v3.Open(t, srv.Addr)
	const line = "requetetype2 67108864"
	stall(t, s, askGoto(t, s, line), line)
	waitSlot(t, srv.Addr, "replaced", func(sl conformance.Slot) bool {
		return sl.Restarts >= 1 && sl.Pid != victim.Pid && sl.State == "idle"
	})
	if !strings.Contains(srv.Log(), "worker hung") {
		t.Errorf("the worker was replaced, but the log does not say it hung:\n%s", srv.Log())
	}
}
