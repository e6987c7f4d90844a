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

func openWorker(self *proc.Self, tr *trace.Tracer) (proc.PingServer, error) {
	tr.Step(0, "attached segment %d, slot %d; waiting for pings", self.Seg.ID(), self.ID)
	return proc.PingFunc(func(m pingpong.Msg) error { return serveRequest(self, tr, m) }), nil
}

func serveRequest(self *proc.Self, tr *trace.Tracer, m pingpong.Msg) error {
	// STEP v1.3: read the request from the slot and answer into it.
	line := self.Slot.Request()
	req, err := wire.ParseRequest(line, math.MaxInt64)
	if err != nil {
		self.Slot.SetReplyErr(err.Error())
		tr.Step(3, "refused %q: pong", wire.Printable(line, 60))
		return self.Pong(pingpong.Msg{Op: pingpong.PongChunk, Seq: m.Seq})
	}
	served := self.Slot.AddServed()
	src := service.PayloadFor(req, self.ID, self.Pid, served)
	self.Slot.SetReplyOK(src.Len())
	// LAB v1-chunks: begin
	data := self.Slot.Data()
	for {
		k := src.Fill(data)
		tr.Step(3, "pong, %d bytes in slot (%d left)", k, src.Left())
		if err := self.Pong(pingpong.Msg{Op: pingpong.PongChunk, Seq: m.Seq, Arg: uint64(k)}); err != nil {
			return err
		}
		if src.Left() == 0 {
			return nil
		}
		next, err := self.Next()
		if err != nil {
			return err
		}
		if next.Op != pingpong.PingNext || next.Seq != m.Seq {
			tr.Step(3, "request abandoned by the dispatcher")
			return self.Pong(pingpong.Msg{Op: pingpong.PongDone, Seq: m.Seq, Arg: 1})
		}
	}
	// LAB v1-chunks: end
}
