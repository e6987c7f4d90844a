// refworker.go starts the pre-started workers of the two reference servers
// (fdpass.go, prefork.go): this binary re-executed in an internal role,
// given the descriptors it needs from fd 3 on, killed by the kernel if its
// parent dies (Pdeathsig), and trusted only once it has said "ready" on
// its stdout; stopped, at the end, within a grace period, then killed, and
// always reaped.

package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"osps/common/cli"
	"osps/common/wire"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/pflag"
)

// refWorker is one pre-started worker of a reference server.
type refWorker struct {
	id     int
	cmd    *exec.Cmd
	exited chan struct{} // closed once it is reaped
	status error         // cmd.Wait's result, valid once exited is closed
}

// startRefWorker runs this binary as `role --id id args...` with files as
// fds 3, 4, ... and waits up to within for its "ready" line. The caller
// must run on a locked OS thread that lives as long as the process:
// Pdeathsig fires when the thread that started the worker exits.
func startRefWorker(role string, id int, args []string, files []*os.File, within time.Duration) (*refWorker, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("find own binary: %w", err)
	}
	cmd := exec.Command(exe, append([]string{role, "--id", strconv.Itoa(id)}, args...)...)
	cmd.ExtraFiles = files
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("%s %d: stdout: %w", role, id, err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s %d: %w", role, id, err)
	}
	w := &refWorker{id: id, cmd: cmd, exited: make(chan struct{})}
	ready := make(chan string, 1)
	go func() {
		r := bufio.NewReader(out)
		l, _ := r.ReadString('\n')
		ready <- strings.TrimSpace(l)
		_, _ = io.Copy(io.Discard, r) // until it exits: then Wait may close the pipe
		w.status = cmd.Wait()
		close(w.exited)
	}()
	t := time.NewTimer(within)
	defer t.Stop()
	select {
	case l := <-ready:
		if l == "ready" {
			return w, nil
		}
		w.stop(0)
		return nil, fmt.Errorf("%s %d did not start: said %q, then %v", role, id, l, w.status)
	case <-t.C:
		w.stop(0)
		return nil, fmt.Errorf("%s %d: not ready within %v", role, id, within)
	}
}

// kill sends SIGKILL; the worker is reaped by its own goroutine.
func (w *refWorker) kill() { _ = w.cmd.Process.Kill() }

// stop waits up to grace for the worker to exit (the caller has told it
// to, its own way), then kills it; it returns once the worker is reaped.
func (w *refWorker) stop(grace time.Duration) {
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-w.exited:
	case <-t.C:
		w.kill()
		<-w.exited
	}
}

// refConfig is the command line both reference servers share, the
// floor server's own with a number of workers.
type refConfig struct {
	listen   string
	port     int
	workers  int
	maxBytes int64
	idle     time.Duration
}

func (c *refConfig) register(fs *pflag.FlagSet) {
	fs.StringVar(&c.listen, "listen", "127.0.0.1", "address to listen on")
	fs.IntVar(&c.port, "port", 2222, "TCP port (0: pick a free port)")
	fs.IntVar(&c.workers, "workers", 4, "worker processes")
	fs.Int64Var(&c.maxBytes, "max-bytes", wire.DefaultMaxBytes, "largest requetetype2 payload served")
	fs.DurationVar(&c.idle, "idle-timeout", 10*time.Minute, "close a session that sends nothing for this long")
}

// open parses args and opens the listening socket. It locks the calling
// thread first: the workers' Pdeathsig is tied to the thread that starts
// them (startRefWorker). On failure it returns nil and the exit status.
func (c *refConfig) open(name string, fs *pflag.FlagSet, args []string) (net.Listener, int) {
	usage := "osps-bench " + name + " [--listen 127.0.0.1] [--port 2222] [--workers 4]"
	if st, done := cli.Parse(fs, args, usage); done {
		return nil, st
	}
	if fs.NArg() > 0 || c.workers < 1 || c.workers > 256 {
		fmt.Fprintf(os.Stderr, "%s: needs 1 to 256 --workers and no argument\n", name)
		return nil, 2
	}
	runtime.LockOSThread()
	addr := net.JoinHostPort(c.listen, strconv.Itoa(c.port))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: listen on %s: %v\n", name, addr, err)
		return nil, 1
	}
	return ln, 0
}
