// ticket_test.go checks tickets: 32 lowercase hex digits, never the same
// twice, and the HELLO line that carries one.

package wire_test

import (
	"strings"
	"testing"

	"osps/common/wire"
)

func TestNewTicket(t *testing.T) {
	const n = 10000
	seen := make(map[string]bool, n)
	var ones [wire.TicketLen]int // how often each hex digit position is odd
	for range n {
		tk := wire.NewTicket()
		if len(tk) != wire.TicketLen || strings.Trim(tk, "0123456789abcdef") != "" {
			t.Fatalf("NewTicket() = %q, want 32 lowercase hex digits", tk)
		}
		if !wire.ValidTicket(tk) {
			t.Fatalf("ValidTicket(NewTicket() = %q) = false", tk)
		}
		if seen[tk] {
			t.Fatalf("NewTicket() gave %q twice in %d tickets", tk, len(seen))
		}
		seen[tk] = true
		for i := range tk {
			if strings.IndexByte("13579bdf", tk[i]) >= 0 {
				ones[i]++
			}
		}
	}
	// Not a randomness test, only a guard against a constant or a counter:
	// every position varies (a fair bit is odd in 5000 +- 50 of 10000; a
	// bound of 4000..6000 fails by chance with probability far below 1e-80).
	for i, c := range ones {
		if c < 4000 || c > 6000 {
			t.Errorf("hex digit %d of the tickets is odd %d times in %d: not random", i, c, n)
		}
	}
}

func TestValidTicket(t *testing.T) {
	good := "0123456789abcdef0123456789abcdef"
	for _, s := range []string{good, strings.Repeat("0", 32), strings.Repeat("f", 32)} {
		if !wire.ValidTicket(s) {
			t.Errorf("ValidTicket(%q) = false", s)
		}
	}
	for _, s := range []string{
		"", good[:31], good + "0", strings.ToUpper(good), "g" + good[1:],
		" " + good[1:], good[:31] + "\x00", good[:30] + "é",
	} {
		if wire.ValidTicket(s) {
			t.Errorf("ValidTicket(%q) = true", s)
		}
	}
}

func TestParseHello(t *testing.T) {
	tk := wire.NewTicket()
	for _, line := range []string{"HELLO " + tk, "HELLO   " + tk + "  ", "  HELLO " + tk} {
		got, err := wire.ParseHello([]byte(line))
		if err != nil || got != tk {
			t.Errorf("ParseHello(%q) = %q, %v; want %q", line, got, err, tk)
		}
	}
	for _, line := range []string{
		"", "HELLO", "HELLO " + tk + " x", "hello " + tk, "HELLO " + strings.ToUpper(tk),
		"HELLO " + tk[1:], "HELLO\t" + tk, "requetetype1", "HELLO \x00\xff",
	} {
		got, err := wire.ParseHello([]byte(line))
		e := wire.AsError(err)
		if e == nil || e.Code != wire.CodeBadTicket || got != "" {
			t.Errorf("ParseHello(%q) = %q, %v; want ERR bad-ticket", line, got, err)
			continue
		}
		if !isPrintable(e.Error()) {
			t.Errorf("ParseHello(%q): error %q is not printable", line, e.Error())
		}
	}
}

// TestCheckHello: only HELLO with the expected secret passes; a
// malformed line and another secret are both bad-ticket.
func TestCheckHello(t *testing.T) {
	const want = "0123456789abcdef0123456789abcdef"
	for _, tt := range []struct {
		line string
		ok   bool
	}{
		{"HELLO " + want, true},
		{"HELLO  " + want, true},
		{"HELLO 0123456789abcdef0123456789abcdee", false},
		{"HELLO " + want[:31], false},
		{"HELLO " + want + " x", false},
		{"hello " + want, false},
		{"", false},
	} {
		err := wire.CheckHello([]byte(tt.line), want)
		if (err == nil) != tt.ok {
			t.Errorf("CheckHello(%q) = %v, want ok=%v", tt.line, err, tt.ok)
		}
		if err != nil {
			if e := wire.AsError(err); e == nil || e.Code != wire.CodeBadTicket {
				t.Errorf("CheckHello(%q) = %v, want a bad-ticket error", tt.line, err)
			}
		}
	}
}
