// slot_test.go checks the slot layout: every field reads back what was
// written, a slot's writes stay inside that slot, the fields sit at the
// offsets that doc.go draws, without overlap, 8-byte aligned.

package shm

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// field is one slot field: where it is and how many bytes it holds.
type field struct {
	Name string
	Off  int
	Size int
}

// layout is the slot drawing of doc.go, in the constants' words.
var layout = []field{
	{"state", offState, 8},
	{"pid", offPid, 8},
	{"heartbeat", offHeartbeat, 8},
	{"served", offServed, 8},
	{"restarts", offRestarts, 8},
	{"total", offTotal, 8},
	{"ticket", offTicket, 32},
	{"client ip", offClientIP, 16},
	{"client port", offClientPort, 8},
	{"worker ip", offWorkerIP, 16},
	{"worker port", offWorkerPort, 8},
	{"reqlen", offReqLen, 8},
	{"request", offRequest, 1024},
	{"replyn", offReplyN, 8},
	{"errlen", offErrLen, 8},
	{"err", offErr, 256},
	{"proof", offProof, 32},
	{"data", SlotHeader, 0},
}

func TestLayout(t *testing.T) {
	for i, f := range layout {
		if f.Off%8 != 0 {
			t.Errorf("%s at offset %d: not 8-byte aligned", f.Name, f.Off)
		}
		if i > 0 {
			prev := layout[i-1]
			if prev.Off+prev.Size > f.Off {
				t.Errorf("%s (%d..%d) overlaps %s at %d", prev.Name, prev.Off, prev.Off+prev.Size, f.Name, f.Off)
			}
		}
	}
	if SlotHeader%64 != 0 || HeaderSize%64 != 0 {
		t.Errorf("SlotHeader %d, HeaderSize %d: not 64-byte multiples", SlotHeader, HeaderSize)
	}
	if maxRequest != 1024 || maxErr != 256 {
		t.Errorf("maxRequest %d, maxErr %d; want 1024 (wire.MaxLine) and 256", maxRequest, maxErr)
	}
	for _, ds := range []int{MinSlotSize, MinSlotSize + 1, 4000, DefaultSlotSize, 1<<20 + 3} {
		if st := stride(ds); st%64 != 0 || st < SlotHeader+ds || st >= SlotHeader+ds+64 {
			t.Errorf("stride(%d) = %d, want the next multiple of 64 from %d", ds, st, SlotHeader+ds)
		}
	}
}

// TestLayoutMatchesDoc reads the drawing in doc.go ("  8  pid  ...") and
// checks it against the constants, so the two cannot drift apart.
func TestLayoutMatchesDoc(t *testing.T) {
	src, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	_, slots, ok := strings.Cut(string(src), "//\tslot i at")
	if !ok {
		t.Fatal(`doc.go: no "slot i at" line before the slot drawing`)
	}
	re := regexp.MustCompile(`(?m)^//\s+(\d+)\s+(client ip|client port|worker ip|worker port|[a-z]+)\b`)
	var doc []field
	for _, m := range re.FindAllStringSubmatch(slots, -1) {
		off, _ := strconv.Atoi(m[1])
		doc = append(doc, field{Name: m[2], Off: off})
	}
	want := make([]field, len(layout))
	for i, f := range layout {
		want[i] = field{Name: f.Name, Off: f.Off}
	}
	if diff := cmp.Diff(want, doc); diff != "" {
		t.Errorf("doc.go's slot drawing differs from the offsets (-code +doc):\n%s", diff)
	}
}

// snapshot is every field of a slot as the accessors read it.
type snapshot struct {
	State      State
	Pid        int
	Heartbeat  int64
	Served     uint64
	Restarts   uint64
	Total      uint64
	Ticket     string
	ClientAddr netip.AddrPort
	WorkerAddr netip.AddrPort
	Request    string
	ReplyN     int64
	ErrLine    string
	Data       []byte
}

func snap(s *Slot) snapshot {
	n, e := s.Reply()
	return snapshot{
		State: s.State(), Pid: s.Pid(), Heartbeat: s.Heartbeat().UnixNano(),
		Served: s.Served(), Restarts: s.Restarts(), Total: s.Total(), Ticket: s.Ticket(),
		ClientAddr: s.ClientAddr(), WorkerAddr: s.WorkerAddr(),
		Request: string(s.Request()), ReplyN: n, ErrLine: e,
		Data: bytes.Clone(s.Data()),
	}
}

