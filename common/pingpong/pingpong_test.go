// pingpong_test.go checks records on real pipes (os.Pipe): a record
// round-trips, end of file and half a record mean the peer is gone,
// records written at once by many writers arrive whole (a pipe write of
// at most PIPE_BUF bytes is atomic), and the seed lab's "flush" lesson.

package pingpong

import (
	"bufio"
	"errors"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// pipe returns both ends of a pipe, closed at the end of the test.
func pipe(t *testing.T) (r, w *os.File) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(); w.Close() })
	// A deadline, not a speed check: a read that would wait for ever (a
	// Send that wrote nothing, or half a record) fails instead.
	if err := r.SetReadDeadline(time.Now().Add(20 * time.Second)); err != nil {
		t.Fatal(err)
	}
	return r, w
}

func TestSendRecv(t *testing.T) {
	r, w := pipe(t)
	msgs := []Msg{
		{Op: PingRequest, Seq: 1, Arg: 0},
		{Op: PongChunk, Seq: 1, Arg: 65536},
		{Op: PongDone, Seq: 1<<32 - 1, Arg: 1<<64 - 1},
		{Op: PongReady, Seq: 0, Arg: 12345},
		{Op: 7777, Seq: 2, Arg: 3}, // an unknown op is carried, the reader decides
	}
	for _, m := range msgs {
		if err := Send(w, m); err != nil {
			t.Fatalf("Send(%+v): %v", m, err)
		}
	}
	w.Close() // what was sent is in the pipe: a missing byte shows at once, as end of file
	for _, want := range msgs {
		got, err := Recv(r)
		if err != nil {
			t.Fatalf("Recv: %v", err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("Recv (-sent +received):\n%s", diff)
		}
	}
}

// TestOneWritePerRecord checks that Send makes exactly one Write of
// RecordSize bytes: what makes a record atomic on a pipe.
func TestOneWritePerRecord(t *testing.T) {
	var c countingWriter
	if err := Send(&c, Msg{Op: PingNext, Seq: 3, Arg: 4}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]int{RecordSize}, c.writes); diff != "" {
		t.Errorf("Send's writes (-want +got):\n%s", diff)
	}
	if RecordSize > 4096 {
		t.Errorf("RecordSize %d is over PIPE_BUF (4096): writes would not be atomic", RecordSize)
	}
}

type countingWriter struct{ writes []int }

func (c *countingWriter) Write(p []byte) (int, error) {
	c.writes = append(c.writes, len(p))
	return len(p), nil
}

func TestRecvEOFIsPeerGone(t *testing.T) {
	r, w := pipe(t)
	w.Close()
	if _, err := Recv(r); !errors.Is(err, ErrPeerGone) {
		t.Fatalf("Recv after the writer closed: %v, want ErrPeerGone", err)
	}
}

func TestRecvPartialRecordIsPeerGone(t *testing.T) {
	r, w := pipe(t)
	if _, err := w.Write(make([]byte, RecordSize/2)); err != nil {
		t.Fatal(err)
	}
	w.Close() // a writer that died after half a record
	if _, err := Recv(r); !errors.Is(err, ErrPeerGone) {
		t.Fatalf("Recv of half a record: %v, want ErrPeerGone", err)
	}
}

func TestRecvOtherError(t *testing.T) {
	r, _ := pipe(t)
	r.Close()
	_, err := Recv(r)
	if err == nil || errors.Is(err, ErrPeerGone) {
		t.Fatalf("Recv on a closed file: %v, want a read error that is not ErrPeerGone", err)
	}
	if !errors.Is(err, os.ErrClosed) {
		t.Errorf("Recv on a closed file: %v, want it to wrap os.ErrClosed", err)
	}
}

func TestSendOnClosedPipe(t *testing.T) {
	r, w := pipe(t)
	r.Close() // the reader is gone: write(2) gets EPIPE (Go ignores SIGPIPE on fds other than 1 and 2)
	err := Send(w, Msg{Op: PingRequest})
	if !errors.Is(err, syscall.EPIPE) {
		t.Fatalf("Send to a pipe without reader: %v, want EPIPE", err)
	}
}

// TestConcurrentWritersAtomic has 8 goroutines write 1000 records each to
// one pipe at once, each record carrying its writer and its number; the
// reader must get every record whole, each writer's in its order.
func TestConcurrentWritersAtomic(t *testing.T) {
	const writers, per = 8, 1000
	r, w := pipe(t)
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for g := range writers {
		wg.Go(func() {
			for i := range per {
				// Op and Arg both carry the writer: a record made of two
				// writers' halves would not match.
				m := Msg{Op: Op(1000 + g), Seq: uint32(i), Arg: uint64(g)<<32 | uint64(i)}
				if err := Send(w, m); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	go func() { wg.Wait(); w.Close() }()

	next := make([]uint32, writers)
	total := 0
	for {
		m, err := Recv(r)
		if errors.Is(err, ErrPeerGone) {
			break
		}
		if err != nil {
			t.Fatalf("Recv: %v", err)
		}
		g := int(m.Op) - 1000
		if g < 0 || g >= writers || m.Arg != uint64(g)<<32|uint64(m.Seq) {
			t.Fatalf("record %d is torn or mixed: %+v", total, m)
		}
		if m.Seq != next[g] {
			t.Fatalf("writer %d: record %d arrived, want %d", g, m.Seq, next[g])
		}
		next[g]++
		total++
	}
	close(errs)
	for err := range errs {
		t.Errorf("Send: %v", err)
	}
	if total != writers*per {
		t.Errorf("received %d records, want %d", total, writers*per)
	}
}

// TestFlushLesson is the seed lab's lesson as a test: a record written
// through a bufio.Writer sits in the writer's buffer, and the reader sees
// nothing, until Flush. This is why Send makes one write(2) and the
// package never puts a bufio.Writer on a pipe.
func TestFlushLesson(t *testing.T) {
	r, w := pipe(t)
	bw := bufio.NewWriter(w)
	want := Msg{Op: PongDone, Seq: 9, Arg: 0}
	if err := Send(bw, want); err != nil {
		t.Fatal(err)
	}
	if bw.Buffered() != RecordSize {
		t.Fatalf("bufio.Writer holds %d bytes, want the whole record (%d)", bw.Buffered(), RecordSize)
	}

	// The reader waits and sees nothing: the record never reached the pipe.
	if err := r.SetReadDeadline(time.Now().Add(50 * time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	if m, err := Recv(r); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("before Flush: Recv = %+v, %v; want nothing (deadline exceeded)", m, err)
	}

	if err := bw.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := r.SetReadDeadline(time.Time{}); err != nil {
		t.Fatal(err)
	}
	got, err := Recv(r)
	if err != nil {
		t.Fatalf("after Flush: Recv: %v", err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("after Flush (-sent +received):\n%s", diff)
	}
}

func TestOpString(t *testing.T) {
	for op, want := range map[Op]string{
		PingRequest: "ping request", PingNext: "ping next", PingAbort: "ping abort",
		PongReady: "pong ready", PongChunk: "pong chunk", PongDone: "pong done", 0: "op 0", 55: "op 55",
	} {
		if got := op.String(); got != want {
			t.Errorf("Op(%d).String() = %q, want %q", uint32(op), got, want)
		}
	}
}
