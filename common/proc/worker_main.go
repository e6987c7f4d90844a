// The worker role's main loop, the same in every variant: attach, open
// the variant's PingServer, say ready, then serve pings until the
// dispatcher closes the ping pipe.

package proc

import (
	"errors"
	"fmt"
	"log/slog"
	"os"

	"github.com/spf13/pflag"

	"osps/common/cli"
	"osps/common/pingpong"
	"osps/common/trace"
)

// PingServer is the seam between common code and a variant's worker:
// the main loop hands it every ping request it reads (PingRequest, and
// nothing else: see the loop), and closes it at exit. A request's
// further pings (v1's PingNext and PingAbort) the PingServer reads
// itself, with Self.Next, while it serves the request. An error from
// ServePing ends the worker.
type PingServer interface {
	ServePing(m pingpong.Msg) error
	Close() error
}

// PingFunc is a PingServer made of one function, with nothing to close
// (as http.HandlerFunc is a handler made of one function).
type PingFunc func(m pingpong.Msg) error

// ServePing calls f(m).
func (f PingFunc) ServePing(m pingpong.Msg) error { return f(m) }

// Close does nothing.
func (PingFunc) Close() error { return nil }

// WorkerRole is a variant's worker: Open runs once after the segment is
// attached (v3 listens and publishes its address there) and returns what
// serves the pings.
type WorkerRole struct {
	Variant string
	// Flags adds the variant's own worker flags (may be nil).
	Flags func(fs *pflag.FlagSet)
	Open  func(self *Self, tr *trace.Tracer) (PingServer, error)
	// PollWait makes Next wait for pings in a raw ppoll(2) rather than
	// in the runtime's poller: fewer system calls per request, for a
	// worker whose one goroutine does all the work (v1's; see pollIn).
	PollWait bool
}

// RunWorker is the body of the internal `worker` role.
func RunWorker(args []string, role WorkerRole) int {
	var f WorkerFlags
	fs := pflag.NewFlagSet("worker", pflag.ContinueOnError)
	f.Register(fs)
	if role.Flags != nil {
		role.Flags(fs)
	}
	if st, done := cli.Parse(fs, args, role.Variant+" worker --shm-id ID --slot N  (internal: started by serve)"); done {
		return st
	}
	log := cli.NewLogger(false).With("role", "worker", "slot", f.Slot, "pid", os.Getpid())
	if err := runWorker(f, role, log); err != nil {
		log.Error("worker stops", "err", err)
		return 1
	}
	return 0
}

func runWorker(f WorkerFlags, role WorkerRole, log *slog.Logger) error {
	chaos, err := ParseChaos(f.Chaos)
	if err != nil {
		return err
	}
	self, err := Attach(f)
	if err != nil {
		return err
	}
	self.poll, self.Log = role.PollWait, log
	defer func() {
		if err := self.Close(); err != nil {
			log.Warn("at exit", "err", err)
		}
	}()
	tr := trace.New(f.Trace, role.Variant, fmt.Sprintf("worker#%d", self.ID))
	srv, err := role.Open(self, tr)
	if err != nil {
		return fmt.Errorf("worker %d: %w", self.ID, err)
	}
	defer func() {
		if err := srv.Close(); err != nil {
			log.Warn("at exit", "err", err)
		}
	}()
	if err := self.Ready(); err != nil {
		return err
	}
	for {
		m, err := self.Next()
		if errors.Is(err, pingpong.ErrPeerGone) {
			return nil // DOC: worker-ping-eof: the dispatcher is gone (or stops us): exit
		}
		if err != nil {
			return err
		}
		if m.Op != pingpong.PingRequest {
			// A PingNext or PingAbort here is late: the request it was
			// for is over (v1's dispatcher gave up on it, or abandoned it
			// after its pong had come). Every variant drops it unanswered.
			continue
		}
		if chaos.strike(self.ID, self.Slot.Restarts(), log) { // DOC: chaos-strike
			// A lie: a chunk longer than any slot, in place of the answer.
			if err := self.Pong(pingpong.Msg{Op: pingpong.PongChunk, Seq: m.Seq, Arg: uint64(len(self.Slot.Data())) + 1}); err != nil {
				return err
			}
			continue
		}
		if err := srv.ServePing(m); err != nil {
			if errors.Is(err, pingpong.ErrPeerGone) {
				return nil
			}
			return err
		}
	}
}
