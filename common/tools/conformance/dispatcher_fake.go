// dispatcher_fake.go is a scripted peer: a fake dispatcher that answers
// one session as a test's script says, and may play the worker's part of a
// v2 call-back itself. It checks a client (the drivers here, or v2's own
// client) alone, with no server behind it.

package conformance

import (
	"bufio"
	"net"
	"testing"
	"time"
)

// FakeDispatcher listens on 127.0.0.1, accepts one session and runs
// script on it (peer is the session's remote address, where a v2 client
// listens for its call-back). The session's every wait ends after
// IOTimeout; the test's cleanup waits for the script to return.
func FakeDispatcher(t testing.TB, script func(sess net.Conn, r *bufio.Reader, peer string)) string {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { ln.Close(); <-done })
	go func() {
		defer close(done)
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(IOTimeout))
		script(conn, bufio.NewReader(conn), conn.RemoteAddr().String())
	}()
	return ln.Addr().String()
}
