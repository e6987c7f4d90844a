// trace_test.go checks the --trace lines: their exact shape, silence when
// tracing is off (a nil *Tracer), and one write per line, so lines from
// several goroutines (or processes) never mix.

package trace

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// writes records each Write separately.
type writes struct {
	mu sync.Mutex
	w  []string
}

func (w *writes) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.w = append(w.w, string(p))
	return len(p), nil
}

func TestStep(t *testing.T) {
	var w writes
	tr := New(true, "v1", "worker#2").To(&w)
	if !tr.On() {
		t.Fatal("On() = false for a tracer that is on")
	}
	tr.Step(3, "pong, %d bytes in slot", 65536)
	tr.Step(1, "no arguments")
	tr.Step(12, "%s", "percent %d stays")
	want := []string{
		"v1 step 3 worker#2: pong, 65536 bytes in slot\n",
		"v1 step 1 worker#2: no arguments\n",
		"v1 step 12 worker#2: percent %d stays\n",
	}
	if diff := cmp.Diff(want, w.w); diff != "" {
		t.Errorf("trace lines (-want +got):\n%s", diff)
	}
}

func TestOff(t *testing.T) {
	tr := New(false, "v3", "client")
	if tr != nil || tr.On() {
		t.Fatalf("New(false) = %v, On() = %v; want nil, false", tr, tr.On())
	}
	var b bytes.Buffer
	tr = tr.To(&b) // a nil tracer stays nil
	tr.Step(1, "never %s", "printed")
	if tr != nil || b.Len() != 0 {
		t.Errorf("a tracer that is off printed %q", b.String())
	}
	var zero *Tracer
	zero.Step(2, "x") // must not crash
}

func TestOneWritePerLine(t *testing.T) {
	var w writes
	tr := New(true, "v2", "dispatcher").To(&w)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				tr.Step(g, "goroutine %d line %d %s", g, i, strings.Repeat("x", 100))
			}
		})
	}
	wg.Wait()
	if len(w.w) != 8*200 {
		t.Fatalf("%d writes, want %d (one per line)", len(w.w), 8*200)
	}
	for _, l := range w.w {
		var g, i int
		var x string
		if n, err := fmt.Sscanf(l, "v2 step %d dispatcher: goroutine %d line %d %s\n", &g, &g, &i, &x); n != 4 || err != nil || len(x) != 100 ||
			strings.Count(l, "\n") != 1 || !strings.HasSuffix(l, "\n") {
			t.Fatalf("write %q is not one whole line (%v)", l, err)
		}
	}
}
