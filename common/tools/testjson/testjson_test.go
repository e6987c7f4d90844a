// testjson_test.go checks the reader on a known stream of go test -json
// events: each test's output filed under it, the rest under the package;
// and the message FirstMessage pulls out of a test's lines.

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

// FirstMessage takes the first message, with what follows one that ends
// with ':', else the first line that is not go test's own, else def.
func TestFirstMessage(t *testing.T) {
	for _, c := range []struct {
		lines []string
		want  string
	}{
		{[]string{"=== RUN   TestA", "    a_test.go:9: want 1, got 2", "    a_test.go:10: second"}, "want 1, got 2"},
		{[]string{"    a_test.go:9: serve exited, its stderr:", "        listen: in use", "        exit status 1", "    a_test.go:12: later"}, "serve exited, its stderr: exit status 1"},
		{[]string{"=== RUN   TestA", "--- FAIL: TestA (0.00s)", "panic: boom [recovered]", "goroutine 7 [running]:"}, "panic: boom [recovered]"},
		{[]string{"=== RUN   TestA", "--- FAIL: TestA (0.00s)", "FAIL"}, "def"},
	} {
		if got := FirstMessage(c.lines, "def"); got != c.want {
			t.Errorf("FirstMessage(%q) = %q, want %q", c.lines, got, c.want)
		}
	}
}
