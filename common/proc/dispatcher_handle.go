// The dispatcher's handle on one worker process (proc.Handle): start it
// with its pipe ends as fds 3 and 4, ping it and await its pongs, notice
// its death at once (end of file on its pong pipe), and reap it with Wait.

package proc

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"runtime"
	"sync/atomic"
	"syscall"
	"time"

	"osps/common/pingpong"
	"osps/common/shm"
)

// ErrWorkerDied is returned by Await when the worker process is gone.
var ErrWorkerDied = errors.New("worker died")

// ErrNoPong is returned by Await when its time has passed with no pong
// from a worker still alive (hung, stopped, or just slow).
var ErrNoPong = errors.New("no pong")

// Handle is the dispatcher's handle on one running worker process.
type Handle struct {
	ID   int       // slot number
	Slot *shm.Slot // the worker's slot in the segment
	Pid  int

	cmd     *exec.Cmd
	ping    *os.File      // write end: dispatcher to worker
	pong    *os.File      // read end: worker to dispatcher, read by Await itself
	exited  chan struct{} // closed once the process is reaped
	status  error         // cmd.Wait's result, valid after exited
	seq     uint32        // request number, to drop stale pongs
	started time.Time     // when the process was started
	killing atomic.Bool   // the watchdog is already killing it
	log     *slog.Logger
}

// spawnReq asks the spawner thread to start one process.
type spawnReq struct {
	cmd  *exec.Cmd
	done chan error
}

// spawner starts every worker from one locked OS thread, so that
// Pdeathsig (which fires when the thread that forked the child exits,
// golang/go#27505) means "when the dispatcher exits". The thread stays
// locked and never exits while the process lives.
//
// DOC: pdeathsig-spawner
func spawner(reqs <-chan spawnReq) {
	runtime.LockOSThread()
	for r := range reqs {
		// DOC: proc-exec: fork and exec the worker (ExtraFiles become fd 3, 4).
		r.done <- r.cmd.Start()
	}
}

// start forks and execs one worker for slot id. It returns once the
// worker has said "pong ready", or with an error.
func start(spawn chan<- spawnReq, exe string, args []string, extra []*os.File, id int, slot *shm.Slot, readyTimeout time.Duration, log *slog.Logger) (*Handle, error) {
	// DOC: proc-pipes
	pingR, pingW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("worker %d: ping pipe: %w", id, err)
	}
	pongR, pongW, err := os.Pipe()
	if err != nil {
		pingR.Close()
		pingW.Close()
		return nil, fmt.Errorf("worker %d: pong pipe: %w", id, err)
	}
	cmd := exec.Command(exe, args...)
	cmd.Stdin = nil
	cmd.Stdout = os.Stderr // a worker has nothing to say on stdout: keep "ready" alone there
	cmd.Stderr = os.Stderr
	cmd.ExtraFiles = append([]*os.File{pingR, pongW}, extra...) // fd 3, fd 4, then the caller's (Config.Files)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	slot.SetState(shm.Starting)
	slot.SetPid(0)
	slot.ResetServed() // served= counts this process's requests; total= goes on
	// The spawner thread forks and execs it (spawner, above).
	done := make(chan error, 1)
	spawn <- spawnReq{cmd: cmd, done: done}
	err = <-done
	// DOC: proc-close-child-ends
	pingR.Close()
	pongW.Close()
	if err != nil {
		pingW.Close()
		pongR.Close()
		slot.SetState(shm.Dead)
		return nil, fmt.Errorf("start worker %d (%s): %w", id, exe, err)
	}
	w := &Handle{
		ID: id, Slot: slot, Pid: cmd.Process.Pid, cmd: cmd, ping: pingW, pong: pongR, started: time.Now(),
		exited: make(chan struct{}),
		log:    log.With("worker", id, "pid", cmd.Process.Pid),
	}
	slot.SetPid(w.Pid)
	go w.reap()

	// The first record must be "pong ready": the worker attached the
	// segment (and, in v3, listens). A worker that exits instead, or
	// says nothing in time, is a start-up failure.
	m, err := w.Await(readyTimeout)
	switch {
	case err == nil && m.Op == pingpong.PongReady:
		return w, nil // still "starting": Release makes it idle
	case errors.Is(err, ErrNoPong):
		w.Kill()
		<-w.exited
		return nil, fmt.Errorf("worker %d did not say ready within %v", id, readyTimeout)
	}
	// It exited (or broke the protocol): give it a moment to exit on its
	// own, so that the error shows its real exit status.
	select {
	case <-w.exited:
	case <-time.After(time.Second):
		w.Kill()
		<-w.exited
	}
	return nil, fmt.Errorf("worker %d did not start: %v", id, w.status)
}

