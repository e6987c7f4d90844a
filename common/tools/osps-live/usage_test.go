// The command-line conventions of the instruments (--help on stdout with
// status 0 and a usage that names VARIANT; a usage error on stderr with
// status 2), and run.sh routing as its help says: PORT to serve and
// client, --help to a usage.

package main

import (
	"context"
	"net"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"osps/common/cli"
)

func TestInstrumentsUsage(t *testing.T) {
	for _, cmd := range []string{"xray", "top", "diagram", "demo", "chaos"} {
		t.Run(cmd, func(t *testing.T) {
			var out, errb strings.Builder
			if code := run([]string{cmd, "--help"}, &out, &errb); code != 0 || errb.Len() > 0 ||
				!strings.Contains(out.String(), "Usage: ") || !strings.Contains(out.String(), "VARIANT") {
				t.Errorf("%s --help: exit %d, stdout %q, stderr %q; want 0 and a usage naming VARIANT on stdout", cmd, code, out.String(), errb.String())
			}
			if cmd == "demo" || cmd == "chaos" { // ./run.sh v1 --help, ./run.sh chaos v1 --help
				out.Reset()
				if code := run([]string{cmd, "v1", "--help"}, &out, &errb); code != 0 || errb.Len() > 0 || !strings.Contains(out.String(), "Usage: ") {
					t.Errorf("%s v1 --help: exit %d, stdout %q, stderr %q; want 0 and the usage on stdout", cmd, code, out.String(), errb.String())
				}
			}
			bad := [][]string{{cmd, "v9"}, {cmd, "--bogus", "v1"}}
			if cmd != "chaos" { // chaos without VARIANT is chaos v3
				bad = append(bad, []string{cmd})
			}
			for _, args := range bad {
				out.Reset()
				errb.Reset()
				if code := run(args, &out, &errb); code != 2 || out.Len() > 0 || !strings.Contains(errb.String(), "Usage: ") {
					t.Errorf("%v: exit %d, stdout %q, stderr %q; want 2 and the usage on stderr", args, code, out.String(), errb.String())
				}
			}
		})
	}
	var out, errb strings.Builder
	if code := run([]string{"--help"}, &out, &errb); code != 0 || !strings.Contains(out.String(), "demo VARIANT") {
		t.Errorf("osps-live --help: exit %d, stdout %q", code, out.String())
	}
}

// ./run.sh chaos with no VARIANT is chaos v3, as its help says; demo
// has no default.
func TestChaosDefaultsToV3(t *testing.T) {
	var out, errb strings.Builder
	_, variant, _, rest, status, done := demoFlags("chaos", "chaos", "v3", []string{"--bin", "x"}, &out, &errb)
	if done || status != 0 || variant != "v3" || len(rest) != 0 {
		t.Errorf("chaos --bin x: variant %q, serve args %q, status %d, done %v; want v3 and nothing else", variant, rest, status, done)
	}
	if _, _, _, _, status, done := demoFlags("demo", "demo", "", []string{"--bin", "x"}, &out, &errb); !done || status != 2 {
		t.Errorf("demo --bin x: status %d, done %v; want a usage error (2)", status, done)
	}
}

// runSh runs ../../../run.sh with args; it returns its exit status and
// both streams.
func runSh(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", append([]string{"../../../run.sh"}, args...)...)
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return code, out.String(), errb.String()
}

// PORT=N ./run.sh v3 serve listens on N, its worker on N+1, ./run.sh
// wait N returns at once once it said ready, and PORT=N ./run.sh v3
// client talks to N.
func TestRunShServeAndClientUsePORT(t *testing.T) {
	base := freePortHint() // free with the 4 above it
	if base == "PORT" {
		t.Fatal("no free port")
	}
	p, _ := strconv.Atoi(base)
	env := append(os.Environ(), "PORT="+base) // the last PORT wins
	serve := exec.Command("bash", "../../../run.sh", "v3", "serve", "--workers", "1")
	serve.Env = env
	serve.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, err := serve.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{}) // closed once WaitReady reaped it
	t.Cleanup(func() {
		_ = syscall.Kill(-serve.Process.Pid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(stopTimeout):
			_ = syscall.Kill(-serve.Process.Pid, syscall.SIGKILL)
			<-exited
		}
	})
	started = append(started, serve.Process.Pid) // run.sh execs the binary: the same pid
	addr, err := cli.WaitReady(serve, out, 2*time.Minute, func(error) { close(exited) })
	if err != nil || addr != "127.0.0.1:"+base {
		t.Fatalf("PORT=%s ./run.sh v3 serve: ready %q, %v; want ready 127.0.0.1:%s", base, addr, err, base)
	}
	if code, _, errb := runSh(t, "wait", base); code != 0 || errb != "" { // it answers at the first try
		t.Errorf("./run.sh wait %s on a server that said ready: exit %d, stderr %q; want 0 and silence", base, code, errb)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	client := exec.CommandContext(ctx, "bash", "../../../run.sh", "v3", "client", "STATS", "requetetype1")
	client.Env = env
	b, err := client.CombinedOutput()
	if err != nil || !regexp.MustCompile(`(?m)^STATS: OK[\s\S]*requetetype1: OK \d+ bytes`).Match(b) {
		t.Fatalf("PORT=%s ./run.sh v3 client STATS requetetype1: %v\n%s", base, err, b)
	}
	c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(p+1), 10*time.Second)
	if err != nil {
		t.Errorf("v3's worker does not listen on PORT+1 (%d): %v", p+1, err)
	} else {
		c.Close()
	}
}

// --pid of a process that is not a dispatcher (this test) gets one line.
func TestPidNotADispatcher(t *testing.T) {
	for _, cmd := range []string{"xray", "top"} {
		var out, errb strings.Builder
		code := run([]string{cmd, "--pid", strconv.Itoa(os.Getpid())}, &out, &errb)
		if code != 1 || strings.Count(errb.String(), "\n") != 1 || !strings.Contains(errb.String(), "is not an OSPS dispatcher") {
			t.Errorf("%s --pid %d: exit %d, stderr %q; want 1 and one line saying it is not a dispatcher", cmd, os.Getpid(), code, errb.String())
		}
	}
}

// ./run.sh test, build and clean take --help as a question, never as a
// go: the usage on stdout, status 0 (and no test run, no bin/ removed).
func TestRunShHelpRunsNothing(t *testing.T) {
	for _, cmd := range []string{"test", "build", "clean"} {
		if code, out, errb := runSh(t, cmd, "--help"); code != 0 || !strings.Contains(out, "OSPS lab:") || errb != "" {
			t.Errorf("run.sh %s --help: exit %d, stdout %.80q..., stderr %q; want 0 and the usage", cmd, code, out, errb)
		}
	}
}
