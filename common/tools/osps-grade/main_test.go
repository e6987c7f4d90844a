// main_test.go checks the grader's halves: the report it prints from
// test2json events, and whole runs against programs that are not ours
// (testdata/fakeserver, written from docs/protocol.md alone, right, broken
// or failing to start; testdata/hangserver, which stalls whoever runs
// it), and against the variants themselves: the structure group accepts
// them and rejects a one-process server with one clear line.

package main

import (
	"bytes"
	"context"
	"encoding/json"
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

	"osps/common/shm"
	"osps/common/tools/conformance"
	"osps/common/tools/procfs"
)

const root = "../../.."

func TestReport(t *testing.T) {
	events := `{"Action":"run","Test":"TestConformance"}
{"Action":"output","Test":"TestConformance/Errors","Output":"    checks.go:160: \"requetetype3\": got \"OK 5\", want ERR unknown-type\n"}
{"Action":"output","Test":"TestConformance/Errors","Output":"    checks.go:160: a second failure\n"}
{"Action":"fail","Test":"TestConformance/Errors","Elapsed":0.25}
{"Action":"pass","Test":"TestConformance/Type1Shape","Elapsed":0.01}
{"Action":"pass","Test":"TestConformance/SomethingNew","Elapsed":1}
{"Action":"output","Test":"TestConformance/Stats","Output":"    suite_test.go:40: skipped: serve has no worker processes\n"}
{"Action":"skip","Test":"TestConformance/Stats","Elapsed":0}
{"Action":"output","Test":"TestConformance/Busy","Output":"=== RUN   TestConformance/Busy\n"}
{"Action":"fail","Test":"TestConformance","Elapsed":1.5}
{"Action":"output","Test":"TestFaults","Output":"    harness.go:99: serve [serve --port 0]: want a line; it exited first, its stderr ending with:\n"}
{"Action":"output","Test":"TestFaults","Output":"time=now msg=starting\n"}
{"Action":"output","Test":"TestFaults","Output":"serve: the reason\n"}
{"Action":"fail","Test":"TestFaults","Elapsed":0.5}
{"Action":"output","Output":"panic: test timed out after 3m50s\n"}
{"Action":"fail","Elapsed":2}
`
	var out bytes.Buffer
	checks, problems := Report(strings.NewReader(events), &out)
	want := []string{
		`FAIL  protocol  Errors                     0.25s  "requetetype3": got "OK 5", want ERR unknown-type (see docs/protocol.md#checking-a-request-before-any-worker-sees-it)`,
		`pass  protocol  Type1Shape                 0.01s`,
		`pass  ?         SomethingNew               1.00s`,
		`skip  sessions  Stats                      0.00s  skipped: serve has no worker processes`,
		`FAIL  -         TestFaults                 0.50s  serve [serve --port 0]: want a line; it exited first, its stderr ending with: serve: the reason`,
		`FAIL  sessions  Busy                       0.00s  did not finish: still running when the checks were stopped (the grader's time bound, or Ctrl-C) (see docs/protocol.md#errors-a-closed-set-of-codes)`,
		`FAIL  the grader's bound was reached (--timeout): the checks were stopped after 3m50s`,
	}
	if diff := cmp.Diff(want, strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")); diff != "" {
		t.Errorf("report (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(Summary{Passed: 2, Failed: 2, Skipped: 1}, Count(checks, "")); diff != "" {
		t.Errorf("summary (-want +got):\n%s", diff)
	}
	if len(problems) != 2 {
		t.Errorf("problems: got %q, want the suite that did not start and the panic", problems)
	}
}

func TestPattern(t *testing.T) {
	p, ok := Pattern([]string{"watchdog"}, "v1")
	want := "^(TestFaults)$/^(HangWatchdog|KillIdleWorkerWatchdog|ServedAfterRespawn|StartRateLimit)$"
	if !ok || p != want {
		t.Errorf("Pattern(watchdog) = %q, %v; want %q", p, ok, want)
	}
	p, _ = Pattern([]string{"structure", "cli"}, "v1")
	want = "^(TestStructure|TestConformance)$/^(AnswerRoute|Client|CommandLine|Help|Pipes|RequestCrossesPipes|Segment|Workers)$"
	if p != want {
		t.Errorf("Pattern(structure,cli) = %q; want %q", p, want)
	}
	// A check of one variant's protocol is neither run nor counted for another.
	if p, _ := Pattern([]string{"protocol"}, "v1"); strings.Contains(p, "QuitCancelsGoto") {
		t.Errorf("Pattern(protocol, v1) = %q: it runs v3's QuitCancelsGoto", p)
	}
	if p, _ := Pattern([]string{"protocol"}, "v3"); !strings.Contains(p, "QuitCancelsGoto") {
		t.Errorf("Pattern(protocol, v3) = %q: QuitCancelsGoto is missing", p)
	}
	if _, err := parseGroups("protocol,nosuch"); err == nil {
		t.Error("--only with an unknown group: want an error")
	}
}

// buildTestdata builds testdata/NAME with the given flaw.
func buildTestdata(t *testing.T, name, flaw string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), name+flaw)
	out, err := exec.Command("go", "build", "-ldflags", "-X main.flaw="+flaw, "-o", bin, "./testdata/"+name).CombinedOutput()
	if err != nil {
		t.Fatalf("build testdata/%s: %v\n%s", name, err, out)
	}
	return bin
}

