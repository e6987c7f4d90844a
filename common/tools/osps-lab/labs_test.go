// labs_test.go keeps every lab true: its markers are in the real code
// once, its stub builds, and (with OSPS_LAB_FULL=1, as CI runs it) the
// stub fails the lab's check group while the reference passes it.

package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const root = "../../.."

var variantDirs = map[string]string{"v1": "v1-relay", "v2": "v2-worker-calls-client", "v3": "v3-client-calls-worker"}

func TestMarkers(t *testing.T) {
	found, err := Names(root)
	if err != nil {
		t.Fatal(err)
	}
	var names, labs []string
	for n := range found {
		names = append(names, n)
	}
	for _, l := range All {
		labs = append(labs, l.Name)
		if _, err := Locate(root, l); err != nil {
			t.Error(err)
		}
		if variantDirs[l.Variant] == "" || l.Group == "" || l.What == "" || !strings.Contains(l.Stub, "TODO(lab "+l.Name+")") {
			t.Errorf("lab %s: want a variant, a group, a line of what to write, and a stub with TODO(lab %s)", l.Name, l.Name)
		}
	}
	slices.Sort(names)
	slices.Sort(labs)
	if diff := cmp.Diff(labs, names); diff != "" {
		t.Errorf("LAB markers in the code vs the labs of labs.go (-labs +markers):\n%s", diff)
	}
	if len(All) < 4 {
		t.Errorf("%d labs, want at least 4", len(All))
	}
}

// buildStub builds lab l's variant with the stub in place of the region
// (go build -overlay: the tree is not touched) and returns the binary.
func buildStub(t *testing.T, l Lab, dir string) string {
	t.Helper()
	r, err := Locate(root, l)
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile(filepath.Join(root, r.File))
	if err != nil {
		t.Fatal(err)
	}
	stubbed, err := Stubbed(src, r, l)
	if err != nil {
		t.Fatal(err)
	}
	stubFile := filepath.Join(dir, "stub.go")
	if err := os.WriteFile(stubFile, stubbed, 0o644); err != nil {
		t.Fatal(err)
	}
	abs, err := filepath.Abs(filepath.Join(root, r.File))
	if err != nil {
		t.Fatal(err)
	}
	overlay, _ := json.Marshal(map[string]map[string]string{"Replace": {abs: stubFile}})
	overlayFile := filepath.Join(dir, "overlay.json")
	if err := os.WriteFile(overlayFile, overlay, 0o644); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "stub-"+l.Name)
	cmd := exec.Command("go", "build", "-overlay", overlayFile, "-o", bin, "./"+variantDirs[l.Variant])
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("lab %s: the stubbed %s does not build: %v\n%s", l.Name, r.File, err, out)
	}
	return bin
}

func TestLabs(t *testing.T) {
	full := os.Getenv("OSPS_LAB_FULL") != ""
	var grader string
	if full {
		grader = filepath.Join(t.TempDir(), "osps-grade")
		if out, err := exec.Command("go", "build", "-o", grader, "../grader").CombinedOutput(); err != nil {
			t.Fatalf("build the grader: %v\n%s", err, out)
		}
	}
	for _, l := range All {
		t.Run(l.Name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			stub := buildStub(t, l, dir)
			if !full {
				return // the grading below runs with OSPS_LAB_FULL=1 (.ci/run)
			}
			out, err := exec.Command(grader, l.Variant, "--bin", stub, "--only", l.Group, "--root", root).CombinedOutput()
			if err == nil || !bytes.Contains(out, []byte("FAIL")) {
				t.Errorf("lab %s: the stub passes its group %s; a lab must fail until it is written:\n%s", l.Name, l.Group, out)
			}
			ref := filepath.Join(dir, "reference")
			cmd := exec.Command("go", "build", "-o", ref, "./"+variantDirs[l.Variant])
			cmd.Dir = root
			if b, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("build the reference: %v\n%s", err, b)
			}
			out, err = exec.Command(grader, l.Variant, "--bin", ref, "--only", l.Group, "--root", root).CombinedOutput()
			if err != nil {
				t.Errorf("lab %s: the reference fails its group %s: %v\n%s", l.Name, l.Group, err, out)
			}
		})
	}
}

// TestStartThenBuild runs `lab start` on a copy of the repository, as a
// student would, and builds the result.
func TestStartThenBuild(t *testing.T) {
	tmp := t.TempDir()
	if err := copyTree(root, tmp); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	if code := run([]string{"--root", tmp, "start", "v1-chunks"}, &out, &errOut); code != 0 {
		t.Fatalf("lab start: exit %d\n%s%s", code, out.String(), errOut.String())
	}
	src, err := os.ReadFile(filepath.Join(tmp, "lab", "v1-chunks", "v1-relay", "worker.go"))
	if err != nil || !bytes.Contains(src, []byte("TODO(lab v1-chunks)")) || bytes.Contains(src, []byte("data := c.Slot.Data()")) {
		t.Fatalf("lab/v1-chunks/v1-relay/worker.go does not hold the stub: %v", err)
	}
	cmd := exec.Command("go", "build", "-o", filepath.Join(tmp, "v1"), "./v1-relay")
	cmd.Dir = filepath.Join(tmp, "lab", "v1-chunks")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("the lab's copy does not build: %v\n%s", err, b)
	}
	if code := run([]string{"--root", tmp, "start", "v1-chunks"}, &out, &errOut); code == 0 {
		t.Error("a second lab start over a started lab: want a refusal")
	}
	if code := run([]string{"--root", tmp, "check", "nosuchlab"}, &out, &errOut); code != 2 {
		t.Errorf("lab check nosuchlab: exit %d, want 2", code)
	}
}
