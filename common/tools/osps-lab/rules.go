// rules.go runs a lab's rules: the repository's own unit tests that
// encode what the lab teaches (one write per record, a ticket used once,
// ...), run with `go test -json` on the student's copy, one line per
// rule. They come before the grader's group: a rule no black-box check
// can see (a ticket compared with ==, two writes that happen to arrive
// whole) fails here, by its name.

package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os/exec"
	"regexp"
	"strings"

	"osps/common/cli"
	"osps/common/tools/testjson"
)

// RuleResult is the outcome of one rule.
type RuleResult struct {
	Rule    Rule
	Status  string // "pass", "FAIL" or "skip"
	Message string // the test's first message, on failure
}

// topTests is the -run pattern of the rules' top-level tests.
func topTests(rules []Rule) string {
	var tops []string
	seen := map[string]bool{}
	for _, r := range rules {
		top, _, _ := strings.Cut(r.Test, "/")
		if !seen[top] {
			seen[top] = true
			tops = append(tops, regexp.QuoteMeta(top))
		}
	}
	return "^(" + strings.Join(tops, "|") + ")$"
}

// RunRules runs l's rule tests in dir (a copy of the repository) and
// returns one result per rule, and go test's own words when the package
// did not build or the tests did not run.
func RunRules(ctx context.Context, dir string, l Lab) ([]RuleResult, string, error) {
	cmd := exec.CommandContext(ctx, "go", "test", "-json", "-count=1", "-vet=off", "-timeout", "3m", "-run", topTests(l.Rules), l.Pkg)
	cmd.Dir = dir
	// Its own process group, killed whole if ctx ends (the test binary
	// and the servers it started go with it).
	cli.OwnGroup(cmd)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if ctx.Err() != nil {
		return nil, "", ctx.Err()
	}
	if err != nil {
		if _, isExit := err.(*exec.ExitError); !isExit {
			return nil, "", fmt.Errorf("go test %s: %w", l.Pkg, err)
		}
	}
	status := map[string]string{}
	var log testjson.Log
	if err := log.Read(bytes.NewReader(out), func(e testjson.Event) {
		if e.Test != "" && (e.Action == "pass" || e.Action == "fail" || e.Action == "skip") {
			status[e.Test] = e.Action
		}
	}); err != nil {
		return nil, "", err
	}
	outputs, pkgOut := log.Outputs, log.Package
	var res []RuleResult
	ran := false
	for _, r := range l.Rules {
		rr := RuleResult{Rule: r}
		switch status[r.Test] {
		case "pass":
			rr.Status, ran = "pass", true
		case "skip":
			rr.Status, ran = "skip", true
		case "fail":
			rr.Status, ran = "FAIL", true
			rr.Message = testjson.FirstMessage(outputs[r.Test], "failed")
		default:
			rr.Status = "FAIL"
			top, _, _ := strings.Cut(r.Test, "/")
			if status[top] == "fail" {
				rr.Message = "did not run: " + testjson.FirstMessage(outputs[top], "failed") // the top test stopped before it
			} else {
				rr.Message = "did not run"
			}
		}
		res = append(res, rr)
	}
	if !ran {
		words := strings.TrimSpace(strings.Join(append(pkgOut, stderr.String()), "\n"))
		if words == "" {
			words = "go test ran none of " + topTests(l.Rules)
		}
		return res, words, nil
	}
	return res, "", nil
}

// checkRules runs and prints l's rules; it reports whether all passed.
func checkRules(ctx context.Context, dir string, l Lab, w io.Writer) (bool, error) {
	fmt.Fprintf(w, "lab %s: its rules, the repository's own unit tests on your copy (go test %s)\n", l.Name, l.Pkg)
	res, words, err := RunRules(ctx, dir, l)
	if err != nil {
		return false, err
	}
	if words != "" {
		fmt.Fprintf(w, "FAIL  build  go test %s did not run the rules:\n%s\n", l.Pkg, indent(words, 40))
		return false, nil
	}
	passed, failed := 0, 0
	for _, r := range res {
		if r.Status == "FAIL" {
			failed++
			fmt.Fprintf(w, "FAIL  rule  %-16s %s\n      %s: %s\n", r.Rule.Name, r.Rule.What, r.Rule.Test, r.Message)
			continue
		}
		passed++
		fmt.Fprintf(w, "%-4s  rule  %-16s %s\n", r.Status, r.Rule.Name, r.Rule.What)
	}
	fmt.Fprintf(w, "rules: %d passed, %d failed\n", passed, failed)
	if failed > 0 {
		fmt.Fprintf(w, "  read: %s\n", l.Doc)
	}
	return failed == 0, nil
}

// indent prefixes each of the first max lines of s with six spaces.
func indent(s string, max int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > max {
		lines = append(lines[:max], "...")
	}
	return "      " + strings.Join(lines, "\n      ")
}
