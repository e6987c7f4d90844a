// python_test.go runs the commands of docs/python.md, the page for a
// student who does the lab in Python, and checks what the page says of
// them: the grader passes every check of every group on the Python v1 of
// testdata/python (processes, a segment, pipes); it passes the protocol
// group on the one-process Python server of the same folder, which fails
// the structure group; and buffered.py
// shows a record stuck in a buffered writer.

package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"osps/common/tools/conformance"
)

const (
	repoRoot  = "../../.."
	pythonDir = "common/tools/osps-grade/testdata/python"
	pageFile  = "docs/python.md"
)

// needPython skips when python3 is not installed here; CI installs it.
func needPython(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 is not installed: the programs of " + pythonDir + " cannot run here (CI installs it in .ci/run)")
	}
}

// GroupCount is how many checks of one group a report shows per status.
type GroupCount struct{ Pass, Fail, Skip int }

var (
	summaryRE  = regexp.MustCompile(`(?m)^(\d+) passed, (\d+) failed`)
	gradedAsRE = regexp.MustCompile(`(?m)^grading .* as (v\d)$`)
)

// readReport counts the pass/FAIL/skip lines of a grader report by
// group, and reads its summary line.
func readReport(out string) (map[string]GroupCount, Summary, error) {
	groups := map[string]GroupCount{}
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 3 {
			continue
		}
		c := groups[f[1]]
		switch f[0] {
		case "pass":
			c.Pass++
		case "FAIL":
			c.Fail++
		case "skip":
			c.Skip++
		default:
			continue
		}
		groups[f[1]] = c
	}
	m := summaryRE.FindStringSubmatch(out)
	if m == nil {
		return groups, Summary{}, errors.New("no summary line (N passed, M failed)")
	}
	p, _ := strconv.Atoi(m[1])
	f, _ := strconv.Atoi(m[2])
	return groups, Summary{Passed: p, Failed: f}, nil
}

// allPassed says why a report is not "every check of groups passed"
// (of those that apply to the variant graded): a failure, a skip, a check missing, a group that ran and was not asked for.
func allPassed(out string, groups []string) error {
	got, sum, err := readReport(out)
	if err != nil {
		return err
	}
	variant := ""
	if m := gradedAsRE.FindStringSubmatch(out); m != nil {
		variant = m[1]
	}
	want := map[string]GroupCount{}
	total := 0
	for _, g := range groups {
		n := len(conformance.Checks([]string{g}, variant))
		want[g] = GroupCount{Pass: n}
		total += n
	}
	if diff := cmp.Diff(want, got); diff != "" {
		return fmt.Errorf("checks per group (-want +got):\n%s", diff)
	}
	if sum != (Summary{Passed: total}) {
		return fmt.Errorf("summary %+v, want %d passed, 0 failed", sum, total)
	}
	return nil
}

func groupNames() []string {
	var gs []string
	for _, g := range conformance.Groups {
		gs = append(gs, g.Name)
	}
	return gs
}

// pageExpect holds every command docs/python.md shows, and what its
// output must be. The page shows no other command (TestPythonPage).
var pageExpect = map[string]func(out string, code int) error{
	"./run.sh check v1 --bin " + pythonDir + "/v1.py": func(out string, code int) error {
		if code != 0 {
			return fmt.Errorf("exit %d, want 0", code)
		}
		return allPassed(out, groupNames())
	},
	"./run.sh check v1 --bin " + pythonDir + "/oneproc.py --only protocol": func(out string, code int) error {
		if code != 0 {
			return fmt.Errorf("exit %d, want 0", code)
		}
		return allPassed(out, []string{"protocol"})
	},
	"python3 " + pythonDir + "/buffered.py": func(out string, code int) error {
		want := "fdopen        nothing within 1 s: the bytes sat in the writer's buffer\n" +
			"fdopen+flush  arrived: b'pong 42\\n'\n" +
			"os.write      arrived: b'pong 42\\n'\n"
		if code != 0 || out != want {
			return fmt.Errorf("exit %d, output (-want +got):\n%s", code, cmp.Diff(want, out))
		}
		return nil
	},
}

// pageCommands returns the lines of the sh blocks of docs/python.md.
func pageCommands(t *testing.T) []string {
	t.Helper()
	src, err := os.ReadFile(filepath.Join(repoRoot, pageFile))
	if err != nil {
		t.Fatal(err)
	}
	var cmds []string
	in := false
	for _, l := range strings.Split(string(src), "\n") {
		switch {
		case strings.HasPrefix(l, "```"):
			in = !in && strings.TrimSpace(strings.TrimPrefix(l, "```")) == "sh"
		case in && strings.TrimSpace(l) != "" && !strings.HasPrefix(strings.TrimSpace(l), "#"):
			cmds = append(cmds, strings.TrimSpace(l))
		}
	}
	return cmds
}

