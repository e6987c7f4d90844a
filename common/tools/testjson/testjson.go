// Package testjson reads the output of `go test -json` (`go doc
// test2json`) one event at a time, filing each line of output under the
// test that printed it, and the lines of no test (the compiler's, go
// test's own, a panic's) apart, and pulls a failure's message out of
// them. The grader (osps-grade) and the labs' rules (osps-lab) both read
// their tests through it.
package testjson

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"strings"
)

// Event is one line of `go test -json`.
type Event struct {
	Action  string  // run, output, pass, fail, skip, build-output, ...
	Test    string  // "" for the package's own events
	Output  string  // with Action output or build-output
	Elapsed float64 // seconds, with pass, fail and skip
}

// Log is what the events printed so far.
type Log struct {
	Outputs map[string][]string // each test's output lines
	Package []string            // the lines of no test: build errors, go test's words, a panic
}

// Read reads events from r to its end. It files each event's output in
// l, then calls fn (if not nil) with the event. A line that is not JSON
// is go test's own words: it goes to l.Package.
func (l *Log) Read(r io.Reader, fn func(Event)) error {
	if l.Outputs == nil {
		l.Outputs = map[string][]string{}
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var e Event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			l.Package = append(l.Package, sc.Text())
			continue
		}
		line := strings.TrimRight(e.Output, "\n")
		switch {
		case e.Action == "build-output", e.Action == "output" && e.Test == "":
			l.Package = append(l.Package, line)
		case e.Action == "output":
			l.Outputs[e.Test] = append(l.Outputs[e.Test], line)
		}
		if fn != nil {
			fn(e)
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read go test -json: %w", err)
	}
	return nil
}

// msgRE matches the line t.Errorf, t.Fatalf or t.Skip prints: "    file.go:12: text".
var msgRE = regexp.MustCompile(`^\s+[\w.-]+\.go:\d+: (.*)$`)

// FirstMessage is the first t.Errorf/t.Fatalf/t.Skip text among a test's
// output lines; a message that announces more below (it ends with ':',
// a program's output or a diff follows) gets the last line of what
// follows, which says what came. Without such a message, it is the first
// line that is not go test's own (=== RUN, --- FAIL, FAIL, ok): a panic,
// a compiler error; without any, def.
func FirstMessage(lines []string, def string) string {
	for i, l := range lines {
		if m := msgRE.FindStringSubmatch(l); m != nil {
			msg := strings.TrimSpace(m[1])
			if strings.HasSuffix(msg, ":") {
				if more := continuation(lines[i+1:]); more != "" {
					msg += " " + more
				}
			}
			return msg
		}
	}
	for _, l := range lines {
		l = strings.TrimSpace(l)
		if l != "" && !strings.HasPrefix(l, "===") && !strings.HasPrefix(l, "---") && l != "FAIL" && !strings.HasPrefix(l, "FAIL\t") && !strings.HasPrefix(l, "ok ") {
			return l
		}
	}
	return def
}

// continuation is the last line that goes on a message (up to the next
// message).
func continuation(lines []string) string {
	last := ""
	for _, l := range lines {
		if msgRE.MatchString(l) {
			break
		}
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "---") || strings.HasPrefix(l, "===") {
			continue
		}
		last = l
	}
	return last
}
