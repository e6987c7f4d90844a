// Tests of a worker's start-up, by running this test binary as a worker
// by hand: a clear exit status 1 when it was not started by a dispatcher
// (no --shm-id, no fds 3 and 4, a segment that is not there, a slot
// beyond the segment), its flags through the dispatcher's command line,
// and the extra files it inherits; and its heartbeat while it waits on
// the network (BeatWhile).

package proc

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/pflag"

	"osps/common/shm"
)

// execWorker runs the test binary as a worker with args and extra files
// (fd 3, 4, ...) and returns its exit status, stdout and stderr.
func execWorker(t *testing.T, extra []*os.File, args ...string) (status int, stdout, stderr string) {
	t.Helper()
	exe, err := Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, append([]string{"worker"}, args...)...)
	cmd.Env = append(os.Environ(), childEnv+"=1", "GORACE=atexit_sleep_ms=0")
	cmd.ExtraFiles = extra
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.WaitDelay = 10 * time.Second
	err = cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), out.String(), errb.String()
	}
	if err != nil {
		t.Fatalf("run worker: %v", err)
	}
	return 0, out.String(), errb.String()
}

// pipes returns a ping pipe and a pong pipe as a worker expects them:
// the ends to hand over (fd 3: ping read end, fd 4: pong write end) and
// the dispatcher's ends.
func pipes(t *testing.T) (ends []*os.File, pingW, pongR *os.File) {
	t.Helper()
	pingR, pingW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	pongR, pongW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pingR.Close(); pingW.Close(); pongR.Close(); pongW.Close() })
	return []*os.File{pingR, pongW}, pingW, pongR
}

func TestWorkerNotStartedByDispatcher(t *testing.T) {
	seg, err := shm.Create(1, shm.MinSlotSize)
	if err != nil {
		t.Fatal(err)
	}
	defer seg.Detach()
	id := strconv.Itoa(seg.ID())

	tests := []struct {
		name  string
		pipes bool
		args  []string
		want  string
	}{
		{"no flags", true, nil, "worker is an internal role"},
		{"no slot", true, []string{"--shm-id", id}, "worker is an internal role"},
		// Without inherited pipes the worker must refuse to run, even
		// though since Go 1.25 the runtime itself may hold fds 3 and 4 (its
		// cgroup CPU-limit files): Attach checks that they are pipes.
		{"no fds 3 and 4", false, []string{"--shm-id", id, "--slot", "0"}, "fd 3 is not an inherited pipe end"},
		{"no such segment", true, []string{"--shm-id", "2147483647", "--slot", "0"}, "worker 0: shmat 2147483647"},
		{"slot beyond the segment", true, []string{"--shm-id", id, "--slot", "1"}, "worker slot 1: segment has 1 slots"},
		{"bad chaos", true, []string{"--shm-id", id, "--slot", "0", "--chaos", "crash=2"}, "must be a probability"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var extra []*os.File
			if tt.pipes {
				extra, _, _ = pipes(t)
			}
			status, stdout, stderr := execWorker(t, extra, tt.args...)
			if status != 1 || stdout != "" || !strings.Contains(stderr, tt.want) {
				t.Errorf("status %d, stdout %q, stderr %q; want status 1 and %q on stderr", status, stdout, stderr, tt.want)
			}
		})
	}
}

func TestWorkerFlagsArgs(t *testing.T) {
	for _, want := range []WorkerFlags{
		{ShmID: 0, Slot: 0, Heartbeat: time.Second},
		{ShmID: 12345, Slot: 7, Heartbeat: 20 * time.Millisecond, Trace: true, Chaos: "crash=0.5,seed=3"},
	} {
		var got WorkerFlags
		fs := pflag.NewFlagSet("worker", pflag.ContinueOnError)
		got.Register(fs)
		if err := fs.Parse(want.args()); err != nil {
			t.Fatalf("parse %q: %v", want.args(), err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("flags through args() (-want +got):\n%s", diff)
		}
	}
}

// TestExtraFiles: Config.Files reaches each worker as fd 5, its own only.
func TestExtraFiles(t *testing.T) {
	cfg := testConfig(t, 2, "files")
	var reads, writes []*os.File
	for range 2 {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { r.Close() })
		reads, writes = append(reads, r), append(writes, w)
	}
	cfg.Files = func(i int) []*os.File { return []*os.File{writes[i]} }
	pool, err := Start(cfg)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	defer checkNothingLeft(t)
	defer pool.Close()
	defer pool.StopWorkers(5 * time.Second)
	for i, r := range reads {
		writes[i].Close() // the caller's copy: end of file once the worker closed its own
		b, err := io.ReadAll(r)
		if want := fmt.Sprintf("slot %d\n", i); err != nil || string(b) != want {
			t.Errorf("slot %d wrote %q, %v; want %q", i, b, err, want)
		}
	}
}

// TestBeatWhile checks that BeatWhile beats the slot's heartbeat again
// and again while it runs, and never once stop has returned (stop is
// called twice: it may be).
func TestBeatWhile(t *testing.T) {
	seg, err := shm.Create(1, shm.MinSlotSize)
	if err != nil {
		t.Fatal(err)
	}
	defer seg.Detach()
	self := &Self{Slot: seg.Slot(0)}
	before := self.Slot.Heartbeat()
	stop := self.BeatWhile()
	first := nextBeat(t, self.Slot, before)
	nextBeat(t, self.Slot, first)
	stop()
	stop()
	last := self.Slot.Heartbeat()
	time.Sleep(3 * BeatEvery)
	if got := self.Slot.Heartbeat(); !got.Equal(last) {
		t.Errorf("heartbeat %v after stop, then %v: BeatWhile still beats once stopped", last, got)
	}
}

// nextBeat waits for a heartbeat later than prev, and returns it.
func nextBeat(t *testing.T, slot *shm.Slot, prev time.Time) time.Time {
	t.Helper()
	for range 1000 { // 10 s: far above BeatEvery
		if h := slot.Heartbeat(); h.After(prev) {
			return h
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no heartbeat after %v: BeatWhile does not beat every BeatEvery", prev)
	return prev
}
