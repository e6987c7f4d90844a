// labs.go is the list of labs: for each, the region of the real code the
// student writes again, and the stub that replaces it. The reference
// solution is the code itself, between `// LAB name: begin` and
// `// LAB name: end`; labs_test.go keeps every stub building and failing
// its check group, and the reference passing it.

package main

// Lab is one piece of the real code a student writes.
type Lab struct {
	Name    string // as in the markers: // LAB <Name>: begin
	Variant string // v1, v2 or v3: which binary the grader builds
	Dir     string // the directory whose .go files hold the region (found by its markers)
	Group   string // the grader's check group that grades it
	What    string // what the student writes, in a line
	Doc     string // the page that explains it
	Imports []string
	// Stub replaces the region, markers kept. It builds, and it fails
	// the group, with a TODO and hints.
	Stub string
	// Pkg is the package whose unit tests encode the lab's rules, and
	// Rules are those tests: `lab check` runs them before the group.
	Pkg   string
	Rules []Rule
}

// Rule is one rule a lab teaches, and the unit test (a -run path,
// subtest included) of the repository that fails when it is broken.
type Rule struct {
	Name string // short, as printed: FAIL  rule  <Name>
	Test string // e.g. TestTicketClaim/SingleUse
	What string // the rule, in a line
}

// All is every lab, in the order of docs/lab.md.
var All = []Lab{
	{
		Name: "pipe-record", Variant: "v1", Dir: "common/pingpong", Group: "protocol",
		What:    "Send: one ping/pong record, encoded and written in one write(2)",
		Doc:     "docs/pipes.md#records-16-bytes-one-write-each",
		Imports: nil,
		Stub: `	// TODO(lab pipe-record): encode m into one record of RecordSize (16)
	// bytes and write it to w with ONE call to w.Write.
	// Hints:
	//   - var b [RecordSize]byte; the layout is the one Recv (below) reads:
	//     Op as a uint32 at offset 0, Seq as a uint32 at 4, Arg as a uint64 at 8,
	//     in the machine's byte order (binary.NativeEndian.PutUint32, PutUint64).
	//   - Why one write and no bufio.Writer: docs/pipes.md, "Records: 16 bytes,
	//     one write each" and "Why no buffered writer on a pipe".
	//   - Wrap the error of Write: fmt.Errorf("send %v: %w", m.Op, err).
	return fmt.Errorf("send %v: lab pipe-record: Send is not written yet", m.Op)
`,
		Pkg: "./common/pingpong",
		Rules: []Rule{
			{"one-write", "TestOneWritePerRecord", "a record is one write(2) of RecordSize (16) bytes, no more, no less"},
			{"layout", "TestSendRecv", "the layout Recv reads: Op (uint32) at 0, Seq (uint32) at 4, Arg (uint64) at 8, native byte order"},
			{"atomic", "TestConcurrentWritersAtomic", "records written by many writers at once arrive whole"},
			{"errors", "TestSendOnClosedPipe", "a failed write is returned, wrapped with %w (EPIPE stays visible)"},
		},
	},
	{
		Name: "v1-chunks", Variant: "v1", Dir: "v1-relay", Group: "large",
		What:    "the worker's chunk loop: fill the slot, pong, wait for the next ping",
		Doc:     "docs/v1-relay.md#step-3-the-worker-computes-writes-a-chunk-into-the-slot-and-pongs",
		Imports: nil,
		Stub: `	// TODO(lab v1-chunks): hand the answer src over, one slot-sized chunk
	// at a time. The slot already says OK with the answer's length.
	// Hints, in a loop:
	//   1. k := src.Fill(self.Slot.Data()) copies the next chunk into the slot;
	//   2. self.Pong(pingpong.Msg{Op: pingpong.PongChunk, Seq: m.Seq, Arg: uint64(k)})
	//      tells the dispatcher that k bytes wait in the slot (trace it:
	//      tr.Step(3, "pong, %d bytes in slot (%d left)", k, src.Left()));
	//   3. once src.Left() == 0, the answer is whole: return nil;
	//   4. else wait for the dispatcher's next ping, next, err := self.Next().
	//      If it is not pingpong.PingNext for this m.Seq, the dispatcher gave
	//      the request up: answer with
	//      self.Pong(pingpong.Msg{Op: pingpong.PongDone, Seq: m.Seq, Arg: 1}) and stop.
	// docs/v1-relay.md, steps 3 and 4.
	// (The placeholder below needs no import of its own: delete it.)
	return wire.Errorf(wire.CodeWorkerFailed, "lab v1-chunks: the chunk loop is not written yet (%d bytes to send)", src.Left())
`,
		Pkg: "./v1-relay",
		Rules: []Rule{
			{"every-chunk", "TestChunkLoop/EveryChunk", "one pong chunk per slot-sized chunk, with its length, the last one too (an empty answer: one pong of 0)"},
			{"wait-ping-next", "TestChunkLoop/WaitsForPingNext", "after a chunk, wait for the dispatcher's ping next before filling the slot again"},
			{"bytes", "TestChunkLoop/BytesInSlot", "the slot holds the answer's bytes, chunk after chunk"},
			{"abort", "TestChunkLoop/Abort", "a ping abort gives the request up: pong done, Arg 1"},
			{"stale-ping", "TestChunkLoop/StaleSeq", "a ping next for another request gives the request up too"},
		},
	},
	{
		Name: "v2-sameport", Variant: "v2", Dir: "v2-worker-calls-client", Group: "cli",
		What:    "the Control hook that lets the client listen and dial on one port",
		Doc:     "docs/v2-worker-calls-client.md#the-same-port-trick",
		Imports: nil,
		Stub: `	// TODO(lab v2-sameport): set SO_REUSEADDR and SO_REUSEPORT on the
	// socket, between socket(2) and bind(2): this hook runs exactly then.
	// Hints:
	//   - c.Control(func(fd uintptr) { ... }) runs a function on the raw
	//     descriptor; inside, unix.SetsockoptInt(int(fd), unix.SOL_SOCKET,
	//     unix.SO_REUSEPORT, 1) (and the same with SO_REUSEADDR).
	//   - Two errors can happen: Control's own, and the setsockopt's (keep it
	//     in a variable of the outer function). Return either, wrapped:
	//     fmt.Errorf("%s socket for %s: %w", network, address, err).
	//   - Without them, the second bind (the dial from the listener's port)
	//     fails with "address already in use": try ./run.sh v2 client.
	_ = unix.SO_REUSEPORT
	return nil
`,
		Pkg: "./v2-worker-calls-client",
		Rules: []Rule{
			{"both-options", "TestReuseOptions", "SO_REUSEADDR and SO_REUSEPORT, at level SOL_SOCKET, value 1"},
			{"errors", "TestReuseReportsErrors", "Control's error and setsockopt's are both returned, wrapped"},
			{"same-port", "TestSamePortTrick", "the client listens on P and dials the dispatcher from P: the second socket shares the port"},
		},
	},
	{
		Name: "v3-ticket", Variant: "v3", Dir: "v3-client-calls-worker", Group: "protocol",
		What:    "claim: the worker's ticket check, single use, in constant time",
		Doc:     "docs/v3-client-calls-worker.md#security-tickets-against-port-stealing",
		Imports: nil,
		Stub: `
// claim takes the pending request for visitor v if ticket is its ticket
// and it has not expired. A ticket is claimed at most once: single use.
// From then on v is never dropped.
func (d *desk) claim(ticket string, v *visitor) *pending {
	// TODO(lab v3-ticket): give the pending request to the holder of its
	// ticket, once.
	// Hints:
	//   - d.mu guards d.pending: hold it (d.mu.Lock(); defer d.mu.Unlock()).
	//   - Refuse (return nil) when nothing is pending, when it has expired
	//     (time.Now().After(p.expires)), or when the ticket differs.
	//   - Compare with subtle.ConstantTimeCompare, never with ==: why?
	//     docs/v3-client-calls-worker.md, "Security: tickets against port stealing".
	//   - Once the ticket matches, d.visitors.hold(v) marks the visitor as
	//     the ticket holder, never to be dropped (it returns false if v was
	//     dropped just before: then refuse, the ticket stays pending).
	//   - Single use: clear d.pending, close(p.claimed), return p.
	_ = subtle.ConstantTimeCompare
	return nil
}

`,
		Pkg: "./v3-client-calls-worker",
		Rules: []Rule{
			{"only-its-ticket", "TestTicketClaim/OnlyItsTicket", "only the pending ticket, exactly, claims the request; a wrong one changes nothing"},
			{"single-use", "TestTicketClaim/SingleUse", "a ticket claims once (d.pending cleared)"},
			{"expiry", "TestTicketClaim/Expires", "an expired ticket claims nothing"},
			{"held-visitor", "TestTicketClaim/HeldVisitor", "the claimer is held (d.visitors.hold); a dropped one leaves the ticket pending"},
			{"wake-worker", "TestTicketClaim/WakesTheWorker", "a claim closes p.claimed: the worker goes on"},
			{"constant-time", "TestClaimSource/ConstantTime", "the ticket compared in constant time (subtle.ConstantTimeCompare), never with == or a strings/bytes function"},
			{"locked", "TestClaimSource/Locked", "d.mu held: d.pending is shared with the worker's other goroutines"},
		},
	},
}

// Find returns the lab called name.
func Find(name string) (Lab, bool) {
	for _, l := range All {
		if l.Name == name {
			return l, true
		}
	}
	return Lab{}, false
}
