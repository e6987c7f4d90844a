// report.go turns the `go test -json` events of the checks (read by
// common/tools/testjson) into one line per check, for a person, and into results a
// script can read (--json): every check of the groups asked for gets a
// status, also the ones that never ran (the server did not start, or the
// grader's time bound was reached).

package main

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"osps/common/tools/conformance"
	"osps/common/tools/testjson"
)

// Check is the result of one check.
type Check struct {
	Name    string  `json:"name"`
	Group   string  `json:"group"`
	Status  string  `json:"status"` // "pass", "fail" or "skip"
	Seconds float64 `json:"time"`
	Message string  `json:"message,omitempty"` // what was expected and what came; why skipped
	Doc     string  `json:"doc,omitempty"`     // the docs/ section that explains the check
	top     string  // the test that ran it: TestStructure, TestConformance, TestFaults
}

// Summary counts checks by status: a program's (Results), a group's
// (GroupScore).
type Summary struct {
	Passed  int `json:"passed"`
	Failed  int `json:"failed"`
	Skipped int `json:"skipped"`
}

// Count counts the checks of group ("": of every group) by status.
func Count(checks []Check, group string) Summary {
	var s Summary
	for _, c := range checks {
		if group != "" && c.Group != group {
			continue
		}
		switch c.Status {
		case "pass":
			s.Passed++
		case "fail":
			s.Failed++
		case "skip":
			s.Skipped++
		}
	}
	return s
}

// Report reads events from r, writes a line per check to w as they
// come, and returns every check's result and the problems that belong
// to no check (a suite that could not start, the test binary's panic).
func Report(r io.Reader, w io.Writer) ([]Check, []string) {
	var checks []Check
	var problems []string
	var log testjson.Log // each test's output lines, and those of no test: build errors, panics
	ended := map[string]bool{}
	err := log.Read(r, func(e testjson.Event) {
		outputs, pkgOut := log.Outputs, log.Package
		switch e.Action {
		case "pass", "fail", "skip":
			if e.Test == "" {
				if e.Action == "fail" && len(checks) == 0 && len(problems) == 0 {
					p := "the checks did not run: " + firstMessage(pkgOut, "go test failed")
					fmt.Fprintf(w, "FAIL  suite  %s\n", p)
					problems = append(problems, p)
				}
				return
			}
			ended[e.Test] = true
			top, name, sub := strings.Cut(e.Test, "/")
			if !sub {
				if e.Action == "fail" && !slices.ContainsFunc(checks, func(c Check) bool { return c.Status == "fail" && c.top == top }) {
					// The suite failed before its checks: its server did not start.
					p := fmt.Sprintf("%s: %s", top, firstMessage(outputs[e.Test], "failed"))
					fmt.Fprintf(w, "FAIL  %-9s %-24s %6.2fs  %s\n", "-", top, e.Elapsed, firstMessage(outputs[e.Test], "failed"))
					problems = append(problems, p)
				}
				return
			}
			c := Check{Name: name, Group: "?", Status: e.Action, Seconds: e.Elapsed}
			c.top = top
			if entry, ok := conformance.Catalog[name]; ok {
				c.Group, c.Doc = entry.Group, entry.Doc
			}
			switch e.Action {
			case "fail":
				c.Message = firstMessage(outputs[e.Test], "failed")
			case "skip":
				c.Message = firstMessage(outputs[e.Test], "skipped")
			}
			checks = append(checks, c)
			fmt.Fprintln(w, c.Line())
		}
	})
	if err != nil {
		problems = append(problems, err.Error())
	}
	// Tests that began and never ended: the test binary was stopped.
	var unfinished []string
	for test := range log.Outputs {
		if top, name, sub := strings.Cut(test, "/"); sub && !ended[test] {
			unfinished = append(unfinished, name)
			c := Check{Name: name, Group: "?", Status: "fail", top: top,
				Message: "did not finish: still running when the checks were stopped (the grader's time bound, or Ctrl-C)"}
			if entry, ok := conformance.Catalog[name]; ok {
				c.Group, c.Doc = entry.Group, entry.Doc
			}
			checks = append(checks, c)
		}
	}
	slices.Sort(unfinished)
	for _, name := range unfinished {
		i := slices.IndexFunc(checks, func(c Check) bool { return c.Name == name })
		fmt.Fprintln(w, checks[i].Line())
	}
	all := slices.Clone(log.Package)
	for _, lines := range log.Outputs {
		all = append(all, lines...)
	}
	if panicked := slices.IndexFunc(all, func(l string) bool { return strings.HasPrefix(l, "panic: ") }); panicked >= 0 {
		p := "the test binary stopped: " + strings.TrimPrefix(all[panicked], "panic: ")
		if after, ok := strings.CutPrefix(all[panicked], "panic: test timed out after "); ok {
			p = "the grader's bound was reached (--timeout): the checks were stopped after " + after
		}
		fmt.Fprintf(w, "FAIL  %s\n", p)
		problems = append(problems, p)
	}
	return checks, problems
}

// Line is the check's line for a person.
func (c Check) Line() string {
	status := map[string]string{"pass": "pass", "fail": "FAIL", "skip": "skip"}[c.Status]
	s := fmt.Sprintf("%-5s %-9s %-24s %6.2fs", status, c.Group, c.Name, c.Seconds)
	if c.Message != "" {
		s += "  " + c.Message
	}
	if c.Status == "fail" && c.Doc != "" {
		s += " (see " + c.Doc + ")"
	}
	return s
}

// firstMessage is testjson.FirstMessage cut to one readable sentence.
func firstMessage(lines []string, def string) string {
	return shorten(testjson.FirstMessage(lines, def))
}

// shorten keeps one line of at most 600 characters.
func shorten(s string) string {
	s = strings.TrimSpace(s)
	if r := []rune(s); len(r) > 600 {
		s = string(r[:600]) + "…"
	}
	return s
}
