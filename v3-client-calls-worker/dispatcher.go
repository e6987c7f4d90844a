// v3's dispatcher, which never touches an answer: for each request it
// picks an idle worker, writes a fresh single-use ticket and proof key
// into the worker's slot, pings it, tells the client where to go,
// "GOTO <host> <port> <ticket> <key>", and waits for the worker's final
// pong before it reads the session's next line: one session holds at
// most one worker (docs/v3-client-calls-worker.md).

package main

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"time"

	"github.com/spf13/pflag"

	"osps/common/cli"
	"osps/common/pingpong"
	"osps/common/proc"
	"osps/common/server"
	"osps/common/wire"
)

// defaultTicketTTL is the default of --ticket-ttl (docs/protocol.md, "What differs between the variants").
const defaultTicketTTL = 5 * time.Second

func runServe(args []string) int {
	var cfg server.Config
	ttl := defaultTicketTTL
	fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	cfg.Register(fs)
	fs.Var((*cli.PositiveDuration)(&ttl), "ticket-ttl", "how long a GOTO ticket stays valid; a worker whose client never comes is idle again after it")
	r := &referrer{ttl: &ttl}
	return server.Main(fs, args, "v3-client-calls-worker serve [flags]", &cfg, server.Variant{
		Name: "v3", RequestStep: 2, Handler: r,
		WorkerFiles: func(ln *net.TCPAddr, workers int) ([][]*os.File, error) {
			// STEP v3.0: open each worker's port (dispatcher_ports.go says which), handed to the worker like its pipes.
			files, err := openPorts(ln, workers, cfg.Port == 0)
			if err != nil {
				return nil, err
			}
			if r.dead, err = newDeadDoors(files, cfg.Logger()); err != nil {
				closeAll(files)
				return nil, err
			}
			return files, nil
		},
		Exited:  func(w *proc.Handle) { r.dead.answerFor(w) },
		Starved: func() { r.hoard.starved(claimGrace(ttl)) },
		Admit:   r.admit,
		WorkerArgs: func(*net.TCPAddr) []string {
			return append([]string{"--ticket-ttl", ttl.String(), "--io-timeout", cfg.RequestTimeout.String()}, cfg.Rate.Args()...)
		},
	})
}

// referrer is v3's Handler: it refers each request's client to a worker,
// with a GOTO, and never touches the answer.
type referrer struct {
	ttl   *time.Duration // --ticket-ttl, set once the flags are parsed
	dead  *deadDoors     // the dispatcher answers on dead workers' ports
	hoard hoard          // the GOTOs given out and not over yet
}

func (r *referrer) Serve(s *server.Session, w *proc.Handle, req wire.Request) error {
	srv := s.Server()
	where := w.Slot.WorkerAddr() // published by the worker before it said ready
	if !where.IsValid() || where.Port() == 0 {
		w.Kill() // a worker without an address breaks the protocol: not trusted again
		return s.Error(wire.Errorf(wire.CodeWorkerFailed, "worker %d published no address", w.ID))
	}

	r.dead.shut(w.ID) // never answer for a live worker's port (dispatcher_deadport.go)
	// STEP v3.2: a fresh ticket, a fresh proof key and the request go into the worker's slot; a ping says so.
	seq := w.Begin()
	ticket, key := wire.NewTicket(), wire.NewTicket()
	w.Slot.SetTicket(ticket)
	w.Slot.SetProof(key)
	w.Slot.SetRequest([]byte(req.String()))
	srv.Tr.Step(2, "session %d: ticket %s, proof key %s and %q written into slot %d, ping worker#%d", s.ID, ticket, key, req.String(), w.ID, w.ID)
	if err := w.Ping(pingpong.PingRequest, 0); err != nil {
		s.Log.Warn("ping failed", "worker", w.ID, "err", err)
		return s.Error(wire.Errorf(wire.CodeWorkerFailed, "worker %d is gone", w.ID))
	}
	if err := r.awaitReady(s, w, seq); err != nil {
		return s.Error(err)
	}

	host := gotoHost(where.Addr(), s.Conn().LocalAddr())
	line := fmt.Sprintf("%s %s %d %s %s", wire.GOTO, host, where.Port(), ticket, key)
	srv.Tr.Step(3, "session %d: answer %s (worker#%d listens there, ticket valid %v)", s.ID, line, w.ID, *r.ttl)
	g := &grant{s: s, where: netip.AddrPortFrom(host, where.Port()), ticket: ticket, issued: time.Now()}
	r.hoard.add(g)
	defer r.hoard.remove(g)
	// STEP v3.3: tell the client where its answer waits, and with which key the worker proves itself.
	if err := s.Reply(line); err != nil {
		go cancelTicket(g.where, ticket)        // nobody will follow it
		s.Go(func() { r.awaitDone(s, w, seq) }) // the worker comes back
		return err
	}
	// The session's next line waits until this request is over; but
	// QUIT, or the end of the session, cancels the ticket at once.
	// DOC: v3-one-worker-per-session
	quit, stop := s.WatchQuit()
	over := make(chan struct{})
	go func() {
		select {
		case <-quit:
		case <-over:
			return
		}
		// A client served a moment ago says QUIT while its worker's pong
		// is on its way: give the pong a moment before cancelling a
		// ticket that is most likely used up already.
		select {
		case <-over:
			return
		case <-time.After(quitGrace):
		}
		srv.Tr.Step(3, "session %d: QUIT or end of file with a GOTO pending: the dispatcher cancels ticket %s", s.ID, ticket)
		cancelTicket(g.where, ticket)
	}()
	r.awaitDone(s, w, seq)
	close(over)
	stop()
	return nil
}

