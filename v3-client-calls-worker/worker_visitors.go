// The table of a v3 worker's visitors, the connections open to its port:
// the client that claims the ticket, and strangers (every visitor that
// has not). It holds at most maxConns, and when a new one comes while
// the table is full, it drops the oldest stranger, never the ticket's
// holder, so strangers cannot push the client out (the table itself is
// common/wire's, which v2's call-back listener uses too). A silent
// stranger leaves soon anyway: each line before the claim must come
// within firstLineTimeout (worker_door.go), far below the ticket's
// lifetime.

package main

import (
	"net"

	"osps/common/wire"
)

// maxConns bounds the connections a worker holds at once.
const maxConns = 256

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
