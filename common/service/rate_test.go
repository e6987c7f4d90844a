// rate_test.go checks the min-rate rule: a reader above the rate gets
// every byte, a reader that stops is cut within about one window.

package service

import (
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestRateWriterSteadyReader: a reader well above the rate gets it all,
// and Progress counts every byte.
func TestRateWriterSteadyReader(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	const n = 1 << 20
	got := make(chan int64, 1)
	go func() {
		k, _ := io.Copy(io.Discard, b)
		got <- k
	}()
	var progressed int
	w := &RateWriter{Conn: a, Rate: Rate{MinRate: 1 << 10, Window: 2 * time.Second}, Progress: func(k int) { progressed += k }}
	k, err := w.Write(make([]byte, n))
	if err != nil {
		t.Fatalf("Write: %v", err)
	}
	a.Close()
	if diff := cmp.Diff([]int64{n, n, n}, []int64{int64(k), <-got, int64(progressed)}); diff != "" {
		t.Errorf("written, read, progressed (-want +got):\n%s", diff)
	}
}

// TestRateWriterStalledReader: a reader that takes a little then stops is
// cut with ErrTooSlow (the deadline of its window), not left hanging.
func TestRateWriterStalledReader(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	go func() { _, _ = io.ReadFull(b, make([]byte, 100)) }() // then silence
	w := &RateWriter{Conn: a, Rate: Rate{MinRate: 1 << 20, Window: 200 * time.Millisecond}}
	k, err := w.Write(make([]byte, 1<<20))
	if !errors.Is(err, ErrTooSlow) {
		t.Fatalf("Write = %d, %v; want ErrTooSlow", k, err)
	}
	if k != 100 {
		t.Errorf("written before the cut = %d, want 100", k)
	}
}
