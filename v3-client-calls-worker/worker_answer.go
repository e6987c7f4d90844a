// A v3 worker's answer to the client that claimed its ticket: the
// request line must be the one the ticket was issued for, and the answer
// streams straight from this process onto the client's connection, under
// the min-rate rule, beating the heartbeat as it goes.

package main

import (
	"bufio"
	"errors"
	"io"
	"net"
	"time"

	"osps/common/service"
	"osps/common/wire"
)

// answer reads the request line that follows HELLO and streams the
// answer onto the connection. It returns the final pong's argument:
// pongServed if the client got it all, pongUnclaimed if no request line
// came (the ticket was cancelled: its holder closed after HELLO).
func (d *desk) answer(conn net.Conn, r *bufio.Reader, p *pending, peer string) uint64 {
	_ = conn.SetDeadline(time.Now().Add(d.f.ioTimeout))
	req, err := service.ReadRequest(r, p.req)
	if err != nil {
		d.tr.Step(5, "client %s: %v", peer, err)
		if e := wire.AsError(err); e != nil {
			d.refuse(conn, e)
			return pongFailed
		}
		if errors.Is(err, io.EOF) {
			return pongUnclaimed
		}
		return pongFailed
	}
	_ = conn.SetDeadline(time.Time{}) // from now on the min-rate rule bounds the transfer
	src := service.PayloadFor(req, d.self.ID, d.self.Pid, d.self.Slot.AddServed())
	d.tr.Step(5, "answer OK %d straight to the client %s, then close", src.Len(), peer)
	out := d.f.rate.Writer(conn, func(int) { d.self.Slot.Beat() }) // DOC: v3-beat-on-progress
	// STEP v3.5: the answer goes straight from this process to the client, under the min-rate rule.
	if err := service.Answer(out, src, nil); err != nil {
		d.log.Warn("answer cut", "client", peer, "err", err)
		return pongFailed
	}
	return pongServed
}
