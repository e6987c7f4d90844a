// Reading and writing a pipe, on both sides, without the Go runtime's
// bookkeeping of a system call that may block. The ping and pong pipes
// are non-blocking: read(2) and write(2) on them return at
// once (with EAGAIN when there is nothing to read or no room), and the
// runtime's poller (epoll) does the waiting. So they are made as raw
// system calls, which do not tell the runtime "this thread may block":
// telling it, after the process sat idle, wakes the runtime's monitor
// thread (sysmon), a second thread woken per ping or pong on top of the
// one that reads it (docs/comparison.md, "What the Go runtime adds to a
// cross-process round trip").

package proc

import (
	"errors"
	"fmt"
	"io"
	"os"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// rawPipe reads or writes one non-blocking pipe end (an *os.File the
// runtime polls: os.Pipe's, or one made non-blocking before os.NewFile).
// Deadlines set on the file apply.
type rawPipe struct{ f *os.File }

// Read reads what the pipe holds, at most len(b) bytes, waiting in the
// poller while it is empty. It returns io.EOF once every write end is
// closed.
func (p rawPipe) Read(b []byte) (int, error) {
	n, err := p.do(unix.SYS_READ, b)
	if err == nil && n == 0 && len(b) > 0 {
		return 0, io.EOF
	}
	return n, err
}

// Write writes b (a record: at most PIPE_BUF bytes, so all or nothing),
// waiting in the poller while the pipe is full.
func (p rawPipe) Write(b []byte) (int, error) { return p.do(unix.SYS_WRITE, b) }

// opName names a system call in an error, as package os does.
var opName = map[uintptr]string{unix.SYS_READ: "read", unix.SYS_WRITE: "write"}

func (p rawPipe) do(trap uintptr, b []byte) (int, error) {
	rc, err := p.f.SyscallConn()
	if err != nil {
		return 0, err
	}
	var n uintptr
	var errno unix.Errno
	try := func(fd uintptr) bool {
		// DOC: rawpipe-syscall: a raw read or write, which cannot block.
		n, _, errno = unix.RawSyscall(trap, fd, uintptr(unsafe.Pointer(unsafe.SliceData(b))), uintptr(len(b)))
		return errno != unix.EAGAIN // EAGAIN: not now; the poller waits, then we try again
	}
	for {
		if trap == unix.SYS_READ {
			err = rc.Read(try)
		} else {
			err = rc.Write(try)
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return 0, err
		}
		if err != nil {
			// The file was closed (before the call, or while it waited):
			// say so as os.File.Write would, whichever moment it was.
			return 0, &os.PathError{Op: opName[trap], Path: p.f.Name(), Err: os.ErrClosed}
		}
		if errno != unix.EINTR {
			break
		}
	}
	if errno != 0 {
		return 0, fmt.Errorf("%s: %w", p.f.Name(), errno)
	}
	return int(n), nil
}

// pollIn waits until fd is readable (data, or end of file) or timeout
// has passed, in ppoll(2) made as a raw system call: the thread sleeps
// in the kernel without telling the runtime, so no other thread is woken
// to watch it (sysmon stays asleep, as for rawPipe's reads). It reports
// whether fd is readable; false after the timeout or a signal (EINTR:
// ppoll is never restarted, which is what lets the runtime preempt the
// goroutine, a garbage collection's stop included: the caller returns to
// Go code and loops).
//
// The price: the thread holds its P while it sleeps, so the process's
// other goroutines have GOMAXPROCS-1 processors meanwhile (until sysmon
// preempts this one, within 10 ms). Only a worker with nothing else to
// run waits this way (WorkerRole.PollWait: v1's).
func pollIn(fd int, timeout time.Duration) (bool, error) {
	pfd := unix.PollFd{Fd: int32(fd), Events: unix.POLLIN}
	ts := unix.NsecToTimespec(int64(timeout))
	// DOC: rawpipe-ppoll: a raw ppoll(2): asleep in the kernel, the runtime not told.
	n, _, errno := unix.RawSyscall6(unix.SYS_PPOLL, uintptr(unsafe.Pointer(&pfd)), 1, uintptr(unsafe.Pointer(&ts)), 0, 0, 0)
	switch {
	case errno == unix.EINTR:
		return false, nil
	case errno != 0:
		return false, fmt.Errorf("ppoll fd %d: %w", fd, errno)
	}
	return n > 0, nil
}
