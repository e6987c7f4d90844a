// Tests of the dispatcher's handle on a worker: a pong of an abandoned
// request never answers the next one, and a bounded Await ends.

package proc

import (
	"errors"
	"testing"
	"time"

	"osps/common/pingpong"
)

// TestAwaitDropsStalePongs checks that a pong of a request the dispatcher
// gave up on (an earlier request number) is not taken as the answer to
// the next request, that the worker's loop drops a late PingNext
// unanswered, and that Await gives up once its bound has passed.
func TestAwaitDropsStalePongs(t *testing.T) {
	p := startPool(t, 1, "serve")
	w, err := p.Acquire(short2(t))
	if err != nil {
		t.Fatal(err)
	}
	first := w.Begin()
	if err := w.Ping(pingpong.PingRequest, 100); err != nil {
		t.Fatal(err)
	}
	second := w.Begin() // give up on the first request before its pong
	if err := w.Ping(pingpong.PingRequest, 200); err != nil {
		t.Fatal(err)
	}
	m, err := w.Await(patience)
	if err != nil || m.Seq != second || m.Arg != 201 {
		t.Fatalf("Await = %+v, %v; want the pong of request %d (arg 201), not of request %d", m, err, second, first)
	}
	// A ping the worker does not answer (a late PingNext: the worker's
	// loop drops it, the test worker would pong it): Await ends once d
	// has passed.
	if err := w.Ping(pingpong.PingNext, 0); err != nil {
		t.Fatal(err)
	}
	if m, err := w.Await(50 * time.Millisecond); !errors.Is(err, ErrNoPong) {
		t.Fatalf("Await with no pong coming = %+v, %v; want ErrNoPong", m, err)
	}
	p.Release(w)
}
