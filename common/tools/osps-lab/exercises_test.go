// exercises_test.go keeps docs/exercises.md and the runner's list
// together, and runs the exercises that fit in `./run.sh test` (CI runs
// them all: `./run.sh exercises`).

package main

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"osps/common/tools/freeport"
)

func TestExercisesMatchThePage(t *testing.T) {
	src, err := os.ReadFile(filepath.Join(root, "docs", "exercises.md"))
	if err != nil {
		t.Fatal(err)
	}
	secs := ParseExercises(src)
	if len(secs) < 12 {
		t.Errorf("the page has %d exercises, want at least 12", len(secs))
	}
	listed := map[int]bool{}
	for _, e := range Exercises {
		listed[e.N] = true
		sec, ok := secs[e.N]
		if !ok {
			t.Errorf("exercise %d (%q) is not a section of docs/exercises.md", e.N, e.Title)
			continue
		}
		if sec.Title != e.Title {
			t.Errorf("exercise %d: the page says %q, the runner %q", e.N, sec.Title, e.Title)
		}
		if len(e.Steps) == 0 {
			t.Errorf("exercise %d: no step", e.N)
		}
		for i, st := range e.Steps {
			if len(st.Blocks) == 0 || len(st.Want) == 0 {
				t.Errorf("exercise %d step %d: want blocks to run and outcomes to check", e.N, i+1)
			}
			for _, b := range st.Blocks {
				if b >= len(sec.Blocks) {
					t.Errorf("exercise %d step %d: block %d, but the section has %d sh blocks", e.N, i+1, b, len(sec.Blocks))
				}
			}
			if st.Patch != "" {
				if _, err := os.Stat(filepath.Join(root, "docs", "exercises", st.Patch)); err != nil && IsHandout(root) {
					t.Logf("exercise %d: docs/exercises/%s is not in the students' copy (it quotes a lab's reference code)", e.N, st.Patch)
					continue
				}
				cmd := exec.Command("git", "apply", "--check", filepath.Join("docs", "exercises", st.Patch))
				cmd.Dir = root
				if out, err := cmd.CombinedOutput(); err != nil {
					t.Errorf("exercise %d: docs/exercises/%s no longer applies to the code: %v\n%s", e.N, st.Patch, err, out)
				}
				if !bytes.Contains(src, []byte("docs/exercises/"+st.Patch)) {
					t.Errorf("exercise %d: the page does not name docs/exercises/%s", e.N, st.Patch)
				}
			}
		}
	}
	for n, sec := range secs {
		if !listed[n] {
			t.Errorf("section %d (%q) of docs/exercises.md is not in the runner's list: add it to Exercises in common/tools/osps-lab/exercises.go", n, sec.Title)
		}
	}
}

func TestParseExercises(t *testing.T) {
	page := "# Exercises\n\n## 1. One\n\n```sh\necho a\n```\n\n- a list:\n\n  ```sh\n  echo b\n  ```\n\n```\nnot sh\n```\n\n## Notes\n\n```sh\necho no\n```\n"
	secs := ParseExercises([]byte(page))
	if len(secs) != 1 || secs[1].Title != "One" || len(secs[1].Blocks) != 2 || secs[1].Blocks[1] != "echo b\n" {
		t.Errorf("ParseExercises = %+v", secs)
	}
}

// TestExercisesRun runs two exercises that need no extra tool, take a
// second or two and load the machine little (the others hammer pipes and
// sockets for seconds, which would slow down the timing-sensitive fault
// checks that run beside them); OSPS_EXERCISES=all runs every one, and
// CI runs them all with ./run.sh exercises.
func TestExercisesRun(t *testing.T) {
	if IsHandout(root) {
		t.Skip("the students' copy: the exercises need the labs written")
	}
	quick := []string{"3", "4"}
	if os.Getenv("OSPS_EXERCISES") == "all" {
		quick = nil
		for _, e := range Exercises {
			quick = append(quick, strconv.Itoa(e.N))
		}
	}
	var out bytes.Buffer
	if code := runExercises(context.Background(), root, quick, &out); code != 0 {
		t.Errorf("exercises %v: exit %d\n%s", quick, code, out.String())
	}
	if !strings.Contains(out.String(), " 0 failed") {
		t.Errorf("no summary line:\n%s", out.String())
	}
}

// The exercises keep the user's PORT: they run on it when it is free,
// refuse it (never replace it) when it is taken, pick free ports without it.
func TestExercisePortsKeepPORT(t *testing.T) {
	base, err := freeport.Find(5)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := exercisePorts(strconv.Itoa(base)); err != nil || got != base {
		t.Errorf("exercisePorts(%d) = %d, %v; want %d", base, got, err, base)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(base+2))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if got, err := exercisePorts(strconv.Itoa(base)); err == nil {
		t.Errorf("exercisePorts(%d) with %d taken = %d; want an error", base, base+2, got)
	}
	if _, err := exercisePorts("x"); err == nil {
		t.Error(`exercisePorts("x"): want an error`)
	}
	if got, err := exercisePorts(""); err != nil || got == 0 {
		t.Errorf(`exercisePorts("") = %d, %v; want free ports`, got, err)
	}
}

// --help prints the usage on stdout (0); a word that is not a number is
// a usage error on stderr (2).
func TestExercisesHelp(t *testing.T) {
	var out, errb strings.Builder
	if code := run([]string{"exercises", "--help"}, &out, &errb); code != 0 || errb.Len() > 0 || !strings.Contains(out.String(), "exercises [N ...]") {
		t.Errorf("exercises --help: exit %d, stdout %q, stderr %q", code, out.String(), errb.String())
	}
	for _, sub := range []string{"handout", "start", "check", "list"} {
		out.Reset()
		errb.Reset()
		if code := run([]string{sub, "--help"}, &out, &errb); code != 0 || errb.Len() > 0 || !strings.Contains(out.String(), "handout OUT") {
			t.Errorf("%s --help: exit %d, stdout %q, stderr %q", sub, code, out.String(), errb.String())
		}
		out.Reset()
		errb.Reset()
		if code := run([]string{sub, "--bogus"}, &out, &errb); code != 2 || out.Len() > 0 || !strings.Contains(errb.String(), "unknown option") {
			t.Errorf("%s --bogus: exit %d, stdout %q, stderr %q", sub, code, out.String(), errb.String())
		}
	}
	out.Reset()
	errb.Reset()
	if code := run([]string{"exercises", "--bogus"}, &out, &errb); code != 2 || out.Len() > 0 || !strings.Contains(errb.String(), "not an exercise number") {
		t.Errorf("exercises --bogus: exit %d, stdout %q, stderr %q", code, out.String(), errb.String())
	}
}
