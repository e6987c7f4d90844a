// childmain.go demonstrates the worker role's main loop, the same in
// every variant: attach, say ready, then wait for pings until the
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

// ChildRole is a variant's worker: Open runs once after the segment is
// attached (v3 listens and publishes its address there) and returns the
// function that serves one ping, and what to close at exit.
type ChildRole struct {
	Variant string
	// Flags adds the variant's own worker flags (may be nil).
	Flags func(fs *pflag.FlagSet)
	Open  func(c *Self, tr *trace.Tracer) (serve func(pingpong.Msg) error, closer func(), err error)
	// PollWait makes Next wait for pings in a raw ppoll(2) rather than
	// in the runtime's poller: fewer system calls per request, for a
	// worker whose one goroutine does all the work (v1's; see pollIn).
	PollWait bool
}

// RunChild is the body of the internal `worker` role.
func RunChild(args []string, role ChildRole) int {
	var f ChildFlags
	fs := pflag.NewFlagSet("worker", pflag.ContinueOnError)
	f.Register(fs)
	if role.Flags != nil {
		role.Flags(fs)
	}
	if st, done := cli.Parse(fs, args, role.Variant+" worker --shm-id ID --slot N  (internal: started by serve)"); done {
		return st
	}
	log := cli.NewLogger(false).With("role", "worker", "slot", f.Slot, "pid", os.Getpid())
	if err := runChild(f, role, log); err != nil {
		log.Error("worker stops", "err", err)
		return 1
	}
	return 0
}

func runChild(f ChildFlags, role ChildRole, log *slog.Logger) error {
	chaos, err := ParseChaos(f.Chaos)
	if err != nil {
		return err
	}
	c, err := Attach(f)
	if err != nil {
		return err
	}
	c.poll = role.PollWait
	defer func() {
		if err := c.Close(); err != nil {
			log.Warn("at exit", "err", err)
		}
	}()
	tr := trace.New(f.Trace, role.Variant, fmt.Sprintf("worker#%d", c.ID))
	serve, closer, err := role.Open(c, tr)
	if err != nil {
		return fmt.Errorf("worker %d: %w", c.ID, err)
	}
	if closer != nil {
		defer closer()
	}
	if err := c.Ready(); err != nil {
		return err
	}
	for {
		m, err := c.Next()
		if errors.Is(err, pingpong.ErrPeerGone) {
			return nil // DOC: worker-ping-eof: the dispatcher is gone (or stops us): exit
		}
		if err != nil {
			return err
		}
		if m.Op == pingpong.PingRequest && chaos.strike(c.ID, c.Slot.Restarts(), log) { // DOC: chaos-strike
			// A lie: a chunk longer than any slot, in place of the answer.
			if err := c.Pong(pingpong.Msg{Op: pingpong.PongChunk, Seq: m.Seq, Arg: uint64(len(c.Slot.Data())) + 1}); err != nil {
				return err
			}
			continue
		}
		if err := serve(m); err != nil {
			if errors.Is(err, pingpong.ErrPeerGone) {
				return nil
			}
			return err
		}
	}
}
