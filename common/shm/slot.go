// slot.go is a worker's slot in the segment, a fixed layout: each field at
// a documented offset, the words read without a message accessed
// atomically.

package shm

import (
	"encoding/binary"
	"net/netip"
	"sync/atomic"
	"time"
	"unsafe"
)

// Offsets of a slot's fields; see the package comment for the drawing.
const (
	offState      = 0
	offPid        = 8
	offHeartbeat  = 16
	offServed     = 24
	offRestarts   = 32
	offTotal      = 40
	offTicket     = 48
	offClientIP   = 80
	offClientPort = 96
	offWorkerIP   = 104
	offWorkerPort = 120
	offReqLen     = 128
	offRequest    = 136
	offReplyN     = 1160
	offErrLen     = 1168
	offErr        = 1176
	offProof      = 1432
	// SlotHeader is where a slot's data area starts.
	SlotHeader = 2048

	maxRequest = offReplyN - offRequest
	maxErr     = 256
)

// State is a slot's state word.
type State uint64

// Slot states, as STATS prints them.
const (
	Empty    State = iota // never used
	Starting              // worker process started, not yet ready
	Idle                  // ready for a ping
	Busy                  // serving a request
	Dead                  // worker process gone
)

func (s State) String() string {
	switch s {
	case Starting:
		return "starting"
	case Idle:
		return "idle"
	case Busy:
		return "busy"
	case Dead:
		return "dead"
	default:
		return "empty"
	}
}

// Slot is one worker's part of the segment.
type Slot struct{ b []byte }

var ne = binary.NativeEndian

func (s *Slot) word(off int) *atomic.Uint64 {
	return (*atomic.Uint64)(unsafe.Pointer(&s.b[off]))
}

// State returns the state word.
func (s *Slot) State() State { return State(s.word(offState).Load()) }

// SetState sets the state word.
func (s *Slot) SetState(st State) { s.word(offState).Store(uint64(st)) }

// SwapState sets the state word to new only if it holds old, atomically,
// and reports whether it did: a worker declared dead by one goroutine is
// never made idle or busy again by another.
func (s *Slot) SwapState(old, new State) bool {
	return s.word(offState).CompareAndSwap(uint64(old), uint64(new))
}

// Pid returns the worker's pid.
func (s *Slot) Pid() int { return int(s.word(offPid).Load()) }

// SetPid records the worker's pid.
func (s *Slot) SetPid(pid int) { s.word(offPid).Store(uint64(pid)) }

// Beat records a sign of life from the worker, now.
func (s *Slot) Beat() { s.word(offHeartbeat).Store(uint64(time.Now().UnixNano())) }

// Heartbeat returns the time of the worker's last sign of life.
func (s *Slot) Heartbeat() time.Time { return time.Unix(0, int64(s.word(offHeartbeat).Load())) }

// Served returns the number of requests the slot's current worker
// process has served (STATS served=).
func (s *Slot) Served() uint64 { return s.word(offServed).Load() }

// Total returns the number of requests served in the slot since the
// dispatcher started, by every process it held (STATS total=).
func (s *Slot) Total() uint64 { return s.word(offTotal).Load() }

// AddServed counts one more request served, by the process and by the
// slot, and returns the process's new count.
func (s *Slot) AddServed() uint64 {
	s.word(offTotal).Add(1)
	return s.word(offServed).Add(1)
}

// ResetServed sets the process's count back to 0: a new process is
// about to take the slot (the slot's total goes on).
func (s *Slot) ResetServed() { s.word(offServed).Store(0) }

// Restarts returns how many times the slot's worker was restarted.
func (s *Slot) Restarts() uint64 { return s.word(offRestarts).Load() }

// AddRestart counts one more restart.
func (s *Slot) AddRestart() { s.word(offRestarts).Add(1) }

// Ticket returns the ticket in the slot ("" if none).
func (s *Slot) Ticket() string { return s.hex32(offTicket) }

