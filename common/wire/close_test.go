// close_test.go checks the lingering close on a real loopback connection:
// the last reply arrives whole even though the peer was still sending.

package wire

import (
	"bytes"
	"io"
	"net"
	"testing"
	"time"
)

// TestLingerClose: a reply written just before closing a connection whose
// peer is still sending arrives whole, followed by a clean end of file,
// not by a reset.
func TestLingerClose(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		buf := make([]byte, 100) // read a little of what the peer sends
		_, _ = c.Read(buf)
		_, _ = c.Write([]byte("ERR line-too-long bye\n"))
		LingerClose(c)
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write(bytes.Repeat([]byte("x"), 200_000)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // the server has answered and closed
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	got, err := io.ReadAll(c)
	if err != nil || string(got) != "ERR line-too-long bye\n" {
		t.Fatalf("got %q, %v; want the reply and a clean end of file", got, err)
	}
}

// TestLingerBytes: a lingering close stops reading at its Bytes bound,
// though the peer keeps sending and keeps its side open, and the Time
// bound is far off.
func TestLingerBytes(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		c, err := ln.Accept()
		if err != nil {
			return
		}
		buf := make([]byte, 1)
		_, _ = c.Read(buf) // the peer has begun sending
		Linger{Bytes: 1 << 10, Time: time.Hour}.Close(c)
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close() // only once the server's close returned
	go func() { _, _ = c.Write(bytes.Repeat([]byte("x"), 200_000)) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second): // a guard against a hang, not a measure
		t.Fatal("Linger{Bytes: 1 KiB}.Close still reading: its Bytes bound is not kept")
	}
}
