// peer_rawpipe.go is the raw pipe peer: the kernel's own pipe round trip,
// blocking read(2) and write(2) on threads pinned to one CPU or to two,
// with no Go scheduler in the way: what the pipe costs underneath Go.

package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"

	"golang.org/x/sys/unix"

	"osps/common/pingpong"
)

// cpuEnv names the CPU the rawpipe peer pins itself to.
const cpuEnv = "OSPS_BENCH_CPU"

// pinned runs f on a locked OS thread bound to cpu, then restores the
// thread's CPU set. With blocking system calls on that thread, the
// kernel wakes that very thread: no Go scheduler in the way.
func pinned(cpu int, f func() error) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var old, one unix.CPUSet
	if err := unix.SchedGetaffinity(0, &old); err != nil {
		return fmt.Errorf("sched_getaffinity: %w", err)
	}
	one.Set(cpu)
	// DOC: prim-pinned: this thread, and only it, runs on cpu from now on.
	if err := unix.SchedSetaffinity(0, &one); err != nil {
		return fmt.Errorf("pin to cpu %d: %w", cpu, err)
	}
	defer func() { _ = unix.SchedSetaffinity(0, &old) }()
	return f()
}

// rawPipePeer is a child that answers each record on fd 3 with the same
// record on fd 4, with blocking read(2) and write(2) on a thread pinned
// to one CPU.
type rawPipePeer struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	ping  int // write end, raw and blocking
	pong  int // read end, raw and blocking
}

func startRawPipePeer(cpu int) (*rawPipePeer, error) {
	var ping, pong [2]int
	if err := unix.Pipe2(ping[:], unix.O_CLOEXEC); err != nil {
		return nil, fmt.Errorf("ping pipe: %w", err)
	}
	if err := unix.Pipe2(pong[:], unix.O_CLOEXEC); err != nil {
		unix.Close(ping[0])
		unix.Close(ping[1])
		return nil, fmt.Errorf("pong pipe: %w", err)
	}
	childPing, childPong := os.NewFile(uintptr(ping[0]), "ping"), os.NewFile(uintptr(pong[1]), "pong")
	os.Setenv(cpuEnv, strconv.Itoa(cpu)) // read by the child only
	cmd, stdin, _, err := startHelper("rawpipe", childPing, childPong)
	os.Unsetenv(cpuEnv)
	childPing.Close()
	childPong.Close()
	if err != nil {
		unix.Close(ping[1])
		unix.Close(pong[0])
		return nil, err
	}
	p := &rawPipePeer{cmd: cmd, stdin: stdin, ping: ping[1], pong: pong[0]}
	if err := p.roundTrips(1); err != nil { // the peer is up: its start-up is not measured
		_ = p.close()
		return nil, fmt.Errorf("first round trip: %w", err)
	}
	return p, nil
}

// roundTrips makes n round trips from the calling thread (see pinned).
func (p *rawPipePeer) roundTrips(n int) error {
	var b [pingpong.RecordSize]byte
	for i := range n {
		if _, err := rawIO(unix.Write, p.ping, b[:]); err != nil {
			return fmt.Errorf("ping %d: %w", i, err)
		}
		if k, err := rawIO(unix.Read, p.pong, b[:]); err != nil || k != len(b) {
			return fmt.Errorf("pong %d: %d bytes, %v", i, k, err)
		}
	}
	return nil
}

func (p *rawPipePeer) close() error {
	unix.Close(p.ping) // the child reads end of file and exits
	unix.Close(p.pong)
	return stopHelper("rawpipe", p.cmd, p.stdin)
}

// rawIO is read(2) or write(2), again after a signal interrupts it (the
// Go runtime preempts threads with signals).
func rawIO(op func(int, []byte) (int, error), fd int, b []byte) (int, error) {
	for {
		n, err := op(fd, b)
		if !errors.Is(err, unix.EINTR) {
			return n, err
		}
	}
}

// rawPipeEcho is the child: pinned to the CPU named in its environment,
// it pongs every ping until end of file, with blocking system calls.
func rawPipeEcho() error {
	cpu, err := strconv.Atoi(os.Getenv(cpuEnv))
	if err != nil {
		return fmt.Errorf("%s=%q: %w", cpuEnv, os.Getenv(cpuEnv), err)
	}
	return pinned(cpu, func() error {
		for _, fd := range []int{3, 4} {
			if err := unix.SetNonblock(fd, false); err != nil {
				return fmt.Errorf("fd %d is not an inherited pipe end: %w", fd, err)
			}
		}
		var b [pingpong.RecordSize]byte
		for {
			n, err := rawIO(unix.Read, 3, b[:])
			if err != nil {
				return err
			}
			if n == 0 {
				return nil
			}
			if _, err := rawIO(unix.Write, 4, b[:n]); err != nil {
				return err
			}
		}
	})
}
