// What a worker's door does with tickets: wrong, used, expired and
// misused ones are refused without disturbing the pending one; a ticket
// serves once, for one request; and claim's source compares in constant
// time, under the lock.

package main

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/printer"
	"go/token"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"osps/common/tools/conformance"
	"osps/common/wire"
)

// TestWrongTicketThenRight: strangers with every kind of wrong first line
// are refused at once, and the client with the right ticket is still
// served, also while a silent stranger keeps a connection open.
func TestWrongTicketThenRight(t *testing.T) {
	srv := conformance.Start(t, bin, "--workers", "1", "--ticket-ttl", "3s")
	s := v3.Open(t, srv.Addr)
	g := askGoto(t, s, "requetetype2 70000")

	silent, silentR, err := s.DialWorker(g) // connects, says nothing
	if err != nil {
		t.Fatal(err)
	}
	other := wire.NewTicket()
	for _, c := range []struct{ data, code string }{
		{"HELLO " + other + "\nrequetetype2 70000\n", "bad-ticket"},
		{"HELLO " + strings.ToUpper(g.Ticket) + "\n", "bad-ticket"},
		{"HELLO " + g.Ticket[:31] + "\n", "bad-ticket"},
		{"HELLO " + g.Ticket + " extra\n", "bad-ticket"},
		{"HELLO\n", "bad-ticket"},
		{"\n", "bad-ticket"},
		{"requetetype2 70000\n", "bad-ticket"},
		{"\xff\xfe HELLO " + g.Ticket + "\n", "bad-ticket"},
		{strings.Repeat("H", 2000) + "\n", "line-too-long"},
	} {
		l := knock(t, s, g, c.data)
		if code, _, _ := strings.Cut(strings.TrimPrefix(l, "ERR "), " "); !strings.HasPrefix(l, "ERR ") || code != c.code {
			t.Errorf("first line %q: worker answered %q, want ERR %s", wire.Printable([]byte(c.data), 60), l, c.code)
		}
		if strings.Contains(l, g.Ticket) {
			t.Errorf("a refusal leaks the pending ticket: %q", l)
		}
	}
	expectOK(t, s.FollowGoto(g, "HELLO "+g.Ticket+"\nrequetetype2 70000\n", "requetetype2 70000"), "right ticket", 70000)

	// The silent stranger is cut off once the ticket lifetime is over.
	_ = silent.SetReadDeadline(time.Now().Add(conformance.IOTimeout))
	l, err := silentR.ReadString('\n')
	if err != nil || !strings.HasPrefix(l, "ERR timeout") {
		t.Errorf("a silent connection: got %q, %v; want ERR timeout", l, err)
	}
	if err := conformance.ExpectClosed(silent, silentR); err != nil {
		t.Errorf("a silent connection: %v", err)
	}
	// And the worker serves the next request.
	expectOK(t, v3.Do(s, "requetetype2 5"), "requetetype2 5", 5)
}

// TestTicketSingleUse: a ticket serves once; presented again, whether the
// worker is idle or waits for another client, it is refused, and it does
// not spoil the other client's ticket.
func TestTicketSingleUse(t *testing.T) {
	srv := conformance.Start(t, bin, "--workers", "1")
	s := v3.Open(t, srv.Addr)
	g := askGoto(t, s, "requetetype1")
	hello := "HELLO " + g.Ticket + "\nrequetetype1\n"
	if o := s.FollowGoto(g, hello, "requetetype1"); o.Err != nil || o.Code != "" {
		t.Fatalf("first use: %v", o)
	}
	if l := knock(t, s, g, hello); !strings.HasPrefix(l, "ERR bad-ticket") {
		t.Errorf("second use, worker idle: %q, want ERR bad-ticket", l)
	}
	g2 := askGoto(t, s, "requetetype1") // the only worker again, a new ticket
	if g2.Addr() != g.Addr() || g2.Ticket == g.Ticket {
		t.Fatalf("second GOTO %v after %v: want the same worker, a new ticket", g2, g)
	}
	if l := knock(t, s, g, hello); !strings.HasPrefix(l, "ERR bad-ticket") {
		t.Errorf("old ticket while a new one is pending: %q, want ERR bad-ticket", l)
	}
	if o := s.FollowGoto(g2, "HELLO "+g2.Ticket+"\nrequetetype1\n", "requetetype1"); o.Err != nil || o.Code != "" {
		t.Fatalf("the new ticket after the replay: %v", o)
	}
}

