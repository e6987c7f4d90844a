// door.go demonstrates a v3 worker's door: it accepts connections all
// the time, whether a ticket is pending or not. A caller may first ask
// the worker to prove itself (PROVE <nonce>: the worker answers with an
// HMAC of the nonce under the request's proof key); then the one
// connection that presents the pending ticket gets the answer, streamed
// straight from this process under the min-rate rule, and any other gets
// "ERR bad-ticket" and is closed at once, without disturbing the ticket
// still pending (port stealing, RFC 2577, in both directions).

package main

import (
	"bufio"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"time"

	"osps/common/service"
	"osps/common/wire"
)

// acceptLoop accepts connections until the listener is closed, whether a
// ticket is pending or not: a stranger is refused at once, never queued
// behind the client that holds the ticket, and never pushes it out
// (strangers.go).
// DOC: v3-accept-always
func (w *desk) acceptLoop() {
	wire.AcceptLoop(w.ln, w.log, func(conn net.Conn) {
		v, dropped := w.visitors.admit(conn)
		if dropped != "" {
			w.tr.Step(4, "%d connections open: the oldest stranger, %s, is dropped", maxConns, dropped)
		}
		go func() {
			defer w.visitors.leave(v)
			w.handle(v)
		}()
	})
}

// handle is one connection to the worker's port.
func (w *desk) handle(v *visitor) {
	conn := v.Conn
	defer wire.LingerClose(conn)
	peer := conn.RemoteAddr().String()
	r := wire.NewReader(conn)

	// STEP v3.4: the first line: PROVE <nonce> (then HELLO), or HELLO <ticket> at once.
	line, err := w.readEarly(conn, r)
	if nonce, ok := wire.ParseProve(line); err == nil && ok {
		if !w.prove(conn, nonce, peer) {
			return
		}
		line, err = w.readEarly(conn, r)
	}
	if err != nil {
		w.tr.Step(4, "connection from %s: no HELLO line (%v): closed", peer, err)
		w.reply(conn, wire.LineError(err, "HELLO <ticket>"))
		return
	}
	var p *pending
	if ticket, err := wire.ParseHello(line); err == nil {
		p = w.claim(ticket, v)
	}
	if p == nil {
		w.tr.Step(4, "connection from %s: %q is not the expected ticket: ERR bad-ticket, closed (the pending ticket, if any, stays valid)", peer, wire.Printable(line, 50))
		w.reply(conn, wire.Errorf(wire.CodeBadTicket, "unknown, used or expired ticket"))
		return
	}
	w.tr.Step(4, "client %s presented ticket %s: accepted, ticket used up", peer, p.ticket)
	arg := w.answer(conn, r, p, peer)
	if tc, isTCP := conn.(*net.TCPConn); isTCP {
		_ = tc.CloseWrite() // the answer is complete: FIN, before the pong
	}
	p.done <- arg
}

// readEarly reads a line that comes before the claim: within
// firstLineTimeout (or the ticket's lifetime, if shorter).
func (w *desk) readEarly(conn net.Conn, r *bufio.Reader) ([]byte, error) {
	_ = conn.SetDeadline(time.Now().Add(min(firstLineTimeout, w.f.ttl)))
	return wire.ReadLastLine(r)
}

// prove answers "PROVE <nonce>" with "PROOF <HMAC-SHA256(key, nonce)>",
// key being the proof key of the pending request: only the worker the
// dispatcher pinged knows it. With no request pending there is nothing
// to prove: ERR bad-ticket, closed. It reports whether to go on.
// DOC: v3-prove
func (w *desk) prove(conn net.Conn, nonce, peer string) bool {
	w.mu.Lock()
	p := w.pending
	w.mu.Unlock()
	if p == nil || time.Now().After(p.expires) {
		w.tr.Step(4, "connection from %s asks for a proof, but no ticket is pending: ERR bad-ticket, closed", peer)
		w.reply(conn, wire.Errorf(wire.CodeBadTicket, "no ticket is pending here"))
		return false
	}
	proof := wire.Proof(p.key, nonce)
	w.tr.Step(4, "connection from %s asks for a proof (nonce %s): PROOF %s", peer, nonce, proof)
	_ = conn.SetWriteDeadline(time.Now().Add(w.f.ioTimeout))
	if _, err := fmt.Fprintf(conn, "%s %s\n", wire.PROOF, proof); err != nil {
		return false
	}
	_ = conn.SetWriteDeadline(time.Time{})
	return true
}

// LAB v3-ticket: begin

// claim takes the pending request for visitor v if ticket is its ticket
// and it has not expired. A ticket is claimed at most once: single use.
// From then on v is never dropped (if it was dropped just before, the
// ticket stays pending).
// DOC: v3-ticket-claim
func (w *desk) claim(ticket string, v *visitor) *pending {
	w.mu.Lock()
	defer w.mu.Unlock()
	p := w.pending
	if p == nil || time.Now().After(p.expires) ||
		subtle.ConstantTimeCompare([]byte(p.ticket), []byte(ticket)) != 1 ||
		!w.visitors.hold(v) {
		return nil
	}
	w.pending = nil
	close(p.claimed)
	return p
}

// LAB v3-ticket: end

// answer reads the request line that follows HELLO and streams the
// answer onto the connection. It returns the final pong's argument:
// pongServed if the client got it all, pongUnclaimed if no request line
// came (the ticket was cancelled: its holder closed after HELLO).
func (w *desk) answer(conn net.Conn, r *bufio.Reader, p *pending, peer string) uint64 {
	_ = conn.SetDeadline(time.Now().Add(w.f.ioTimeout))
	req, err := service.ReadRequest(r, p.req)
	if err != nil {
		w.tr.Step(5, "client %s: %v", peer, err)
		if e := wire.AsError(err); e != nil {
			w.reply(conn, e)
			return pongFailed
		}
		if errors.Is(err, io.EOF) {
			return pongUnclaimed
		}
		return pongFailed
	}
	// STEP v3.5: the answer goes straight from this process to the client, under the min-rate rule.
	_ = conn.SetDeadline(time.Time{})
	src := service.PayloadFor(req, w.c.ID, os.Getpid(), w.c.Slot.AddServed())
	w.tr.Step(5, "answer OK %d straight to the client %s, then close", src.Len(), peer)
	out := w.f.rate.Writer(conn, func(int) { w.c.Slot.Beat() }) // DOC: v3-beat-on-progress
	if err := service.Answer(out, src, nil); err != nil {
		w.log.Warn("answer cut", "client", peer, "err", err)
		return pongFailed
	}
	return pongServed
}

// reply writes one error line, bounded in time; err nil writes nothing.
func (w *desk) reply(conn net.Conn, err error) {
	if err == nil {
		return
	}
	_ = conn.SetWriteDeadline(time.Now().Add(w.f.ioTimeout))
	_ = wire.WriteErr(conn, err)
}
