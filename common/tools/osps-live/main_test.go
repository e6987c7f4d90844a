// The tests' set-up: the three variants and osps-live built once, and,
// after the tests, a check that nothing is left: no child process, no
// segment made by a dispatcher these tests started.

package main

import (
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"osps/common/shm"
	"osps/common/tools/procfs"
)

var binDir string // the variants' binaries and osps-live's own, built by TestMain

// started records the dispatchers the tests started, to check their segments are gone.
var started []int

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "osps-live-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	binDir = dir
	root, err := filepath.Abs("../../..")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	for _, d := range append(slices.Collect(maps.Values(variantDirs)), "common/tools/osps-live") {
		cmd := exec.Command("go", "build", "-o", filepath.Join(dir, filepath.Base(d)), "./"+d)
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "build %s: %v\n%s", d, err, out)
			return 1
		}
	}
	code := m.Run()
	var left []string
	for _, p := range procfs.Children(os.Getpid()) {
		left = append(left, fmt.Sprintf("process %d (state %s)", p.Pid, p.State))
	}
	for _, pid := range started {
		ids, err := shm.CreatedBy(pid)
		if err != nil {
			left = append(left, err.Error())
		}
		for _, id := range ids {
			left = append(left, fmt.Sprintf("segment %d of dispatcher %d", id, pid))
		}
	}
	if len(left) > 0 {
		fmt.Fprintf(os.Stderr, "live tests left: %s\n", strings.Join(left, ", "))
		return 1
	}
	return code
}

// serve starts a variant's dispatcher for one test and stops it at the end.
func serve(t *testing.T, variant string, args ...string) *target {
	t.Helper()
	tg, err := startOrAttach(binDir, variant, 0, io.Discard, args...)
	if err != nil {
		t.Fatal(err)
	}
	started = append(started, tg.Pid)
	t.Cleanup(func() {
		if err := tg.Close(); err != nil {
			t.Errorf("stop the dispatcher: %v", err)
		}
	})
	return tg
}

// runTool runs the instrument as the command line would, and returns
// its stdout.
func runTool(t *testing.T, args ...string) string {
	t.Helper()
	var out, errb strings.Builder
	if code := run(append(args[:1:1], append([]string{"--bin", binDir}, args[1:]...)...), &out, &errb); code != 0 {
		t.Fatalf("osps-live %s: exit %d, stderr:\n%s", strings.Join(args, " "), code, errb.String())
	}
	return out.String()
}
