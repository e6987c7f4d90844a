// A v2 client written by hand, as nc with a listener would be: it lets
// the end-to-end tests do each step of v2 themselves, or skip one.

package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"osps/common/tools/conformance"
	"osps/common/wire"
)

// raw is a hand-driven v2 client for the checks that break the protocol
// on purpose: a session dialed from the port of a listener.
type raw struct {
	t      *testing.T
	ln     *net.TCPListener
	conn   *net.TCPConn
	r      *bufio.Reader
	proof  string // of the last WAIT
	ticket string // of the last WAIT
}

func dialRaw(t *testing.T, bind, server string) *raw {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), conformance.IOTimeout)
	defer cancel()
	ln, conn, err := listenAndDial(ctx, netip.MustParseAddr(bind), server)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(); ln.Close() })
	return &raw{t: t, ln: ln, conn: conn, r: bufio.NewReader(conn)}
}

func (c *raw) send(line string) {
	c.t.Helper()
	_ = c.conn.SetWriteDeadline(time.Now().Add(conformance.IOTimeout))
	if _, err := io.WriteString(c.conn, line+"\n"); err != nil {
		c.t.Fatalf("send %q: %v", line, err)
	}
}

// line reads one line of the session.
func (c *raw) line() string {
	c.t.Helper()
	return readLineOn(c.t, c.conn, c.r)
}

func readLineOn(t *testing.T, conn net.Conn, r *bufio.Reader) string {
	t.Helper()
	_ = conn.SetReadDeadline(time.Now().Add(conformance.IOTimeout))
	l, err := r.ReadString('\n')
	if err != nil {
		t.Fatalf("read a line from %s (got %q): %v", conn.RemoteAddr(), l, err)
	}
	return strings.TrimSuffix(l, "\n")
}

// stats sends STATS on the session and returns its payload.
func (c *raw) stats() string {
	c.t.Helper()
	c.send("STATS")
	h := c.line()
	var n int
	if _, err := fmt.Sscanf(h, "OK %d", &n); err != nil || n < 0 || n > 1<<20 {
		c.t.Fatalf("STATS: got %q", h)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(c.r, b); err != nil {
		c.t.Fatalf("STATS payload: %v", err)
	}
	return string(b)
}

// wait sends a request line and returns the ticket of its WAIT (the
// proof is kept for send).
func (c *raw) wait(line string) string {
	c.t.Helper()
	c.send(line)
	l := c.line()
	r, err := wire.ParseReply([]byte(l))
	if err != nil || r.Word != wire.WAIT {
		c.t.Fatalf("%q: got %q, want WAIT <ticket> <proof>", line, l)
	}
	c.ticket, c.proof = r.Args[0], r.Args[1]
	return r.Args[0]
}

// request proves the client on a call-back (HELLO <mac>: the proof of
// the last WAIT bound to this connection) and sends line there.
func (c *raw) request(conn net.Conn, line string) {
	c.t.Helper()
	if _, err := io.WriteString(conn, "HELLO "+conformance.V2BoundProof(conn, c.proof, c.ticket)+"\n"+line+"\n"); err != nil {
		c.t.Fatalf("send %q on the call-back: %v", line, err)
	}
}

// accept takes the worker's call-back and checks its HELLO.
func (c *raw) accept(ticket string) (net.Conn, *bufio.Reader) {
	c.t.Helper()
	_ = c.ln.SetDeadline(time.Now().Add(conformance.IOTimeout))
	conn, err := c.ln.Accept()
	if err != nil {
		c.t.Fatalf("no call-back: %v", err)
	}
	c.t.Cleanup(func() { conn.Close() })
	r := bufio.NewReader(conn)
	if h := readLineOn(c.t, conn, r); h != "HELLO "+ticket {
		c.t.Fatalf("call-back said %q, want HELLO %s", h, ticket)
	}
	return conn, r
}

// slot0 is worker 0's STATS line, asked on a new plain session.
func slot0(t *testing.T, addr string) conformance.Slot {
	t.Helper()
	return conformance.Stats(t, addr)[0]
}
