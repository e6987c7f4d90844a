// testjson_test.go checks the reader on a known stream of go test -json
// events: each test's output filed under it, the rest under the package.

package testjson

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestRead(t *testing.T) {
	in := strings.Join([]string{
		`# osps/x`,
		`{"Action":"build-output","Output":"x.go:1: syntax error\n"}`,
		`{"Action":"run","Test":"TestA"}`,
		`{"Action":"output","Test":"TestA","Output":"    a_test.go:9: want 1\n"}`,
		`{"Action":"fail","Test":"TestA","Elapsed":0.5}`,
		`{"Action":"output","Output":"FAIL\n"}`,
	}, "\n")
	var l Log
	var seen []Event
	if err := l.Read(strings.NewReader(in), func(e Event) { seen = append(seen, e) }); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(Log{
		Outputs: map[string][]string{"TestA": {"    a_test.go:9: want 1"}},
		Package: []string{"# osps/x", "x.go:1: syntax error", "FAIL"},
	}, l); diff != "" {
		t.Errorf("Log (-want +got):\n%s", diff)
	}
	if len(seen) != 5 || seen[3] != (Event{Action: "fail", Test: "TestA", Elapsed: 0.5}) {
		t.Errorf("events: %+v; want the 5 JSON lines, the fail with its time", seen)
	}
}
