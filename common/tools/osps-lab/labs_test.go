// labs_test.go keeps every lab true: its markers are in the real code
// once, its stub builds, and (with OSPS_LAB_FULL=1, as CI runs it) `lab
// check` fails the stub and every wrong solution of the catalogue
// (testdata/mistakes/), by the rule it breaks, and passes the reference.

package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"go/format"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"osps/common/tools/conformance"
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
		// An import the stub adds and the reference does not use would be
		// the placeholder's only: a solution written from the hints, the
		// placeholder deleted, would not build ("imported and not used").
		if r, err := Locate(root, l); err == nil {
			ref, _ := os.ReadFile(filepath.Join(root, r.File))
			for _, imp := range l.Imports {
				if !bytes.Contains(ref, []byte(fmt.Sprintf("\t%q\n", imp))) {
					t.Errorf("lab %s: the stub imports %q, which %s does not: only its placeholder would use it", l.Name, imp, r.File)
				}
			}
			// The students' copy must pass ./run.sh test's gofmt as it is.
			if stubbed, err := Stubbed(ref, r, l); err != nil {
				t.Error(err)
			} else if formatted, err := format.Source(stubbed); err != nil {
				t.Errorf("lab %s: %s with the stub in place does not parse: %v", l.Name, r.File, err)
			} else if !bytes.Equal(formatted, stubbed) {
				t.Errorf("lab %s: %s with the stub in place is not gofmt-formatted: mind the blank lines around the region", l.Name, r.File)
			}
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

// Mistake is one wrong solution of the catalogue (testdata/mistakes/LAB/NAME.txt):
// a region that replaces the lab's, the rule it breaks (// RULE: name)
// and the imports it needs besides the file's (// IMPORT: path).
type Mistake struct {
	Lab, Name, Rule string
	Imports         []string
	Region          string
}

// loadMistakes reads the catalogue.
func loadMistakes(t *testing.T) []Mistake {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "mistakes", "*", "*.txt"))
	if err != nil {
		t.Fatal(err)
	}
	var ms []Mistake
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		m := Mistake{Lab: filepath.Base(filepath.Dir(f)), Name: strings.TrimSuffix(filepath.Base(f), ".txt"), Region: string(data)}
		for _, line := range strings.Split(m.Region, "\n") {
			line = strings.TrimSpace(line)
			if r, ok := strings.CutPrefix(line, "// RULE: "); ok {
				m.Rule = r
			}
			if imp, ok := strings.CutPrefix(line, "// IMPORT: "); ok {
				m.Imports = append(m.Imports, imp)
			}
		}
		ms = append(ms, m)
	}
	return ms
}

// TestCatalogue keeps the catalogue sound without running it: every
// mistake belongs to a lab, names one of its rules, and there are at
// least six per lab.
func TestCatalogue(t *testing.T) {
	if IsHandout(root) {
		t.Skip("the students' copy (HANDOUT) has no catalogue of wrong solutions")
	}
	per := map[string]int{}
	for _, m := range loadMistakes(t) {
		l, ok := Find(m.Lab)
		if !ok {
			t.Errorf("testdata/mistakes/%s: no lab %s", m.Lab, m.Lab)
			continue
		}
		if !slices.ContainsFunc(l.Rules, func(r Rule) bool { return r.Name == m.Rule }) {
			t.Errorf("mistake %s/%s: // RULE: %q is not a rule of the lab", m.Lab, m.Name, m.Rule)
		}
		per[m.Lab]++
	}
	for _, l := range All {
		if per[l.Name] < 6 {
			t.Errorf("lab %s: %d mistakes in testdata/mistakes/%s/, want at least 6", l.Name, per[l.Name], l.Name)
		}
		if len(l.Rules) == 0 || l.Pkg == "" {
			t.Errorf("lab %s: no rules", l.Name)
		}
	}
}

