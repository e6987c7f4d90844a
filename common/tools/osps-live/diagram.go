// ./run.sh diagram: what really happened, drawn. It runs one client
// session against a dispatcher, both with --trace, gathers the "vN step
// K role: ..." lines of every process from one pipe, and prints a Mermaid
// sequenceDiagram. A line that says a message was sent becomes an arrow
// (rules in steps.go); any other line becomes a note over the process
// that printed it.

package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/pflag"
)

// sessionTimeout bounds the client's session; gatherTimeout the wait
// for the last trace lines once the server stopped.
const (
	sessionTimeout = 30 * time.Second
	gatherTimeout  = 10 * time.Second
)

func runDiagram(args []string, stdout, stderr io.Writer) int {
	const synopsis = "./run.sh diagram [--workers N] VARIANT [REQUEST...] (default REQUEST: requetetype1)"
	fs := pflag.NewFlagSet("diagram", pflag.ContinueOnError)
	fs.SetInterspersed(false) // the requests may start with a dash
	binDir := fs.String("bin", "bin", "directory of the variants' binaries")
	workers := fs.Int("workers", 1, "workers of the dispatcher")
	if status, done := parseFlags(fs, args, synopsis, stdout, stderr); done {
		return status
	}
	switch {
	case fs.NArg() < 1:
		return usageError(stderr, fs, synopsis, "missing VARIANT (v1, v2 or v3)")
	case variantArg(fs.Arg(0)) != nil:
		return usageError(stderr, fs, synopsis, variantArg(fs.Arg(0)).Error())
	}
	reqs := fs.Args()[1:]
	if len(reqs) == 0 {
		reqs = []string{"requetetype1"}
	}
	lines, err := traceSession(*binDir, fs.Arg(0), *workers, reqs)
	if err != nil {
		fmt.Fprintln(stderr, "osps-live diagram:", err)
		return 1
	}
	fmt.Fprint(stdout, sequence(fs.Arg(0), lines))
	return 0
}

// traceSession starts the dispatcher with --trace, runs one client
// session with --trace, stops the dispatcher, and returns the trace
// lines of all the processes in the order they reached the pipe.
func traceSession(binDir, variant string, workers int, reqs []string) ([]traceLine, error) {
	bin, err := binary(binDir, variant)
	if err != nil {
		return nil, err
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("pipe for the trace: %w", err)
	}
	defer r.Close()
	var mu sync.Mutex
	var lines []traceLine
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			if l, ok := parseTrace(sc.Text()); ok {
				mu.Lock()
				lines = append(lines, l)
				mu.Unlock()
			}
		}
	}()
	srv, err := startServer(bin, w, "--trace", "--workers", strconv.Itoa(workers))
	if err != nil {
		w.Close()
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), sessionTimeout)
	client := exec.CommandContext(ctx, bin, append([]string{"client", "--trace", "--server", srv.Addr}, reqs...)...)
	client.Stderr = w
	var answers strings.Builder // the client's own report, one line per request
	client.Stdout = &answers
	cerr := client.Run()
	cancel()
	serr := srv.Stop()
	w.Close() // the last writers are gone with the server: the reader sees end of file
	select {
	case <-done:
	case <-time.After(gatherTimeout):
		return nil, fmt.Errorf("trace pipe still open %v after the server stopped", gatherTimeout)
	}
	if cerr != nil {
		return nil, fmt.Errorf("client session: %w; it printed:\n%s", cerr, strings.TrimRight(answers.String(), "\n"))
	}
	if serr != nil {
		return nil, fmt.Errorf("dispatcher: %w", serr)
	}
	mu.Lock()
	defer mu.Unlock()
	return lines, nil
}

// traceLine is one "vN step K role: message" line.
type traceLine struct {
	Step int
	Role string // "client", "dispatcher", "worker#0"
	Msg  string
}

var traceRE = regexp.MustCompile(`^v\d+ step (\d+) (client|dispatcher|worker#\d+): (.*)$`)

func parseTrace(s string) (traceLine, bool) {
	m := traceRE.FindStringSubmatch(s)
	if m == nil {
		return traceLine{}, false
	}
	step, _ := strconv.Atoi(m[1])
	return traceLine{Step: step, Role: m[2], Msg: m[3]}, true
}

// participant is a role's short id in the diagram: C, D, W0, W1, ...
func participant(role string) string {
	switch role {
	case "client":
		return "C"
	case "dispatcher":
		return "D"
	}
	return "W" + strings.TrimPrefix(role, "worker#")
}

// Mermaid reads "#" as the start of an entity (or, in a sequence
// diagram, of a comment) and ";" as the end of a statement: both are
// written as entities, which Mermaid draws as the characters.
var mermaidEscaper = strings.NewReplacer("#", "#35;", ";", "#59;")

// mermaidText makes s safe as a Mermaid label.
func mermaidText(s string) string { return mermaidEscaper.Replace(s) }

// noteWidth is a note's line length in runes: longer texts are wrapped
// at spaces (a word is never cut), noteLines at most, the rest replaced
// by "…" at a word's end.
const (
	noteWidth = 60
	noteLines = 3
)

// wrapNote breaks text into lines of at most noteWidth runes at spaces
// (a longer word keeps a line of its own), joined by <br/>.
func wrapNote(text string) string {
	var lines []string
	cur := ""
	for _, w := range strings.Fields(text) {
		if cur != "" && len([]rune(cur))+1+len([]rune(w)) > noteWidth {
			lines = append(lines, cur)
			cur = ""
		}
		if len(lines) == noteLines {
			lines[noteLines-1] += " …"
			break
		}
		if cur != "" {
			cur += " "
		}
		cur += w
	}
	if cur != "" && len(lines) < noteLines {
		lines = append(lines, cur)
	}
	for i := range lines {
		lines[i] = mermaidText(lines[i])
	}
	return strings.Join(lines, "<br/>")
}

// sequence draws the lines as a sequenceDiagram.
func sequence(variant string, lines []traceLine) string {
	var body strings.Builder
	roles := map[string]bool{"client": true, "dispatcher": true}
	lastWorker := "worker#0" // the worker the dispatcher pinged last
	for _, l := range lines {
		roles[l.Role] = true
		arrows := arrowsFor(variant, l, lastWorker)
		for _, a := range arrows {
			roles[a.to] = true
			if strings.HasPrefix(a.to, "worker#") && l.Role == "dispatcher" {
				lastWorker = a.to
			}
			fmt.Fprintf(&body, "    %s->>%s: %d: %s\n", participant(l.Role), participant(a.to), l.Step, mermaidText(a.label))
		}
		if len(arrows) == 0 {
			fmt.Fprintf(&body, "    Note over %s: %d: %s\n", participant(l.Role), l.Step, wrapNote(l.Msg))
		}
	}
	var b strings.Builder
	b.WriteString("sequenceDiagram\n")
	b.WriteString("    participant C as client\n    participant D as dispatcher\n")
	for k := 0; roles["worker#"+strconv.Itoa(k)]; k++ {
		fmt.Fprintf(&b, "    participant W%d as %s\n", k, mermaidText("worker#"+strconv.Itoa(k)))
	}
	b.WriteString(body.String())
	return b.String()
}
