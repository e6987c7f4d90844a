// netlab_test.go checks the network experiment without timing it:
// netlab.sh runs the three variants across the four scenarios, and the
// test compares which cells work and which error each failing client saw
// (never the milliseconds), then proves that no namespace, link, nftables
// rule or process was left behind.

package netlab

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// variants maps each variant to its directory, the name of its binary.
var variants = map[string]string{
	"v1": "v1-relay",
	"v2": "v2-worker-calls-client",
	"v3": "v3-client-calls-worker",
}

// want is the expected matrix: "ok", or what the failing client's error
// line must hold. v2 behind NAT hears ERR from its dispatcher (the worker
// dialed the router's public address and was refused), not its own
// timeout; v3 behind the firewall cannot dial the worker's port.
var want = map[string]string{
	"v1/flat": "ok", "v2/flat": "ok", "v3/flat": "ok",
	"v1/nat": "ok", "v2/nat": "ERR worker-failed cannot call back 198.51.100.1:", "v3/nat": "ok",
	"v1/firewall": "ok", "v2/firewall": "ok", "v3/firewall": "ERR worker-failed cannot reach the worker at 198.51.100.2:",
	"v1/both": "ok", "v2/both": "ERR worker-failed cannot call back 198.51.100.1:", "v3/both": "ERR worker-failed cannot reach the worker at 198.51.100.2:",
}

func TestMatrix(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: netlab.sh creates network namespaces (./run.sh net)")
	}
	bin := t.TempDir()
	for _, dir := range variants {
		out, err := exec.Command("go", "build", "-o", filepath.Join(bin, dir), "osps/"+dir).CombinedOutput()
		if err != nil {
			t.Fatalf("go build %s: %v\n%s", dir, err, out)
		}
	}
	tag := fmt.Sprintf("ospst%d", os.Getpid())
	t.Cleanup(func() { removeNamespaces(t, tag) })
	linksBefore, rulesBefore := links(t), ruleset(t)

	results := filepath.Join(t.TempDir(), "results.tsv")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "netlab.sh", "--bin", bin, "--tag", tag,
		"--results", results, "--no-delay", "all")
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) } // its trap tears down
	cmd.WaitDelay = 20 * time.Second
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if errors.As(err, &exit) && exit.ExitCode() == 2 {
		t.Skipf("netlab.sh cannot build the network here: %s", strings.TrimSpace(string(out)))
	}
	t.Logf("netlab.sh all:\n%s", out)
	if err != nil {
		t.Errorf("netlab.sh: %v (it exits 1 when the matrix differs)", err)
	}

	got := map[string]string{}
	for _, r := range readResults(t, results) {
		cell := r.variant + "/" + r.scenario
		got[cell] = "ok"
		if r.status != "ok" {
			got[cell] = r.err
			if w := want[cell]; w != "ok" && strings.Contains(r.err, w) {
				got[cell] = w // the error holds what it must: compare that part only
			}
		} else if !positive(r.p50One) || !positive(r.p50MiB) {
			got[cell] = fmt.Sprintf("ok, but the loads gave p50 %q and %q", r.p50One, r.p50MiB)
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("matrix (-want +got):\n%s", diff)
	}

	// Nothing left behind: namespaces, links, rules, processes.
	if ns := namespaces(t, tag); len(ns) > 0 {
		t.Errorf("namespaces left behind: %v", ns)
	}
	if diff := cmp.Diff(linksBefore, links(t)); diff != "" {
		t.Errorf("ip link changed (-before +after):\n%s", diff)
	}
	if diff := cmp.Diff(rulesBefore, ruleset(t)); diff != "" {
		t.Errorf("nft list ruleset changed (-before +after):\n%s", diff)
	}
	if left := runningFrom(bin); len(left) > 0 {
		t.Errorf("processes of the variants still running: %v", left)
	}
}

// result is one line of --results.
type result struct {
	delay, variant, scenario, status, elapsedMS, err, p50One, p50MiB string
}

func readResults(t *testing.T, path string) []result {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("results: %v", err)
	}
	defer f.Close()
	var rs []result
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		f := strings.Split(sc.Text(), "\t")
		if len(f) != 8 {
			t.Fatalf("results line %q: %d fields, want 8", sc.Text(), len(f))
		}
		rs = append(rs, result{f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[7]})
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("results: %v", err)
	}
	return rs
}

