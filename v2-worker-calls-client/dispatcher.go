// v2's dispatcher: it answers WAIT <ticket> <proof>, writes into the
// worker's slot both secrets and where to call the client back (the peer
// address of the session as its own socket sees it, never an address the
// client wrote), pings, waits for the pong, and closes the request on the
// session with DONE <ticket> or ERR (docs/v2-worker-calls-client.md).

package main

import (
	"errors"
	"net"
	"net/netip"
	"time"

	"github.com/spf13/pflag"

	"osps/common/cli"
	"osps/common/pingpong"
	"osps/common/proc"
	"osps/common/server"
	"osps/common/wire"
)

// defaultCallbackTimeout is the default of --callback-timeout.
const defaultCallbackTimeout = 5 * time.Second

func runServe(args []string) int {
	var cfg server.Config
	callbackTimeout := defaultCallbackTimeout
	fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	cfg.Register(fs)
	fs.Var((*cli.PositiveDuration)(&callbackTimeout), "callback-timeout",
		"how long a worker may take to reach the client and get its request line")
	return server.Main(fs, args, "v2-worker-calls-client serve [flags]", &cfg, server.Variant{
		Name: "v2", RequestStep: 1, Handler: &introducer{timeout: &callbackTimeout},
		// STEP v2.0: the workers start as in v1, with the bounds of a
		// call-back on their command line (read once the flags are
		// parsed): reaching the client, and the min-rate rule.
		WorkerArgs: func(*net.TCPAddr) []string {
			return append([]string{"--callback-timeout", callbackTimeout.String()}, cfg.Rate.Args()...)
		},
	})
}

// introducer is v2's Handler: the dispatcher introduces the worker to the
// client (WAIT <ticket> <proof> to one, the client's address and both
// secrets to the other) and stays out of the answer.
type introducer struct {
	timeout *time.Duration // --callback-timeout
}

func (h *introducer) Serve(s *server.Session, w *proc.Handle, req wire.Request) error {
	srv := s.Server()
	// DOC: v2-peer-address: where to call back is the peer of this very
	// socket (IP and port P, the client's port thanks to the same-port
	// trick). Nothing the client writes on the wire is an address.
	peer, err := peerAddr(s.Conn())
	if err != nil {
		s.Release(w)
		return s.Error(err)
	}

	// STEP v2.2: WAIT <ticket> <proof>; the client's address, both
	// secrets and the request go into the worker's slot; a ping says so.
	// DOC: v2-two-secrets: the ticket proves the worker to the client,
	// the proof proves the client to the worker; only this session and
	// the worker's slot ever hold them.
	ticket, proof := wire.NewTicket(), wire.NewTicket()
	if err := s.Reply(wire.WAIT + " " + ticket + " " + proof); err != nil {
		s.Release(w)
		return err
	}
	w.Begin()
	w.Slot.SetClientAddr(peer)
	w.Slot.SetTicket(ticket)
	w.Slot.SetProof(proof)
	w.Slot.SetRequest([]byte(req.String()))
	srv.Tr.Step(2, "session %d: WAIT %s <proof>; slot %d gets the call-back address %s (the session's peer), both secrets and %q; ping worker#%d",
		s.ID, ticket, w.ID, peer, req.String(), w.ID)
	if err := w.Ping(pingpong.PingRequest, 0); err != nil {
		s.Log.Warn("ping failed", "worker", w.ID, "err", err)
		return s.Error(wire.Errorf(wire.CodeWorkerFailed, "worker %d is gone", w.ID))
	}

	// STEP v2.6: the worker's pong ends the request: DONE <ticket>, or
	// ERR if the call-back could not be made or broke. The worker's own
	// bounds limit the call-back (--callback-timeout, then the min-rate
	// rule for n bytes), so the pong comes even if nobody reads this
	// session any more; --request-timeout is the worker's slack beyond
	// them. The worker is given back after the last line is written (a
	// drain waits for it).
	return h.finish(s, w, ticket, *h.timeout+srv.Cfg.AnswerTime(req.N)+srv.Cfg.RequestTimeout)
}

