// duration_test.go checks that a duration flag that must be positive
// refuses zero, negative and malformed values on the command line.

package cli

import (
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

func TestPositiveDuration(t *testing.T) {
	for _, tt := range []struct {
		arg  string
		want time.Duration
		err  string
	}{
		{"5s", 5 * time.Second, ""},
		{"1ns", time.Nanosecond, ""},
		{"1h30m", 90 * time.Minute, ""},
		{"0", 0, "must be positive"},
		{"0s", 0, "must be positive"},
		{"-1s", 0, "must be positive"},
		{"5", 0, "missing unit"},
		{"soon", 0, "invalid duration"},
		{"", 0, "invalid duration"},
	} {
		d := 2 * time.Second
		fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
		fs.SetOutput(new(strings.Builder))
		fs.Var((*PositiveDuration)(&d), "ticket-ttl", "how long a ticket lives")
		err := fs.Parse([]string{"--ticket-ttl=" + tt.arg})
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("--ticket-ttl=%s: err %v, want %q", tt.arg, err, tt.err)
			}
			if d != 2*time.Second {
				t.Errorf("--ticket-ttl=%s: refused, yet the value became %v", tt.arg, d)
			}
			continue
		}
		if err != nil || d != tt.want {
			t.Errorf("--ticket-ttl=%s: %v, %v; want %v", tt.arg, d, err, tt.want)
		}
	}
	d := 5 * time.Second
	fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	fs.Var((*PositiveDuration)(&d), "ticket-ttl", "how long a ticket lives")
	if u := fs.FlagUsages(); !strings.Contains(u, "--ticket-ttl duration") || !strings.Contains(u, "(default 5s)") {
		t.Errorf("usage %q, want the type word and the default", u)
	}
}
