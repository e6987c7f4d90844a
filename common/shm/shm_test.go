// shm_test.go checks the life of a segment in one process: create,
// attach the same id again, detach; the segment is marked for removal at
// once and is gone after the last detach; bad sizes and segments that are
// not ours are refused.

package shm

import (
	"encoding/binary"
	"errors"
	"math"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// create makes a segment and detaches it at the end of the test.
func create(t *testing.T, nslots, dataSize int) *Segment {
	t.Helper()
	s, err := Create(nslots, dataSize)
	if err != nil {
		t.Fatalf("Create(%d, %d): %v", nslots, dataSize, err)
	}
	t.Cleanup(func() { _ = s.Detach() })
	return s
}

func stat(id int) (unix.SysvShmDesc, error) {
	var d unix.SysvShmDesc
	_, err := unix.SysvShmCtl(id, unix.IPC_STAT, &d)
	return d, err
}

func TestCreateAttachDetach(t *testing.T) {
	s := create(t, 3, MinSlotSize)
	if s.NSlots() != 3 || s.DataSize() != MinSlotSize {
		t.Fatalf("NSlots, DataSize = %d, %d; want 3, %d", s.NSlots(), s.DataSize(), MinSlotSize)
	}
	d, err := stat(s.ID())
	if err != nil {
		t.Fatalf("IPC_STAT %d: %v", s.ID(), err)
	}
	if d.Perm.Mode&shmDest == 0 {
		t.Errorf("mode %#o: the segment is not marked for removal (SHM_DEST) right after Create", d.Perm.Mode)
	}
	if d.Perm.Mode&0o777 != 0o600 {
		t.Errorf("mode %#o, want permissions 0600", d.Perm.Mode&0o777)
	}
	if want := uint64(Size(3, MinSlotSize)); d.Segsz != want {
		t.Errorf("segment size %d, want %d", d.Segsz, want)
	}

	// A marked segment can still be attached by id (Linux), twice here
	// in one process: two mappings of the same memory.
	a, err := Attach(s.ID())
	if err != nil {
		t.Fatalf("Attach(%d): %v", s.ID(), err)
	}
	defer a.Detach()
	b, err := Attach(s.ID())
	if err != nil {
		t.Fatalf("second Attach(%d): %v", s.ID(), err)
	}
	defer b.Detach()
	if &a.mem[0] == &b.mem[0] || &a.mem[0] == &s.mem[0] {
		t.Fatal("two attachments share one address: not separate mappings")
	}
	if a.NSlots() != 3 || a.DataSize() != MinSlotSize || a.ID() != s.ID() {
		t.Errorf("attached: nslots %d datasize %d id %d; want 3 %d %d", a.NSlots(), a.DataSize(), a.ID(), MinSlotSize, s.ID())
	}
	if d, _ := stat(s.ID()); d.Nattch != 3 {
		t.Errorf("nattch = %d, want 3", d.Nattch)
	}

	// What one mapping writes, the others read.
	s.Slot(2).SetPid(4242)
	a.Slot(1).SetRequest([]byte("requetetype2 77"))
	copy(b.Slot(0).Data(), "payload")
	if got := b.Slot(2).Pid(); got != 4242 {
		t.Errorf("pid through the third mapping = %d, want 4242", got)
	}
	if got := string(s.Slot(1).Request()); got != "requetetype2 77" {
		t.Errorf("request through the first mapping = %q", got)
	}
	if got := string(a.Slot(0).Data()[:7]); got != "payload" {
		t.Errorf("data through the second mapping = %q", got)
	}

	// Detach all three: the kernel frees the segment at the last one.
	id := s.ID()
	for _, x := range []*Segment{a, b} {
		if err := x.Detach(); err != nil {
			t.Fatalf("Detach: %v", err)
		}
	}
	if d, err := stat(id); err != nil || d.Nattch != 1 {
		t.Fatalf("after two detaches: nattch %d, err %v; want 1 attachment left", d.Nattch, err)
	}
	if err := s.Detach(); err != nil {
		t.Fatalf("last Detach: %v", err)
	}
	if _, err := stat(id); !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.EIDRM) {
		t.Errorf("IPC_STAT after the last detach: %v; want the id gone (EINVAL)", err)
	}
	if err := s.Detach(); err != nil {
		t.Errorf("a second Detach: %v, want nil", err)
	}
	if _, err := Attach(id); err == nil {
		t.Error("Attach of a freed segment succeeded")
	}
}

