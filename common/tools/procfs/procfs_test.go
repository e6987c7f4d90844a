// procfs_test.go checks the process table on this process and a child of
// its own: its state, its parent, its command line.

package procfs

import (
	"os"
	"os/exec"
	"slices"
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

func TestChildrenAndCmdline(t *testing.T) {
	cmd := exec.Command("sleep", "5")
	if err := cmd.Start(); err != nil {
		t.Skip("no sleep binary:", err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	kids := Children(os.Getpid())
	if !slices.ContainsFunc(kids, func(p Proc) bool { return p.Pid == cmd.Process.Pid }) {
		t.Errorf("Children(self) = %+v; want the child %d", kids, cmd.Process.Pid)
	}
	if pids := ChildPids(os.Getpid()); !slices.Contains(pids, cmd.Process.Pid) {
		t.Errorf("ChildPids(self) = %v; want the child %d", pids, cmd.Process.Pid)
	}
	args, err := Cmdline(cmd.Process.Pid)
	if err != nil || len(args) != 2 || args[1] != "5" {
		t.Errorf("Cmdline(child) = %q, %v; want [sleep 5]", args, err)
	}
}
