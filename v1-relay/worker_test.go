// The checks of v1's worker chunk loop (the lab v1-chunks), from the
// dispatcher's side of the pipes: the test starts the real worker role of
// the binary on a segment of its own, plays the dispatcher with scripted
// pings, and checks the pongs and the bytes in the slot. Each script ends
// by closing the ping pipe, so a worker can only send the pongs the
// script asked for and then exit: a wrong loop shows as a wrong list of
// pongs, never as a wait.

package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"osps/common/pingpong"
	"osps/common/shm"
	"osps/common/tools/conformance"
	"osps/common/wire"
)

// slotSize is the data area of the test's slot: small, so that a few
// hundred bytes make several chunks.
const slotSize = shm.MinSlotSize

// chunkWorker is one worker process started by the test, and the
// dispatcher's ends of its pipes.
type chunkWorker struct {
	slot *shm.Slot
	ping *os.File // the dispatcher's write end
	pong *os.File // the dispatcher's read end
}

// startChunkWorker starts `bin worker` on a fresh one-slot segment and
// waits for its ready pong. Cleanup closes the pipes, waits for the
// worker and detaches the segment (marked for removal at creation).
func startChunkWorker(t *testing.T) *chunkWorker {
	t.Helper()
	seg, err := shm.Create(1, slotSize)
	if err != nil {
		t.Fatal(err)
	}
	pingR, pingW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	pongR, pongW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "worker", "--shm-id", strconv.Itoa(seg.ID()), "--slot", "0")
	cmd.ExtraFiles = []*os.File{pingR, pongW}
	cmd.Stderr = os.Stderr
	err = cmd.Start()
	pingR.Close()
	pongW.Close()
	if err != nil {
		t.Fatal(err)
	}
	w := &chunkWorker{slot: seg.Slot(0), ping: pingW, pong: pongR}
	t.Cleanup(func() {
		w.ping.Close()
		w.pong.Close()
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		_ = seg.Detach()
	})
	if m, err := w.recv(); err != nil || m.Op != pingpong.PongReady {
		t.Fatalf("the worker's first pong: %+v, %v; want pong ready", m, err)
	}
	return w
}

// recv reads one pong, with a deadline (a safety net: every script ends
// with the ping pipe closed, so a worker that stops early exits).
func (w *chunkWorker) recv() (pingpong.Msg, error) {
	if err := w.pong.SetReadDeadline(time.Now().Add(conformance.IOTimeout)); err != nil {
		return pingpong.Msg{}, err
	}
	return pingpong.Recv(w.pong)
}

func (w *chunkWorker) send(t *testing.T, m pingpong.Msg) {
	t.Helper()
	if err := pingpong.Send(w.ping, m); err != nil {
		t.Fatalf("ping %v: %v", m.Op, err)
	}
}

// rest closes the ping pipe and returns every pong the worker still sends
// before it exits.
func (w *chunkWorker) rest(t *testing.T) []pingpong.Msg {
	t.Helper()
	w.ping.Close()
	var ms []pingpong.Msg
	for {
		m, err := w.recv()
		if errors.Is(err, pingpong.ErrPeerGone) {
			return ms
		}
		if err != nil {
			t.Fatalf("pong pipe: %v", err)
		}
		ms = append(ms, m)
	}
}

// request puts requetetype2 n in the slot and pings it as request seq.
func (w *chunkWorker) request(t *testing.T, n int, seq uint32) {
	t.Helper()
	w.slot.SetRequest(fmt.Appendf(nil, "requetetype2 %d", n))
	w.send(t, pingpong.Msg{Op: pingpong.PingRequest, Seq: seq})
}

func chunks(n int) int { return max(1, (n+slotSize-1)/slotSize) }

