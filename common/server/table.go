// table.go demonstrates a listener's table of the connections it holds
// while it waits for the one caller it expects among strangers (a v3
// worker's door, v2's call-back listener): at most Max at once; past it,
// a newcomer pushes out the oldest connection not yet holding the
// expected secret, never the one that holds it, so strangers can
// neither fill the table nor push out the caller who matters.

package server

import (
	"net"
	"slices"
	"sync"
)

// Visitor is one connection in a Table.
type Visitor struct {
	Conn net.Conn
	held bool // it presented the expected secret: never pushed out
}

// Table is the connections a listener holds, oldest first.
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
