package procfs

import (
	"os"
	"os/exec"
	"testing"
)

func TestReadSelfAndChild(t *testing.T) {
	me, ok := Read(os.Getpid())
	if !ok || !me.Live() || me.Ppid != os.Getppid() {
		t.Fatalf("Read(self) = %+v, %v; want live, ppid %d", me, ok, os.Getppid())
	}
	cmd := exec.Command("sleep", "5")
	if err := cmd.Start(); err != nil {
		t.Skip("no sleep binary:", err)
	}
	found := false
	for _, p := range All() {
		if p.Pid == cmd.Process.Pid && p.Ppid == os.Getpid() && p.Live() {
			found = true
		}
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	if !found {
		t.Fatalf("All() does not list the child %d", cmd.Process.Pid)
	}
	if _, ok := Read(cmd.Process.Pid); ok {
		t.Errorf("a reaped child is still in /proc")
	}
}
