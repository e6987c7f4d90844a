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