// TestLabs grades every lab as a student would, with OSPS_LAB_FULL=1
// (.ci/run): in a copy of the repository, `lab start`, then `lab check`
// on the stub (it must fail), on every mistake of the catalogue (it must
// fail, naming the rule broken: "FAIL  rule  NAME"), and on the
// reference (it must pass, rules and group). Without it, each stub is
// only built.
func TestLabs(t *testing.T) {
	if IsHandout(root) {
		t.Skip("the students' copy (HANDOUT): the regions are stubs, there is no reference to pass")
	}
	if os.Getenv("OSPS_LAB_FULL") == "" {
		for _, l := range All {
			buildStub(t, l, t.TempDir())
		}
		t.Log("the grading runs with OSPS_LAB_FULL=1 (.ci/run)")
		return
	}
	grader := filepath.Join(t.TempDir(), "osps-grade")
	if out, err := exec.Command("go", "build", "-o", grader, "../osps-grade").CombinedOutput(); err != nil {
		t.Fatalf("build the grader: %v\n%s", err, out)
	}
	tmp := t.TempDir()
	if err := copyTree(root, tmp); err != nil {
		t.Fatal(err)
	}
	check := func(l Lab) (int, string) {
		var out bytes.Buffer
		code := run([]string{"--root", tmp, "--grader", grader, "check", l.Name}, &out, &out)
		return code, out.String()
	}
	mistakes := loadMistakes(t)
	caught, total := 0, 0
	var inMistakes time.Duration // the catalogue's own time, stubs and references apart
	start := time.Now()
	for _, l := range All {
		t.Run(l.Name, func(t *testing.T) {
			var out bytes.Buffer
			if code := run([]string{"--root", tmp, "start", l.Name}, &out, &out); code != 0 {
				t.Fatalf("lab start: exit %d\n%s", code, out.String())
			}
			dir := filepath.Join(tmp, "lab", l.Name)
			r, err := Locate(root, l)
			if err != nil {
				t.Fatal(err)
			}
			ref, err := os.ReadFile(filepath.Join(root, r.File))
			if err != nil {
				t.Fatal(err)
			}
			// What the sheet (docs/lab.md) says the stub prints.
			stubRule := map[string]string{"pipe-record": "one-write", "v1-chunks": "every-chunk"}[l.Name]
			if code, out := check(l); code == 0 {
				t.Errorf("lab %s: the stub passes lab check; a lab must fail until it is written:\n%s", l.Name, out)
			} else if stubRule != "" && !strings.Contains(out, "FAIL  rule  "+stubRule+" ") {
				t.Errorf("lab %s: docs/lab.md says the stub fails by the rule %s; lab check said:\n%s", l.Name, stubRule, out)
			}
			for _, m := range mistakes {
				if m.Lab != l.Name {
					continue
				}
				total++
				src, err := Stubbed(ref, r, Lab{Name: l.Name, Stub: m.Region, Imports: m.Imports})
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(dir, r.File), src, 0o644); err != nil {
					t.Fatal(err)
				}
				began := time.Now()
				code, out := check(l)
				inMistakes += time.Since(began)
				t.Logf("%-28s %5.1fs  exit %d", l.Name+"/"+m.Name, time.Since(began).Seconds(), code)
				switch {
				case code == 0:
					t.Errorf("mistake %s/%s passes lab check (it breaks the rule %s):\n%s", l.Name, m.Name, m.Rule, out)
				case !strings.Contains(out, "FAIL  rule  "+m.Rule+" "):
					t.Errorf("mistake %s/%s fails lab check, but not by the rule it breaks (want a line \"FAIL  rule  %s\"):\n%s", l.Name, m.Name, m.Rule, out)
				default:
					caught++
				}
			}
			if err := os.WriteFile(filepath.Join(dir, r.File), ref, 0o644); err != nil {
				t.Fatal(err)
			}
			code, refOut := check(l)
			if code != 0 {
				t.Errorf("lab %s: the reference fails lab check:\n%s", l.Name, refOut)
			}
			// The counts the sheet states (TestHandoutCounts computes them
			// from the rules and the grader's catalogue) are the real ones.
			for _, want := range []string{
				fmt.Sprintf("rules: %d passed, 0 failed\n", len(l.Rules)),
				fmt.Sprintf("\n%d passed, 0 failed\n", len(conformance.Checks([]string{l.Group}, l.Variant))),
			} {
				if !strings.Contains(refOut, want) {
					t.Errorf("lab %s: the reference's lab check does not print %q:\n%s", l.Name, strings.TrimSpace(want), refOut)
				}
			}
		})
	}
	fmt.Printf("lab catalogue: %d mistakes, %d caught by lab check, naming the rule broken, in %v (with the 4 stubs and 4 references: %v)\n",
		total, caught, inMistakes.Round(time.Second), time.Since(start).Round(time.Second))
	if caught != total || total == 0 {
		t.Errorf("%d of %d mistakes caught: all must be", caught, total)
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
	if err != nil || !bytes.Contains(src, []byte("TODO(lab v1-chunks)")) || bytes.Contains(src, []byte("data := self.Slot.Data()")) {
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