// shell runs cmd with bash in the repository's root, as a reader of the
// page would, and kills its whole process group if it outlives d, or
// comes within 30 s of the test binary's own deadline (-timeout), which
// would end the test with no clean-up.
func shell(t *testing.T, cmd string, d time.Duration) (string, int) {
	t.Helper()
	if end, ok := t.Deadline(); ok {
		d = min(d, time.Until(end)-30*time.Second)
	}
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	c := exec.CommandContext(ctx, "bash", "-c", cmd)
	c.Dir = repoRoot
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	c.Cancel = func() error { return syscall.Kill(-c.Process.Pid, syscall.SIGKILL) }
	c.WaitDelay = 10 * time.Second
	var out bytes.Buffer
	c.Stdout = &out
	c.Stderr = &out
	err := c.Run()
	if ctx.Err() != nil {
		t.Fatalf("%s: still running after %v: killed\n%s", cmd, d, out.String())
	}
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("%s: %v", cmd, err)
	}
	return out.String(), c.ProcessState.ExitCode()
}

// TestPythonPage runs every command of docs/python.md as written.
func TestPythonPage(t *testing.T) {
	needPython(t)
	if testing.Short() {
		t.Skip("-short: the grader's whole run on the Python v1 takes about a minute")
	}
	cmds := pageCommands(t)
	var known []string
	for c := range pageExpect {
		known = append(known, c)
	}
	slices.Sort(known)
	shown := slices.Clone(cmds)
	slices.Sort(shown)
	if diff := cmp.Diff(known, shown); diff != "" {
		t.Fatalf("the commands %s shows and the commands this test runs differ (-run here +shown):\n%s", pageFile, diff)
	}
	for _, c := range cmds {
		out, code := shell(t, c, 10*time.Minute)
		if err := pageExpect[c](out, code); err != nil {
			t.Errorf("%s: %v\n%s", c, err, out)
		}
	}
}

// TestPythonStructure: the grader tells the two Python servers apart by
// their processes. The one-process server fails the structure group,
// the v1 with its workers passes it.
func TestPythonStructure(t *testing.T) {
	needPython(t)
	if !slices.Contains(groupNames(), "structure") {
		t.Skip("the catalogue has no structure group: nothing tells the two servers apart yet")
	}
	for _, tc := range []struct {
		prog string
		pass bool
	}{{"oneproc.py", false}, {"v1.py", true}} {
		var out, errOut bytes.Buffer
		bin := filepath.Join(repoRoot, pythonDir, tc.prog)
		code := run(context.Background(), []string{"v1", "--bin", bin, "--only", "structure", "--root", repoRoot}, &out, &errOut)
		err := allPassed(out.String(), []string{"structure"})
		switch {
		case tc.pass && (code != 0 || err != nil):
			t.Errorf("%s: exit %d, %v; want every structure check passed\n%s%s", tc.prog, code, err, out.String(), errOut.String())
		case !tc.pass:
			groups, _, _ := readReport(out.String())
			if code != 1 || groups["structure"].Fail == 0 {
				t.Errorf("%s: exit %d, structure %+v; want a structure check failed\n%s%s", tc.prog, code, groups["structure"], out.String(), errOut.String())
			}
		}
	}
}

// TestAllPassed shows that allPassed rejects the reports it must: a
// failure, a check that did not run, a skip, a group not asked for.
func TestAllPassed(t *testing.T) {
	var lines []string
	for name, e := range conformance.Catalog {
		if e.Group == "protocol" && conformance.Applies(name, "v1") {
			lines = append(lines, fmt.Sprintf("pass  %-9s %-24s %6.2fs", e.Group, name, 0.1))
		}
	}
	slices.Sort(lines)
	n := len(lines)
	good := "grading x as v1\n" + strings.Join(lines, "\n") + fmt.Sprintf("\n%d passed, 0 failed\n", n)
	if err := allPassed(good, []string{"protocol"}); err != nil {
		t.Fatalf("a complete report: %v\n%s", err, good)
	}
	failed := strings.Replace(good, "pass  protocol", "FAIL  protocol", 1)
	failed = strings.Replace(failed, fmt.Sprintf("%d passed, 0 failed", n), fmt.Sprintf("%d passed, 1 failed", n-1), 1)
	skipped := strings.Replace(good, "pass  protocol", "skip  protocol", 1)
	missing := strings.Replace(good, lines[0]+"\n", "", 1)
	extra := strings.Replace(good, "grading x as v1\n", "grading x as v1\npass  large     Type2Sizes                 0.40s\n", 1)
	for name, bad := range map[string]string{"a failure": failed, "a skip": skipped, "a check missing": missing, "a group not asked for": extra, "no summary": lines[0]} {
		if err := allPassed(bad, []string{"protocol"}); err == nil {
			t.Errorf("%s: allPassed accepted\n%s", name, bad)
		}
	}
}
