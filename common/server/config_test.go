// Tests of the arithmetic of the limits: how long the
// min-rate rule lets an answer take, and the session cap against the
// open-file limit.

package server

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"osps/common/service"
	"osps/common/wire"
)

func TestAnswerTime(t *testing.T) {
	c := Config{Rate: service.Rate{MinRate: 64 << 10, Window: 10 * time.Second}} // quota: 640 KiB a window
	got := map[int64]time.Duration{}
	for _, n := range []int64{0, 30, 640 << 10, 640<<10 + 1, 64 << 20} {
		got[n] = c.AnswerTime(n)
	}
	want := map[int64]time.Duration{
		0:           10 * time.Second, // the reply line alone gets a window
		30:          10 * time.Second,
		640 << 10:   20 * time.Second,
		640<<10 + 1: 20 * time.Second,
		64 << 20:    1034 * time.Second, // 64 MiB at 64 KiB/s: 1024 s, and one window behind
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("AnswerTime (-want +got):\n%s", diff)
	}
}

func TestSizeSessions(t *testing.T) {
	room, limit, err := sessionRoom(4)
	if err != nil {
		t.Fatal(err)
	}
	if room != limit-fdReserve(4) {
		t.Fatalf("room %d, limit %d, reserve %d", room, limit, fdReserve(4))
	}
	if room < 2 {
		t.Skipf("open-file limit %d too low for this test", limit)
	}
	c := Config{Workers: 4}
	if err := c.sizeSessions(); err != nil || c.MaxSessions != room {
		t.Errorf("derived --max-sessions = %d, %v; want %d", c.MaxSessions, err, room)
	}
	c = Config{Workers: 4, MaxSessions: room - 1}
	if err := c.sizeSessions(); err != nil || c.MaxSessions != room-1 {
		t.Errorf("--max-sessions %d: got %d, %v", room-1, c.MaxSessions, err)
	}
	c = Config{Workers: 4, MaxSessions: room + 1}
	if err := c.sizeSessions(); err == nil || !strings.Contains(err.Error(), "leaves room for") {
		t.Errorf("--max-sessions above the room: got %v, want an error", err)
	}
}

// TestLongLane: long answers may hold all workers but a quarter (one at
// least), never every worker once there are two; --long-answers sets it.
func TestLongLane(t *testing.T) {
	got := map[[2]int]int{}
	for _, c := range [][2]int{{1, 0}, {2, 0}, {4, 0}, {8, 0}, {16, 0}, {4, 4}, {4, 1}} {
		got[c] = longLane(c[0], c[1])
	}
	want := map[[2]int]int{{1, 0}: 1, {2, 0}: 1, {4, 0}: 3, {8, 0}: 6, {16, 0}: 12, {4, 4}: 4, {4, 1}: 1}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("longLane (-want +got):\n%s", diff)
	}
	c := Config{Rate: service.Rate{MinRate: 64 << 10, Window: 10 * time.Second}}
	for n, long := range map[int64]bool{0: false, 640 << 10: false, 640<<10 + 1: true, 64 << 20: true} {
		if c.long(wire.Request{Type: wire.Type2, N: n}) != long {
			t.Errorf("requetetype2 %d: long = %v, want %v", n, !long, long)
		}
	}
	// A Rate left zero means the defaults, for the lane as for the
	// RateWriter: one quota is 640 KiB, not 0.
	var zero Config
	for n, long := range map[int64]bool{1: false, 640 << 10: false, 640<<10 + 1: true} {
		if zero.long(wire.Request{Type: wire.Type2, N: n}) != long {
			t.Errorf("zero Rate, requetetype2 %d: long = %v, want %v", n, !long, long)
		}
	}
}
