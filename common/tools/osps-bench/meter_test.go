// meter_test.go checks the meter: that wait4's rusage of a process holds
// the CPU of the children it reaped (the claim the CPU column rests on),
// and that a server started by the meter is measured and stopped with
// nothing left behind.

package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"osps/common/client"
	"osps/common/wire"
)

// burnCPU is how much processor time the "burn" helper uses.
const burnCPU = 60 * time.Millisecond

func ownCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return rusageCPU(&ru)
}

// burn uses burnCPU of processor time (measured, not waited for).
func burn() int {
	x := 1
	for ownCPU() < burnCPU {
		for i := range 100000 {
			x = x*31 + i
		}
	}
	if x == 42 {
		fmt.Println() // keep x alive
	}
	return 0
}

// burnParent starts "burn", reaps it, and prints the CPU that its own
// wait4 reported for it and its own CPU, in nanoseconds.
func burnParent() int {
	exe, err := os.Executable()
	if err != nil {
		return 1
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), helperEnv+"=burn")
	if err := cmd.Run(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	child := rusageCPU(cmd.ProcessState.SysUsage().(*syscall.Rusage))
	fmt.Printf("%d %d\n", child, ownCPU())
	return 0
}

// TestWait4IncludesReapedChildren checks, on this kernel, the claim of
// meter.go: the rusage that wait4 returns for a process counts the CPU
// of the children that process reaped. The bench's CPU column (the
// dispatcher's rusage) counts the workers only because of it.
func TestWait4IncludesReapedChildren(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), helperEnv+"=burn-parent")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("burn-parent: %v", err)
	}
	var child, self time.Duration
	if _, err := fmt.Sscan(string(out), &child, &self); err != nil {
		t.Fatalf("burn-parent printed %q: %v", out, err)
	}
	total := rusageCPU(cmd.ProcessState.SysUsage().(*syscall.Rusage))
	if child < burnCPU {
		t.Fatalf("the grandchild burnt %v, want at least %v", child, burnCPU)
	}
	// The parent's rusage is its own CPU plus its reaped child's.
	if total < child+self*9/10 {
		t.Errorf("wait4 rusage of the parent = %v; the child it reaped used %v and it used %v itself: the child is not counted", total, child, self)
	}
	t.Logf("parent's wait4 rusage %v = its own %v + its reaped child's %v", total, self, child)
}

func TestServerMeter(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := startServer([]string{exe, "floor", "--listen", "127.0.0.1", "--port", "0"}, 15*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	pid := srv.cmd.Process.Pid
	t.Cleanup(srv.kill)
	v := client.Variant{Name: "floor", Do: func(_ context.Context, c *client.Client, line string, r wire.Reply) (client.Result, error) {
		return client.ReadResult(c.R, line, r)
	}}
	s, err := client.RunLoad(context.Background(), &client.Client{Server: srv.Addr, Timeout: 20 * time.Second, V: v},
		client.Load{Clients: 2, Requests: 10, Mix: []client.MixEntry{{Line: "requetetype2 2000000", Weight: 1}}})
	if err != nil || s.OK != 20 {
		t.Fatalf("load on the metered floor: %v, %+v", err, s)
	}
	rss, err := srv.peakRSS()
	if err != nil || rss < 1<<20 || rss > 1<<30 {
		t.Errorf("peak RSS %d bytes, %v", rss, err)
	}
	cpu, err := srv.stop(10 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	// 40 MB of pattern were produced and written: that is CPU.
	if cpu <= 0 {
		t.Errorf("CPU during the load %v", cpu)
	}
	if err := syscall.Kill(pid, 0); err == nil {
		t.Errorf("server %d still exists after stop", pid)
	}
}

func TestStartServerThatFails(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	_, err = startServer([]string{exe, "floor", "--port", "-1"}, 15*time.Second)
	if err == nil || !strings.Contains(err.Error(), "exited before it was ready") {
		t.Errorf("a server that cannot listen: %v", err)
	}
}

func TestGroupCPUCountsChildren(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), helperEnv+"=burn")
	before, err := groupCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// While the child runs, it is in our group's count; read until it
	// has burnt half its share, or it exits.
	var during time.Duration
	for !exited(cmd.Process.Pid) {
		if during, err = groupCPU(os.Getpid()); err != nil {
			t.Fatal(err)
		}
		if during-before > burnCPU/2 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	_ = cmd.Wait()
	if during-before <= burnCPU/2 {
		t.Errorf("groupCPU grew by %v while a child burnt %v", during-before, burnCPU)
	}
}

// exited reports whether pid is a zombie (or gone).
func exited(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	i := strings.LastIndexByte(string(b), ')')
	return i < 0 || strings.HasPrefix(strings.TrimSpace(string(b[i+1:])), "Z")
}
