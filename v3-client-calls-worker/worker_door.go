// A v3 worker's door: who gets in. The worker accepts connections all
// the time, whether a ticket is pending or not. A caller may first ask
// the worker to prove itself (PROVE <nonce>: the worker answers with an
// HMAC of the nonce under the request's proof key); then the one
// connection that presents the pending ticket claims it and gets the
// answer (worker_answer.go), and any other gets "ERR bad-ticket" and is
// closed at once, without disturbing the ticket still pending (port
// stealing, RFC 2577, in both directions).

package main

import (
	"bufio"
	"crypto/subtle"
	"fmt"
	"net"
	"time"

	"osps/common/wire"
)

// acceptLoop accepts connections until the listener is closed, whether a
// ticket is pending or not: a stranger is refused at once, never queued
// behind the client that holds the ticket, and never pushes it out
// (worker_visitors.go).
// DOC: v3-accept-always
func (d *desk) acceptLoop() {
	wire.AcceptLoop(d.ln, d.log, func(conn net.Conn) {
		v, dropped := d.visitors.admit(conn)
		if dropped != "" {
			d.tr.Step(4, "%d connections open: the oldest stranger, %s, is dropped", maxConns, dropped)
		}
		go func() {
			defer d.visitors.leave(v)
			d.handle(v)
		}()
	})
}

// handle is one connection to the worker's port.
func (d *desk) handle(v *visitor) {
	conn := v.Conn
	defer wire.LingerClose(conn)
	peer := conn.RemoteAddr().String()
	r := wire.NewReader(conn)

	// STEP v3.4: the first line: PROVE <nonce> (then HELLO), or HELLO <ticket> at once.
	line, err := d.readEarly(conn, r)
	if nonce, ok := wire.ParseProve(line); err == nil && ok {
		if !d.prove(conn, nonce, peer) {
			return
		}
		line, err = d.readEarly(conn, r)
	}
	if err != nil {
		d.tr.Step(4, "connection from %s: no HELLO line (%v): closed", peer, err)
		d.refuse(conn, wire.LineError(err, "HELLO <ticket>"))
		return
	}
	var p *pending
	if ticket, err := wire.ParseHello(line); err == nil {
		p = d.claim(ticket, v)
	}
	if p == nil {
		d.tr.Step(4, "connection from %s: %q is not the expected ticket: ERR bad-ticket, closed (the pending ticket, if any, stays valid)", peer, wire.Printable(line, 50))
		d.refuse(conn, wire.Errorf(wire.CodeBadTicket, "unknown, used or expired ticket"))
		return
	}
	d.tr.Step(4, "client %s presented ticket %s: accepted, ticket used up", peer, p.ticket)
	arg := d.answer(conn, r, p, peer)
	if tc, isTCP := conn.(*net.TCPConn); isTCP {
		_ = tc.CloseWrite() // the answer is complete: FIN, before the pong
	}
	p.done <- arg
}

// firstLineTimeout bounds the wait for each line a caller sends before
// it claims the ticket (PROVE, HELLO): a client that holds a GOTO sends
// them at once; only a stranger is slower.
const firstLineTimeout = time.Second

// readEarly reads a line that comes before the claim: within
// firstLineTimeout (or the ticket's lifetime, if shorter).
func (d *desk) readEarly(conn net.Conn, r *bufio.Reader) ([]byte, error) {
	_ = conn.SetDeadline(time.Now().Add(min(firstLineTimeout, d.f.ttl)))
	return wire.ReadLastLine(r)
}

// prove answers "PROVE <nonce>" with "PROOF <HMAC-SHA256(key, nonce)>",
// key being the proof key of the pending request: only the worker the
// dispatcher pinged knows it. With no request pending there is nothing
// to prove: ERR bad-ticket, closed. It reports whether to go on.
// DOC: v3-prove
func (d *desk) prove(conn net.Conn, nonce, peer string) bool {
	d.mu.Lock()
	p := d.pending
	d.mu.Unlock()
	if p == nil || time.Now().After(p.expires) {
		d.tr.Step(4, "connection from %s asks for a proof, but no ticket is pending: ERR bad-ticket, closed", peer)
		d.refuse(conn, wire.Errorf(wire.CodeBadTicket, "no ticket is pending here"))
		return false
	}
	proof := wire.Proof(p.key, nonce)
	d.tr.Step(4, "connection from %s asks for a proof (nonce %s): PROOF %s", peer, nonce, proof)
	_ = conn.SetWriteDeadline(time.Now().Add(d.f.ioTimeout))
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
func (d *desk) claim(ticket string, v *visitor) *pending {
	d.mu.Lock()
	defer d.mu.Unlock()
	p := d.pending
	if p == nil || time.Now().After(p.expires) ||
		subtle.ConstantTimeCompare([]byte(p.ticket), []byte(ticket)) != 1 ||
		!d.visitors.hold(v) {
		return nil
	}
	d.pending = nil
	close(p.claimed)
	return p
}

// LAB v3-ticket: end

// refuse turns a caller away with one ERR line (written within
// --io-timeout); a nil err writes nothing.
func (d *desk) refuse(conn net.Conn, err error) {
	if err == nil {
		return
	}
	_ = conn.SetWriteDeadline(time.Now().Add(d.f.ioTimeout))
	_ = wire.WriteErr(conn, err)
}
