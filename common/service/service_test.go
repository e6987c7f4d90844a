// Tests of the payload a worker answers: the requetetype1 line and its
// served count, and the requetetype2 pattern produced piece by piece.

package service_test

import (
	"bytes"
	"fmt"
	"regexp"
	"testing"

	"github.com/google/go-cmp/cmp"

	"osps/common/service"
	"osps/common/wire"
)

// drain reads a payload to its end in pieces of the given sizes (cycled),
// checking Left as it goes.
func drain(t *testing.T, payload *service.Payload, sizes ...int) []byte {
	t.Helper()
	var out []byte
	for i := 0; payload.Left() > 0; i++ {
		if i > 1<<20 {
			t.Fatal("payload never ends")
		}
		left := payload.Left()
		buf := make([]byte, sizes[i%len(sizes)])
		k := payload.Fill(buf)
		if k != int(min(int64(len(buf)), left)) {
			t.Fatalf("Fill(%d bytes) with %d left = %d", len(buf), left, k)
		}
		if payload.Left() != left-int64(k) {
			t.Fatalf("Left went from %d to %d after %d bytes", left, payload.Left(), k)
		}
		out = append(out, buf[:k]...)
	}
	if k := payload.Fill(make([]byte, 10)); k != 0 {
		t.Fatalf("Fill after the end = %d, want 0", k)
	}
	return out
}

var type1Line = regexp.MustCompile(`^worker=(\d+) pid=(\d+) served=(\d+)\n$`)

func TestType1(t *testing.T) {
	for _, tt := range []struct {
		id, pid int
		served  uint64
	}{{0, 1, 1}, {3, 4242, 17}, {255, 4194304, 1<<64 - 1}} {
		payload := service.PayloadFor(wire.Request{Type: wire.Type1}, tt.id, tt.pid, tt.served)
		want := fmt.Sprintf("worker=%d pid=%d served=%d\n", tt.id, tt.pid, tt.served)
		if payload.Len() != int64(len(want)) || payload.Left() != payload.Len() {
			t.Errorf("Len, Left = %d, %d; want %d", payload.Len(), payload.Left(), len(want))
		}
		got := string(drain(t, payload, 1, 2, 3, 5))
		if got != want {
			t.Errorf("type 1 payload %q, want %q", got, want)
		}
		// docs/protocol.md, "Requests": key=value pairs, at least worker, pid, served.
		if !type1Line.MatchString(got) {
			t.Errorf("type 1 payload %q does not have the protocol's shape", got)
		}
	}
}

func TestType2(t *testing.T) {
	for _, n := range []int64{0, 1, 4096, 65537, 300001} {
		payload := service.PayloadFor(wire.Request{Type: wire.Type2, N: n}, 1, 2, 3)
		if payload.Len() != n || payload.Left() != n {
			t.Errorf("n %d: Len, Left = %d, %d", n, payload.Len(), payload.Left())
		}
		got := drain(t, payload, 1, 7, 4093, 65536, 10000)
		want := make([]byte, n)
		wire.FillPattern(want, 0)
		if !bytes.Equal(got, want) {
			t.Errorf("n %d: payload filled in odd pieces differs from FillPattern (first bad byte: %v)", n, wire.CheckPattern(got, 0))
		}
	}
}

// TestType1Pieces checks that the type 1 text is not repeated or shifted
// when it is read in pieces that straddle its end.
func TestType1Pieces(t *testing.T) {
	want := "worker=1 pid=2 served=3\n"
	for size := 1; size <= len(want)+1; size++ {
		payload := service.PayloadFor(wire.Request{Type: wire.Type1}, 1, 2, 3)
		if diff := cmp.Diff(want, string(drain(t, payload, size))); diff != "" {
			t.Errorf("pieces of %d (-want +got):\n%s", size, diff)
		}
	}
}
