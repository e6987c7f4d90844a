// peer_tcp.go is the TCP peer: a child process with three loopback
// listeners (echo, accept-and-close, sink), and the parent's side that
// measures a round trip on an open connection, a connect+accept+close,
// and bandwidth.

package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"time"

	"osps/common/wire"
)

// tcpPeerAddrs are the peer's three listeners.
type tcpPeerAddrs struct {
	echo  string // answers each msgSize message with one of the same size
	close string // accepts and closes at once
	sink  string // reads until end of file, then answers one byte
}

// tcpPeer is the child: three listeners until its stdin closes.
func tcpPeer() error {
	var lns [3]net.Listener
	for i := range lns {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return fmt.Errorf("listen: %w", err)
		}
		defer ln.Close()
		lns[i] = ln
	}
	go acceptEach(lns[0], func(c net.Conn) {
		buf := make([]byte, msgSize)
		for {
			if _, err := io.ReadFull(c, buf); err != nil {
				return
			}
			if _, err := c.Write(buf); err != nil {
				return
			}
		}
	})
	go acceptEach(lns[1], func(net.Conn) {})
	go acceptEach(lns[2], func(c net.Conn) {
		if _, err := io.Copy(io.Discard, c); err == nil {
			_, _ = c.Write([]byte{1})
		}
	})
	fmt.Printf("%s %s %s\n", lns[0].Addr(), lns[1].Addr(), lns[2].Addr())
	_, _ = io.Copy(io.Discard, os.Stdin) // until the parent closes it
	return nil
}

// acceptEach serves each connection of ln with f, then closes it. The
// peer lives only as long as its parent's benchmark: its connections get
// no deadline of their own, the parent's side has them.
func acceptEach(ln net.Listener, f func(net.Conn)) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			f(c)
		}()
	}
}

// tcpClient is the parent's side of the TCP primitives.
type tcpClient struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	addrs tcpPeerAddrs
	echo  net.Conn // one open connection for the round trips
}

func startTCPPeer() (*tcpClient, error) {
	cmd, stdin, out, err := startHelper("tcp")
	if err != nil {
		return nil, err
	}
	line, err := out.ReadString('\n')
	f := strings.Fields(line)
	if err != nil || len(f) != 3 {
		_ = stopHelper("tcp", cmd, stdin)
		return nil, fmt.Errorf("tcp helper said %q: %v", line, err)
	}
	t := &tcpClient{cmd: cmd, stdin: stdin, addrs: tcpPeerAddrs{echo: f[0], close: f[1], sink: f[2]}}
	if t.echo, err = net.DialTimeout("tcp", t.addrs.echo, ioTimeout); err != nil {
		_ = stopHelper("tcp", cmd, stdin)
		return nil, fmt.Errorf("dial echo: %w", err)
	}
	return t, nil
}

func (t *tcpClient) close() error {
	t.echo.Close()
	return stopHelper("tcp", t.cmd, t.stdin)
}

// roundTrips sends n messages on the open connection, each after the
// answer to the previous one came back.
func (t *tcpClient) roundTrips(n int) error {
	buf := make([]byte, msgSize)
	for i := range n {
		_ = t.echo.SetDeadline(time.Now().Add(ioTimeout))
		if _, err := t.echo.Write(buf); err != nil {
			return fmt.Errorf("round trip %d: %w", i, err)
		}
		if _, err := io.ReadFull(t.echo, buf); err != nil {
			return fmt.Errorf("round trip %d: %w", i, err)
		}
	}
	return nil
}

// connects opens n connections one after the other: connect, the peer
// accepts and closes, we see end of file and close too.
func (t *tcpClient) connects(n int) error {
	var one [1]byte
	for i := range n {
		c, err := net.DialTimeout("tcp", t.addrs.close, ioTimeout)
		if err != nil {
			return fmt.Errorf("connect %d: %w", i, err)
		}
		_ = c.SetReadDeadline(time.Now().Add(ioTimeout))
		_, err = c.Read(one[:])
		c.Close()
		if !errors.Is(err, io.EOF) {
			return fmt.Errorf("connect %d: expected end of file, got %v", i, err)
		}
	}
	return nil
}

// stream writes n chunks of chunkSize bytes on one connection and waits
// until the peer has read them all.
func (t *tcpClient) stream(n int) error {
	c, err := net.DialTimeout("tcp", t.addrs.sink, ioTimeout)
	if err != nil {
		return fmt.Errorf("dial sink: %w", err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(ioTimeout + time.Duration(n)*time.Millisecond))
	buf := make([]byte, chunkSize)
	wire.FillPattern(buf, 0)
	for i := range n {
		if _, err := c.Write(buf); err != nil {
			return fmt.Errorf("chunk %d: %w", i, err)
		}
	}
	if err := c.(*net.TCPConn).CloseWrite(); err != nil {
		return fmt.Errorf("shutdown write: %w", err)
	}
	var ack [1]byte
	if _, err := io.ReadFull(c, ack[:]); err != nil {
		return fmt.Errorf("sink's acknowledgement: %w", err)
	}
	return nil
}
