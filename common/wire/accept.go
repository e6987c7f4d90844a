// Two pieces for a listener that strangers can reach, here in the
// protocol's package so that neither side imports the other's to listen:
// AcceptLoop, an accept loop that survives its errors (the dispatcher,
// a v3 worker's door, the bench's floor server), and Table, a bounded
// table of the connections held while the one expected caller is
// awaited, where strangers cannot push that caller out (a v3 worker's
// door, v2's client waiting for its call-back, which runs its own
// accept loop). Only a v3 worker's door uses both.

package wire

import (
	"errors"
	"log/slog"
	"net"
	"slices"
	"sync"
	"time"
)

// acceptPause is how long AcceptLoop waits after a failed accept.
const acceptPause = 50 * time.Millisecond

// AcceptLoop calls handle for each connection ln accepts, until ln is
// closed. A failed accept (a full descriptor table, EMFILE, or a
// connection reset before it was accepted) makes the loop pause and try
// again: it never spins, and never stops serving. handle runs on the
// loop's goroutine: it must return soon (start a goroutine for the
// session).
func AcceptLoop(ln net.Listener, log *slog.Logger, handle func(net.Conn)) {
	for {
		conn, err := ln.Accept()
		if err == nil {
			handle(conn)
			continue
		}
		if errors.Is(err, net.ErrClosed) {
			return
		}
		log.Error("accept failed: retrying", "err", err, "pause", acceptPause)
		time.Sleep(acceptPause)
	}
}

// Visitor is one connection in a Table.
type Visitor struct {
	Conn net.Conn
	held bool // it presented the expected secret: never pushed out
}

// Table is the connections a listener holds, oldest first, while it
// waits for the one caller it expects among strangers: at most max at
// once (Admit); past it, a newcomer pushes out the oldest connection not
// yet holding the expected secret, never the one that holds it, so
// strangers can neither fill the table nor push out the caller who
// matters.
type Table struct {
	mu   sync.Mutex
	open []*Visitor
}

// Admit adds conn to the table. When it holds max already, the oldest
// visitor not held is pushed out: its connection is closed here (its
// goroutine ends on the error). It returns the new visitor and the
// pushed-out connection, if any (closed already).
// DOC: table-drop-oldest
func (t *Table) Admit(conn net.Conn, max int) (*Visitor, net.Conn) {
	v := &Visitor{Conn: conn}
	t.mu.Lock()
	var dropped net.Conn
	if len(t.open) >= max {
		if i := slices.IndexFunc(t.open, func(o *Visitor) bool { return !o.held }); i >= 0 {
			dropped = t.open[i].Conn
			t.open = slices.Delete(t.open, i, i+1)
		}
	}
	t.open = append(t.open, v)
	t.mu.Unlock()
	if dropped != nil {
		dropped.Close()
	}
	return v, dropped
}

// Hold marks v as the expected caller, never to be pushed out; it
// reports false if v was pushed out already.
func (t *Table) Hold(v *Visitor) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !slices.Contains(t.open, v) {
		return false
	}
	v.held = true
	return true
}

// Held reports whether v holds the expected secret (Hold was called).
func (t *Table) Held(v *Visitor) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return v.held
}

// Leave removes v from the table (nothing if it was pushed out already).
func (t *Table) Leave(v *Visitor) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if i := slices.Index(t.open, v); i >= 0 {
		t.open = slices.Delete(t.open, i, i+1)
	}
}

// Len is the number of connections held.
func (t *Table) Len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.open)
}

// CloseOthers closes every connection but keep's, and empties the table
// of them.
func (t *Table) CloseOthers(keep *Visitor) {
	t.mu.Lock()
	others := slices.DeleteFunc(slices.Clone(t.open), func(v *Visitor) bool { return v == keep })
	t.open = slices.DeleteFunc(t.open, func(v *Visitor) bool { return v != keep })
	t.mu.Unlock()
	for _, v := range others {
		v.Conn.Close()
	}
}
