// summary_test.go checks that the bench reads back exactly what the
// load generator printed, and refuses a summary it cannot read.

package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"osps/common/client"
)

func TestSummaryRoundTrip(t *testing.T) {
	s := &client.Summary{Clients: 4, Requests: 1000, OK: 997, Errors: 3, Bytes: 65536 * 997,
		ByCode: map[string]int64{"busy": 2, client.ErrBroken: 1}, Elapsed: 2500 * time.Millisecond,
		P50: 123400 * time.Nanosecond, P90: 234500 * time.Nanosecond, P99: 3456700 * time.Nanosecond, Max: 45678900 * time.Nanosecond}
	var b bytes.Buffer
	s.Print(&b)
	got, err := ParseSummary(strings.NewReader("noise before\n" + b.String()))
	if err != nil {
		t.Fatalf("ParseSummary: %v\n%s", err, b.String())
	}
	if diff := cmp.Diff(s, got); diff != "" {
		t.Errorf("summary after Print and ParseSummary (-want +got):\n%s\n%s", diff, b.String())
	}
	if !strings.Contains(b.String(), "rps=398.800 ") {
		t.Errorf("rps of 997 in 2.5s not printed as 398.800:\n%s", b.String())
	}
	for _, bad := range []string{"", "load: nothing\n", "summary clients=x\n", "summary clients=1 requests=1\n", "summary junk\n"} {
		if _, err := ParseSummary(strings.NewReader(bad)); err == nil {
			t.Errorf("ParseSummary(%q) accepted it", bad)
		}
	}
}