func positive(s string) bool {
	x, err := strconv.ParseFloat(s, 64)
	return err == nil && x > 0
}

// namespaces lists the network namespaces whose name starts with tag.
func namespaces(t *testing.T, tag string) []string {
	t.Helper()
	out, err := exec.Command("ip", "netns", "list").Output()
	if err != nil {
		t.Errorf("ip netns list: %v", err)
		return nil
	}
	var ns []string
	for f := range strings.Lines(string(out)) {
		if name, _, _ := strings.Cut(strings.TrimSpace(f), " "); strings.HasPrefix(name, tag) {
			ns = append(ns, name)
		}
	}
	return ns
}

// removeNamespaces deletes what a failed or killed run left: the
// processes inside our namespaces first, then the namespaces.
func removeNamespaces(t *testing.T, tag string) {
	for _, ns := range namespaces(t, tag) {
		out, _ := exec.Command("ip", "netns", "pids", ns).Output()
		for f := range strings.FieldsSeq(string(out)) {
			if pid, err := strconv.Atoi(f); err == nil {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
		if out, err := exec.Command("ip", "netns", "del", ns).CombinedOutput(); err != nil {
			t.Errorf("ip netns del %s: %v %s", ns, err, out)
		}
	}
}

// links is the name of every link of this (the root) namespace.
func links(t *testing.T) []string {
	t.Helper()
	out, err := exec.Command("ip", "-br", "link").Output()
	if err != nil {
		t.Fatalf("ip -br link: %v", err)
	}
	var names []string
	for l := range strings.Lines(string(out)) {
		if f := strings.Fields(l); len(f) > 0 {
			names = append(names, f[0])
		}
	}
	return names
}

// ruleset is `nft list ruleset` of this namespace: "" when it holds no
// rule, or when nft is not installed yet (netlab.sh installs it).
func ruleset(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("nft"); err != nil {
		return ""
	}
	out, err := exec.Command("nft", "list", "ruleset").CombinedOutput()
	if err != nil {
		t.Fatalf("nft list ruleset: %v %s", err, out)
	}
	return string(out)
}

// runningFrom lists the pids whose executable is in dir.
func runningFrom(dir string) []int {
	var pids []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if exe, err := os.Readlink(filepath.Join("/proc", e.Name(), "exe")); err == nil && strings.HasPrefix(exe, dir+"/") {
			pids = append(pids, pid)
		}
	}
	return pids
}

// netlab.sh's prediction is the table of docs/network.md (it reads the
// page): the same ok/failed pattern as this test's matrix. Needs no root.
func TestExpectedIsThePage(t *testing.T) {
	out, err := exec.Command("bash", "netlab.sh", "--expected").Output()
	if err != nil {
		t.Fatalf("netlab.sh --expected: %v", err)
	}
	got := map[string]string{}
	for l := range strings.Lines(string(out)) {
		f := strings.Fields(l)
		if len(f) != 3 {
			t.Fatalf("netlab.sh --expected line %q", l)
		}
		got[f[0]+"/"+f[1]] = f[2]
	}
	wantPattern := map[string]string{}
	for cell, w := range want {
		wantPattern[cell] = "failed"
		if w == "ok" {
			wantPattern[cell] = "ok"
		}
	}
	if d := cmp.Diff(wantPattern, got); d != "" {
		t.Errorf("docs/network.md's What to expect, as netlab.sh reads it (-this test +page):\n%s", d)
	}
}

// A failed cell is short: the ERR code and reason without addresses,
// the root cause in parentheses.
func TestShortError(t *testing.T) {
	for line, want := range map[string]string{
		"requetetype1: ERR worker-failed cannot call back 198.51.100.1:42633: dial tcp 198.51.100.1:42633: connect: connection refused": "ERR worker-failed cannot call back (connection refused)",
		"requetetype1: ERR worker-failed cannot reach the worker at 198.51.100.2:2223: dial tcp 198.51.100.2:2223: i/o timeout":         "ERR worker-failed cannot reach the worker (i/o timeout)",
	} {
		out, err := exec.Command("bash", "netlab.sh", "--short-error", line).Output()
		if got := strings.TrimSpace(string(out)); err != nil || got != want {
			t.Errorf("short error of %q = %q (%v); want %q", line, got, err, want)
		}
	}
}
