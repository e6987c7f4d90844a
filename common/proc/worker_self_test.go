// child_test.go checks the worker's side of start-up on its own, by
// running this test binary as a worker by hand: its --help, and a clear
// exit status 1 when it was not started by a dispatcher (no --shm-id, no
// fds 3 and 4, a segment that is not there, a slot beyond the segment).

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

// runWorker runs the test binary as a worker with args and extra files
// (fd 3, 4, ...) and returns its exit status, stdout and stderr.
func runWorker(t *testing.T, extra []*os.File, args ...string) (status int, stdout, stderr string) {
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
func pipes(t *testing.T) (child []*os.File, pingW, pongR *os.File) {
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

func TestWorkerHelp(t *testing.T) {
	status, stdout, stderr := runWorker(t, nil, "--help")
	if status != 0 || !strings.Contains(stdout, "Usage: vt worker --shm-id ID --slot N") || !strings.Contains(stdout, "--mode") || stderr != "" {
		t.Errorf("worker --help: status %d, stdout %q, stderr %q", status, stdout, stderr)
	}
	status, stdout, stderr = runWorker(t, nil, "--no-such-flag")
	if status != 2 || stdout != "" || !strings.Contains(stderr, "unknown flag: --no-such-flag") {
		t.Errorf("worker --no-such-flag: status %d, stdout %q, stderr %q", status, stdout, stderr)
	}
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
			status, stdout, stderr := runWorker(t, extra, tt.args...)
			if status != 1 || stdout != "" || !strings.Contains(stderr, tt.want) {
				t.Errorf("status %d, stdout %q, stderr %q; want status 1 and %q on stderr", status, stdout, stderr, tt.want)
			}
		})
	}
}

// TestWorkerExitsWhenDispatcherGone starts a worker by hand, reads its
// "pong ready", then closes the ping pipe as a dying dispatcher would: the
// worker reads end of file and exits 0 (DOC: worker-ping-eof).
func TestWorkerExitsWhenDispatcherGone(t *testing.T) {
	seg, err := shm.Create(2, shm.MinSlotSize)
	if err != nil {
		t.Fatal(err)
	}
	defer seg.Detach()
	extra, pingW, pongR := pipes(t)
	exe, err := Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "worker", "--shm-id", strconv.Itoa(seg.ID()), "--slot", "1")
	cmd.Env = append(os.Environ(), childEnv+"=1", "GORACE=atexit_sleep_ms=0")
	cmd.ExtraFiles = extra
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for _, f := range extra {
		f.Close() // the child's ends: keep no copy, or EOF never comes
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		_ = cmd.Process.Kill()
		<-exited
	}()

	m, err := recvWithin(pongR, 10*time.Second)
	if err != nil {
		t.Fatalf("waiting for pong ready: %v", err)
	}
	if m.Op.String() != "pong ready" || m.Arg != uint64(cmd.Process.Pid) {
		t.Fatalf("first record %+v, want pong ready with the worker's pid %d", m, cmd.Process.Pid)
	}
	if got := seg.Slot(1).Heartbeat(); got.IsZero() || got.Unix() == 0 {
		t.Errorf("slot 1 heartbeat %v: the worker did not attach its slot", got)
	}
	if seg.Slot(0).Heartbeat().Unix() != 0 {
		t.Error("the worker of slot 1 wrote slot 0")
	}

	pingW.Close()
	select {
	case err := <-exited:
		exited <- err // for the deferred Wait
		if err != nil {
			t.Errorf("worker after end of file on its ping pipe: %v, want exit status 0", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("worker did not exit after end of file on its ping pipe")
	}
}

func TestChildFlagsArgs(t *testing.T) {
	for _, want := range []ChildFlags{
		{ShmID: 0, Slot: 0, Heartbeat: time.Second},
		{ShmID: 12345, Slot: 7, Heartbeat: 20 * time.Millisecond, Trace: true, Chaos: "crash=0.5,seed=3"},
	} {
		var got ChildFlags
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

func TestParseChaos(t *testing.T) {
	for _, tt := range []struct {
		spec string
		want Chaos
		err  string
	}{
		{"", Chaos{}, ""},
		{"crash=0.25", Chaos{Crash: 0.25}, ""},
		{"crash=0.1, hang=0.2,seed=7", Chaos{Crash: 0.1, Hang: 0.2, Seed: 7}, ""},
		{"hang=1", Chaos{Hang: 1}, ""},
		{"lie=0.5,seed=2", Chaos{Lie: 0.5, Seed: 2}, ""},
		{"crash=0.5,lie=0.6", Chaos{}, "must not exceed 1"},
		{"crash", Chaos{}, "not key=value"},
		{"crash=-0.1", Chaos{}, "probability"},
		{"hang=x", Chaos{}, "probability"},
		{"seed=-1", Chaos{}, "seed"},
		{"boom=1", Chaos{}, "unknown key"},
		{"crash=0.6,hang=0.6", Chaos{}, "must not exceed 1"},
	} {
		got, err := ParseChaos(tt.spec)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ParseChaos(%q) = %v, want an error with %q", tt.spec, err, tt.err)
			}
			continue
		}
		if err != nil || !cmp.Equal(tt.want, got, cmp.AllowUnexported(Chaos{})) {
			t.Errorf("ParseChaos(%q) = %+v, %v; want %+v", tt.spec, got, err, tt.want)
		}
		if got.On() != (tt.want.Crash > 0 || tt.want.Hang > 0 || tt.want.Lie > 0) {
			t.Errorf("ParseChaos(%q).On() = %v", tt.spec, got.On())
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
