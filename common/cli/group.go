// group.go runs a tool's child (go build, go test, a page's script) in a
// process group of its own, killed whole when its context ends: the
// compilers, the test binary and the servers it started go with it, not
// only the process the tool started.

package cli

import (
	"os/exec"
	"syscall"
	"time"
)

// OwnGroup puts cmd (made with exec.CommandContext, not yet started) in
// a process group of its own, makes the context's end kill the whole
// group with SIGKILL, and lets Wait return 2 s after that even if a
// process outside the group still holds cmd's output open.
func OwnGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 2 * time.Second
}