// finish waits up to wait for the worker's final pong and writes the
// request's last line on the session: DONE <ticket>, or ERR.
func (h *introducer) finish(s *server.Session, w *proc.Handle, ticket string, wait time.Duration) error {
	srv := s.Server()
	m, err := w.Await(wait)
	switch {
	case err == nil && m.Op == pingpong.PongDone && m.Arg == 0:
		srv.Tr.Step(6, "session %d: worker#%d ponged: its client was served; answer DONE %s; worker#%d is idle again", s.ID, w.ID, ticket, w.ID)
		err := s.Reply(wire.DONE + " " + ticket)
		s.Release(w)
		// STEP v2.7: the session loop reads the client's next line.
		return err
	case err == nil && m.Op == pingpong.PongDone:
		e := slotError(w)
		srv.Tr.Step(6, "session %d: worker#%d ponged: the call-back failed; answer %s; worker#%d is idle again", s.ID, w.ID, e.Error(), w.ID)
		err := s.Error(e)
		s.Release(w)
		return err
	case err == nil:
		s.Log.Error("worker broke the protocol: killing it", "worker", w.ID, "op", m.Op)
		w.Kill() // not trusted again
		return s.Error(wire.Errorf(wire.CodeWorkerFailed, "worker %d broke the protocol", w.ID))
	case errors.Is(err, proc.ErrWorkerDied):
		s.Log.Warn("worker died during a call-back", "worker", w.ID, "err", err)
		srv.Tr.Step(6, "session %d: worker#%d died: answer ERR %s", s.ID, w.ID, wire.CodeWorkerFailed)
		return s.Error(wire.Errorf(wire.CodeWorkerFailed, "worker %d died", w.ID))
	default:
		// Its deadlines passed and still no pong: late, or hung. The slot
		// stays busy; a late pong gives the worker back (the watchdog, if
		// on, deals with a hung one).
		s.Log.Warn("no pong in time", "worker", w.ID, "waited", wait)
		srv.Tr.Step(6, "session %d: no pong from worker#%d in time: answer ERR %s", s.ID, w.ID, wire.CodeTimeout)
		s.Go(func() { reclaim(s, w) })
		return s.Error(wire.Errorf(wire.CodeTimeout, "worker %d did not finish the call-back within %v", w.ID, wait))
	}
}

// peerAddr is the client's address as the dispatcher's socket sees it.
// A privileged port (below 1024) is refused, as RFC 2577 advises FTP
// servers: a worker never calls a system service, even the client's own.
func peerAddr(c net.Conn) (netip.AddrPort, error) {
	ta, ok := c.RemoteAddr().(*net.TCPAddr)
	if !ok {
		return netip.AddrPort{}, wire.Errorf(wire.CodeWorkerFailed, "session peer %v is not a TCP address", c.RemoteAddr())
	}
	ap := ta.AddrPort()
	if !ap.IsValid() || ap.Port() < 1024 {
		return netip.AddrPort{}, wire.Errorf(wire.CodeBadRequest, "no call-back to %v: the session must come from a port >= 1024 where the client listens", c.RemoteAddr())
	}
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), nil
}

// slotError is the error line a worker left in its slot with a failed
// pong, checked: a line that is not a well-formed ERR becomes worker-failed.
func slotError(w *proc.Handle) *wire.Error {
	_, line := w.Slot.Reply()
	r, err := wire.ParseReply([]byte(line))
	if err != nil || r.Word != wire.ERR {
		return wire.Errorf(wire.CodeWorkerFailed, "worker %d: the call-back failed", w.ID)
	}
	return r.Err
}

// reclaim waits, in the background, for the pong of a worker that the
// session stopped waiting for, and gives the worker back then. It ends
// when the worker dies (a hung one is stopped at shutdown, or by the
// watchdog).
// DOC: v2-late-pong
func reclaim(s *server.Session, w *proc.Handle) {
	for {
		m, err := w.Await(0)
		if err != nil {
			return
		}
		if m.Op == pingpong.PongDone {
			s.Log.Info("late pong: worker idle again", "worker", w.ID)
			s.Release(w)
			return
		}
	}
}