// SetTicket writes a ticket (32 hex digits) or clears it with "".
func (s *Slot) SetTicket(t string) { s.setHex32(offTicket, t) }

func (s *Slot) hex32(off int) string {
	t := s.b[off : off+32]
	if t[0] == 0 {
		return ""
	}
	return string(t)
}

func (s *Slot) setHex32(off int, t string) {
	clear(s.b[off : off+32])
	copy(s.b[off:off+32], t)
}

// Proof returns the request's second secret in the slot ("" if none),
// the one that makes the authentication mutual: in v2, what the client
// sends back to prove it is the client the dispatcher answered WAIT; in
// v3, the key with which the worker proves it is the worker of the GOTO.
func (s *Slot) Proof() string { return s.hex32(offProof) }

// SetProof writes a second secret (32 hex digits) or clears it with "".
func (s *Slot) SetProof(t string) { s.setHex32(offProof, t) }

func (s *Slot) addr(ipOff, portOff int) netip.AddrPort {
	ip := netip.AddrFrom16([16]byte(s.b[ipOff : ipOff+16])).Unmap()
	return netip.AddrPortFrom(ip, uint16(ne.Uint64(s.b[portOff:])))
}

func (s *Slot) setAddr(ipOff, portOff int, ap netip.AddrPort) {
	a16 := ap.Addr().As16()
	copy(s.b[ipOff:ipOff+16], a16[:])
	ne.PutUint64(s.b[portOff:], uint64(ap.Port()))
}

// ClientAddr is where a v2 worker dials the client back.
func (s *Slot) ClientAddr() netip.AddrPort { return s.addr(offClientIP, offClientPort) }

// SetClientAddr writes where a v2 worker must dial the client back.
func (s *Slot) SetClientAddr(ap netip.AddrPort) { s.setAddr(offClientIP, offClientPort, ap) }

// WorkerAddr is where a v3 worker listens for its clients.
func (s *Slot) WorkerAddr() netip.AddrPort { return s.addr(offWorkerIP, offWorkerPort) }

// SetWorkerAddr publishes where a v3 worker listens.
func (s *Slot) SetWorkerAddr(ap netip.AddrPort) { s.setAddr(offWorkerIP, offWorkerPort, ap) }

// Request returns a copy of the request line in the slot.
func (s *Slot) Request() []byte {
	n := int(min(ne.Uint64(s.b[offReqLen:]), maxRequest)) // never beyond the field, whatever the word holds
	return append([]byte(nil), s.b[offRequest:offRequest+n]...)
}

// SetRequest writes a request line (at most 1024 bytes; longer is cut).
func (s *Slot) SetRequest(line []byte) {
	n := copy(s.b[offRequest:offRequest+maxRequest], line)
	ne.PutUint64(s.b[offReqLen:], uint64(n))
}

// SetReplyOK records that the reply carries n payload bytes.
func (s *Slot) SetReplyOK(n int64) {
	ne.PutUint64(s.b[offReplyN:], uint64(n))
	ne.PutUint64(s.b[offErrLen:], 0)
}

// SetReplyErr records an error reply line ("ERR code text").
func (s *Slot) SetReplyErr(line string) {
	ne.PutUint64(s.b[offReplyN:], ^uint64(0)) // -1
	n := copy(s.b[offErr:offErr+maxErr], line)
	ne.PutUint64(s.b[offErrLen:], uint64(n))
}

// Reply returns the reply recorded in the slot: n >= 0 for an OK reply of
// n bytes, or n == -1 and the error line.
func (s *Slot) Reply() (n int64, errLine string) {
	n = int64(ne.Uint64(s.b[offReplyN:]))
	if n < 0 {
		l := int(min(ne.Uint64(s.b[offErrLen:]), maxErr))
		return -1, string(s.b[offErr : offErr+l])
	}
	return n, ""
}

// Data is the slot's data area, where the payload travels chunk by chunk.
func (s *Slot) Data() []byte { return s.b[SlotHeader:] }