var cmpAddr = cmp.Comparer(func(a, b netip.AddrPort) bool { return a == b })

func TestSlotFieldsRoundTrip(t *testing.T) {
	s := create(t, 2, MinSlotSize)
	sl := s.Slot(1)

	for _, st := range []State{Starting, Idle, Busy, Dead, Empty} {
		sl.SetState(st)
		if got := sl.State(); got != st {
			t.Errorf("State() = %v after SetState(%v)", got, st)
		}
	}
	names := map[State]string{Empty: "empty", Starting: "starting", Idle: "idle", Busy: "busy", Dead: "dead", 99: "empty"}
	for st, want := range names {
		if st.String() != want {
			t.Errorf("State(%d).String() = %q, want %q", st, st.String(), want)
		}
	}

	for _, pid := range []int{1, 4194304, 1<<31 - 1} {
		sl.SetPid(pid)
		if got := sl.Pid(); got != pid {
			t.Errorf("Pid() = %d after SetPid(%d)", got, pid)
		}
	}

	before := time.Now().Round(0)
	sl.Beat()
	after := time.Now().Round(0)
	if hb := sl.Heartbeat(); hb.Before(before) || hb.After(after) {
		t.Errorf("Heartbeat() = %v, not between %v and %v", hb, before, after)
	}

	if sl.Served() != 0 || sl.Restarts() != 0 {
		t.Fatalf("a new slot has served %d, restarts %d", sl.Served(), sl.Restarts())
	}
	if got := sl.AddServed(); got != 1 {
		t.Errorf("AddServed() = %d, want 1", got)
	}
	sl.AddRestart()
	sl.AddRestart()
	if sl.Served() != 1 || sl.Restarts() != 2 {
		t.Errorf("served %d, restarts %d; want 1, 2", sl.Served(), sl.Restarts())
	}

	sl.ResetServed() // a new process takes the slot
	if sl.AddServed(); sl.Served() != 1 || sl.Total() != 2 {
		t.Errorf("after a new process: served %d, total %d; want 1, 2", sl.Served(), sl.Total())
	}

	if got := sl.Ticket(); got != "" {
		t.Errorf("Ticket() of a new slot = %q, want \"\"", got)
	}
	const tk = "0123456789abcdef0123456789abcdef"
	sl.SetTicket(tk)
	if got := sl.Ticket(); got != tk {
		t.Errorf("Ticket() = %q, want %q", got, tk)
	}
	sl.SetTicket("")
	if got := sl.Ticket(); got != "" {
		t.Errorf("Ticket() after SetTicket(\"\") = %q", got)
	}
	if got := sl.Proof(); got != "" {
		t.Errorf("Proof() of a new slot = %q, want \"\"", got)
	}
	sl.SetProof(tk)
	if got := sl.Proof(); got != tk {
		t.Errorf("Proof() = %q, want %q", got, tk)
	}
	sl.SetProof("")
	if got := sl.Proof(); got != "" {
		t.Errorf("Proof() after SetProof(\"\") = %q", got)
	}

	for _, a := range []string{"127.0.0.1:2223", "10.1.2.3:0", "255.255.255.255:65535", "[::1]:2224", "[2001:db8::42]:1", "[fe80::1]:65535", "[::]:80"} {
		ap := netip.MustParseAddrPort(a)
		sl.SetClientAddr(ap)
		sl.SetWorkerAddr(netip.AddrPortFrom(ap.Addr(), ap.Port()^0xffff))
		if got := sl.ClientAddr(); got != ap {
			t.Errorf("ClientAddr() = %v after SetClientAddr(%v)", got, ap)
		}
		if got, want := sl.WorkerAddr(), netip.AddrPortFrom(ap.Addr(), ap.Port()^0xffff); got != want {
			t.Errorf("WorkerAddr() = %v after SetWorkerAddr(%v)", got, want)
		}
	}

	for _, n := range []int{0, 1, 12, 1023, 1024} {
		req := bytes.Repeat([]byte{'r'}, n)
		sl.SetRequest(req)
		if got := sl.Request(); !bytes.Equal(got, req) {
			t.Errorf("Request() = %d bytes after SetRequest of %d", len(got), n)
		}
	}
	long := []byte("requetetype2 1" + strings.Repeat("0", 2000))
	sl.SetRequest(long)
	if got := sl.Request(); !bytes.Equal(got, long[:1024]) {
		t.Errorf("Request() after a 2014-byte SetRequest: %d bytes, want the first 1024", len(got))
	}
	got := sl.Request()
	got[0] = 'X' // a copy: the slot is not changed through it
	if sl.Request()[0] != 'r' {
		t.Error("Request() returned the slot's own memory, not a copy")
	}

	for _, n := range []int64{0, 1, 64 << 20, 1<<63 - 1} {
		sl.SetReplyOK(n)
		if gn, ge := sl.Reply(); gn != n || ge != "" {
			t.Errorf("Reply() = %d, %q after SetReplyOK(%d)", gn, ge, n)
		}
	}
	sl.SetReplyErr("ERR busy no idle worker")
	if gn, ge := sl.Reply(); gn != -1 || ge != "ERR busy no idle worker" {
		t.Errorf("Reply() = %d, %q after SetReplyErr", gn, ge)
	}
	longErr := "ERR worker-failed " + strings.Repeat("e", 400)
	sl.SetReplyErr(longErr)
	if gn, ge := sl.Reply(); gn != -1 || ge != longErr[:256] {
		t.Errorf("Reply() after a %d-byte SetReplyErr = %d, %d bytes; want -1 and the first 256", len(longErr), gn, len(ge))
	}
	sl.SetReplyOK(7) // an OK after an ERR forgets the error line
	if gn, ge := sl.Reply(); gn != 7 || ge != "" {
		t.Errorf("Reply() = %d, %q after SetReplyErr then SetReplyOK(7)", gn, ge)
	}
}

