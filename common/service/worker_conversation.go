// A worker's side of a direct conversation with a client (v2: the worker
// called the client back; v3: the client called the worker): the
// request line comes again, it must be the request the
// dispatcher checked. (The answer is written by a RateWriter, rate.go,
// so a client that stops reading cannot hold the worker for long.)

package service

import (
	"bufio"
	"fmt"
	"math"

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
