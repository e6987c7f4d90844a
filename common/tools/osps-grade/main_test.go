// main_test.go checks the grader's two halves: the report it prints from
// test2json events, and a whole run against programs that are not ours
// (testdata/fakeserver, written from docs/protocol.md alone), one right
// and one broken on purpose.

package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestReport(t *testing.T) {
	events := `{"Action":"run","Test":"TestConformance"}
{"Action":"output","Test":"TestConformance/Errors","Output":"    checks.go:160: \"requetetype3\": got \"OK 5\", want ERR unknown-type\n"}
{"Action":"output","Test":"TestConformance/Errors","Output":"    checks.go:160: a second failure\n"}
{"Action":"fail","Test":"TestConformance/Errors","Elapsed":0.25}
{"Action":"pass","Test":"TestConformance/Type1Shape","Elapsed":0.01}
{"Action":"pass","Test":"TestConformance/SomethingNew","Elapsed":1}
{"Action":"fail","Test":"TestConformance","Elapsed":1.5}
{"Action":"output","Test":"TestFaults","Output":"    harness.go:99: serve [serve --port 0] exited before ready: exit status 1\n"}
{"Action":"fail","Test":"TestFaults","Elapsed":0.5}
{"Action":"fail","Elapsed":2}
`
	var out bytes.Buffer
	sum := Report(strings.NewReader(events), &out)
	want := []string{
		`FAIL  protocol  Errors                     0.25s  "requetetype3": got "OK 5", want ERR unknown-type (see docs/protocol.md#checking-a-request-before-any-worker-sees-it)`,
		`pass  protocol  Type1Shape                 0.01s`,
		`pass  ?         SomethingNew               1.00s`,
		`FAIL  -         TestFaults                 0.50s  serve [serve --port 0] exited before ready: exit status 1`,
	}
	if diff := cmp.Diff(want, strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")); diff != "" {
		t.Errorf("report (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(Summary{Passed: 2, Failed: 2}, sum); diff != "" {
		t.Errorf("summary (-want +got):\n%s", diff)
	}
}

func TestPattern(t *testing.T) {
	p, ok := Pattern([]string{"watchdog"})
	want := "^(TestFaults)$/^(HangWatchdog|KillIdleWorkerWatchdog|ServedAfterRespawn|StartRateLimit)$"
	if !ok || p != want {
		t.Errorf("Pattern(watchdog) = %q, %v; want %q", p, ok, want)
	}
	if _, err := parseGroups("protocol,nosuch"); err == nil {
		t.Error("--only with an unknown group: want an error")
	}
}

// fake builds testdata/fakeserver with the given flaw.
func fake(t *testing.T, flaw string) string {
	bin := filepath.Join(t.TempDir(), "fakeserver"+flaw)
	out, err := exec.Command("go", "build", "-ldflags", "-X main.flaw="+flaw, "-o", bin, "./testdata/fakeserver").CombinedOutput()
	if err != nil {
		t.Fatalf("build the fake server: %v\n%s", err, out)
	}
	return bin
}

func TestGradeAProgramNotOurs(t *testing.T) {
	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{"v1", "--bin", fake(t, ""), "--only", "protocol", "--root", "../../.."}, &out, &errOut)
	if code != 0 || !strings.HasSuffix(out.String(), "6 passed, 0 failed\n") {
		t.Fatalf("grading a correct fake server: exit %d\n%s%s", code, out.String(), errOut.String())
	}
}

func TestGradeABrokenProgram(t *testing.T) {
	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{"v1", "--bin", fake(t, "broken"), "--only", "protocol", "--root", "../../.."}, &out, &errOut)
	got := out.String()
	if code != 1 {
		t.Errorf("grading a broken server: exit %d, want 1", code)
	}
	for _, want := range []string{
		`FAIL  protocol  Errors `,
		`"requetetype3": got "ERR bad-request unknown request type \"requetetype3\"" (0 payload bytes), want ERR unknown-type (see docs/protocol.md#`,
		`FAIL  protocol  FiveInOneSession `,
		`payload byte 1000 is 0x9, want 0x8`,
		"3 passed, 3 failed\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("the report lacks %q:\n%s%s", want, got, errOut.String())
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
}

// --help prints the usage, naming VARIANT, on stdout with status 0.
func TestHelpOnStdout(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"--help"}, &out, &errOut); code != 0 || errOut.Len() > 0 || !strings.Contains(out.String(), "Usage: ./run.sh check VARIANT") {
		t.Errorf("check --help: exit %d, stdout %q, stderr %q; want 0 and the usage on stdout", code, out.String(), errOut.String())
	}
}