// TestSlotCorruptLengths checks that a slot whose length words hold
// garbage (a worker killed mid-write, a stray write) reads as a cut
// value, not a crash of the dispatcher that reads it.
func TestSlotCorruptLengths(t *testing.T) {
	s := create(t, 1, MinSlotSize)
	sl := s.Slot(0)
	ne := binary.NativeEndian
	for _, v := range []uint64{1025, 1 << 40, 1 << 63, 1<<64 - 1, 1<<64 - 200} {
		ne.PutUint64(sl.b[offReqLen:], v)
		if got := len(sl.Request()); got != maxRequest {
			t.Errorf("reqlen %d: Request() returned %d bytes, want %d", v, got, maxRequest)
		}
		ne.PutUint64(sl.b[offReplyN:], 1<<64-1)
		ne.PutUint64(sl.b[offErrLen:], v)
		if n, e := sl.Reply(); n != -1 || len(e) != maxErr {
			t.Errorf("errlen %d: Reply() = %d, %d bytes; want -1, %d", v, n, len(e), maxErr)
		}
	}
}

// TestSwapState: a slot declared dead is never made idle or busy again by
// a late Release or Acquire.
func TestSwapState(t *testing.T) {
	sl := create(t, 1, MinSlotSize).Slot(0)
	sl.SetState(Idle)
	if !sl.SwapState(Idle, Busy) || sl.State() != Busy {
		t.Fatalf("Idle -> Busy refused, state %v", sl.State())
	}
	sl.SetState(Dead)
	if sl.SwapState(Busy, Idle) || sl.SwapState(Idle, Busy) || sl.State() != Dead {
		t.Fatalf("a dead slot was revived: state %v", sl.State())
	}
}