func fake(t *testing.T, flaw string) string { return buildTestdata(t, "fakeserver", flaw) }

// check runs the grader with args and returns its exit status and output.
func check(t *testing.T, args ...string) (int, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), append(args, "--root", root), &out, &errOut)
	if strings.Contains(out.String(), "<nil>") {
		t.Errorf("the report shows a Go <nil>:\n%s", out.String())
	}
	return code, out.String() + errOut.String()
}

func TestGradeAProgramNotOurs(t *testing.T) {
	code, out := check(t, "v1", "--bin", fake(t, ""), "--only", "protocol")
	if code != 0 || !strings.HasSuffix(out, "Score: 20/20\n7 passed, 0 failed\n") {
		t.Fatalf("grading a correct fake server: exit %d\n%s", code, out)
	}
}

func TestGradeABrokenProgram(t *testing.T) {
	code, got := check(t, "v1", "--bin", fake(t, "broken"), "--only", "protocol")
	if code != 1 {
		t.Errorf("grading a broken server: exit %d, want 1", code)
	}
	for _, want := range []string{
		`FAIL  protocol  Errors `,
		`"requetetype3": got "ERR bad-request unknown request type \"requetetype3\"" (0 payload bytes), want ERR unknown-type (see docs/protocol.md#`,
		`FAIL  protocol  FiveInOneSession `,
		`payload byte 1000 is 0x9, want 0x8`,
		"Score: 8.6/20\n3 passed, 4 failed\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("the report lacks %q:\n%s", want, got)
		}
	}
}

// TestStartFailureShowsTheReason: a server that logs and exits before
// ready is reported with the end of its stderr, where the reason is.
func TestStartFailureShowsTheReason(t *testing.T) {
	t.Parallel()
	_, got := check(t, "v1", "--bin", fake(t, "startfail"), "--only", "protocol")
	want := `exited first (exit status 1), its stderr ending with "time=now level=INFO msg=\"start-up step 4\" | serve: start workers: worker 0 did not start: signal: killed"`
	if !strings.Contains(got, want) {
		t.Errorf("the report lacks %q:\n%s", want, got)
	}
	if !strings.Contains(got, "FAIL  6 checks not run (Errors, FiveInOneSession, IdleConnection, LineTooLong, QuitAndEOF, Type1Shape): TestConformance: serve") {
		t.Errorf("the checks that could not run are not counted as failed:\n%s", got)
	}
}

// TestStructureRejectsOneProcess: the one-process fake fails the
// structure group with one line that says what is missing and where
// docs/ explains it; the checks that need workers are skipped with that
// reason, and the JSON says the same.
func TestStructureRejectsOneProcess(t *testing.T) {
	t.Parallel()
	js := filepath.Join(t.TempDir(), "r.json")
	code, got := check(t, "v1", "--bin", fake(t, ""), "--only", "structure,faults", "--json", js)
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	var fails []string
	for _, l := range strings.Split(got, "\n") {
		if strings.HasPrefix(l, "FAIL") {
			fails = append(fails, l)
		}
	}
	wantFail := regexp.MustCompile(`^FAIL  structure Workers .*serve has no worker processes: serve --workers 3 printed ready, yet its dispatcher \(pid \d+\) has no child process; want 3 worker processes started before the first request \(see docs/v1-relay.md#step-0-start-up\)$`)
	if len(fails) != 1 || !wantFail.MatchString(fails[0]) {
		t.Errorf("want one FAIL line matching %v; got %q\n%s", wantFail, fails, got)
	}
	n := len(conformance.Checks([]string{"structure", "faults"}, "v1"))
	if want := fmt.Sprintf("Score: 0/35\n0 passed, 1 failed, %d skipped\n", n-1); !strings.HasSuffix(got, want) {
		t.Errorf("want 1 failed and %d skipped:\n%s", n-1, got)
	}
	var res Results
	b, err := os.ReadFile(js)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatalf("--json: %v\n%s", err, b)
	}
	for _, c := range res.Checks {
		switch {
		case c.Name == "Workers":
			if c.Status != "fail" || c.Doc != "docs/v1-relay.md#step-0-start-up" {
				t.Errorf("JSON Workers: %+v", c)
			}
		case c.Group == "faults" && (c.Status != "skip" || !strings.Contains(c.Message, "serve has no worker processes")):
			t.Errorf("JSON %s: want skip, with the reason; got %+v", c.Name, c)
		}
	}
	if len(res.Checks) != n || res.Total != 35 || res.Score != 0 {
		t.Errorf("JSON: %d checks, score %v/%d; want %d checks, 0/35", len(res.Checks), res.Score, res.Total, n)
	}
}