// reap waits for the process (cmd.Wait: no zombie), marks the slot dead.
// The pong pipe's read end stays open until then: end of file on it is
// how Await sees the death.
func (w *Handle) reap() {
	w.status = w.cmd.Wait()
	w.Slot.SetState(shm.Dead)
	w.ping.Close()
	close(w.exited)
	// DOC: reap-drain: pongs the worker wrote before it died may still
	// sit in the pipe, unread. End of file comes right after them, but
	// only if no one else holds a write end (DOC: proc-close-child-ends);
	// so a reader blocked in Await gives up reapDrain after the reap,
	// and our end is closed then, never before what was written is read.
	_ = w.pong.SetReadDeadline(time.Now().Add(reapDrain))
	time.AfterFunc(reapDrain, func() { w.pong.Close() })
}

// reapDrain is how long, after the reap, a pong written before the
// worker's death may still be read.
const reapDrain = time.Second

// Begin starts a new request on this worker and returns its number;
// pongs of earlier requests are dropped from now on.
func (w *Handle) Begin() uint32 {
	w.seq++
	return w.seq
}

// Ping sends one ping of the current request.
func (w *Handle) Ping(op pingpong.Op, arg uint64) error {
	if err := pingpong.Send(rawPipe{w.ping}, pingpong.Msg{Op: op, Seq: w.seq, Arg: arg}); err != nil {
		return fmt.Errorf("worker %d: %w", w.ID, err)
	}
	return nil
}

// Await waits for the next pong of the current request, at most d (no
// bound if d <= 0: the worker pongs or dies, and the dispatcher's
// shutdown stops every worker, so the wait ends). It reads the pong pipe
// itself: the goroutine that waits is the one the runtime wakes when the
// pong arrives, with no goroutine or channel in between, and the read is
// a raw one (rawPipe) (docs/comparison.md, "What the Go runtime adds to
// a cross-process round trip"). It returns ErrWorkerDied if the worker
// is gone (end of file on its pong pipe: the kernel closed the worker's
// write end when it exited), or ErrNoPong once d has passed with no
// pong. One goroutine at a time may await a worker.
func (w *Handle) Await(d time.Duration) (pingpong.Msg, error) {
	var deadline time.Time // the zero time: no deadline
	if d > 0 {
		deadline = time.Now().Add(d)
	}
	if err := w.pong.SetReadDeadline(deadline); err != nil {
		return pingpong.Msg{}, fmt.Errorf("worker %d (pid %d): %w: %w", w.ID, w.Pid, ErrWorkerDied, err)
	}
	for {
		// DOC: await-read: the pong, read by the goroutine that waits for it.
		m, err := pingpong.Recv(rawPipe{w.pong})
		switch {
		case errors.Is(err, os.ErrDeadlineExceeded) && !w.Alive():
			// The reap's drain is over and no end of file came.
			return pingpong.Msg{}, fmt.Errorf("worker %d (pid %d): %w", w.ID, w.Pid, ErrWorkerDied)
		case errors.Is(err, os.ErrDeadlineExceeded):
			return pingpong.Msg{}, fmt.Errorf("worker %d (pid %d): %w within %v", w.ID, w.Pid, ErrNoPong, d) // d has passed
		case err != nil:
			// DOC: watchdog-notice-death: end of file on the pong pipe:
			// every write end is closed, the worker is gone (or our end
			// was closed, a second after the reap).
			return pingpong.Msg{}, fmt.Errorf("worker %d (pid %d): %w", w.ID, w.Pid, ErrWorkerDied)
		case m.Seq != w.seq:
			continue // a late pong of a request given up on
		}
		return m, nil
	}
}

// Alive reports whether the process has not been reaped yet.
func (w *Handle) Alive() bool {
	select {
	case <-w.exited:
		return false
	default:
		return true
	}
}

// Kill sends SIGKILL (the process is reaped by its own goroutine).
func (w *Handle) Kill() { _ = w.cmd.Process.Kill() }

// Signal sends sig to the worker process.
func (w *Handle) Signal(sig os.Signal) { _ = w.cmd.Process.Signal(sig) }

// closePing closes the ping pipe: the worker reads end of file and exits.
func (w *Handle) closePing() { w.ping.Close() }
