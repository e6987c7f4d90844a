// slotcopy.go is the shared-memory primitive: a chunk copied into and
// out of a real System V slot. It needs no peer process: a copy costs
// the same in whichever process makes it.

package main

import (
	"osps/common/shm"
	"osps/common/wire"
)

// slotCopier holds a real System V segment of one slot (marked IPC_RMID
// at once by shm.Create) and a private buffer of the same size.
type slotCopier struct {
	seg  *shm.Segment
	data []byte
	priv []byte
}

func newSlotCopier() (*slotCopier, error) {
	seg, err := shm.Create(1, chunkSize)
	if err != nil {
		return nil, err
	}
	s := &slotCopier{seg: seg, data: seg.Slot(0).Data()[:chunkSize], priv: make([]byte, chunkSize)}
	wire.FillPattern(s.priv, 0)
	copy(s.data, s.priv) // touch every page once: no page fault is measured
	return s, nil
}

// copyIn copies a chunk from private memory into the slot n times (what
// a worker's answer costs when it is built elsewhere and then copied).
func (s *slotCopier) copyIn(n int) {
	for range n {
		copy(s.data, s.priv)
	}
}

// copyOut copies the slot's chunk into private memory n times.
func (s *slotCopier) copyOut(n int) {
	for range n {
		copy(s.priv, s.data)
	}
}

func (s *slotCopier) close() error { return s.seg.Detach() }
