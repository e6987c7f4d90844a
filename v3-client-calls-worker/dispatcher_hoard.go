// The dispatcher against hoarding: it keeps sessions that ask for
// tickets and never use them from holding every worker: a GOTO nobody
// has followed for claimGrace is cancelled as soon as another request
// waits for a worker, and a session whose tickets expired unclaimed
// twice in a row waits a ticket lifetime before it gets another (twice
// that after a third, up to 8 lifetimes). The
// dispatcher cancels a ticket the way anyone holding it could: it
// presents the ticket at the worker's door itself, and sends no request.

package main

import (
	"io"
	"net"
	"net/netip"
	"sync"
	"time"

	"osps/common/server"
	"osps/common/wire"
)

// maxUnclaimed is how many tickets in a row a session may leave
// unclaimed before it waits a ticket lifetime for the next one.
const maxUnclaimed = 2

// claimGrace is how long a GOTO is safe from cancellation: an honest
// client dials the worker at once, in a few milliseconds.
func claimGrace(ttl time.Duration) time.Duration { return min(time.Second, ttl/2) }

// quitGrace is how long QUIT waits for the worker's pong before it
// cancels a GOTO: the pong of a request just served comes within it.
// DOC: v3-quit-grace
const quitGrace = 100 * time.Millisecond

// grant is one GOTO given out, whose request is not over yet.
type grant struct {
	s         *server.Session
	where     netip.AddrPort // the worker's address, as the GOTO gave it
	ticket    string
	issued    time.Time
	cancelled bool // a cancel was tried: never twice
}

// hoard is the table of outstanding GOTOs and of the sessions' records.
type hoard struct {
	mu     sync.Mutex
	grants map[*grant]struct{}
}

// record is a session's history of unclaimed tickets (Session.State,
// set by Serve on the session's goroutine; a late pong may update it
// from another).
type record struct {
	mu        sync.Mutex
	unclaimed int       // tickets in a row that expired unclaimed
	last      time.Time // when the last of them ended
}

// recordOf is s's record, made on its first request (by admit, which
// the session runs on its own goroutine before every Serve: later pongs
// update it).
func recordOf(s *server.Session) *record {
	rec, _ := s.State.(*record)
	if rec == nil {
		rec = &record{}
		s.State = rec
	}
	return rec
}

func (h *hoard) add(g *grant) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.grants == nil {
		h.grants = map[*grant]struct{}{}
	}
	h.grants[g] = struct{}{}
}

func (h *hoard) remove(g *grant) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.grants, g)
}

// starved is serve's Starved hook: a request waits for a worker, so the
// oldest GOTO that nobody followed within the grace is cancelled. If its
// client had in fact come, the cancel is refused at the door (the ticket
// is used up) and changes nothing.
// DOC: v3-cancel-stale-goto
func (h *hoard) starved(grace time.Duration) {
	h.mu.Lock()
	var oldest *grant
	for g := range h.grants {
		if !g.cancelled && time.Since(g.issued) > grace && (oldest == nil || g.issued.Before(oldest.issued)) {
			oldest = g
		}
	}
	if oldest != nil {
		oldest.cancelled = true
	}
	h.mu.Unlock()
	if oldest != nil {
		oldest.s.Log.Info("a request waits for a worker: cancelling the oldest GOTO nobody followed", "ticket", oldest.ticket, "age", time.Since(oldest.issued).Round(time.Millisecond))
		go cancelTicket(oldest.where, oldest.ticket)
	}
}

// cancelTicket claims ticket at the worker's door at where, and sends no
// request: the worker gives up the request at once and pongs.
func cancelTicket(where netip.AddrPort, ticket string) {
	conn, err := net.DialTimeout("tcp", where.String(), time.Second)
	if err != nil {
		return // a dead worker: its request is over anyway
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(time.Second))
	if _, err := io.WriteString(conn, wire.Hello+" "+ticket+"\n"); err != nil {
		return
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.CloseWrite() // no request line will come
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(conn, 4<<10)) // until the worker closes
}

// admit is serve's Admit hook: a session whose last ticket expired
// unclaimed does not wait for a worker when none is idle (ERR busy at
// once: it does not queue ahead of honest requests); one whose last
// maxUnclaimed tickets expired unclaimed gets ERR busy until a ticket
// lifetime has passed since the last of them, and twice that after one
// more, up to 8 lifetimes (a session that keeps hoarding gets ever fewer
// tickets).
// DOC: v3-unclaimed-wait
func (r *referrer) admit(s *server.Session) error {
	rec := recordOf(s)
	rec.mu.Lock()
	defer rec.mu.Unlock()
	switch {
	case rec.unclaimed == 0:
		return nil
	case rec.unclaimed < maxUnclaimed && s.Server().IdleWorkers() == 0:
		// Under contention, a session whose last ticket went unused
		// does not queue ahead of sessions that use theirs.
		return wire.Errorf(wire.CodeBusy, "no worker is idle, and your last ticket expired unclaimed: follow a GOTO before asking for another")
	case rec.unclaimed < maxUnclaimed:
		return nil
	}
	penalty := *r.ttl << min(rec.unclaimed-maxUnclaimed, 3)
	if wait := time.Until(rec.last.Add(penalty)); wait > 0 {
		return wire.Errorf(wire.CodeBusy, "your last %d tickets expired unclaimed: follow a GOTO before asking for another, or wait %v", rec.unclaimed, wait.Round(100*time.Millisecond))
	}
	return nil
}

// ended records how a request of the session whose record is rec ended
// (the worker's pong argument).
func ended(rec *record, arg uint64) {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	switch arg {
	case pongServed:
		rec.unclaimed = 0
	case pongUnclaimed:
		rec.unclaimed++
		rec.last = time.Now()
	}
}
