// Starting and stopping the server an instrument looks at, the way a
// careful script does: its own process group, a free port, the "ready
// ADDR" line awaited with a deadline (never a guessed sleep), and
// SIGTERM, then SIGKILL, to stop. Or, with --pid, a running dispatcher,
// checked to be one by the segment it created.

package main

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"osps/common/cli"
	"osps/common/shm"
	"osps/common/tools/procfs"
)

// variantDirs names each variant's directory, which is also its binary's
// name in bin/.
var variantDirs = map[string]string{"v1": "v1-relay", "v2": "v2-worker-calls-client", "v3": "v3-client-calls-worker"}

// readyTimeout bounds the wait for the "ready" line; stopTimeout the
// drain after SIGTERM.
const (
	readyTimeout = 20 * time.Second
	stopTimeout  = 15 * time.Second
)

// binary is the path of a variant's binary in dir.
func binary(dir, variant string) (string, error) {
	d, ok := variantDirs[variant]
	if !ok {
		return "", fmt.Errorf("unknown variant %q (v1, v2 or v3)", variant)
	}
	return filepath.Join(dir, d), nil
}

// server is a dispatcher this program started.
type server struct {
	cmd     *exec.Cmd
	Addr    string        // host:port from its "ready" line
	exited  chan struct{} // closed once it exited and was reaped
	waitErr error         // its exit status, once exited is closed
}

// Pid is the dispatcher's pid.
func (s *server) Pid() int { return s.cmd.Process.Pid }

// startServer runs "BIN serve --port P ARGS..." with stderr to errw and
// returns once it printed "ready ADDR". P is $PORT, else 0 (a free port).
func startServer(bin string, errw io.Writer, args ...string) (*server, error) {
	port := os.Getenv("PORT")
	if port == "" {
		port = "0"
	}
	return startServerOn(bin, port, errw, args...)
}

// startServerOn is startServer on the given port.
func startServerOn(bin, port string, errw io.Writer, args ...string) (*server, error) {
	cmd := exec.Command(bin, append([]string{"serve", "--port", port}, args...)...)
	cmd.Stderr = errw
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // the group is stopped as one
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("stdout pipe: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	s := &server{cmd: cmd, exited: make(chan struct{})}
	s.Addr, err = cli.WaitReady(cmd, out, readyTimeout, func(err error) {
		s.waitErr = err
		close(s.exited)
	})
	if err == nil {
		return s, nil
	}
	s.Stop()
	return nil, fmt.Errorf("start %s serve: %w", bin, err)
}

// Stop sends SIGTERM and waits for the drain; past stopTimeout the
// whole group gets SIGKILL. It returns the exit error, if any.
func (s *server) Stop() error {
	select {
	case <-s.exited: // already gone (and reaped: its pid may be reused, do not signal it)
		return s.waitErr
	default:
	}
	_ = unix.Kill(s.Pid(), unix.SIGTERM)
	select {
	case <-s.exited:
		return s.waitErr
	case <-time.After(stopTimeout):
		_ = unix.Kill(-s.Pid(), unix.SIGKILL)
		<-s.exited
		return fmt.Errorf("dispatcher %d did not stop within %v: killed", s.Pid(), stopTimeout)
	}
}

// target is the dispatcher an instrument looks at: the one given by
// --pid, or one started here (stop is then non-nil).
type target struct {
	Pid  int
	Addr string // "" when attached by --pid
	stop func() error
}

// Close stops the server if this program started it.
func (t *target) Close() error {
	if t.stop == nil {
		return nil
	}
	return t.stop()
}

// startOrAttach returns --pid's dispatcher, or starts VARIANT's with args.
func startOrAttach(binDir, variant string, pid int, errw io.Writer, args ...string) (*target, error) {
	if pid > 0 {
		if err := isDispatcher(pid); err != nil {
			return nil, err
		}
		return &target{Pid: pid}, nil
	}
	bin, err := binary(binDir, variant)
	if err != nil {
		return nil, err
	}
	s, err := startServer(bin, errw, args...)
	if err != nil {
		return nil, err
	}
	return &target{Pid: s.Pid(), Addr: s.Addr, stop: s.Stop}, nil
}

// isDispatcher says, in one line, why pid is not a dispatcher to look
// at: no such process, or one that created no System V segment (a
// dispatcher creates one at start-up and holds it until it exits).
func isDispatcher(pid int) error {
	if _, ok := procfs.Read(pid); !ok {
		return fmt.Errorf("--pid %d: no such process", pid)
	}
	ids, err := shm.CreatedBy(pid)
	if err != nil {
		return fmt.Errorf("--pid %d: %w", pid, err)
	}
	if len(ids) == 0 {
		return fmt.Errorf("--pid %d (%s) is not an OSPS dispatcher: it created no shared-memory segment (the dispatcher is the serve process: pgrep -af ' serve ' lists them)", pid, comm(pid))
	}
	return nil
}
