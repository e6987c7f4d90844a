// grade_test.go grades a class of five: the reference tree, two lab
// stubs (made by the labs tool, as `./run.sh lab start` makes them), a
// tree that does not build and a program that hangs; the table must give
// each its expected score, and the hanging one must cost only its row.

package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// copyRepo copies the repository's files under root to dst (not .git,
// bin, lab), keeping only the top-level entries keep if it is not nil.
func copyRepo(t *testing.T, root, dst string, keep []string) {
	t.Helper()
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		top, _, _ := strings.Cut(filepath.ToSlash(rel), "/")
		if rel != "." && (top == ".git" || top == "bin" || top == "lab" || (keep != nil && !slices.Contains(keep, top))) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatalf("copy the repository: %v", err)
	}
}

func goBuild(t *testing.T, out, pkg string) {
	t.Helper()
	cmd := exec.Command("go", "build", "-o", out, pkg)
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, b)
	}
}

func TestGradeAClass(t *testing.T) {
	t.Parallel()
	tmp := t.TempDir()
	class := filepath.Join(tmp, "class")
	if err := os.MkdirAll(class, 0o755); err != nil {
		t.Fatal(err)
	}
	// Two lab stubs, made by the labs tool from a copy of the repository.
	repo := filepath.Join(tmp, "repo")
	copyRepo(t, root, repo, nil)
	labs := filepath.Join(tmp, "osps-lab")
	goBuild(t, labs, "./common/tools/osps-lab")
	for _, lab := range []string{"pipe-record", "v1-chunks"} {
		if out, err := exec.Command(labs, "--root", repo, "start", lab).CombinedOutput(); err != nil {
			t.Fatalf("lab start %s: %v\n%s", lab, err, out)
		}
		if err := os.Rename(filepath.Join(repo, "lab", lab), filepath.Join(class, "v1-lab-"+lab)); err != nil {
			t.Fatal(err)
		}
	}
	// The reference, and a tree that does not build.
	small := []string{"go.mod", "go.sum", "common", "v1-relay"}
	copyRepo(t, root, filepath.Join(class, "v1-reference"), small)
	copyRepo(t, root, filepath.Join(class, "v1-broken"), small)
	f, err := os.OpenFile(filepath.Join(class, "v1-broken", "v1-relay", "main.go"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = f.WriteString("\nthis line does not compile\n")
	f.Close()
	// A program that hangs, its variant in a file.
	hang := filepath.Join(class, "hanging")
	if err := os.MkdirAll(hang, 0o755); err != nil {
		t.Fatal(err)
	}
	goBuild(t, filepath.Join(hang, "server"), "./common/tools/osps-grade/testdata/hangserver")
	t.Cleanup(func() { killAll(filepath.Join(hang, "server")) })
	if err := os.WriteFile(filepath.Join(hang, "variant"), []byte("v1\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	grader := filepath.Join(tmp, "osps-grade")
	goBuild(t, grader, "./common/tools/osps-grade")
	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{"grade", class, "--only", "structure,protocol", "--timeout", "60s", "--root", root, "--grader", grader}, &out, &errOut)
	t.Logf("grade:\n%s%s", out.String(), errOut.String())
	if code != 0 {
		t.Fatalf("grade: exit %d", code)
	}
	b, err := os.ReadFile(filepath.Join(class, "grades.csv"))
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil {
		t.Fatalf("grades.csv: %v\n%s", err, b)
	}
	var got [][]string
	failures := map[string]string{}
	for _, r := range rows {
		got = append(got, r[:7]) // submission, variant, structure, protocol, score, total, passed
		failures[r[0]] = r[len(r)-1]
	}
	want := [][]string{
		{"submission", "variant", "structure", "protocol", "score", "total", "passed"},
		{"hanging", "v1", "0", "0", "0", "45", "0"},
		{"v1-broken", "v1", "0", "0", "0", "45", "0"},
		{"v1-lab-pipe-record", "v1", "0", "0", "0", "45", "0"},
		{"v1-lab-v1-chunks", "v1", "15", "2.9", "17.9", "45", "4"},
		{"v1-reference", "v1", "25", "20", "45", "45", "12"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("grades.csv (-want +got):\n%s\n%s", diff, b)
	}
	for name, want := range map[string]string{
		"v1-broken":          "build: go build ./v1-relay",
		"v1-lab-pipe-record": "exited first",
		"hanging":            "Workers",
	} {
		if !strings.Contains(failures[name], want) {
			t.Errorf("%s: the failures column %q does not say %q", name, failures[name], want)
		}
	}
	if md, err := os.ReadFile(filepath.Join(class, "grades.md")); err != nil || !bytes.Contains(md, []byte("| v1-reference | v1 | 25 | 20 | 45 | 45 | 12 | 0 | 0 |  |")) {
		t.Errorf("grades.md lacks the reference's row (%v):\n%s", err, md)
	}
	if left := processesOf(filepath.Join(hang, "server")); len(left) > 0 {
		t.Errorf("the hanging program is left running: %v", left)
	}
}
