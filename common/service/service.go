// Package service holds the work itself, the same in every variant (as
// Stevens' server designs share one service): the payload a worker
// answers to requetetype1 and requetetype2, produced piece by piece so
// that no one ever holds a whole large payload (Payload); how it is
// streamed onto a connection (Answer); the min-rate rule every answer is
// written under (Rate); and the worker's side of a direct conversation
// with a client (ReadRequest).
//
// "Reply" is the wire's word (wire.Reply, the line that starts an
// answer); what follows "OK <n>" is the payload.
package service

import (
	"fmt"

	"osps/common/wire"
)

// Payload produces the n bytes that follow "OK <n>", chunk by chunk.
type Payload struct {
	n    int64
	off  int64
	text []byte // requetetype1; nil for the requetetype2 pattern
}

// PayloadFor returns the payload of req, served by worker id (pid) as
// its served-th request.
func PayloadFor(req wire.Request, id, pid int, served uint64) *Payload {
	if req.Type == wire.Type1 {
		t := fmt.Appendf(nil, "worker=%d pid=%d served=%d\n", id, pid, served)
		return &Payload{n: int64(len(t)), text: t}
	}
	return &Payload{n: req.N}
}

// Len is the payload's total length.
func (p *Payload) Len() int64 { return p.n }

// Left is how many bytes are still to come.
func (p *Payload) Left() int64 { return p.n - p.off }

// Fill writes the next bytes of the payload into buf and returns how many
// (0 once the payload is over).
func (p *Payload) Fill(buf []byte) int {
	k := int(min(int64(len(buf)), p.Left()))
	if p.text != nil {
		copy(buf[:k], p.text[p.off:])
	} else {
		wire.FillPattern(buf[:k], p.off)
	}
	p.off += int64(k)
	return k
}
