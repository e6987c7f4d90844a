// A v3 worker process and its ticket desk: it listens on the port the
// dispatcher opened for it (worker_listen.go) and publishes the address
// in its slot; a ping says which single-use ticket to expect next, and
// with which key to prove itself to the client who holds it; the worker
// pongs "ready", waits for that client or for the ticket to expire, and
// pongs "done". Who gets in is worker_door.go's; the answer,
// worker_answer.go's.

package main

import (
	"fmt"
	"log/slog"
	"math"
	"net"
	"sync"
	"time"

	"github.com/spf13/pflag"

	"osps/common/cli"
	"osps/common/pingpong"
	"osps/common/proc"
	"osps/common/service"
	"osps/common/trace"
	"osps/common/wire"
)

func runWorker(args []string) int {
	f := &workerFlags{}
	return proc.RunWorker(args, proc.WorkerRole{
		Variant: "v3",
		Flags:   f.register,
		Open: func(self *proc.Self, tr *trace.Tracer) (proc.PingServer, error) {
			return open(self, tr, *f)
		},
	})
}

// workerFlags are the worker role's own flags, set by the dispatcher
// (runServe's WorkerArgs), which decides their values.
type workerFlags struct {
	ttl       time.Duration
	ioTimeout time.Duration
	rate      service.Rate
}

func (f *workerFlags) register(fs *pflag.FlagSet) {
	f.ttl, f.ioTimeout = defaultTicketTTL, 10*time.Second
	fs.Var((*cli.PositiveDuration)(&f.ttl), "ticket-ttl", "how long a ticket waits for its client")
	fs.Var((*cli.PositiveDuration)(&f.ioTimeout), "io-timeout", "bound on reading a client's request line")
	f.rate.Register(fs)
}

// desk is the ticket desk of one v3 worker process: the port where its
// clients come, and the one ticket it expects now.
type desk struct {
	self     *proc.Self
	tr       *trace.Tracer
	log      *slog.Logger
	f        workerFlags
	ln       net.Listener
	visitors visitors      // the open connections to ln
	accepted chan struct{} // closed once the accept loop is over

	mu      sync.Mutex
	pending *pending // the ticket expected now, nil when none
}

// Arguments of the worker's final pong (PongDone), read by the
// dispatcher (dispatcher.go's done, dispatcher_hoard.go's ended).
const (
	pongServed    = 0 // its client got the whole answer
	pongFailed    = 1 // the client came, and the transfer failed
	pongUnclaimed = 2 // nobody asked for the answer: the ticket expired, or was cancelled
)

// pending is one request whose client has not come yet.
type pending struct {
	ticket  string
	key     string // the proof key: the worker proves itself with it (wire.Proof)
	req     wire.Request
	expires time.Time
	claimed chan struct{} // closed when the client presents the ticket
	done    chan uint64   // once claimed: how it ended (pongServed, pongFailed, pongUnclaimed)
}

func open(self *proc.Self, tr *trace.Tracer, f workerFlags) (proc.PingServer, error) {
	ln, err := inheritedListener(self)
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().(*net.TCPAddr).AddrPort()
	// STEP v3.0: publish the address of our listening socket (the dispatcher's, fd 5) in the slot.
	self.Slot.SetWorkerAddr(addr)
	tr.Step(0, "attached segment %d, slot %d; listening on %s (socket from the dispatcher, fd 5), published in slot %d", self.Seg.ID(), self.ID, addr, self.ID)
	d := &desk{
		self: self, tr: tr, log: self.Log, f: f, ln: ln, accepted: make(chan struct{}),
	}
	go func() {
		defer close(d.accepted)
		d.acceptLoop()
	}()
	return d, nil
}

// Close closes the listener and waits for the accept loop to end.
func (d *desk) Close() error {
	err := d.ln.Close()
	<-d.accepted
	return err
}

// ServePing handles one ping: the main loop's part of a request. It returns
// once the client was served or the ticket expired, after the pong.
func (d *desk) ServePing(m pingpong.Msg) error {
	// STEP v3.2: the ping: a ticket, a proof key and a request wait in our slot.
	p, err := d.expect()
	if err != nil {
		d.log.Error("slot holds no valid request", "err", err)
		return d.self.Pong(pingpong.Msg{Op: pingpong.PongDone, Seq: m.Seq, Arg: 1})
	}
	d.tr.Step(2, "ping: expect ticket %s for %q within %v (proof key %s); pong ready", p.ticket, p.req.String(), d.f.ttl, p.key)
	// The dispatcher sends GOTO only after this pong (DOC: v3-ready-before-goto).
	if err := d.self.Pong(pingpong.Msg{Op: pingpong.PongReady, Seq: m.Seq}); err != nil {
		return err
	}
	arg := d.wait(p)
	if arg == pongServed {
		d.tr.Step(5, "connection closed, pong done: idle again")
	}
	// STEP v3.5: the request is over (served, failed or expired): pong done, idle again.
	return d.self.Pong(pingpong.Msg{Op: pingpong.PongDone, Seq: m.Seq, Arg: arg})
}

// expect reads the request of the ping from the slot and makes it the
// pending one.
func (d *desk) expect() (*pending, error) {
	line := d.self.Slot.Request()
	req, err := wire.ParseRequest(line, math.MaxInt64)
	if err != nil {
		return nil, fmt.Errorf("request %q: %w", wire.Printable(line, 60), err)
	}
	p := &pending{
		ticket: d.self.Slot.Ticket(), key: d.self.Slot.Proof(), req: req,
		expires: time.Now().Add(d.f.ttl), claimed: make(chan struct{}), done: make(chan uint64, 1),
	}
	if !wire.ValidTicket(p.ticket) || !wire.ValidTicket(p.key) {
		return nil, fmt.Errorf("no valid ticket and proof key")
	}
	d.mu.Lock()
	d.pending = p
	d.mu.Unlock()
	return p, nil
}

// wait waits until p's client was served or failed, or until p expires
// unclaimed, and returns the final pong's argument. It beats the
// heartbeat every proc.BeatEvery until p is claimed (Self.BeatWhile);
// from then on the transfer beats it as it makes progress.
func (d *desk) wait(p *pending) uint64 {
	expire := time.NewTimer(d.f.ttl)
	defer expire.Stop()
	stopBeats := d.self.BeatWhile()
	defer stopBeats()
	claimed := p.claimed
	for {
		select {
		case arg := <-p.done:
			if arg != pongServed {
				d.tr.Step(5, "request failed or cancelled, pong done: idle again")
			}
			return arg
		case <-claimed:
			stopBeats()
			claimed = nil
		case <-expire.C:
			if d.unclaim(p) {
				// Nobody came: the ticket expires, unclaimed.
				d.tr.Step(5, "ticket %s expired, no client within %v: pong, idle again", p.ticket, d.f.ttl)
				return pongUnclaimed
			}
			// Claimed just in time: its transfer is bounded by the min-rate rule.
		}
	}
}

// unclaim drops p if it is still pending, and reports whether it was.
func (d *desk) unclaim(p *pending) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.pending != p {
		return false
	}
	d.pending = nil
	return true
}