// TestStructureRejectsDecoys: servers with the look of the architecture
// and a piece missing (testdata/fakeserver/decoy.go) fail the check of
// that piece, saying what is missing.
func TestStructureRejectsDecoys(t *testing.T) {
	for _, c := range []struct{ flaw, check, want string }{
		{"decoy", "RequestCrossesPipes", "with every worker stopped (kill -STOP), requetetype1 got \"OK"},
		{"decoy-signal", "RequestCrossesPipes", "reads (syscr of /proc/PID/io); want at least one per request"},
		{"decoy-noshm", "Segment", "has no System V segment attached"},
		{"decoy-nopipes", "Pipes", "reads no pipe of its own that the dispatcher writes"},
		{"decoy-leak", "Pipes", "is also held by worker pid"},
		{"decoy-bothends", "Pipes", "it holds both ends of a pipe it shares with the dispatcher"},
	} {
		t.Run(c.flaw, func(t *testing.T) {
			t.Parallel()
			code, got := check(t, "v1", "--bin", fake(t, c.flaw), "--only", "structure")
			line := regexp.MustCompile(`(?m)^FAIL  structure ` + c.check + ` .*$`).FindString(got)
			if code != 1 || !strings.Contains(line, c.want) {
				t.Errorf("%s: want check %s to fail with %q; exit %d\n%s", c.flaw, c.check, c.want, code, got)
			}
		})
	}
}

// TestStructureAcceptsTheVariants: the three variants pass the
// structure group, each by its own route.
func TestStructureAcceptsTheVariants(t *testing.T) {
	for _, v := range []string{"v1", "v2", "v3"} {
		t.Run(v, func(t *testing.T) {
			t.Parallel()
			code, got := check(t, v, "--only", "structure")
			if code != 0 || !strings.HasSuffix(got, "Score: 25/25\n5 passed, 0 failed\n") {
				t.Errorf("%s: exit %d\n%s", v, code, got)
			}
		})
	}
}

// TestRouteRejectsTheWrongVariant: v3's server driven as v1 answers GOTO,
// and v1's server driven as v3 answers on the session: the route check
// fails both, saying what it saw.
func TestRouteRejectsTheWrongVariant(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, c := range []struct{ pkg, as, want string }{
		{"v1-relay", "v3", "AnswerRoute"},
		{"v3-client-calls-worker", "v1", "AnswerRoute"},
	} {
		bin := filepath.Join(dir, c.pkg)
		cmd := exec.Command("go", "build", "-o", bin, "./"+c.pkg)
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("build %s: %v\n%s", c.pkg, err, out)
		}
		code, got := check(t, c.as, "--bin", bin, "--only", "structure")
		if code != 1 || !strings.Contains(got, "FAIL  structure AnswerRoute") {
			t.Errorf("%s graded as %s: want AnswerRoute to fail; exit %d\n%s", c.pkg, c.as, code, got)
		}
	}
}

// processesOf lists the live processes running the program bin (found
// by its unique path).
func processesOf(bin string) []int {
	var pids []int
	for _, p := range procfs.All() {
		if exe, err := os.Readlink(filepath.Join("/proc", strconv.Itoa(p.Pid), "exe")); err == nil && exe == bin && p.Live() {
			pids = append(pids, p.Pid)
		}
	}
	return pids
}

// killAll kills whatever is left of bin, for a test that failed.
func killAll(bin string) {
	for _, p := range processesOf(bin) {
		_ = syscall.Kill(p, syscall.SIGKILL)
	}
}