// TestTicketForOneRequest: the request line sent to the worker must be the
// one the dispatcher checked and issued the ticket for (otherwise a client
// could dodge --max-bytes); such a try uses the ticket up.
func TestTicketForOneRequest(t *testing.T) {
	srv := conformance.Start(t, bin, "--workers", "1", "--max-bytes", "5000")
	s := v3.Open(t, srv.Addr)
	g := askGoto(t, s, "requetetype2 10")
	if l := knock(t, s, g, "HELLO "+g.Ticket+"\nrequetetype2 100000\n"); !strings.HasPrefix(l, "ERR bad-request") {
		t.Errorf("another request than the ticket's: %q, want ERR bad-request", l)
	}
	if l := knock(t, s, g, "HELLO "+g.Ticket+"\nrequetetype2 10\n"); !strings.HasPrefix(l, "ERR bad-ticket") {
		t.Errorf("the ticket after a refused request: %q, want ERR bad-ticket", l)
	}
	// The same request written differently is the same request.
	g = askGoto(t, s, "requetetype2")
	o := s.FollowGoto(g, "HELLO "+g.Ticket+"\r\n  requetetype2   4096 \r\n", "requetetype2")
	expectOK(t, o, "requetetype2 as 'requetetype2   4096'", 4096)
}

// TestTicketClaim: the claim rule in process (the lab v3-ticket), one
// subtest per rule: only the pending ticket, exactly, claims; once; before
// it expires; by a visitor still in the table, which is then held; the
// claim wakes the worker up.
func TestTicketClaim(t *testing.T) {
	setup := func(t *testing.T, expires time.Time) (*desk, *visitor, *pending) {
		d := &desk{}
		a, b := net.Pipe()
		t.Cleanup(func() { a.Close(); b.Close() })
		v, _ := d.visitors.admit(a)
		p := &pending{ticket: wire.NewTicket(), expires: expires, claimed: make(chan struct{})}
		d.pending = p
		return d, v, p
	}
	hour := time.Now().Add(time.Hour)
	t.Run("OnlyItsTicket", func(t *testing.T) {
		d, v, p := setup(t, hour)
		tk := p.ticket
		for _, wrong := range []string{wire.NewTicket(), "", tk[:31], tk[:1], tk + "0", strings.ToUpper(tk), " " + tk} {
			if d.claim(wrong, v) != nil {
				t.Fatalf("the ticket %q claimed the request of ticket %q: only the pending ticket, exactly, may claim it", wrong, tk)
			}
		}
		if d.visitors.t.Held(v) || d.pending != p {
			t.Fatal("a refused claim held the visitor or took the pending request: a wrong ticket must change nothing")
		}
		if d.claim(tk, v) != p {
			t.Fatal("the right ticket did not claim the request after wrong ones")
		}
	})
	t.Run("SingleUse", func(t *testing.T) {
		d, v, p := setup(t, hour)
		if d.claim(p.ticket, v) != p {
			t.Fatal("the right ticket did not claim the request")
		}
		if d.claim(p.ticket, v) != nil {
			t.Fatal("a ticket claimed twice: a ticket is single use (clear d.pending once claimed)")
		}
	})
	t.Run("Expires", func(t *testing.T) {
		d, v, p := setup(t, time.Now().Add(-time.Millisecond))
		if d.claim(p.ticket, v) != nil {
			t.Fatal("an expired ticket claimed the request: a ticket expires (p.expires)")
		}
	})
	t.Run("HeldVisitor", func(t *testing.T) {
		d, v, p := setup(t, hour)
		gone := &visitor{Conn: v.Conn}
		if d.claim(p.ticket, gone) != nil {
			t.Fatal("a visitor no longer in the table claimed the request: claim must hold the visitor (d.visitors.hold)")
		}
		if d.pending != p {
			t.Fatal("a claim by a dropped visitor used the ticket up: it must stay pending")
		}
		if d.claim(p.ticket, v) != p || !d.visitors.t.Held(v) {
			t.Fatal("the right ticket, by a visitor in the table: the request was not claimed, or the visitor not held")
		}
	})
	t.Run("WakesTheWorker", func(t *testing.T) {
		d, v, p := setup(t, hour)
		d.claim(p.ticket, v)
		select {
		case <-p.claimed:
		default:
			t.Fatal("after a claim, p.claimed is still open: the worker waiting for its client is never woken (close(p.claimed))")
		}
	})
}

