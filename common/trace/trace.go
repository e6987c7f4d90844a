// Package trace is --trace, the protocol narrated: with it, every role
// prints one line per numbered step of its variant's doc page, so a
// student can follow one request across three processes in one terminal:
//
//	v1 step 3 worker#2: pong, 65536 bytes in slot
//
// Lines go to stderr with one write each, so lines from several processes
// sharing a terminal do not mix.
package trace

import (
	"fmt"
	"io"
	"os"
	"sync"
)

// Tracer prints step lines for one role of one variant. The zero value
// and a nil *Tracer print nothing.
type Tracer struct {
	variant string // "v1", "v2", "v3"
	role    string // "dispatcher", "worker#2", "client"
	mu      sync.Mutex
	w       io.Writer
}

// New returns a tracer that prints when on is true.
func New(on bool, variant, role string) *Tracer {
	if !on {
		return nil
	}
	return &Tracer{variant: variant, role: role, w: os.Stderr}
}

// To redirects the lines (tests).
func (t *Tracer) To(w io.Writer) *Tracer {
	if t != nil {
		t.w = w
	}
	return t
}

// On reports whether the tracer prints.
func (t *Tracer) On() bool { return t != nil }

// Step prints "v1 step 3 worker#2: <message>".
func (t *Tracer) Step(step int, format string, a ...any) {
	if t == nil {
		return
	}
	line := fmt.Sprintf("%s step %d %s: %s\n", t.variant, step, t.role, fmt.Sprintf(format, a...))
	t.mu.Lock()
	defer t.mu.Unlock()
	_, _ = io.WriteString(t.w, line)
}
