// handout_test.go exports the students' copy (`./run.sh handout`) to a
// temporary folder and checks it as a teacher would before handing it
// out: one commit, no line of a reference region anywhere in it, no
// docs/answers.md, it builds and vets, its guide is consistent, and a
// lab starts and is checked in it (failing by its rules, as a stub must;
// these last with OSPS_LAB_FULL=1, as .ci/run runs it).

package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestHandout(t *testing.T) {
	if IsHandout(root) {
		t.Skip("already the students' copy")
	}
	out := filepath.Join(t.TempDir(), "osps")
	var log bytes.Buffer
	if err := Handout(root, out, &log); err != nil {
		t.Fatalf("handout: %v\n%s", err, log.String())
	}
	t.Log(strings.TrimSpace(log.String()))
	if err := Handout(root, out, &log); err == nil {
		t.Error("a second handout into the same folder: want a refusal")
	}
	if err := Handout(root, filepath.Join(root, "students"), &log); err == nil {
		t.Error("a handout inside the repository: want a refusal")
		os.RemoveAll(filepath.Join(root, "students"))
	}

	files, err := repoFiles(root)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := referenceLines(root, files)
	if err != nil {
		t.Fatal(err)
	}
	if len(ref) < 15 {
		t.Fatalf("only %d reference lines found: the regions are not read", len(ref))
	}
	// Every file of the copy, the git objects included (one commit: the
	// history is the tree).
	checked := 0
	err = filepath.WalkDir(out, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(out, p)
		if found := leaks(data, ref); len(found) > 0 {
			t.Errorf("%s holds reference code: %s", rel, strings.Join(found, ", "))
		}
		checked++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	git := func(args ...string) string {
		cmd := exec.Command("git", args...)
		cmd.Dir = out
		b, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, b)
		}
		return string(b)
	}
	if n := strings.TrimSpace(git("rev-list", "--all", "--count")); n != "1" {
		t.Errorf("the copy's history has %s commits, want 1", n)
	}
	if found := leaks([]byte(git("log", "-p", "--all")), ref); len(found) > 0 {
		t.Errorf("the copy's history holds reference code: %s", strings.Join(found, ", "))
	}
	if _, err := os.Stat(filepath.Join(out, "docs", "answers.md")); err == nil {
		t.Error("docs/answers.md is in the students' copy")
	}
	t.Logf("%d files checked, %d reference lines looked for", checked, len(ref))
	for line := range ref { // the search is not blind: it finds a line in a file and in a patch
		if len(leaks([]byte("x\n\t"+line+"\n"), ref)) != 1 || len(leaks([]byte("-\t"+line+"\n"), ref)) != 1 {
			t.Errorf("leaks does not find the reference line %q", line)
		}
		break
	}

	if os.Getenv("OSPS_LAB_FULL") == "" {
		t.Log("building, vetting and running a lab in the copy run with OSPS_LAB_FULL=1 (.ci/run)")
		return
	}

	// ./run.sh test passes in the copy, as a student runs it: gofmt, vet,
	// staticcheck, every test compiled, the tests that need no lab run
	// (run.sh's handout_tests), the guide and the labs' own tests among them.
	cmd := exec.Command("bash", "./run.sh", "test")
	cmd.Dir = out
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("./run.sh test in the students' copy: %v\n%s", err, b)
	} else if !bytes.Contains(b, []byte("the labs: stubs here")) {
		t.Errorf("./run.sh test in the students' copy did not run as the copy's test (handout_tests):\n%s", b)
	}
	grader := filepath.Join(t.TempDir(), "osps-grade")
	cmd = exec.Command("go", "build", "-o", grader, "./common/tools/osps-grade")
	cmd.Dir = out
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build the grader in the copy: %v\n%s", err, b)
	}
	var o bytes.Buffer
	if code := run([]string{"--root", out, "start", "v3-ticket"}, &o, &o); code != 0 {
		t.Fatalf("lab start v3-ticket in the copy: exit %d\n%s", code, o.String())
	}
	o.Reset()
	code := run([]string{"--root", out, "--grader", grader, "check", "v3-ticket"}, &o, &o)
	if code == 0 || !strings.Contains(o.String(), "FAIL  rule  single-use ") {
		t.Errorf("lab check v3-ticket on the copy's stub: exit %d; want a failure by its rules:\n%s", code, o.String())
	}
}
