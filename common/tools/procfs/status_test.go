// status_test.go reads this process's own status and io files, and
// refuses a key that is not there or a value of the wrong kind.

package procfs

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

func TestStatusFields(t *testing.T) {
	pid := os.Getpid()
	if rss, err := StatusBytes(pid, "VmRSS"); err != nil || rss < 1<<20 {
		t.Errorf("StatusBytes(self, VmRSS) = %d, %v; want at least 1 MiB", rss, err)
	}
	if v, err := Field(fmt.Sprintf("/proc/%d/status", pid), "Pid"); err != nil || v != fmt.Sprint(pid) {
		t.Errorf("Field(status, Pid) = %q, %v; want %d", v, err, pid)
	}
	if _, err := StatusBytes(pid, "Pid"); err == nil {
		t.Error("StatusBytes(self, Pid): want an error (not a size in kB)")
	}
	if _, err := StatusBytes(pid, "NoSuchKey"); err == nil {
		t.Error("StatusBytes(self, NoSuchKey): want an error")
	}
	if _, err := Count(fmt.Sprintf("/proc/%d/status", pid), "State"); err == nil {
		t.Error("Count(status, State): want an error (not a number)")
	}
	// A key is a whole key: "Vm" is no line of its own.
	if _, err := Field(fmt.Sprintf("/proc/%d/status", pid), "Vm"); err == nil {
		t.Error("Field(status, Vm): want an error")
	}
	f := filepath.Join(t.TempDir(), "io")
	if err := os.WriteFile(f, []byte("rchar: 10\nsyscr: 7\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if n, err := Count(f, "syscr"); err != nil || n != 7 {
		t.Errorf("Count(io, syscr) = %d, %v; want 7", n, err)
	}
}
