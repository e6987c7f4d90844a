// shm.go creates, attaches and removes the System V shared memory segment,
// so that it can never leak (TLPI svshm/svshm_create.c).

package shm

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"golang.org/x/sys/unix"
)

// Offsets of the segment header.
const (
	hdrMagic    = 0
	hdrVersion  = 8
	hdrNSlots   = 16
	hdrDataSize = 24
	hdrStride   = 32
	HeaderSize  = 64
)

// version is the layout version written in the header.
const version = 1

// DefaultSlotSize is the default data area of a slot (--slot-size).
const DefaultSlotSize = 64 << 10

// MinSlotSize is the smallest data area a slot may have.
const MinSlotSize = 512

// maxSlotSize bounds a slot's data area so that sizes never overflow.
const maxSlotSize = 1 << 40

// Segment is one attached System V shared memory segment.
type Segment struct {
	id       int
	mem      []byte
	nslots   int
	dataSize int
	stride   int
}

// Size returns the bytes a segment of nslots slots of dataSize needs.
func Size(nslots, dataSize int) int {
	return HeaderSize + nslots*stride(dataSize)
}

func stride(dataSize int) int {
	s := SlotHeader + dataSize
	return (s + 63) &^ 63 // keep every slot 64-byte aligned
}

// Create makes a private segment (mode 0600) for nslots slots, attaches it
// and marks it IPC_RMID at once: from then on the kernel frees it when the
// last process detaches, whatever happens to the processes.
func Create(nslots, dataSize int) (*Segment, error) {
	if nslots < 1 {
		return nil, fmt.Errorf("create segment: need at least one slot, got %d", nslots)
	}
	if dataSize < MinSlotSize {
		return nil, fmt.Errorf("create segment: slot size %d below minimum %d", dataSize, MinSlotSize)
	}
	if dataSize > maxSlotSize || nslots > (math.MaxInt-HeaderSize)/stride(dataSize) {
		return nil, fmt.Errorf("create segment: %d slots of %d bytes do not fit in a segment", nslots, dataSize)
	}
	size := Size(nslots, dataSize)
	id, err := unix.SysvShmGet(unix.IPC_PRIVATE, size, unix.IPC_CREAT|unix.IPC_EXCL|0o600)
	if err != nil {
		return nil, fmt.Errorf("shmget %d bytes: %w", size, err)
	}
	mem, err := unix.SysvShmAttach(id, 0, 0)
	if err != nil {
		_, _ = unix.SysvShmCtl(id, unix.IPC_RMID, nil)
		return nil, fmt.Errorf("shmat %d: %w", id, err)
	}
	// DOC: shm-rmid-at-once
	if _, err := unix.SysvShmCtl(id, unix.IPC_RMID, nil); err != nil {
		_ = unix.SysvShmDetach(mem)
		return nil, fmt.Errorf("shmctl %d IPC_RMID: %w", id, err)
	}
	s := &Segment{id: id, mem: mem, nslots: nslots, dataSize: dataSize, stride: stride(dataSize)}
	ne := binary.NativeEndian
	ne.PutUint64(mem[hdrVersion:], version)
	ne.PutUint64(mem[hdrNSlots:], uint64(nslots))
	ne.PutUint64(mem[hdrDataSize:], uint64(dataSize))
	ne.PutUint64(mem[hdrStride:], uint64(s.stride))
	copy(mem[hdrMagic:], "OSPSSHM1")
	return s, nil
}

// Attach attaches an existing segment by id (a worker after exec) and
// checks its header.
func Attach(id int) (*Segment, error) {
	mem, err := unix.SysvShmAttach(id, 0, 0)
	if err != nil {
		return nil, fmt.Errorf("shmat %d: %w", id, err)
	}
	s, err := fromHeader(id, mem)
	if err != nil {
		_ = unix.SysvShmDetach(mem)
		return nil, fmt.Errorf("attach segment %d: %w", id, err)
	}
	return s, nil
}

// AttachReadOnly attaches an existing segment read-only (SHM_RDONLY), as
// an onlooker does (the top instrument): any process of the segment's
// owner may attach it, even after IPC_RMID, and read every slot. A
// write through it faults: only accessors that read may be used.
func AttachReadOnly(id int) (*Segment, error) {
	mem, err := unix.SysvShmAttach(id, 0, unix.SHM_RDONLY)
	if err != nil {
		return nil, fmt.Errorf("shmat %d read-only: %w", id, err)
	}
	s, err := fromHeader(id, mem)
	if err != nil {
		_ = unix.SysvShmDetach(mem)
		return nil, fmt.Errorf("attach segment %d: %w", id, err)
	}
	return s, nil
}

func fromHeader(id int, mem []byte) (*Segment, error) {
	if len(mem) < HeaderSize || string(mem[hdrMagic:hdrMagic+8]) != "OSPSSHM1" {
		return nil, errors.New("not an OSPS segment (bad magic)")
	}
	ne := binary.NativeEndian
	if v := ne.Uint64(mem[hdrVersion:]); v != version {
		return nil, fmt.Errorf("segment version %d, want %d", v, version)
	}
	n, ds, st := ne.Uint64(mem[hdrNSlots:]), ne.Uint64(mem[hdrDataSize:]), ne.Uint64(mem[hdrStride:])
	if n < 1 || ds < MinSlotSize || ds > maxSlotSize || st != uint64(stride(int(ds))) || n > uint64(len(mem)-HeaderSize)/st {
		return nil, fmt.Errorf("inconsistent header: nslots=%d datasize=%d stride=%d size=%d", n, ds, st, len(mem))
	}
	return &Segment{id: id, mem: mem, nslots: int(n), dataSize: int(ds), stride: int(st)}, nil
}

// ID is the segment's identifier, as ipcs -m shows it.
func (s *Segment) ID() int { return s.id }

// NSlots is the number of worker slots.
func (s *Segment) NSlots() int { return s.nslots }

// DataSize is the size of each slot's data area (tools that read a
// segment they did not create learn it here).
func (s *Segment) DataSize() int { return s.dataSize }

// Slot returns slot i (0 <= i < NSlots).
func (s *Segment) Slot(i int) *Slot {
	off := HeaderSize + i*s.stride
	return &Slot{b: s.mem[off : off+SlotHeader+s.dataSize : off+SlotHeader+s.dataSize]}
}

// Detach detaches the segment. Slots must not be used afterwards.
func (s *Segment) Detach() error {
	if s.mem == nil {
		return nil
	}
	err := unix.SysvShmDetach(s.mem)
	s.mem = nil
	if err != nil {
		return fmt.Errorf("shmdt %d: %w", s.id, err)
	}
	return nil
}
