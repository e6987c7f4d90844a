// Tests of the dispatcher against hoarding: GOTOs nobody follows leave
// the workers usable again (cancelled when another request waits, or
// expired), and a session whose tickets expire unclaimed waits before it
// gets another.

package main

import (
	"strings"
	"testing"
	"time"

	"osps/common/tools/conformance"
)

// TestUnfollowedGotos: with 2 workers and a 1 s ticket lifetime, five
// GOTOs nobody follows, from five sessions, leave both workers usable
// again soon after.
func TestUnfollowedGotos(t *testing.T) {
	srv := conformance.Start(t, bin, "--workers", "2", "--ticket-ttl", "1s", "--queue-timeout", "30s")
	s := v3.Open(t, srv.Addr)
	first := askGoto(t, s, "requetetype1")
	for range 4 { // the 2nd to 4th wait for a worker: a stale GOTO is cancelled for them
		askGoto(t, v3.Open(t, srv.Addr), "requetetype1")
	}
	last := time.Now()
	for {
		if stats := statsOf(t, s); strings.Count(stats, "state=idle") == 2 {
			break
		}
		// Not a speed check: 4 s is far beyond the 1 s lifetime, but below
		// the 5 s default, so a --ticket-ttl that is not passed on fails.
		if time.Since(last) > 4*time.Second {
			t.Fatalf("4 s after the last unfollowed GOTO, workers still busy:\n%s", statsOf(t, s))
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("both workers idle %v after the last unfollowed GOTO (ticket-ttl 1s)", time.Since(last).Round(time.Millisecond))
	if l := knock(t, s, first, "HELLO "+first.Ticket+"\nrequetetype1\n"); !strings.HasPrefix(l, "ERR bad-ticket") {
		t.Errorf("an expired ticket: %q, want ERR bad-ticket", l)
	}
	// Both workers serve: hold both at once, then follow.
	s2 := v3.Open(t, srv.Addr)
	ga, gb := askGoto(t, s, "requetetype1"), askGoto(t, s2, "requetetype1")
	if ga.Addr() == gb.Addr() {
		t.Fatalf("two held workers share an address %s", ga.Addr())
	}
	for i, g := range []conformance.Goto{ga, gb} {
		if o := []*conformance.Session{s, s2}[i].FollowGoto(g, "HELLO "+g.Ticket+"\nrequetetype1\n", "requetetype1"); o.Err != nil || o.Code != "" {
			t.Errorf("worker at %s after the expiries: %v", g.Addr(), o)
		}
	}
}

func statsOf(t *testing.T, s *conformance.Session) string {
	t.Helper()
	o := v3.Do(s, "STATS")
	if o.Err != nil || o.Code != "" {
		t.Fatalf("STATS: %v", o)
	}
	return string(o.Payload)
}

// TestUnclaimedTicketsWait: a session whose last two tickets expired
// unclaimed gets ERR busy until a ticket lifetime has passed, while
// another session is served; then it gets a GOTO again. (Before, such a
// session could take a worker for a ticket lifetime, again and again.)
func TestUnclaimedTicketsWait(t *testing.T) {
	srv := conformance.Start(t, bin, "--workers", "2", "--ticket-ttl", "1s", "--queue-timeout", "5s")
	s := v3.Open(t, srv.Addr)
	askGoto(t, s, "requetetype1") // the session waits until each has expired
	askGoto(t, s, "requetetype1")
	if err := s.Send("requetetype1"); err != nil {
		t.Fatal(err)
	}
	if l, err := s.Line(); err != nil || !strings.HasPrefix(l, "ERR busy your last 2 tickets expired unclaimed") {
		t.Fatalf("a third request after two unclaimed tickets: got %q, %v; want ERR busy ... expired unclaimed", l, err)
	}
	honest := v3.Open(t, srv.Addr)
	if o := v3.Do(honest, "requetetype1"); o.Err != nil || o.Code != "" {
		t.Errorf("another session meanwhile: %v", o)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if err := s.Send("requetetype1"); err != nil {
			t.Fatal(err)
		}
		l, err := s.Line()
		if err != nil {
			t.Fatal(err)
		}
		if g, ok := conformance.ParseGoto(l); ok {
			if o := s.FollowGoto(g, "HELLO "+g.Ticket+"\nrequetetype1\n", "requetetype1"); o.Err != nil || o.Code != "" {
				t.Errorf("the GOTO after the wait: %v", o)
			}
			return
		}
		if !strings.HasPrefix(l, "ERR busy ") || time.Now().After(deadline) {
			t.Fatalf("after the wait: got %q, want GOTO", l)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
