// ./run.sh top checked against STATS, slot by slot, before and after a
// worker is killed; a frame's width; the events it reports between two
// frames.

package main

import (
	"context"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"

	"osps/common/shm"
	"osps/common/tools/conformance"
)

var rowRE = regexp.MustCompile(`(?m)^(\d+)\s+(\w+)\s+(\d+)\s+(\S+)\s+(\d+)\s+(\d+)\s+(\d+)\s`)

// rows parses the slot lines of top's last frame into STATS's form.
func rows(t *testing.T, out string) []conformance.Slot {
	t.Helper()
	frames := strings.Split(strings.TrimSpace(out), "\n\n")
	var got []conformance.Slot
	for _, m := range rowRE.FindAllStringSubmatch(frames[len(frames)-1], -1) {
		n := func(i int) int { v, _ := strconv.Atoi(m[i]); return v }
		got = append(got, conformance.Slot{ID: n(1), State: m[2], Pid: n(3), Restarts: n(5), Served: n(6), Total: n(7)})
	}
	return got
}

// top --frames 2 shows what STATS shows, slot by slot; after kill -9 of
// a worker it shows the watchdog's respawn (a new pid, restarts 1).
func TestTopFramesMatchStats(t *testing.T) {
	tg := serve(t, "v1", "--workers", "2", "--watchdog")
	bin, _ := binary(binDir, "v1")
	client := func() {
		t.Helper()
		if out, err := runCmd(bin, "client", "--server", tg.Addr, "requetetype1", "requetetype2 100000"); err != nil {
			t.Fatalf("client: %v\n%s", err, out)
		}
	}
	client()
	out := runTool(t, "top", "--frames", "2", "--interval", "50ms", "--pid", strconv.Itoa(tg.Pid), "v1")
	if n := strings.Count(out, "osps top"); n != 2 {
		t.Errorf("--frames 2 printed %d frames:\n%s", n, out)
	}
	want := conformance.Stats(t, tg.Addr)
	if d := diffSlots(want, rows(t, out)); d != "" {
		t.Errorf("top and STATS differ (-STATS +top):\n%s\n%s", d, out)
	}

	victim := want[0].Pid
	if err := unix.Kill(victim, unix.SIGKILL); err != nil {
		t.Fatal(err)
	}
	var after []conformance.Slot
	for range 200 { // bounded: the watchdog respawns at once
		after = conformance.Stats(t, tg.Addr)
		if after[0].Restarts == 1 && after[0].State == "idle" {
			break
		}
		time.Sleep(25 * time.Millisecond)
	}
	client()
	after = conformance.Stats(t, tg.Addr)
	out = runTool(t, "top", "--frames", "2", "--interval", "50ms", "--shmid", fmt.Sprint(segmentID(t, tg.Pid)), "v1")
	got := rows(t, out)
	if d := diffSlots(after, got); d != "" {
		t.Errorf("after kill -9 of %d: top and STATS differ (-STATS +top):\n%s\n%s", victim, d, out)
	}
	if len(got) > 0 && (got[0].Pid == victim || got[0].Restarts != 1) {
		t.Errorf("slot 0 after kill -9 of %d: %+v; want a new pid and restarts 1", victim, got[0])
	}
}

func runCmd(name string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return exec.CommandContext(ctx, name, args...).CombinedOutput()
}

func diffSlots(want, got []conformance.Slot) string { return cmp.Diff(want, got) }

func segmentID(t *testing.T, pid int) int {
	t.Helper()
	id, err := segmentOf(pid)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// A frame fits 80 columns, even with large numbers and long requests.
func TestTopFrameFits80Columns(t *testing.T) {
	now := time.Now()
	big := row{State: shm.Starting, Pid: 4194304, Restarts: 999, Served: 999999, Total: 999999, Heartbeat: now.Add(-999 * time.Second),
		Request: "requetetype2 67108864 and more", AnswerN: -1, AnswerErr: "ERR worker-failed the worker died", Process: "T"}
	prev := sample{at: now.Add(-time.Second), rows: []row{big, big}}
	cur := sample{at: now, rows: []row{big, big}}
	log := []string{now.Format("15:04:05.0") + " slot 255: pid 4194304, stopped (hung), killed by the watchdog"}
	for _, l := range strings.Split(frame(2147483647, 4194304, prev, cur, log), "\n") {
		if n := len([]rune(l)); n > width {
			t.Errorf("%d columns: %q", n, l)
		}
	}
}

// Between two frames: a death, a stop, a hang killed, a respawn each
// get an event line.
func TestTopEvents(t *testing.T) {
	t0 := time.Now()
	idle := func(pid int, ps string, restarts uint64) row {
		return row{State: shm.Idle, Pid: pid, Process: ps, Restarts: restarts}
	}
	prev := sample{at: t0, rows: []row{idle(100, "S", 0), idle(200, "S", 0), idle(300, "T", 0), idle(400, "S", 0)}}
	dead := idle(200, "Z", 0)
	dead.State = shm.Dead
	cur := sample{at: t0.Add(time.Second), rows: []row{idle(101, "S", 1), dead, idle(301, "S", 1), idle(400, "T", 0)}}
	got := events(prev, cur)
	for i := range got {
		got[i] = got[i][len("15:04:05.0 "):]
	}
	want := []string{
		"slot 0: pid 100 died",
		"slot 0: respawned, pid 101 (restarts 1)",
		"slot 1: pid 200 died (state dead)",
		"slot 2: pid 300, stopped (hung), killed by the watchdog",
		"slot 2: respawned, pid 301 (restarts 1)",
		"slot 3: pid 400 stopped (SIGSTOP): its heartbeat stops",
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("events (-want +got):\n%s", d)
	}
	// A hung worker seen dead before its respawn: the kill is the
	// watchdog's; the next frame shows the respawn only.
	deadT := idle(300, "Z", 0)
	deadT.State = shm.Dead
	mid := sample{at: t0.Add(time.Second), rows: []row{deadT}}
	last := sample{at: t0.Add(2 * time.Second), rows: []row{idle(301, "S", 1)}}
	first := sample{at: t0, rows: []row{idle(300, "T", 0)}}
	got = append(events(first, mid), events(mid, last)...)
	for i := range got {
		got[i] = got[i][len("15:04:05.0 "):]
	}
	if d := cmp.Diff([]string{"slot 0: pid 300, stopped (hung), killed by the watchdog", "slot 0: respawned, pid 301 (restarts 1)"}, got); d != "" {
		t.Errorf("hang, dead, respawn (-want +got):\n%s", d)
	}
	if e := events(cur, cur); len(e) != 0 {
		t.Errorf("no change, yet events %q", e)
	}
}
