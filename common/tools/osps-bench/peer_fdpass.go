// peer_fdpass.go is the descriptor-passing peer: W child processes, each
// on a Unix socket pair, that take the descriptor a message carries,
// make it a connection, close it and answer "done", as the fdpass
// reference server's workers do (fdpass.go).

package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"time"

	"golang.org/x/sys/unix"

	"osps/common/wire"
)

// fdPeers are W peer processes, each on a Unix socket pair that keeps
// message boundaries, as the fdpass reference server's workers are
// (fdpass.go); one end of a stream socket pair stands for the client's
// connection that each message carries.
type fdPeers struct {
	cmds   []*exec.Cmd
	stdins []io.WriteCloser
	socks  []*net.UnixConn
	conn   [2]int // the socket pair whose first end is passed
	next   int
}

func startFdPeers(workers int) (*fdPeers, error) {
	p := &fdPeers{conn: [2]int{-1, -1}}
	if err := unixSocketpair(unix.SOCK_STREAM, &p.conn); err != nil {
		return nil, err
	}
	for range workers {
		var pair [2]int
		if err := unixSocketpair(unix.SOCK_SEQPACKET, &pair); err != nil {
			_ = p.close()
			return nil, err
		}
		theirs := os.NewFile(uintptr(pair[1]), "fdpass-peer")
		cmd, stdin, _, err := startHelper("fdpass", theirs)
		theirs.Close()
		ours := os.NewFile(uintptr(pair[0]), "fdpass")
		c, cerr := net.FileConn(ours)
		ours.Close()
		if err = errors.Join(err, cerr); err != nil {
			if cmd != nil {
				_ = stopHelper("fdpass", cmd, stdin)
			}
			_ = p.close()
			return nil, err
		}
		p.cmds, p.stdins, p.socks = append(p.cmds, cmd), append(p.stdins, stdin), append(p.socks, c.(*net.UnixConn))
		// One pass first: the peer has started (its start-up is not
		// the measurement's).
		if err := p.roundTrip(p.socks[len(p.socks)-1]); err != nil {
			_ = p.close()
			return nil, fmt.Errorf("first pass: %w", err)
		}
	}
	return p, nil
}

func unixSocketpair(typ int, fds *[2]int) error {
	pair, err := unix.Socketpair(unix.AF_UNIX, typ|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("socketpair: %w", err)
	}
	*fds = pair
	return nil
}

// roundTrips passes the descriptor n times, to the W peers in turn (as
// the fdpass dispatcher hands out the worker idle the longest), each
// time with a request line, and waits for the peer's "done".
func (p *fdPeers) roundTrips(n int) error {
	for i := range n {
		p.next = (p.next + 1) % len(p.socks)
		if err := p.roundTrip(p.socks[p.next]); err != nil {
			return fmt.Errorf("pass %d: %w", i, err)
		}
	}
	return nil
}

func (p *fdPeers) roundTrip(s *net.UnixConn) error {
	_ = s.SetDeadline(time.Now().Add(ioTimeout))
	if _, _, err := s.WriteMsgUnix([]byte("requetetype1\n"), unix.UnixRights(p.conn[0]), nil); err != nil {
		return err
	}
	var b [1]byte
	if _, err := s.Read(b[:]); err != nil {
		return fmt.Errorf("done: %w", err)
	}
	return nil
}

// loaded is roundTrips with W passes in flight at once, one per peer.
func (p *fdPeers) loaded(n int) error {
	return concurrently(len(p.socks), n, func(i, n int) error {
		for range n {
			if err := p.roundTrip(p.socks[i]); err != nil {
				return err
			}
		}
		return nil
	})
}

func (p *fdPeers) close() error {
	var err error
	for i := range p.cmds {
		p.socks[i].Close() // the peer reads end of file and exits
		err = errors.Join(err, stopHelper("fdpass", p.cmds[i], p.stdins[i]))
	}
	for _, fd := range p.conn {
		if fd >= 0 {
			unix.Close(fd)
		}
	}
	return err
}

// fdPassEcho is the peer: for each message on fd 3, make the descriptor
// it carries a connection (receivedConn, as the fdpass worker does),
// close it, and answer "d".
func fdPassEcho() error {
	f := os.NewFile(3, "dispatcher")
	c, err := net.FileConn(f)
	f.Close()
	uc, ok := c.(*net.UnixConn)
	if err != nil || !ok {
		return fmt.Errorf("fd 3 is not a Unix socket: %v", err)
	}
	defer uc.Close()
	msg, oob := make([]byte, wire.MaxLine+2), make([]byte, unix.CmsgSpace(4))
	for {
		n, oobn, _, _, err := uc.ReadMsgUnix(msg, oob)
		if n == 0 || errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		conn, err := receivedFile(oob[:oobn])
		if err != nil {
			return err
		}
		conn.Close()
		if _, err := uc.Write([]byte("d")); err != nil {
			return err
		}
	}
}
