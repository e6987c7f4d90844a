// A worker's side of a direct conversation with a client (v2: the worker
// called the client back; v3: the client called the worker): the
// request line comes again, it must be the request the
// dispatcher checked, and the answer is written with a deadline per
// write, so a client that stops reading cannot hold the worker forever.

package service

import (
	"bufio"
	"fmt"
	"math"
	"net"
	"time"

	"osps/common/wire"
)

// ReadRequest reads the request line a client sends to a worker and
// checks it is want, the request the dispatcher checked (so a client
// cannot get past --max-bytes by changing its line). A line that is
// wrong, too long or late is an *wire.Error to send back; any other
// error means the client is gone.
func ReadRequest(r *bufio.Reader, want wire.Request) (wire.Request, error) {
	line, err := wire.ReadLastLine(r) // a last line without LF counts
	if err != nil {
		if e := wire.LineError(err, "request line"); e != nil {
			return wire.Request{}, e
		}
		return wire.Request{}, fmt.Errorf("read the request line: %w", err)
	}
	got, err := wire.ParseRequest(line, math.MaxInt64)
	if err != nil {
		return wire.Request{}, err
	}
	if got != want {
		return wire.Request{}, wire.Errorf(wire.CodeBadRequest, "this request was checked as %q, not %q", want.String(), got.String())
	}
	return got, nil
}

// DeadlineWriter bounds each write to a connection by D.
type DeadlineWriter struct {
	Conn net.Conn
	D    time.Duration
}

func (w DeadlineWriter) Write(p []byte) (int, error) {
	_ = w.Conn.SetWriteDeadline(time.Now().Add(w.D))
	return w.Conn.Write(p)
}
