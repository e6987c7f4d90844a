// v1's dispatcher: it writes the request into the worker's slot, pings,
// and relays each chunk the worker pongs back, so the answer crosses
// shared memory on its way to the client (docs/v1-relay.md).

package main

import (
	"errors"
	"fmt"

	"github.com/spf13/pflag"

	"osps/common/pingpong"
	"osps/common/proc"
	"osps/common/server"
	"osps/common/wire"
)

func runServe(args []string) int {
	var cfg server.Config
	fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	cfg.Register(fs)
	return server.Main(fs, args, "v1-relay serve [flags]", &cfg, server.Variant{
		Name: "v1", RequestStep: 1, Handler: relay{},
	})
}

// relay is v1's Handler.
type relay struct{}

func (relay) Serve(s *server.Session, w *proc.Handle, req wire.Request) error {
	srv := s.Server()
	// STEP v1.2: the request goes into the worker's slot; a ping says so.
	w.Begin()
	w.Slot.SetRequest([]byte(req.String()))
	srv.Tr.Step(2, "session %d: request written into slot %d, ping worker#%d", s.ID, w.ID, w.ID)
	if err := w.Ping(pingpong.PingRequest, 0); err != nil {
		return s.Error(wire.Errorf(wire.CodeWorkerFailed, "worker %d is gone", w.ID))
	}

	var n, sent int64
	for first := true; ; first = false {
		m, err := w.Await(srv.Cfg.RequestTimeout)
		if err != nil {
			if errors.Is(err, proc.ErrNoPong) {
				s.Go(func() { reclaim(s, w, first, n, sent) })
			}
			return failed(s, w, first, err)
		}
		// The first pong: the answer's length is in the slot, or the
		// worker's ERR line, relayed as it is.
		if first {
			var errLine string
			n, errLine = w.Slot.Reply()
			if n < 0 {
				s.Release(w)
				srv.Tr.Step(4, "session %d: relay %s", s.ID, errLine)
				return s.Reply(wire.Printable([]byte(errLine), 256))
			}
		}
		// DOC: v1-check-pong: the pong is checked before anything of it
		// reaches the client, the first one included: a worker that
		// breaks the protocol before OK costs the client an ERR line,
		// never an OK that a close must then take back.
		k := int64(m.Arg)
		if m.Op != pingpong.PongChunk || k > int64(len(w.Slot.Data())) || sent+k > n {
			w.Kill() // a worker that breaks the protocol is not trusted again
			return failed(s, w, first, fmt.Errorf("worker %d sent %v with %d bytes", w.ID, m.Op, k))
		}
		// STEP v1.4: relay the chunk the worker left in the slot.
		if err := relayChunk(s, w, first, n, sent, k); err != nil {
			return err
		}
		sent += k
		if sent == n {
			// STEP v1.5: the worker is idle again; the session reads its next line.
			srv.Tr.Step(5, "session %d: worker#%d is idle again; waiting for the next line", s.ID, w.ID)
			s.Release(w)
			return nil
		}
		if err := w.Ping(pingpong.PingNext, 0); err != nil {
			return failed(s, w, false, err)
		}
	}
}

// relayChunk sends the client the k bytes the worker left in its slot,
// after "OK <n>" if they are the answer's first. When the client cannot
// take them, the worker goes back to the pool if it can (that was its
// last chunk, or it took the abort).
func relayChunk(s *server.Session, w *proc.Handle, first bool, n, sent, k int64) error {
	s.Server().Tr.Step(4, "session %d: relay %d bytes from slot %d (%d of %d)", s.ID, k, w.ID, sent+k, n)
	var err error
	if first {
		s.StartAnswer() // the answer's min-rate windows begin (docs/protocol.md, "Slow readers")
		err = wire.WriteOK(s.Writer(), n)
	}
	if err == nil {
		_, err = s.Writer().Write(w.Slot.Data()[:k])
	}
	if err == nil {
		err = s.Flush()
	}
	if err != nil {
		if sent+k == n || abort(w, s.Server().Cfg) {
			s.Release(w)
		}
		return fmt.Errorf("relay to the client: %w", err)
	}
	return nil
}

// reclaim waits, in the background, for the late pong of a worker whose
// request timed out. A slow worker is not a dead one: when it wakes up,
// it is told to drop the rest of the payload and goes back to the pool.
// A worker that never wakes up stays busy (the watchdog's business).
//
// DOC: v1-late-pong
func reclaim(s *server.Session, w *proc.Handle, first bool, n, sent int64) {
	for {
		m, err := w.Await(0)
		if err != nil {
			return // died, or the server stopped it
		}
		if m.Op == pingpong.PongDone {
			break
		}
		if first {
			if n, _ = w.Slot.Reply(); n < 0 {
				break // an error reply: the worker is done with it
			}
			first = false
		}
		if sent += int64(m.Arg); sent >= n {
			break // that was the last chunk
		}
		if w.Ping(pingpong.PingAbort, 0) != nil {
			return
		}
	}
	s.Log.Info("late pong: worker idle again", "worker", w.ID)
	s.Release(w)
}

// failed ends a request whose worker died or timed out. Before "OK <n>"
// the client gets an ERR line; after it, only an early close can tell.
// The worker is not given back: dead, or hung and still busy.
func failed(s *server.Session, w *proc.Handle, first bool, err error) error {
	code := wire.CodeWorkerFailed
	if errors.Is(err, proc.ErrNoPong) {
		code = wire.CodeTimeout
	}
	s.Log.Warn("request failed", "worker", w.ID, "err", err)
	if !first {
		return fmt.Errorf("payload cut: %w", err)
	}
	return s.Error(wire.Errorf(code, "worker %d: %v", w.ID, err))
}

// abort tells a worker in the middle of a payload that the client is
// gone, and waits for its acknowledgement. It reports whether the worker
// is idle again.
func abort(w *proc.Handle, cfg server.Config) bool {
	if w.Ping(pingpong.PingAbort, 0) != nil {
		return false
	}
	m, err := w.Await(cfg.RequestTimeout)
	return err == nil && m.Op == pingpong.PongDone
}
