// v1's worker: it reads the request from its slot, computes the answer,
// and hands it over one slot-sized chunk at a time, a pong per chunk
// (docs/v1-relay.md).

package main

import (
	"math"

	"osps/common/pingpong"
	"osps/common/proc"
	"osps/common/service"
	"osps/common/trace"
	"osps/common/wire"
)

func runWorker(args []string) int {
	// Its one goroutine waits for each ping in ppoll(2) (proc.WorkerRole.PollWait).
	return proc.RunWorker(args, proc.WorkerRole{Variant: "v1", Open: openWorker, PollWait: true})
}

func openWorker(c *proc.Self, tr *trace.Tracer) (proc.PingServer, error) {
	tr.Step(0, "attached segment %d, slot %d; waiting for pings", c.Seg.ID(), c.ID)
	return proc.PingFunc(func(m pingpong.Msg) error { return serveRequest(c, tr, m) }), nil
}

func serveRequest(c *proc.Self, tr *trace.Tracer, m pingpong.Msg) error {
	if m.Op != pingpong.PingRequest {
		return nil // a late ping of a request already over
	}
	// STEP v1.3: read the request from the slot and answer into it.
	line := c.Slot.Request()
	req, err := wire.ParseRequest(line, math.MaxInt64)
	if err != nil {
		c.Slot.SetReplyErr(err.Error())
		tr.Step(3, "refused %q: pong", wire.Printable(line, 60))
		return c.Pong(pingpong.Msg{Op: pingpong.PongChunk, Seq: m.Seq})
	}
	served := c.Slot.AddServed()
	src := service.PayloadFor(req, c.ID, c.Pid, served)
	c.Slot.SetReplyOK(src.Len())
	// LAB v1-chunks: begin
	data := c.Slot.Data()
	for {
		k := src.Fill(data)
		tr.Step(3, "pong, %d bytes in slot (%d left)", k, src.Left())
		if err := c.Pong(pingpong.Msg{Op: pingpong.PongChunk, Seq: m.Seq, Arg: uint64(k)}); err != nil {
			return err
		}
		if src.Left() == 0 {
			return nil
		}
		next, err := c.Next()
		if err != nil {
			return err
		}
		if next.Op != pingpong.PingNext || next.Seq != m.Seq {
			tr.Step(3, "request abandoned by the dispatcher")
			return c.Pong(pingpong.Msg{Op: pingpong.PongDone, Seq: m.Seq, Arg: 1})
		}
	}
	// LAB v1-chunks: end
}
