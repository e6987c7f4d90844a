// group_test.go checks that OwnGroup's cancellation kills a command's
// children too, not only the command.

package cli

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// gone reports whether pid has exited (no process, or a zombie not yet
// reaped by its new parent), waiting at most 5 s for it.
func gone(pid int) bool {
	for range 50 {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil {
			return true
		}
		if _, after, ok := strings.Cut(string(b), ") "); ok && strings.HasPrefix(after, "Z") {
			return true
		}
		time.Sleep(100 * time.Millisecond)
	}
	return false
}

func TestOwnGroupKillsTheChildren(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-c", "sleep 60 & echo $!; wait")
	OwnGroup(cmd)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }) // whatever happens below
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("read the child's pid: %v", err)
	}
	child, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil {
		t.Fatalf("the child's pid: %q", line)
	}
	cancel()
	if err := cmd.Wait(); err == nil {
		t.Errorf("bash ended without error, though its context was cancelled")
	}
	if !gone(child) {
		t.Errorf("the context ended, bash was killed, but its child sleep (pid %d) still runs", child)
	}
}
