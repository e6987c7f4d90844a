// Tests of the worker's main loop, by running this test binary as a
// worker by hand: its --help, and a clean exit once the dispatcher is
// gone.

package proc

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"osps/common/shm"
)

func TestWorkerHelp(t *testing.T) {
	status, stdout, stderr := execWorker(t, nil, "--help")
	if status != 0 || !strings.Contains(stdout, "Usage: vt worker --shm-id ID --slot N") || !strings.Contains(stdout, "--mode") || stderr != "" {
		t.Errorf("worker --help: status %d, stdout %q, stderr %q", status, stdout, stderr)
	}
	status, stdout, stderr = execWorker(t, nil, "--no-such-flag")
	if status != 2 || stdout != "" || !strings.Contains(stderr, "unknown flag: --no-such-flag") {
		t.Errorf("worker --no-such-flag: status %d, stdout %q, stderr %q", status, stdout, stderr)
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
		f.Close() // the worker's ends: keep no copy, or EOF never comes
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
