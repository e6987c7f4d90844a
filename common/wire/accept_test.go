// Tests of the accept loop (it goes on past failed accepts, and ends
// when its listener is closed) and of the table of held connections
// (strangers push out strangers, never the caller that holds the secret).

package wire

import (
	"errors"
	"io"
	"log/slog"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// scriptListener's Accept returns its script's results in turn, then
// net.ErrClosed.
type scriptListener struct {
	script []any // net.Conn or error
}

func (l *scriptListener) Accept() (net.Conn, error) {
	if len(l.script) == 0 {
		return nil, net.ErrClosed
	}
	next := l.script[0]
	l.script = l.script[1:]
	if err, ok := next.(error); ok {
		return nil, err
	}
	return next.(net.Conn), nil
}

func (l *scriptListener) Close() error   { return nil }
func (l *scriptListener) Addr() net.Addr { return &net.TCPAddr{} }

func TestAcceptLoop(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	emfile := &net.OpError{Op: "accept", Net: "tcp", Err: syscall.EMFILE}
	ln := &scriptListener{script: []any{emfile, a, syscall.ECONNABORTED, b}}
	var got []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		AcceptLoop(ln, slog.New(slog.DiscardHandler), func(c net.Conn) { got = append(got, c) })
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("AcceptLoop did not return once its listener was closed")
	}
	if len(got) != 2 || got[0] != a || got[1] != b {
		t.Errorf("handled %v, want both connections, in order, past the failed accepts", got)
	}
}

// closed reports whether the far end of a net.Pipe was closed.
func closed(peer net.Conn) bool {
	_ = peer.SetReadDeadline(time.Now().Add(time.Second))
	_, err := peer.Read(make([]byte, 1))
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrClosedPipe)
}

func TestTable(t *testing.T) {
	var conns, peers []net.Conn
	for range 3 {
		c, p := net.Pipe()
		t.Cleanup(func() { c.Close(); p.Close() })
		conns, peers = append(conns, c), append(peers, p)
	}
	var tab Table
	holder, dropped := tab.Admit(conns[0], 2)
	if dropped != nil {
		t.Fatalf("first Admit dropped %v", dropped)
	}
	if !tab.Hold(holder) || !tab.Held(holder) {
		t.Fatal("Hold on a visitor in the table failed")
	}
	stranger, _ := tab.Admit(conns[1], 2)
	// Full: the next newcomer pushes out the oldest stranger, never the holder.
	third, dropped := tab.Admit(conns[2], 2)
	if dropped != conns[1] || !closed(peers[1]) {
		t.Fatalf("Admit past max dropped %v, want the stranger %v, closed", dropped, conns[1])
	}
	if tab.Hold(stranger) {
		t.Error("Hold on a visitor pushed out succeeded")
	}
	if got := tab.Len(); got != 2 {
		t.Errorf("Len = %d, want 2", got)
	}
	tab.CloseOthers(holder)
	if !closed(peers[2]) {
		t.Error("CloseOthers left a stranger open")
	}
	if diff := cmp.Diff(1, tab.Len()); diff != "" {
		t.Errorf("Len after CloseOthers (-want +got):\n%s", diff)
	}
	tab.Leave(third) // pushed out already: nothing happens
	tab.Leave(holder)
	if got := tab.Len(); got != 0 {
		t.Errorf("Len after the holder left = %d, want 0", got)
	}
}
