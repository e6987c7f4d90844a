// Tests of the --chaos spec: what it accepts, and what it refuses.

package proc

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseChaos(t *testing.T) {
	for _, tt := range []struct {
		spec string
		want Chaos
		err  string
	}{
		{"", Chaos{}, ""},
		{"crash=0.25", Chaos{Crash: 0.25}, ""},
		{"crash=0.1, hang=0.2,seed=7", Chaos{Crash: 0.1, Hang: 0.2, Seed: 7}, ""},
		{"hang=1", Chaos{Hang: 1}, ""},
		{"lie=0.5,seed=2", Chaos{Lie: 0.5, Seed: 2}, ""},
		{"crash=0.5,lie=0.6", Chaos{}, "must not exceed 1"},
		{"crash", Chaos{}, "not key=value"},
		{"crash=-0.1", Chaos{}, "probability"},
		{"hang=x", Chaos{}, "probability"},
		{"seed=-1", Chaos{}, "seed"},
		{"boom=1", Chaos{}, "unknown key"},
		{"crash=0.6,hang=0.6", Chaos{}, "must not exceed 1"},
	} {
		got, err := ParseChaos(tt.spec)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ParseChaos(%q) = %v, want an error with %q", tt.spec, err, tt.err)
			}
			continue
		}
		if err != nil || !cmp.Equal(tt.want, got, cmp.AllowUnexported(Chaos{})) {
			t.Errorf("ParseChaos(%q) = %+v, %v; want %+v", tt.spec, got, err, tt.want)
		}
		if got.On() != (tt.want.Crash > 0 || tt.want.Hang > 0 || tt.want.Lie > 0) {
			t.Errorf("ParseChaos(%q).On() = %v", tt.spec, got.On())
		}
	}
}
