// Where the dispatcher's GOTO points: a host the client can dial, a port
// above the dispatcher's, a fresh ticket and proof key per held worker.

package main

import (
	"bytes"
	"net"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"osps/common/tools/conformance"
)

// TestGotoPoints holds every worker at once and checks each GOTO: a
// host the client can dial, a port above the dispatcher's, a fresh ticket.
func TestGotoPoints(t *testing.T) {
	srv := conformance.Start(t, bin, "--workers", "4")
	_, dport, _ := net.SplitHostPort(srv.Addr)
	dp, _ := strconv.Atoi(dport)
	var gs []conformance.Goto
	var ss []*conformance.Session
	for range 4 { // each GOTO holds its worker: four GOTOs, four workers
		s := v3.Open(t, srv.Addr)
		gs = append(gs, askGoto(t, s, "requetetype2 1000"))
		ss = append(ss, s)
	}
	ports, tickets := map[string]bool{}, map[string]bool{}
	for _, g := range gs {
		if g.Host != "127.0.0.1" {
			t.Errorf("GOTO host %q, want 127.0.0.1 (where the dispatcher listens)", g.Host)
		}
		if p, err := strconv.Atoi(g.Port); err != nil || p <= dp || p > 65535 {
			t.Errorf("GOTO port %q, want a TCP port above the dispatcher's %d", g.Port, dp)
		}
		if !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(g.Ticket) {
			t.Errorf("GOTO ticket %q, want 32 lowercase hex digits", g.Ticket)
		}
		if !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(g.Key) || g.Key == g.Ticket {
			t.Errorf("GOTO proof key %q, want 32 lowercase hex digits, not the ticket", g.Key)
		}
		ports[g.Port], tickets[g.Ticket], tickets[g.Key] = true, true, true
	}
	if len(ports) != 4 || len(tickets) != 8 {
		t.Errorf("4 held workers: %d distinct ports, %d distinct tickets and keys, want 4 and 8: %v", len(ports), len(tickets), gs)
	}
	for i, g := range gs {
		expectOK(t, ss[i].FollowGoto(g, "HELLO "+g.Ticket+"\nrequetetype2 1000\n", "requetetype2 1000"), "requetetype2 1000", 1000)
	}
}

// TestGotoHostOtherLoopback: a dispatcher on 127.0.0.5 sends its clients
// to 127.0.0.5, never to a wildcard or another address.
func TestGotoHostOtherLoopback(t *testing.T) {
	srv := conformance.Start(t, bin, "--workers", "2", "--listen", "127.0.0.5")
	if !strings.HasPrefix(srv.Addr, "127.0.0.5:") {
		t.Fatalf("ready %s, want 127.0.0.5:<port>", srv.Addr)
	}
	s := v3.Open(t, srv.Addr)
	g := askGoto(t, s, "requetetype1")
	if g.Host != "127.0.0.5" {
		t.Fatalf("GOTO host %q, want 127.0.0.5", g.Host)
	}
	o := s.FollowGoto(g, "HELLO "+g.Ticket+"\nrequetetype1\n", "requetetype1")
	if o.Err != nil || o.Code != "" || !bytes.HasPrefix(o.Payload, []byte("worker=")) {
		t.Fatalf("following GOTO %v: got %v %q", g, o, o.Payload)
	}
}

// TestGotoHostWildcard: a worker on 0.0.0.0 or :: is announced by the
// address the client reached the dispatcher at (tested without opening a
// wildcard socket: the tests use loopback only).
func TestGotoHostWildcard(t *testing.T) {
	local := &net.TCPAddr{IP: net.ParseIP("127.0.0.3"), Port: 2222}
	local6 := &net.TCPAddr{IP: net.ParseIP("::1"), Port: 2222}
	mapped := &net.TCPAddr{IP: net.ParseIP("::ffff:127.0.0.4"), Port: 2222}
	cases := []struct {
		worker string
		local  net.Addr
		want   string
	}{
		{"127.0.0.5", local, "127.0.0.5"},
		{"::ffff:127.0.0.5", local, "127.0.0.5"},
		{"::1", local6, "::1"},
		{"0.0.0.0", local, "127.0.0.3"},
		{"::", local, "127.0.0.3"},
		{"::", local6, "::1"},
		{"::", mapped, "127.0.0.4"},
	}
	for _, c := range cases {
		if got := gotoHost(netip.MustParseAddr(c.worker), c.local).String(); got != c.want {
			t.Errorf("gotoHost(%s, %v) = %q, want %q", c.worker, c.local, got, c.want)
		}
	}
}