// awaitReady waits for the worker's "ready" pong: it expects the ticket
// now. Only then may the client learn it, or the client could knock
// before the worker has read its ping, and be refused. The error is the
// client's answer.
// DOC: v3-ready-before-goto
func (r *referrer) awaitReady(s *server.Session, w *proc.Handle, seq uint32) error {
	rt := s.Server().Cfg.RequestTimeout
	m, err := w.Await(rt)
	switch {
	case err == nil && m.Op == pingpong.PongReady:
		return nil
	case err == nil:
		s.Log.Error("worker broke the protocol: killing it", "worker", w.ID, "op", m.Op)
		w.Kill()
		return wire.Errorf(wire.CodeWorkerFailed, "worker %d answered %v to a ping", w.ID, m.Op)
	case errors.Is(err, proc.ErrNoPong):
		s.Log.Warn("worker did not take its ticket in time: left busy until it wakes up", "worker", w.ID)
		s.Go(func() { r.reclaim(s, w, seq) })
		return wire.Errorf(wire.CodeTimeout, "worker %d did not answer its ping within %v", w.ID, rt)
	default:
		s.Log.Warn("worker died", "worker", w.ID, "err", err)
		return wire.Errorf(wire.CodeWorkerFailed, "worker %d is gone", w.ID)
	}
}

// awaitDone is the dispatcher's half of step 5: the worker pongs once its
// client was served, or once the ticket expired; then it is idle again.
// The wait is bounded: past the ticket's lifetime it goes on only while
// the worker's heartbeat shows progress; a worker that falls silent is
// left busy, and its late pong is awaited in the background.
func (r *referrer) awaitDone(s *server.Session, w *proc.Handle, seq uint32) {
	srv := s.Server()
	rt := srv.Cfg.RequestTimeout
	stale := rt + srv.Cfg.Rate.Window // the longest a served client may go without a beat
	for wait := *r.ttl + rt; ; wait = rt {
		m, err := w.Await(wait)
		switch {
		case err == nil:
			r.done(s, w, seq, m)
			return
		case errors.Is(err, proc.ErrWorkerDied):
			s.Log.Warn("worker died during a request", "worker", w.ID, "err", err)
			return
		case time.Since(w.Slot.Heartbeat()) < stale:
			// Still beating: a large answer to a slow client. Keep waiting.
		default:
			// Hung: the slot stays busy, so no client is sent there (the
			// watchdog, when it is on, deals with hung workers). If it
			// was only slow, its pong still brings it back.
			s.Log.Warn("worker silent: left busy until it pongs", "worker", w.ID, "seq", seq, "last_beat", w.Slot.Heartbeat())
			s.Go(func() {
				if m, err := w.Await(0); err == nil {
					r.done(s, w, seq, m)
				}
			})
			return
		}
	}
}

// done handles the final pong m of a request.
func (r *referrer) done(s *server.Session, w *proc.Handle, seq uint32, m pingpong.Msg) {
	if m.Op != pingpong.PongDone {
		s.Log.Error("worker broke the protocol: killing it", "worker", w.ID, "seq", seq, "op", m.Op)
		w.Kill()
		return
	}
	if rec, ok := s.State.(*record); ok {
		ended(rec, m.Arg)
	}
	if m.Arg == pongServed {
		s.Server().Tr.Step(5, "session %d: worker#%d pong: its client was served; worker#%d is idle again", s.ID, w.ID, w.ID)
	} else {
		s.Server().Tr.Step(5, "session %d: worker#%d pong: no answer delivered (ticket expired or transfer failed); idle again", s.ID, w.ID)
	}
	// STEP v3.5: the worker's final pong came: back to the pool, idle again.
	s.Release(w)
}

// reclaim waits for the late "ready" pong of a worker that was too slow
// to take its ticket; its ticket was never given out, so it will expire,
// and the worker's final pong brings it back to the pool.
// DOC: v3-late-pong
func (r *referrer) reclaim(s *server.Session, w *proc.Handle, seq uint32) {
	if m, err := w.Await(0); err == nil && m.Op == pingpong.PongReady {
		r.awaitDone(s, w, seq)
	}
}

// gotoHost is the <host> of a GOTO line: the worker's published address,
// unless the worker listens on a wildcard (0.0.0.0 or ::), which nobody
// can dial. Then it is the dispatcher's own address on this session: the
// client has just reached it there, and the worker listens there too.
// DOC: v3-goto-host
func gotoHost(worker netip.Addr, sessionLocal net.Addr) netip.Addr {
	worker = worker.Unmap()
	if !worker.IsUnspecified() {
		return worker
	}
	if ta, ok := sessionLocal.(*net.TCPAddr); ok {
		if ap := ta.AddrPort(); ap.IsValid() {
			return ap.Addr().Unmap()
		}
	}
	return worker // not a TCP session: cannot happen
}
