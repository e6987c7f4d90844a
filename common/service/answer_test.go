// Tests of a streamed answer: exactly "OK <n>\n" and n bytes,
// progress reported piece by piece, write errors passed back with
// context, and memory that does not grow with n (BenchmarkAnswer64MiB).

package service_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"runtime"
	"testing"

	"osps/common/service"
	"osps/common/wire"
)

func TestAnswerType2(t *testing.T) {
	for _, n := range []int64{0, 1, service.ChunkSize - 1, service.ChunkSize, service.ChunkSize + 1, 200000} {
		var out bytes.Buffer
		var progress []int64
		payload := service.PayloadFor(wire.Request{Type: wire.Type2, N: n}, 0, 1, 1)
		if err := service.Answer(&out, payload, func(sent int64) { progress = append(progress, sent) }); err != nil {
			t.Fatalf("n %d: Answer: %v", n, err)
		}
		header := fmt.Sprintf("OK %d\n", n)
		got := out.Bytes()
		if !bytes.HasPrefix(got, []byte(header)) {
			t.Fatalf("n %d: reply starts %.20q, want %q", n, got, header)
		}
		body := got[len(header):]
		if int64(len(body)) != n {
			t.Fatalf("n %d: %d payload bytes after the header, want exactly n", n, len(body))
		}
		if err := wire.CheckPattern(body, 0); err != nil {
			t.Fatalf("n %d: %v", n, err)
		}
		// Progress: one call per piece, growing, ending at n.
		if want := int((n + service.ChunkSize - 1) / service.ChunkSize); len(progress) != want {
			t.Errorf("n %d: progress called %d times, want %d (one per %d-byte piece)", n, len(progress), want, service.ChunkSize)
		}
		for i, p := range progress {
			if p <= 0 || (i > 0 && p <= progress[i-1]) || p > n {
				t.Errorf("n %d: progress %v does not grow within 1..n", n, progress)
				break
			}
		}
		if len(progress) > 0 && progress[len(progress)-1] != n {
			t.Errorf("n %d: last progress %d, want n", n, progress[len(progress)-1])
		}
	}
}

func TestAnswerType1(t *testing.T) {
	var out bytes.Buffer
	payload := service.PayloadFor(wire.Request{Type: wire.Type1}, 2, 999, 41)
	if err := service.Answer(&out, payload, nil); err != nil {
		t.Fatal(err)
	}
	if got, want := out.String(), "OK 27\nworker=2 pid=999 served=41\n"; got != want {
		t.Errorf("Answer wrote %q, want %q", got, want)
	}
}

// failAfter accepts limit bytes, then fails every write.
type failAfter struct {
	limit, n int
	err      error
}

func (f *failAfter) Write(p []byte) (int, error) {
	if f.n+len(p) > f.limit {
		k := max(f.limit-f.n, 0)
		f.n += k
		return k, f.err
	}
	f.n += len(p)
	return len(p), nil
}

func TestAnswerWriteError(t *testing.T) {
	reset := errors.New("connection reset by peer")
	for _, limit := range []int{0, 5, service.ChunkSize, 3*service.ChunkSize + 17} {
		w := &failAfter{limit: limit, err: reset}
		payload := service.PayloadFor(wire.Request{Type: wire.Type2, N: 10 * service.ChunkSize}, 0, 1, 1)
		err := service.Answer(w, payload, nil)
		if !errors.Is(err, reset) {
			t.Errorf("peer gone after %d bytes: Answer = %v, want it to wrap %v", limit, err, reset)
		}
		if w.n > limit {
			t.Errorf("peer gone after %d bytes: %d bytes accepted", limit, w.n)
		}
	}
}

// TestAnswerMemoryFlat checks that answering 64 times more bytes
// allocates no more: the payload streams through one buffer.
func TestAnswerMemoryFlat(t *testing.T) {
	measure := func(n int64) (allocs, bytes uint64) {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		payload := service.PayloadFor(wire.Request{Type: wire.Type2, N: n}, 0, 1, 1)
		if err := service.Answer(io.Discard, payload, nil); err != nil {
			t.Fatal(err)
		}
		runtime.ReadMemStats(&after)
		return after.Mallocs - before.Mallocs, after.TotalAlloc - before.TotalAlloc
	}
	measure(1) // warm up
	smallA, smallB := measure(512 << 10)
	bigA, bigB := measure(32 << 20)
	t.Logf("512 KiB: %d allocs, %d bytes; 32 MiB: %d allocs, %d bytes", smallA, smallB, bigA, bigB)
	// A little slack for the runtime's own allocations; a payload held in
	// memory, or one allocation per piece (512 pieces), is far above it.
	if bigA > smallA+16 || bigB > smallB+64<<10 {
		t.Errorf("memory grows with n: 512 KiB took %d allocs, %d bytes; 32 MiB took %d allocs, %d bytes",
			smallA, smallB, bigA, bigB)
	}
}

// BenchmarkAnswer64MiB streams the largest default payload to io.Discard:
// allocs/op and B/op stay those of one small reply (compare
// BenchmarkAnswer64KiB), while the payload is 1024 times larger.
//
//	go test -run '^$' -bench Answer -benchmem ./common/service
func BenchmarkAnswer64MiB(b *testing.B) { benchmarkAnswer(b, 64<<20) }

// BenchmarkAnswer64KiB is the same for one piece, to compare with.
func BenchmarkAnswer64KiB(b *testing.B) { benchmarkAnswer(b, 64<<10) }

func benchmarkAnswer(b *testing.B, n int64) {
	b.ReportAllocs()
	b.SetBytes(n)
	for b.Loop() {
		payload := service.PayloadFor(wire.Request{Type: wire.Type2, N: n}, 0, 1, 1)
		if err := service.Answer(io.Discard, payload, nil); err != nil {
			b.Fatal(err)
		}
	}
}
