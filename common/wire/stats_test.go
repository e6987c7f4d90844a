// stats_test.go: ParseStats reads the lines the dispatcher writes, by
// key, and refuses a line that lacks one or holds no number.

package wire

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseStats(t *testing.T) {
	got, err := ParseStats([]byte("worker=0 pid=12 state=idle served=4 restarts=1 total=9\n" +
		"worker=1 pid=13 state=busy served=0 restarts=0 total=0 extra=x\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := []Slot{
		{ID: 0, Pid: 12, State: "idle", Served: 4, Restarts: 1, Total: 9},
		{ID: 1, Pid: 13, State: "busy", Served: 0, Restarts: 0, Total: 0},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ParseStats (-want +got):\n%s", diff)
	}
	for _, bad := range []string{
		"worker=0 pid=12 state=idle served=4 restarts=1\n", // no total=
		"worker=0 pid=x state=idle served=4 restarts=1 total=9\n",
		"worker=0 pid=12 served=4 restarts=1 total=9\n", // no state=
		"",
		"garbage\n",
	} {
		if s, err := ParseStats([]byte(bad)); err == nil {
			t.Errorf("ParseStats(%q) = %v; want an error", bad, s)
		}
	}
}
