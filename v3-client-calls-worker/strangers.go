// strangers.go demonstrates how a v3 worker keeps strangers from pushing
// out the client that holds its ticket: it holds at most maxConns
// connections, and when a new one comes while the table is full, it drops
// the oldest connection that has not claimed the ticket, never the one
// that has. Each line before the claim must come within firstLineTimeout,
// far below the ticket's lifetime, so a silent stranger leaves soon anyway.

package main

import (
	"net"
	"slices"
	"sync"
	"time"
)

// maxConns bounds the connections a worker holds at once.
const maxConns = 256

// firstLineTimeout bounds the wait for each line a caller sends before
// it claims the ticket (PROVE, HELLO): a client that holds a GOTO sends
// them at once; only a stranger is slower.
const firstLineTimeout = time.Second

// visitor is one open connection to the worker's port.
type visitor struct {
	conn    net.Conn
	claimed bool // it presented the pending ticket: never dropped
}

// visitors is the table of a worker's open connections, oldest first.
type visitors struct {
	mu   sync.Mutex
	open []*visitor
}

// admit adds conn to the table. When the table is full, the oldest
// visitor that has not claimed the ticket is dropped: its connection is
// closed, and its goroutine ends on the error. It returns the new visitor
// and the dropped connection's address ("" if none).
// DOC: v3-drop-oldest-stranger
func (vs *visitors) admit(conn net.Conn) (*visitor, string) {
	v := &visitor{conn: conn}
	vs.mu.Lock()
	var dropped net.Conn
	if len(vs.open) >= maxConns {
		if i := slices.IndexFunc(vs.open, func(o *visitor) bool { return !o.claimed }); i >= 0 {
			dropped = vs.open[i].conn
			vs.open = slices.Delete(vs.open, i, i+1)
		}
	}
	vs.open = append(vs.open, v)
	vs.mu.Unlock()
	if dropped == nil {
		return v, ""
	}
	dropped.Close()
	return v, dropped.RemoteAddr().String()
}

// hold marks v as the holder of the ticket, never to be dropped; it
// reports false if v was dropped already.
func (vs *visitors) hold(v *visitor) bool {
	vs.mu.Lock()
	defer vs.mu.Unlock()
	if !slices.Contains(vs.open, v) {
		return false
	}
	v.claimed = true
	return true
}

// leave removes v from the table (nothing if it was dropped already).
func (vs *visitors) leave(v *visitor) {
	vs.mu.Lock()
	defer vs.mu.Unlock()
	if i := slices.Index(vs.open, v); i >= 0 {
		vs.open = slices.Delete(vs.open, i, i+1)
	}
}

// len is the number of open connections.
func (vs *visitors) len() int {
	vs.mu.Lock()
	defer vs.mu.Unlock()
	return len(vs.open)
}
