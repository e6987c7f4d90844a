// close.go ends a connection without losing the last reply: closing a
// socket whose peer is still sending (unread input) makes the kernel send
// a reset, which can destroy the end of what we wrote before the peer
// reads it. HTTP servers call the cure a "lingering close" (RFC 9112
// §9.6).

package wire

import (
	"io"
	"net"
	"time"
)

// LingerClose shuts down our side (a FIN after the reply), reads and
// drops what the peer still sends, at most 1 MiB for at most 1 s, then
// closes the connection.
func LingerClose(conn net.Conn) {
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.CloseWrite()
		_ = tc.SetReadDeadline(time.Now().Add(time.Second))
		_, _ = io.Copy(io.Discard, io.LimitReader(tc, 1<<20))
	}
	conn.Close()
}
