// v2's worker: on a ping it calls the client back at the address the
// dispatcher left in its slot, proves who it is with HELLO <ticket>,
// checks that the client proves who it is with HELLO <mac>, reads the
// client's request line, answers OK <n> and the payload (or ERR) on that
// connection, closes it, and pongs (docs/v2-worker-calls-client.md).

package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
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
	callbackTimeout := defaultCallbackTimeout
	var rate service.Rate
	return proc.RunWorker(args, proc.WorkerRole{
		Variant: "v2",
		Flags: func(fs *pflag.FlagSet) {
			fs.Var((*cli.PositiveDuration)(&callbackTimeout), "callback-timeout", "bound on dialing the client and reading its request line")
			rate.Register(fs)
		},
		Open: func(self *proc.Self, tr *trace.Tracer) (proc.PingServer, error) {
			if err := rate.Check(); err != nil {
				return nil, err
			}
			tr.Step(0, "attached segment %d, slot %d; waiting for pings", self.Seg.ID(), self.ID)
			c := &caller{self: self, tr: tr, timeout: callbackTimeout, rate: rate}
			return proc.PingFunc(c.serve), nil
		},
	})
}

// caller is one v2 worker: it calls its clients back.
type caller struct {
	self    *proc.Self
	tr      *trace.Tracer
	timeout time.Duration // --callback-timeout: dial the client, HELLO, read its request line
	rate    service.Rate  // the answer's min-rate rule (docs/protocol.md, "Slow readers")
}

func (c *caller) serve(m pingpong.Msg) error {
	err := c.call()
	// STEP v2.6: pong the dispatcher: done (Arg 0), or failed (Arg 1)
	// with the error line in the slot.
	if err != nil {
		e := wire.AsError(err)
		if e == nil {
			e = wire.Errorf(wire.CodeWorkerFailed, "%v", err)
		}
		c.self.Slot.SetReplyErr(e.Error())
		c.tr.Step(6, "pong: the call-back failed: %s", e.Error())
		return c.self.Pong(pingpong.Msg{Op: pingpong.PongDone, Seq: m.Seq, Arg: 1})
	}
	c.tr.Step(6, "pong: the call-back is over")
	return c.self.Pong(pingpong.Msg{Op: pingpong.PongDone, Seq: m.Seq})
}

// call makes the call-back, steps 3 to 5. Its error is an *wire.Error:
// the line the dispatcher passes on to the client's session.
func (c *caller) call() error {
	slot := c.self.Slot
	to, ticket, proof := slot.ClientAddr(), slot.Ticket(), slot.Proof()
	want, err := wire.ParseRequest(slot.Request(), math.MaxInt64) // checked by the dispatcher already
	if err != nil || !to.IsValid() || to.Port() == 0 || !wire.ValidTicket(ticket) || !wire.ValidTicket(proof) {
		return wire.Errorf(wire.CodeWorkerFailed, "worker %d: no valid call-back in the slot", c.self.ID)
	}
	// A worker waiting on its client is alive, not hung, and every wait
	// of a call-back has a deadline: it beats its heartbeat meanwhile.
	// DOC: v2-beat-while-waiting
	defer c.self.BeatWhile()()
	deadline := time.Now().Add(c.timeout)

	// STEP v2.3: dial the client at the address from the slot, say HELLO <ticket>.
	c.tr.Step(3, "dial the client at %s, send HELLO %s", to, ticket)
	d := net.Dialer{Deadline: deadline}
	conn, err := d.Dial("tcp", to.String())
	if err != nil {
		return netError(err, "cannot call back %s", to)
	}
	defer conn.Close()
	_ = conn.SetDeadline(deadline)
	if _, err := io.WriteString(conn, wire.Hello+" "+ticket+"\n"); err != nil {
		return netError(err, "HELLO to %s", to)
	}

	// STEP v2.4: the client checked the ticket; it proves itself with
	// HELLO <mac> (wire.CallbackProof), then its request line comes.
	r := wire.NewReader(conn)
	if err := checkProof(r, conn, proof, ticket); err != nil {
		return netError(err, "the call-back at %s did not prove it is the client", to)
	}
	got, err := service.ReadRequest(r, want)
	switch {
	case wire.AsError(err) != nil:
		return answerErr(conn, err)
	case errors.Is(err, io.EOF):
		return wire.Errorf(wire.CodeWorkerFailed, "the client at %s closed the call-back without a request", to)
	case err != nil:
		return netError(err, "read the request line from %s", to)
	}
	c.tr.Step(4, "the client proved itself (HELLO <mac>) and sent %q", got.String())

	// STEP v2.5: answer OK <n> and the payload, then close.
	src := service.PayloadFor(want, c.self.ID, c.self.Pid, slot.AddServed())
	c.tr.Step(5, "answer OK %d and the payload to %s, then close", src.Len(), to)
	// The min-rate rule, as in every variant: the answer goes on while
	// the client reads at least --min-rate bytes per second over each
	// --rate-window. The dispatcher waits for the pong as long as the
	// rule lets an answer of this size take (server.Config.AnswerTime).
	rw := c.rate.Writer(conn, nil)
	if err := service.Answer(rw, src, nil); err != nil {
		return netError(err, "answer to %s", to)
	}
	return nil
}

// checkProof reads the first line the client sends, which must be HELLO
// <mac>: the MAC, under the slot's proof, of the ticket and of this
// connection's two ends as this worker sees them (wire.CallbackProof),
// compared in constant time. The client computes it with the ends as
// it sees them: on a direct connection they agree. A process that took
// the call-back and relayed it to the client holds two connections, and
// the client's MAC is bound to the relay's, so it fails here: the worker
// closes the connection without a word, and the request ends ERR on
// the session. Whoever took the call-back learns the ticket, never the
// proof (it does not travel).
// DOC: v2-proof-check
func checkProof(r *bufio.Reader, conn net.Conn, proof, ticket string) error {
	l, err := wire.ReadLine(r)
	if err != nil {
		return err
	}
	mac, ok := wire.ParseHelloProof(l)
	local, lok := conn.LocalAddr().(*net.TCPAddr)
	remote, rok := conn.RemoteAddr().(*net.TCPAddr)
	if !ok || !lok || !rok || !wire.CheckCallbackProof(proof, ticket, local.AddrPort(), remote.AddrPort(), mac) {
		return errors.New("wrong or missing HELLO <mac>: not the client, or a relayed call-back")
	}
	return nil
}

// answerErr sends e to the client on the call-back connection and returns
// it (the dispatcher passes it on to the session too).
func answerErr(conn net.Conn, e error) error {
	_ = wire.WriteErr(conn, e)
	return e
}

// netError turns a network error into the protocol error to report:
// timeout when a deadline passed, worker-failed otherwise.
func netError(err error, format string, a ...any) error {
	what := fmt.Sprintf(format, a...)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return wire.Errorf(wire.CodeTimeout, "%s: no progress in time", what)
	}
	return wire.Errorf(wire.CodeWorkerFailed, "%s: %v", what, err)
}