func TestCreateRefusesBadSizes(t *testing.T) {
	for _, tt := range []struct{ nslots, dataSize int }{
		{0, MinSlotSize},
		{-1, MinSlotSize},
		{1, MinSlotSize - 1},
		{1, 0},
		{1, -1},
		{math.MinInt, MinSlotSize},
		// Sizes whose product overflows: 2^55 slots of 2560 bytes are
		// 5*2^64 bytes, 0 modulo 2^64.
		{1 << 55, MinSlotSize},
		{math.MaxInt, MinSlotSize},
		{1, math.MaxInt},
		{2, math.MaxInt/2 - 1000},
	} {
		if s, err := Create(tt.nslots, tt.dataSize); err == nil {
			t.Errorf("Create(%d, %d) succeeded, want an error", tt.nslots, tt.dataSize)
			_ = s.Detach()
		}
	}
}

// rawSegment makes a segment of size bytes that Create did not write,
// attached; t.Cleanup detaches and removes it.
func rawSegment(t *testing.T, size int) (id int, mem []byte) {
	t.Helper()
	id, err := unix.SysvShmGet(unix.IPC_PRIVATE, size, unix.IPC_CREAT|unix.IPC_EXCL|0o600)
	if err != nil {
		t.Fatalf("shmget: %v", err)
	}
	t.Cleanup(func() {
		if _, err := unix.SysvShmCtl(id, unix.IPC_RMID, nil); err != nil {
			t.Errorf("IPC_RMID %d: %v", id, err)
		}
	})
	mem, err = unix.SysvShmAttach(id, 0, 0)
	if err != nil {
		t.Fatalf("shmat: %v", err)
	}
	t.Cleanup(func() { _ = unix.SysvShmDetach(mem) })
	return id, mem
}

func TestAttachRefusesForeignSegments(t *testing.T) {
	ne := binary.NativeEndian
	st := uint64(stride(MinSlotSize))
	header := func(magic string, ver, n, ds, stride uint64) func(mem []byte) {
		return func(mem []byte) {
			copy(mem, magic)
			ne.PutUint64(mem[hdrVersion:], ver)
			ne.PutUint64(mem[hdrNSlots:], n)
			ne.PutUint64(mem[hdrDataSize:], ds)
			ne.PutUint64(mem[hdrStride:], stride)
		}
	}
	const size = 8192 // room for two slots of MinSlotSize (2 * 2560 + 64)
	tests := []struct {
		name  string
		size  int
		write func(mem []byte)
		ok    bool
	}{
		{"our header", size, header("OSPSSHM1", 1, 2, MinSlotSize, st), true},
		{"zeros", size, func([]byte) {}, false},
		{"someone else's data", size, func(mem []byte) { copy(mem, "PGSQL shared memory") }, false},
		{"magic of another version", size, header("OSPSSHM2", 1, 2, MinSlotSize, st), false},
		{"version 2", size, header("OSPSSHM1", 2, 2, MinSlotSize, st), false},
		{"no slot", size, header("OSPSSHM1", 1, 0, MinSlotSize, st), false},
		{"slot too small", size, header("OSPSSHM1", 1, 2, MinSlotSize-8, uint64(stride(MinSlotSize-8))), false},
		{"wrong stride", size, header("OSPSSHM1", 1, 2, MinSlotSize, st+64), false},
		{"more slots than bytes", size, header("OSPSSHM1", 1, 4, MinSlotSize, st), false},
		{"slot count that overflows", size, header("OSPSSHM1", 1, 1<<55, MinSlotSize, st), false},
		{"data size that overflows", size, header("OSPSSHM1", 1, 1, 1<<63+1<<62, uint64(stride(1<<62))), false},
		{"smaller than a header", 32, func(mem []byte) { copy(mem, "OSPSSHM1") }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, mem := rawSegment(t, tt.size)
			tt.write(mem)
			s, err := Attach(id)
			if !tt.ok {
				if err == nil {
					_ = s.Detach()
					t.Fatalf("Attach accepted it (nslots %d, datasize %d)", s.NSlots(), s.DataSize())
				}
				if d, _ := stat(id); d.Nattch != 1 {
					t.Errorf("after a refused Attach: nattch %d, want 1 (the refused mapping is detached)", d.Nattch)
				}
				return
			}
			if err != nil {
				t.Fatalf("Attach: %v", err)
			}
			defer s.Detach()
			// Every slot of an accepted segment is usable, up to its end.
			for i := range s.NSlots() {
				s.Slot(i).Data()[s.DataSize()-1] = 1
			}
		})
	}
}

