// strangers.go demonstrates how a v3 worker keeps strangers from pushing
// out the client that holds its ticket: it holds at most maxConns
// connections, and when a new one comes while the table is full, it drops
// the oldest connection that has not claimed the ticket, never the one
// that has (the table is common/wire's, which v2's call-back listener
// uses too). Each line before the claim must come within
// firstLineTimeout, far below the ticket's lifetime, so a silent
// stranger leaves soon anyway.

package main

import (
	"net"
	"time"

	"osps/common/wire"
)

// maxConns bounds the connections a worker holds at once.
const maxConns = 256

// firstLineTimeout bounds the wait for each line a caller sends before
// it claims the ticket (PROVE, HELLO): a client that holds a GOTO sends
// them at once; only a stranger is slower.
const firstLineTimeout = time.Second

// visitor is one open connection to the worker's port.
type visitor = wire.Visitor

// visitors is the table of a worker's open connections, oldest first.
type visitors struct {
	t wire.Table
}

// admit adds conn to the table. When the table is full, the oldest
// visitor that has not claimed the ticket is dropped: its connection is
// closed, and its goroutine ends on the error. It returns the new visitor
// and the dropped connection's address ("" if none).
// DOC: v3-drop-oldest-stranger
func (vs *visitors) admit(conn net.Conn) (*visitor, string) {
	v, dropped := vs.t.Admit(conn, maxConns)
	if dropped == nil {
		return v, ""
	}
	return v, dropped.RemoteAddr().String()
}

// hold marks v as the holder of the ticket, never to be dropped; it
// reports false if v was dropped already.
func (vs *visitors) hold(v *visitor) bool { return vs.t.Hold(v) }

// leave removes v from the table (nothing if it was dropped already).
func (vs *visitors) leave(v *visitor) { vs.t.Leave(v) }

// len is the number of open connections.
func (vs *visitors) len() int { return vs.t.Len() }
