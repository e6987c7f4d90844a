// The dispatcher at a dead worker's port. It holds a copy of every
// worker's listening socket (dispatcher_ports.go), so a connection to a
// dead worker's port completes in the kernel, and nobody would ever
// answer it. From the moment a worker is reaped (the pool tells serve's
// Exited hook at once), the dispatcher accepts on that socket
// itself, and answers each caller "ERR worker-failed" and a close, at
// once; it stops before the slot's next worker is given a request.

package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"osps/common/proc"
	"osps/common/wire"
)

// deadEvery bounds each wait of a door for a caller: how soon it sees
// that it must stop.
const deadEvery = 50 * time.Millisecond

// deadAnswers bounds the callers of dead ports answered at once.
const deadAnswers = 16

// deadDoors are the dispatcher's doors for the slots' ports.
type deadDoors struct {
	log   *slog.Logger
	doors []*deadDoor
	slots chan struct{} // answers in flight
}

// deadDoor is one slot's: the dispatcher's own copy of the worker's socket.
type deadDoor struct {
	id   int
	raw  syscall.RawConn // the listening socket, used with raw system calls (below)
	mu   sync.Mutex
	stop atomic.Bool
	done chan struct{} // non-nil while it answers: closed when its goroutine ends
}

// newDeadDoors makes a door for each slot from the dispatcher's copies
// of the workers' sockets.
//
// The door does not go through Go's poller: the socket's file
// description is shared with the worker, and each time the dispatcher
// starts a worker, os/exec puts it in blocking mode (File.Fd does), so a
// poller's accept could block for good. The door polls the socket with
// a timeout, and an accept on it is bounded by SO_RCVTIMEO, blocking mode
// or not.
func newDeadDoors(files [][]*os.File, log *slog.Logger) (*deadDoors, error) {
	dead := &deadDoors{log: log, slots: make(chan struct{}, deadAnswers)}
	for i, f := range files {
		raw, err := f[0].SyscallConn()
		if err != nil {
			return nil, fmt.Errorf("worker %d's socket: %w", i, err)
		}
		var serr error
		tv := unix.NsecToTimeval(deadEvery.Nanoseconds())
		if err := raw.Control(func(fd uintptr) { serr = unix.SetsockoptTimeval(int(fd), unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv) }); err != nil || serr != nil {
			return nil, fmt.Errorf("worker %d's socket: SO_RCVTIMEO: %w", i, errors.Join(err, serr))
		}
		dead.doors = append(dead.doors, &deadDoor{id: i, raw: raw})
	}
	return dead, nil
}

// answerFor opens the door of w's slot: serve's Exited hook, called
// once w is reaped and before the watchdog starts its successor. The
// door stays open until the slot's next worker is given a request
// (shut, from Serve, before the ping): until then nobody holds a ticket
// of that worker's, and after it nobody but the worker accepts there.
func (dead *deadDoors) answerFor(w *proc.Handle) {
	if dead == nil || w.ID >= len(dead.doors) || w.Alive() {
		return
	}
	door := dead.doors[w.ID]
	door.mu.Lock()
	defer door.mu.Unlock()
	if door.done != nil {
		return
	}
	dead.log.Warn("worker's port answered by the dispatcher until the slot's next worker takes a request", "worker", w.ID)
	door.stop.Store(false)
	door.done = make(chan struct{})
	go dead.serve(door, door.done)
}

// shut stops answering for slot i; it returns once the dispatcher no
// longer accepts there (within about 2 × deadEvery). v3's Serve calls
// it before it pings a worker, so that the worker's client is never
// taken for a dead worker's.
func (dead *deadDoors) shut(i int) {
	if dead == nil || i >= len(dead.doors) {
		return
	}
	door := dead.doors[i]
	door.mu.Lock()
	defer door.mu.Unlock()
	if door.done == nil {
		return
	}
	door.stop.Store(true)
	<-door.done
	door.done = nil
}

// serve accepts on door until shut: each caller gets ERR worker-failed.
// DOC: v3-dead-port-answers
func (dead *deadDoors) serve(door *deadDoor, done chan struct{}) {
	defer close(done)
	for !door.stop.Load() {
		conn, err := door.accept()
		if err != nil {
			dead.log.Debug("dead worker's port: accept", "worker", door.id, "err", err)
			time.Sleep(deadEvery)
			continue
		}
		if conn == nil {
			continue // nobody came within deadEvery
		}
		select {
		case dead.slots <- struct{}{}:
			go func() {
				defer func() { <-dead.slots }()
				_ = conn.SetWriteDeadline(time.Now().Add(time.Second))
				_ = wire.WriteErr(conn, wire.Errorf(wire.CodeWorkerFailed, "worker %d is dead: nobody serves this port now; ask the dispatcher again", door.id))
				wire.LingerClose(conn)
			}()
		default:
			conn.Close() // too many at once: a close tells too
		}
	}
}

// accept waits up to deadEvery for a connection on door's socket, and
// accepts it: nil, nil if none came.
func (door *deadDoor) accept() (net.Conn, error) {
	nfd, err := -1, error(nil)
	cerr := door.raw.Control(func(fd uintptr) {
		pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		var n int
		if n, err = unix.Poll(pfd, int(deadEvery.Milliseconds())); err != nil || n == 0 {
			return
		}
		// Bounded by SO_RCVTIMEO if the socket is in blocking mode and
		// someone else took the connection meanwhile.
		nfd, _, err = unix.Accept4(int(fd), unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC)
	})
	switch {
	case cerr != nil:
		return nil, cerr
	case errors.Is(err, unix.EINTR), errors.Is(err, unix.EAGAIN):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("accept: %w", err)
	case nfd < 0:
		return nil, nil
	}
	f := os.NewFile(uintptr(nfd), "caller")
	defer f.Close() // FileConn made its own copy
	return net.FileConn(f)
}