func TestAttachBadID(t *testing.T) {
	for _, id := range []int{-1, math.MaxInt32} {
		if s, err := Attach(id); err == nil {
			_ = s.Detach()
			t.Errorf("Attach(%d) succeeded", id)
		}
	}
}

func TestSize(t *testing.T) {
	for _, tt := range []struct{ n, ds, want int }{
		{1, 512, 64 + 2560},
		{4, DefaultSlotSize, 64 + 4*(2048+65536)},
		{2, 513, 64 + 2*(2048+576)}, // a slot is rounded up to 64 bytes
	} {
		if got := Size(tt.n, tt.ds); got != tt.want {
			t.Errorf("Size(%d, %d) = %d, want %d", tt.n, tt.ds, got, tt.want)
		}
	}
}

// TestSlotsAligned checks, in a real mapping, that every slot and every
// data area starts on a 64-byte boundary (a cache line) and every field
// on an 8-byte one, as sync/atomic needs.
func TestSlotsAligned(t *testing.T) {
	for _, ds := range []int{MinSlotSize, MinSlotSize + 1, 1000, DefaultSlotSize} {
		s := create(t, 3, ds)
		for i := range s.NSlots() {
			sl := s.Slot(i)
			if p := uintptr(unsafe.Pointer(&sl.b[0])); p%64 != 0 {
				t.Errorf("datasize %d: slot %d at %#x, not 64-byte aligned", ds, i, p)
			}
			if p := uintptr(unsafe.Pointer(&sl.Data()[0])); p%64 != 0 {
				t.Errorf("datasize %d: slot %d data area at %#x, not 64-byte aligned", ds, i, p)
			}
			if len(sl.Data()) != ds || cap(sl.Data()) != ds {
				t.Errorf("datasize %d: slot %d data area len %d cap %d", ds, i, len(sl.Data()), cap(sl.Data()))
			}
		}
	}
}

// A read-only attachment sees what the owner writes, after IPC_RMID too,
// and cannot write: the kernel maps its pages without write permission.
func TestAttachReadOnlySeesTheSlots(t *testing.T) {
	s := create(t, 2, MinSlotSize)
	s.Slot(1).SetPid(4242)
	s.Slot(1).SetState(Busy)
	ro, err := AttachReadOnly(s.ID())
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Detach()
	if got := ro.Slot(1); got.Pid() != 4242 || got.State() != Busy || ro.NSlots() != 2 {
		t.Errorf("read-only view: slot 1 pid %d state %v, %d slots; want 4242 busy, 2", got.Pid(), got.State(), ro.NSlots())
	}
	s.Slot(1).AddServed()
	if n := ro.Slot(1).Served(); n != 1 {
		t.Errorf("read-only view: served %d after the owner counted one; want 1", n)
	}
	if err := unix.Mprotect(ro.mem[:4096], unix.PROT_READ|unix.PROT_WRITE); err == nil {
		t.Errorf("mprotect read-write on a SHM_RDONLY mapping succeeded; want EACCES")
	}
}