// TestClaimSource reads claim's source: what no run can see. The ticket
// is compared in constant time (subtle.ConstantTimeCompare, never ==,
// bytes.Equal or strings functions, which stop at the first differing
// byte and so tell an attacker how much of a guess is right), and d.mu
// is held, since the worker's other goroutines read d.pending too.
func TestClaimSource(t *testing.T) {
	fset := token.NewFileSet()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	var claim *ast.FuncDecl
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, decl := range file.Decls {
			if fd, ok := decl.(*ast.FuncDecl); ok && fd.Name.Name == "claim" && fd.Recv != nil {
				claim = fd
			}
		}
	}
	if claim == nil || claim.Body == nil {
		t.Fatal("no method claim in the package")
	}
	text := func(e ast.Node) string {
		var b strings.Builder
		_ = printer.Fprint(&b, fset, e)
		return b.String()
	}
	isCTC := func(e ast.Expr) bool {
		c, ok := ast.Unparen(e).(*ast.CallExpr)
		return ok && text(c.Fun) == "subtle.ConstantTimeCompare"
	}
	constantTime, locked := false, false
	var compares []string // the ticket compared otherwise than in constant time
	ast.Inspect(claim.Body, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.BinaryExpr:
			if n.Op == token.EQL || n.Op == token.NEQ {
				for _, e := range []ast.Expr{n.X, n.Y} {
					if !isCTC(e) && strings.Contains(strings.ToLower(text(e)), "ticket") {
						compares = append(compares, fmt.Sprintf("with %s (%s)", n.Op, text(n)))
					}
				}
			}
		case *ast.SwitchStmt:
			if n.Tag != nil && strings.Contains(strings.ToLower(text(n.Tag)), "ticket") {
				compares = append(compares, fmt.Sprintf("in a switch (%s)", text(n.Tag)))
			}
		case *ast.CallExpr:
			switch f := text(n.Fun); f {
			case "subtle.ConstantTimeCompare":
				constantTime = true
			case "bytes.Equal", "bytes.Compare", "strings.Compare", "strings.EqualFold", "strings.HasPrefix", "bytes.HasPrefix", "reflect.DeepEqual", "slices.Equal", "hmac.Equal":
				if strings.Contains(strings.ToLower(text(n)), "ticket") {
					compares = append(compares, "with "+f)
				}
			default:
				if strings.HasSuffix(f, "mu.Lock") {
					locked = true
				}
			}
		}
		return true
	})
	t.Run("ConstantTime", func(t *testing.T) {
		for _, c := range compares {
			t.Errorf("claim compares the ticket %s: compare in constant time, with subtle.ConstantTimeCompare", c)
		}
		if !constantTime {
			t.Error("claim does not compare the ticket with subtle.ConstantTimeCompare: a comparison that stops at the first differing byte leaks the ticket, a byte at a time, to whoever measures the refusals")
		}
	})
	t.Run("Locked", func(t *testing.T) {
		if !locked {
			t.Error("claim does not lock d.mu: d.pending is shared with the worker's other goroutines (two clients at once could both claim)")
		}
	})
}