// TestSlotsDoNotOverlap writes every field and the whole data area of one
// slot and checks that no byte outside it changed: not the segment header,
// not the neighbour slots.
func TestSlotsDoNotOverlap(t *testing.T) {
	for _, ds := range []int{MinSlotSize, MinSlotSize + 8, 5000} {
		s := create(t, 3, ds)
		for i := range s.NSlots() {
			neighbours := func() []snapshot {
				var out []snapshot
				for j := range s.NSlots() {
					if j != i {
						out = append(out, snap(s.Slot(j)))
					}
				}
				return out
			}
			mem := bytes.Clone(s.mem)
			before := neighbours()

			sl := s.Slot(i)
			sl.SetState(Busy)
			sl.SetPid(1<<31 - 1)
			sl.Beat()
			sl.AddServed()
			sl.AddRestart()
			sl.SetTicket("ffffffffffffffffffffffffffffffff")
			sl.SetClientAddr(netip.MustParseAddrPort("[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535"))
			sl.SetWorkerAddr(netip.MustParseAddrPort("[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535"))
			sl.SetRequest(bytes.Repeat([]byte{0xff}, 2000))
			sl.SetReplyErr(strings.Repeat("\xff", 1000))
			for k := range sl.Data() {
				sl.Data()[k] = 0xff
			}

			if diff := cmp.Diff(before, neighbours(), cmpAddr); diff != "" {
				t.Errorf("datasize %d: writing slot %d changed another slot (-before +after):\n%s", ds, i, diff)
			}
			lo, hi := HeaderSize+i*s.stride, HeaderSize+i*s.stride+SlotHeader+ds
			for k := range s.mem {
				if (k < lo || k >= hi) && s.mem[k] != mem[k] {
					t.Fatalf("datasize %d: writing slot %d (bytes %d..%d) changed byte %d", ds, i, lo, hi, k)
				}
			}
			if a, err := Attach(s.ID()); err != nil {
				t.Fatalf("datasize %d: header damaged by slot %d: %v", ds, i, err)
			} else {
				_ = a.Detach()
			}
		}
	}
}

// TestAtomicCounters checks that the counters read without a message
// count every increment when several goroutines (as several processes
// would) bump them at once; run it with -race.
func TestAtomicCounters(t *testing.T) {
	s := create(t, 1, MinSlotSize)
	sl := s.Slot(0)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 1000 {
				sl.AddServed()
				sl.AddRestart()
				sl.Beat()
				_ = sl.State()
			}
		})
	}
	wg.Wait()
	if sl.Served() != 8000 || sl.Restarts() != 8000 {
		t.Errorf("served %d, restarts %d; want 8000 each", sl.Served(), sl.Restarts())
	}
}

// TestSettersStayInTheirField fills a slot with a marker byte, calls one
// setter with its largest value, and checks that only the bytes of that
// setter's fields changed: no setter writes past its field.
func TestSettersStayInTheirField(t *testing.T) {
	s := create(t, 1, MinSlotSize)
	sl := s.Slot(0)
	span := func(names ...string) [][2]int {
		var out [][2]int
		for _, n := range names {
			for _, f := range layout {
				if f.Name == n {
					out = append(out, [2]int{f.Off, f.Off + f.Size})
				}
			}
		}
		if len(out) != len(names) {
			t.Fatalf("unknown field in %q", names)
		}
		return out
	}
	big := netip.MustParseAddrPort("[ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe]:65534")
	tests := []struct {
		name   string
		fields [][2]int
		set    func()
	}{
		{"SetState", span("state"), func() { sl.SetState(Dead) }},
		{"SetPid", span("pid"), func() { sl.SetPid(1<<31 - 1) }},
		{"Beat", span("heartbeat"), func() { sl.Beat() }},
		{"AddServed", span("served", "total"), func() { sl.AddServed() }},
		{"ResetServed", span("served"), func() { sl.ResetServed() }},
		{"AddRestart", span("restarts"), func() { sl.AddRestart() }},
		{"SetTicket", span("ticket"), func() { sl.SetTicket(strings.Repeat("f", 100)) }},
		{"SetTicket empty", span("ticket"), func() { sl.SetTicket("") }},
		{"SetClientAddr", span("client ip", "client port"), func() { sl.SetClientAddr(big) }},
		{"SetWorkerAddr", span("worker ip", "worker port"), func() { sl.SetWorkerAddr(big) }},
		{"SetRequest", span("reqlen", "request"), func() { sl.SetRequest(bytes.Repeat([]byte{'q'}, 3000)) }},
		{"SetReplyOK", span("replyn", "errlen"), func() { sl.SetReplyOK(1<<63 - 1) }},
		{"SetReplyErr", span("replyn", "errlen", "err"), func() { sl.SetReplyErr(strings.Repeat("e", 3000)) }},
	}
	for _, tt := range tests {
		for k := range sl.b {
			sl.b[k] = 0xaa
		}
		tt.set()
		for k, c := range sl.b {
			inside := false
			for _, f := range tt.fields {
				inside = inside || (k >= f[0] && k < f[1])
			}
			if !inside && c != 0xaa {
				t.Errorf("%s wrote byte %d of the slot, outside its fields %v", tt.name, k, tt.fields)
				break
			}
		}
	}
}
