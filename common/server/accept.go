// accept.go demonstrates an accept loop that survives its errors: a
// full descriptor table (EMFILE) or a connection reset before accept
// makes the loop pause and try again, never spin, and never stop
// serving. Every listener of the lab uses it (the dispatcher, v3's
// workers, the bench's floor server).

package server

import (
	"errors"
	"log/slog"
	"net"
	"time"
)

// acceptPause is how long AcceptLoop waits after a failed accept.
const acceptPause = 50 * time.Millisecond

// AcceptLoop calls handle for each connection ln accepts, until ln is
// closed. handle runs on the loop's goroutine: it must return soon
// (start a goroutine for the session).
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