// TestIgnoredHelpCostsSeconds: a program that ignores serve --help and
// serves (and ignores SIGTERM, and leaves a child holding its output) is
// killed at each command's deadline; the Help check fails saying so, and
// nothing of it is left. (The time it takes is a figure for the report,
// not an assertion: see the lead's notes.)
func TestIgnoredHelpCostsSeconds(t *testing.T) {
	t.Parallel()
	bin := buildTestdata(t, "hangserver", "")
	t.Cleanup(func() { killAll(bin) })
	began := time.Now()
	code, got := check(t, "v1", "--bin", bin, "--only", "cli")
	t.Logf("grading a program that ignores --help (group cli) took %v", time.Since(began).Round(time.Second))
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	if want := "hangserver --help: want exit 0 and the list of roles (serve, client) on stdout; got still running after 5s (killed with its process group)"; !strings.Contains(got, want) {
		t.Errorf("the report lacks %q:\n%s", want, got)
	}
	if left := processesOf(bin); len(left) > 0 {
		t.Errorf("processes of the program are left: %v", left)
	}
}

// TestInterruptLeavesNothing: Ctrl-C (SIGINT) on the grader in the
// middle of a run stops it, and no process of the graded program and
// no segment it created is left.
func TestInterruptLeavesNothing(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	grader := filepath.Join(dir, "osps-grade")
	if out, err := exec.Command("go", "build", "-o", grader, ".").CombinedOutput(); err != nil {
		t.Fatalf("build the grader: %v\n%s", err, out)
	}
	bin := filepath.Join(dir, "v1-relay")
	build := exec.Command("go", "build", "-o", bin, "./v1-relay")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build v1: %v\n%s", err, out)
	}
	t.Cleanup(func() { killAll(bin) })
	cmd := exec.Command(grader, "v1", "--bin", bin, "--only", "large,faults", "--root", root)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Wait until the checks' servers run (SteadySlowReader runs for
	// 16 s), and note their pids: the segments are found by creator.
	var seen []int
	deadline := time.Now().Add(90 * time.Second)
	for len(seen) < 3 && time.Now().Before(deadline) {
		for _, p := range processesOf(bin) {
			if !slices.Contains(seen, p) {
				seen = append(seen, p)
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	if len(seen) < 3 {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatalf("no server of the checks seen running:\n%s", out.String())
	}
	_ = cmd.Process.Signal(syscall.SIGINT)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("the grader did not stop within 60 s of SIGINT:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "FAIL  interrupted: what still ran was stopped") {
		t.Errorf("the grader does not say it was interrupted:\n%s", out.String())
	}
	if left := processesOf(bin); len(left) > 0 {
		t.Errorf("after SIGINT, processes of the graded program are left: %v\n%s", left, out.String())
	}
	for _, p := range seen {
		if segs, _ := shm.CreatedBy(p); len(segs) > 0 {
			t.Errorf("after SIGINT, segments %v created by pid %d are left", segs, p)
		}
	}
}

func TestUsage(t *testing.T) {
	var out, errOut bytes.Buffer
	for _, args := range [][]string{{}, {"v9"}, {"v1", "--only", "nosuch"}, {"v1", "--bin", filepath.Join(os.TempDir(), "no-such-osps-program")}} {
		if code := run(context.Background(), args, &out, &errOut); code != 2 {
			t.Errorf("check %v: exit %d, want 2", args, code)
		}
	}
	out.Reset()
	if code := run(context.Background(), []string{"--help"}, &out, &errOut); code != 0 || !strings.Contains(out.String(), "A check ends within --timeout\n(default 4m0s, all groups)") {
		t.Errorf("check --help: exit %d, want 0 and the time bound stated:\n%s", code, out.String())
	}
}

// A bad flag or value is a usage error: exit 2, and stderr names what was
// wrong before the usage, for check and for grade.
func TestBadFlagNamed(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"v1", "--bogus"}, "check: unknown flag: --bogus\n"},
		{[]string{"v1", "--timeout", "soon"}, "check: invalid argument \"soon\" for \"--timeout\""},
		{[]string{"grade", "--bogus", os.TempDir()}, "grade: unknown flag: --bogus\n"},
		{[]string{"grade", "--jobs", "0", os.TempDir()}, "grade: --jobs 0: want 1 or more\n"},
	} {
		var out, errOut bytes.Buffer
		code := run(context.Background(), c.args, &out, &errOut)
		if code != 2 || !strings.HasPrefix(errOut.String(), c.want) || !strings.Contains(errOut.String(), "Usage: ./run.sh ") {
			t.Errorf("%v: exit %d, stderr %q; want 2, stderr starting %q, then the usage", c.args, code, errOut.String(), c.want)
		}
	}
}

// --help prints the usage, naming VARIANT, on stdout with status 0.
func TestHelpOnStdout(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"--help"}, &out, &errOut); code != 0 || errOut.Len() > 0 || !strings.Contains(out.String(), "Usage: ./run.sh check VARIANT") {
		t.Errorf("check --help: exit %d, stdout %q, stderr %q; want 0 and the usage on stdout", code, out.String(), errOut.String())
	}
}
