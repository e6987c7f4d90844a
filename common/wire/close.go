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

// Linger bounds a lingering close: at most Bytes of the peer's are read
// and dropped, for at most Time.
type Linger struct {
	Bytes int64
	Time  time.Duration
}

// DefaultLinger is LingerClose's bounds: 1 MiB, 1 s.
var DefaultLinger = Linger{Bytes: 1 << 20, Time: time.Second}

// LingerClose is DefaultLinger.Close(conn).
func LingerClose(conn net.Conn) { DefaultLinger.Close(conn) }

// Close shuts down our side of conn (a FIN after the reply), reads and
// drops what the peer still sends, within l's bounds, then closes the
// connection.
func (l Linger) Close(conn net.Conn) {
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.CloseWrite()
		_ = tc.SetReadDeadline(time.Now().Add(l.Time))
		_, _ = io.Copy(io.Discard, io.LimitReader(tc, l.Bytes))
	}
	conn.Close()
}
