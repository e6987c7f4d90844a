// peer_pipe.go is the pipe peer: a child process that answers each
// ping record on fd 3 with the same record on fd 4, as a worker pongs its
// dispatcher, both sides in Go (the Go runtime polls the pipes).

package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"

	"golang.org/x/sys/unix"

	"osps/common/pingpong"
)

// pipePeer is a child process that answers every ping record on fd 3
// with the same record on fd 4, as a worker pongs its dispatcher.
type pipePeer struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	ping  *os.File // write end, to the child's fd 3
	pong  *os.File // read end, from the child's fd 4
}

func startPipePeer() (*pipePeer, error) {
	pingR, pingW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("ping pipe: %w", err)
	}
	pongR, pongW, err := os.Pipe()
	if err != nil {
		pingR.Close()
		pingW.Close()
		return nil, fmt.Errorf("pong pipe: %w", err)
	}
	cmd, stdin, _, err := startHelper("pipe", pingR, pongW)
	pingR.Close() // the child's ends: close ours, or EOF never comes
	pongW.Close()
	if err != nil {
		pingW.Close()
		pongR.Close()
		return nil, err
	}
	p := &pipePeer{cmd: cmd, stdin: stdin, ping: pingW, pong: pongR}
	if err := p.roundTrips(1); err != nil { // the peer is up: its start-up is not measured
		_ = p.close()
		return nil, fmt.Errorf("first round trip: %w", err)
	}
	return p, nil
}

// roundTrips sends n pings and reads n pongs, one after the other.
func (p *pipePeer) roundTrips(n int) error {
	for i := range n {
		if err := pingpong.Send(p.ping, pingpong.Msg{Op: pingpong.PingRequest, Seq: uint32(i)}); err != nil {
			return err
		}
		m, err := pingpong.Recv(p.pong)
		if err != nil {
			return fmt.Errorf("pong %d: %w", i, err)
		}
		if m.Seq != uint32(i) {
			return fmt.Errorf("pong %d carries seq %d", i, m.Seq)
		}
	}
	return nil
}

func (p *pipePeer) close() error {
	p.ping.Close() // the child reads end of file and exits
	p.pong.Close()
	return stopHelper("pipe", p.cmd, p.stdin)
}

// pipeEcho is the child: pong every ping until end of file.
func pipeEcho() error {
	// As a worker does (proc.Attach): non-blocking before os.NewFile, so
	// the Go runtime polls the pipes.
	for _, fd := range []int{3, 4} {
		if err := unix.SetNonblock(fd, true); err != nil {
			return fmt.Errorf("fd %d is not an inherited pipe end: %w", fd, err)
		}
	}
	in, out := os.NewFile(3, "ping"), os.NewFile(4, "pong")
	for {
		m, err := pingpong.Recv(in)
		if errors.Is(err, pingpong.ErrPeerGone) {
			return nil
		}
		if err != nil {
			return err
		}
		m.Op = pingpong.PongDone
		if err := pingpong.Send(out, m); err != nil {
			return err
		}
	}
}
