// harness.go drives a multi-process server from a test: build, start, wait
// for "ready", stop, and check that nothing leaked.

package conformance

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"osps/common/cli"
	"osps/common/shm"
	"osps/common/tools/procfs"
)

// Build compiles the variant package pkg (e.g. "osps/v1-relay") into dir
// and returns the binary's path.
func Build(dir, pkg string) (string, error) {
	bin := filepath.Join(dir, filepath.Base(pkg))
	out, err := exec.Command("go", "build", "-o", bin, pkg).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build %s: %v\n%s", pkg, err, out)
	}
	return bin, nil
}

// MainBuild is a TestMain helper: it builds pkg into a temporary folder,
// sets *bin, runs the tests and removes the folder.
func MainBuild(m *testing.M, pkg string, bin *string) int {
	dir, err := os.MkdirTemp("", "osps-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	if *bin, err = Build(dir, pkg); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}

// Server is one running `serve` process and its workers.
type Server struct {
	Addr  string // host:port from the "ready" line
	ShmID int
	cmd   *exec.Cmd
	pgid  int
	mu    sync.Mutex
	log   bytes.Buffer // its stderr
	done  chan struct{}
	err   error // cmd.Wait's result, once done is closed
	t     testing.TB
}

var shmidRE = regexp.MustCompile(`shmid=(\d+)`)

// Start runs `bin serve --listen 127.0.0.1 --port 0 args...` and waits
// for its "ready" line. Cleanup stops it and checks for leaks.
func Start(t testing.TB, bin string, args ...string) *Server {
	t.Helper()
	return start(t, nil, bin, args...)
}

// StartWithFileLimit is Start with the server's open-file limit set to
// nofile (soft and hard), as `ulimit -n` does in a shell.
func StartWithFileLimit(t testing.TB, nofile int, bin string, args ...string) *Server {
	t.Helper()
	return start(t, []string{"sh", "-c", fmt.Sprintf(`ulimit -n %d && exec "$0" "$@"`, nofile)}, bin, args...)
}

// start runs the server, through wrap if not nil (a command that ends
// by exec'ing its arguments, so that the server keeps its pid).
func start(t testing.TB, wrap []string, bin string, args ...string) *Server {
	t.Helper()
	full := append([]string{"serve", "--listen", "127.0.0.1", "--port", "0"}, args...)
	argv := append(append(append([]string{}, wrap...), bin), full...)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	s := &Server{cmd: cmd, done: make(chan struct{}), t: t}
	cmd.Stderr = lockedWriter{s}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	s.pgid = cmd.Process.Pid
	register(s.pgid)
	t.Cleanup(func() { s.cleanup() })
	s.Addr, err = cli.WaitReady(cmd, stdout, 15*time.Second, func(err error) {
		s.err = err
		close(s.done)
	})
	switch {
	case errors.Is(err, cli.ErrExitedBeforeReady):
		t.Fatalf("serve %v: want a line \"ready HOST:PORT\" on stdout; it exited first (%v), its stderr ending with %s\n%s",
			full, s.err, Tail(s.Log(), 2), s.Log())
	case err != nil:
		t.Fatalf("serve %v: want a line \"ready HOST:PORT\" on stdout; %v (killed), its stderr ending with %s\n%s",
			full, err, Tail(s.Log(), 2), s.Log())
	}
	if m := shmidRE.FindStringSubmatch(s.Log()); m != nil {
		s.ShmID, _ = strconv.Atoi(m[1])
	} else {
		s.ShmID = -1
	}
	return s
}

type lockedWriter struct{ s *Server }

func (w lockedWriter) Write(p []byte) (int, error) {
	w.s.mu.Lock()
	defer w.s.mu.Unlock()
	return w.s.log.Write(p)
}

// Log returns what the server printed on stderr so far.
func (s *Server) Log() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.log.String()
}

// Pid is the dispatcher's pid.
func (s *Server) Pid() int { return s.cmd.Process.Pid }

// Signal sends sig to the dispatcher alone.
func (s *Server) Signal(sig syscall.Signal) { _ = s.cmd.Process.Signal(sig) }

// Wait waits up to d for the dispatcher to exit and returns its exit
// status (-1 if it did not exit in time).
func (s *Server) Wait(d time.Duration) int {
	select {
	case <-s.done:
		var ee *exec.ExitError
		if errors.As(s.err, &ee) {
			return ee.ExitCode()
		}
		if s.err != nil {
			return -1
		}
		return 0
	case <-time.After(d):
		return -1
	}
}

// Stop sends SIGTERM and returns the exit status.
func (s *Server) Stop() int {
	s.Signal(syscall.SIGTERM)
	return s.Wait(15 * time.Second)
}

// cleanup stops the server whatever state the test left it in, then
// checks that it left nothing behind.
func (s *Server) cleanup() {
	select {
	case <-s.done:
	default:
		s.Signal(syscall.SIGTERM)
		if s.Wait(10*time.Second) < 0 {
			s.t.Errorf("serve did not exit 10s after SIGTERM: killing its process group\n%s", s.Log())
		}
	}
	_ = unix.Kill(-s.pgid, unix.SIGKILL) // whatever is left of the group, on every path
	s.Wait(5 * time.Second)
	if err := s.CheckGone(3 * time.Second); err != nil {
		s.t.Error(err)
	}
	if s.t.Failed() {
		s.t.Logf("serve's stderr:\n%s", s.Log())
	}
}

// CheckGone waits up to d until no live process of the server's group is
// left and its segment no longer exists.
func (s *Server) CheckGone(d time.Duration) error {
	deadline := time.Now().Add(d)
	for {
		procs := GroupProcesses(s.pgid)
		segs := s.segments()
		if len(procs) == 0 && len(segs) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			for _, p := range procs {
				_ = unix.Kill(p, unix.SIGKILL)
			}
			for _, id := range segs {
				_, _ = unix.SysvShmCtl(id, unix.IPC_RMID, nil) // freed once its last process is gone
			}
			return fmt.Errorf("left behind: processes %v (killed), segments %v (removed)", procs, segs)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// segments lists the server's segments that still exist: the one its
// log named, and any the dispatcher created (found by creator pid, so
// that a program that logs no shmid is checked too).
func (s *Server) segments() []int {
	var ids []int
	if s.ShmID >= 0 && SegmentExists(s.ShmID) {
		ids = append(ids, s.ShmID)
	}
	mine, _ := shm.CreatedBy(s.pgid)
	for _, id := range mine {
		if !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	return ids
}

// GroupProcesses lists the live (not zombie) processes of group pgid.
func GroupProcesses(pgid int) []int {
	var pids []int
	for _, p := range procfs.All() {
		if p.Pgrp == pgid && p.Live() {
			pids = append(pids, p.Pid)
		}
	}
	return pids
}

// SegmentExists reports whether System V segment id still exists.
func SegmentExists(id int) bool {
	var ds unix.SysvShmDesc
	_, err := unix.SysvShmCtl(id, unix.IPC_STAT, &ds)
	return err == nil
}

// Workers returns the live worker pids of the server (its group minus
// the dispatcher).
func (s *Server) Workers() []int {
	var w []int
	for _, p := range GroupProcesses(s.pgid) {
		if p != s.Pid() {
			w = append(w, p)
		}
	}
	return w
}
