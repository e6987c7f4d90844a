// Package service is the work itself, the same in every variant (as
// Stevens' server designs share one service): what a worker answers to
// requetetype1 and requetetype2. A reply is a Source that produces its
// payload piece by piece, so no one ever holds a whole large payload.
package service

import (
	"fmt"

	"osps/common/wire"
)

// Source produces a reply payload of Len bytes, chunk by chunk.
type Source struct {
	n    int64
	off  int64
	text []byte // requetetype1; nil for the requetetype2 pattern
}

// Reply returns the payload source for req, served by worker id (pid)
// as its served-th request.
func Reply(req wire.Request, id, pid int, served uint64) *Source {
	if req.Type == wire.Type1 {
		t := fmt.Appendf(nil, "worker=%d pid=%d served=%d\n", id, pid, served)
		return &Source{n: int64(len(t)), text: t}
	}
	return &Source{n: req.N}
}

// Len is the payload's total length.
func (s *Source) Len() int64 { return s.n }

// Left is how many bytes are still to come.
func (s *Source) Left() int64 { return s.n - s.off }

// Fill writes the next bytes of the payload into buf and returns how many
// (0 once the payload is over).
func (s *Source) Fill(buf []byte) int {
	k := int(min(int64(len(buf)), s.Left()))
	if s.text != nil {
		copy(buf[:k], s.text[s.off:])
	} else {
		wire.FillPattern(buf[:k], s.off)
	}
	s.off += int64(k)
	return k
}