// TestChunkLoop checks the rules of the chunk loop (docs/v1-relay.md,
// steps 3 and 4).
func TestChunkLoop(t *testing.T) {
	sizes := []int{0, 1, slotSize - 1, slotSize, slotSize + 1, 3*slotSize + 5}

	// The pings all sent at once, then the pipe closed: whatever the
	// timing, a right loop sends exactly one pong per ping it has read.
	counted := t.Run("EveryChunk", func(t *testing.T) {
		for _, n := range sizes {
			w := startChunkWorker(t)
			const seq = 7
			w.request(t, n, seq)
			for range chunks(n) - 1 {
				w.send(t, pingpong.Msg{Op: pingpong.PingNext, Seq: seq})
			}
			got := w.rest(t)
			var lens []uint64
			total := 0
			for _, m := range got {
				if m.Op != pingpong.PongChunk || m.Seq != seq {
					t.Errorf("requetetype2 %d: a pong %v seq %d; want pong chunk seq %d, one per chunk", n, m.Op, m.Seq, seq)
				}
				lens = append(lens, m.Arg)
				total += int(m.Arg)
			}
			if len(got) != chunks(n) || total != n {
				t.Errorf("requetetype2 %d with a %d-byte slot: pongs with lengths %v (%d bytes); want %d chunk pong(s) adding up to %d bytes, the last one too (an empty answer is one pong of 0)",
					n, slotSize, lens, total, chunks(n), n)
			}
		}
	})

	// No ping next: the worker must wait, the slot is the dispatcher's
	// until it pings.
	t.Run("WaitsForPingNext", func(t *testing.T) {
		w := startChunkWorker(t)
		w.request(t, 3*slotSize, 1)
		switch got := w.rest(t); {
		case len(got) == 0:
			t.Error("after one ping request and no ping next: no pong; want 1, the first chunk")
		case len(got) > 1:
			t.Errorf("after one ping request and no ping next: %d pongs; want 1: the worker overwrote the slot before the dispatcher had relayed the chunk in it", len(got))
		}
	})

	// In step with the dispatcher, the bytes in the slot are the answer's.
	// (Only once the pongs are right: in step, a loop that stops early
	// would leave the test waiting for a pong.)
	t.Run("BytesInSlot", func(t *testing.T) {
		if !counted {
			t.Skip("EveryChunk failed: the pongs are not right yet")
		}
		n := 3*slotSize + 5
		w := startChunkWorker(t)
		w.request(t, n, 2)
		want := make([]byte, n)
		wire.FillPattern(want, 0)
		off := 0
		for off < n {
			m, err := w.recv()
			if err != nil || m.Op != pingpong.PongChunk || m.Arg == 0 || m.Arg > uint64(n-off) {
				t.Fatalf("at byte %d of %d: pong %+v, %v; want a chunk of 1 to %d bytes", off, n, m, err, n-off)
			}
			k := int(m.Arg)
			if got := w.slot.Data()[:k]; !bytes.Equal(got, want[off:off+k]) {
				t.Fatalf("bytes %d to %d: the slot does not hold the answer's bytes", off, off+k)
			}
			off += k
			if off < n {
				w.send(t, pingpong.Msg{Op: pingpong.PingNext, Seq: 2})
			}
		}
		if got := w.rest(t); len(got) != 0 {
			t.Errorf("after the last chunk: %+v; want no more pong", got)
		}
	})

	// Anything but a ping next for this request: give the request up
	// with pong done, Arg 1.
	for _, c := range []struct {
		name string
		ping pingpong.Msg
	}{
		{"Abort", pingpong.Msg{Op: pingpong.PingAbort, Seq: 5}},
		{"StaleSeq", pingpong.Msg{Op: pingpong.PingNext, Seq: 4}},
	} {
		t.Run(c.name, func(t *testing.T) {
			w := startChunkWorker(t)
			w.request(t, 3*slotSize, 5)
			w.send(t, c.ping)
			got := w.rest(t)
			want := []pingpong.Msg{{Op: pingpong.PongChunk, Seq: 5, Arg: slotSize}, {Op: pingpong.PongDone, Seq: 5, Arg: 1}}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("request 5, after its first chunk a %v seq %d: pongs %+v; want %+v (the request given up)", c.ping.Op, c.ping.Seq, got, want)
			}
		})
	}
}
