// report.go demonstrates reading `go test -json` (test2json) events and
// turning them into one line per check, for a person.

package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"strings"

	"osps/common/tools/conformance"
)

// Event is one line of `go test -json` (see `go doc test2json`).
type Event struct {
	Action  string
	Test    string
	Elapsed float64
	Output  string
}

// Summary counts the checks.
type Summary struct{ Passed, Failed int }

// msgRE matches the line t.Errorf or t.Fatalf prints: "    file.go:12: text".
var msgRE = regexp.MustCompile(`^\s+[\w.-]+\.go:\d+: (.*)$`)

// Report reads events from r and writes a line per check to w.
func Report(r io.Reader, w io.Writer) Summary {
	var sum Summary
	outputs := map[string][]string{} // test -> its output lines
	var pkgOut []string              // output of no test: build errors, panics
	failedSub := map[string]bool{}   // top-level test -> a subtest failed
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var e Event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			pkgOut = append(pkgOut, sc.Text()) // not JSON: go test's own words
			continue
		}
		switch e.Action {
		case "output":
			if e.Test == "" {
				pkgOut = append(pkgOut, strings.TrimRight(e.Output, "\n"))
			} else {
				outputs[e.Test] = append(outputs[e.Test], strings.TrimRight(e.Output, "\n"))
			}
		case "pass", "fail", "skip":
			if e.Test == "" {
				if e.Action == "fail" && sum.Failed == 0 {
					fmt.Fprintf(w, "FAIL  suite  %s\n", firstMessage(pkgOut, "the checks did not run"))
					sum.Failed++
				}
				continue
			}
			top, name, sub := strings.Cut(e.Test, "/")
			if !sub {
				if e.Action == "fail" && !failedSub[top] {
					// The suite failed before its checks: the server did not start.
					fmt.Fprintf(w, "FAIL  %-9s %-24s %6.2fs  %s\n", "-", top, e.Elapsed, firstMessage(outputs[e.Test], "failed"))
					sum.Failed++
				}
				if e.Action == "skip" {
					fmt.Fprintf(w, "skip  %s: %s\n", top, firstMessage(outputs[e.Test], "skipped"))
				}
				continue
			}
			entry, known := conformance.Catalog[name]
			group := entry.Group
			if !known {
				group = "?"
			}
			switch e.Action {
			case "pass":
				sum.Passed++
				fmt.Fprintf(w, "pass  %-9s %-24s %6.2fs\n", group, name, e.Elapsed)
			case "skip":
				fmt.Fprintf(w, "skip  %-9s %-24s %6.2fs\n", group, name, e.Elapsed)
			case "fail":
				sum.Failed++
				failedSub[top] = true
				see := ""
				if known {
					see = " (see " + entry.Doc + ")"
				}
				fmt.Fprintf(w, "FAIL  %-9s %-24s %6.2fs  %s%s\n", group, name, e.Elapsed, firstMessage(outputs[e.Test], "failed"), see)
			}
		}
	}
	return sum
}

// firstMessage is the first t.Errorf/t.Fatalf text among lines, cut to
// one readable sentence, or def when there is none.
func firstMessage(lines []string, def string) string {
	for i, l := range lines {
		if m := msgRE.FindStringSubmatch(l); m != nil {
			msg := m[1]
			// A message that goes on below (a program's output, a log):
			// its first line says what came.
			if more := continuation(lines[i+1:]); more != "" {
				msg += ": " + more
			}
			return shorten(msg)
		}
	}
	for _, l := range lines {
		l = strings.TrimSpace(l)
		if l != "" && !strings.HasPrefix(l, "===") && !strings.HasPrefix(l, "---") && l != "FAIL" && !strings.HasPrefix(l, "FAIL\t") && !strings.HasPrefix(l, "ok ") {
			return shorten(l)
		}
	}
	return def
}

// continuation picks, among the lines that go on a message (up to the
// next message), the one that says most: the last that reports an error
// (a server's log ends with why it stopped), else the first.
func continuation(lines []string) string {
	first, errLine := "", ""
	for _, l := range lines {
		if msgRE.MatchString(l) {
			break
		}
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "---") || strings.HasPrefix(l, "===") {
			continue
		}
		if first == "" {
			first = l
		}
		if strings.Contains(l, "level=ERROR") || strings.Contains(l, "err=") {
			errLine = l
		}
	}
	if errLine != "" {
		return errLine
	}
	return first
}

// shorten keeps one line of at most 400 characters.
func shorten(s string) string {
	s = strings.TrimSpace(s)
	if r := []rune(s); len(r) > 400 {
		s = string(r[:400]) + "…"
	}
	return s
}
