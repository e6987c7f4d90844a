// The diagrams of the variants' pages checked against a new run (go test
// -update redraws them), and the diagram's own rules: how a run is
// compared, how a note is wrapped, how a failed session shows.

package main

import (
	"flag"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the diagrams in the variants' pages from a new run")

// pages embed one diagram each, between these markers; the begin marker
// holds the command that drew it.
var pages = map[string]string{"v1": "v1-relay.md", "v2": "v2-worker-calls-client.md", "v3": "v3-client-calls-worker.md"}

var blockRE = regexp.MustCompile("(?s)<!-- begin diagram: (\\./run\\.sh diagram [^\n]*?) -->\n```mermaid\n(.*?)```\n<!-- end diagram -->")

// structure is what a diagram says, participant by participant: the
// participants, then for each one the messages it sent and the notes it
// printed, in step order ("2 D->>W0 ping", "3 note"). Each process's
// own lines come in its own order; lines of different processes
// interleave differently from run to run, so they are not compared.
func structure(diagram string) map[string][]string {
	s := map[string][]string{}
	arrowRE := regexp.MustCompile(`^(\w+)->>(\w+): (\d+): (.*)$`)
	noteRE := regexp.MustCompile(`^Note over (\w+): (\d+): `)
	type ev struct {
		step int
		text string
	}
	by := map[string][]ev{}
	for _, l := range strings.Split(diagram, "\n") {
		l = strings.TrimSpace(l)
		if p, ok := strings.CutPrefix(l, "participant "); ok {
			s["participants"] = append(s["participants"], p)
		} else if m := arrowRE.FindStringSubmatch(l); m != nil {
			n, _ := strconv.Atoi(m[3])
			by[m[1]] = append(by[m[1]], ev{n, fmt.Sprintf("%d %s->>%s %s", n, m[1], m[2], m[4])})
		} else if m := noteRE.FindStringSubmatch(l); m != nil {
			n, _ := strconv.Atoi(m[2])
			by[m[1]] = append(by[m[1]], ev{n, fmt.Sprintf("%d note", n)})
		}
	}
	for who, evs := range by {
		slices.SortStableFunc(evs, func(a, b ev) int { return a.step - b.step })
		for _, e := range evs {
			s[who] = append(s[who], e.text)
		}
	}
	return s
}

// words splits a shell command line of plain words and '...' or "..."
// strings.
func words(line string) []string {
	var out []string
	for _, m := range regexp.MustCompile(`'([^']*)'|"([^"]*)"|(\S+)`).FindAllStringSubmatch(line, -1) {
		out = append(out, m[1]+m[2]+m[3])
	}
	return out
}

// Each variant's page embeds a diagram drawn by ./run.sh diagram; a new
// run must have the same structure. go test ./common/tools/osps-live -update
// redraws them.
func TestPagesShowARealRun(t *testing.T) {
	for v, page := range pages {
		t.Run(v, func(t *testing.T) {
			path := "../../../docs/" + page
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			m := blockRE.FindSubmatchIndex(b)
			if m == nil {
				t.Fatalf("%s has no diagram block (<!-- begin diagram: ./run.sh diagram %s ... -->)", path, v)
			}
			cmd := words(string(b[m[2]:m[3]]))
			if len(cmd) < 3 || cmd[2] != v {
				t.Fatalf("%s: the diagram's command %q is not for %s", path, cmd, v)
			}
			got := runTool(t, cmd[1:]...)
			if *update {
				nb := slices.Concat(b[:m[4]], []byte(got), b[m[5]:])
				if err := os.WriteFile(path, nb, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			if d := cmp.Diff(structure(string(b[m[4]:m[5]])), structure(got)); d != "" {
				t.Errorf("%s: the diagram no longer matches a real run (-page +run); redraw with go test ./common/tools/osps-live -update:\n%s\nthe run drew:\n%s", path, d, got)
			}
		})
	}
}

// The structure sees a change of step, of message, of participant.
func TestStructureSeesChanges(t *testing.T) {
	lines := []traceLine{
		{1, "client", `connect to the dispatcher at 127.0.0.1:1 (one session for every request)`},
		{2, "client", `send "requetetype1" to the dispatcher`},
		{2, "dispatcher", `session 1: ticket 00 and "requetetype1" written into slot 0, ping worker#0`},
		{2, "worker#0", `ping: expect ticket 00 for "requetetype1" within 5s; pong ready`},
		{3, "dispatcher", `session 1: answer GOTO 127.0.0.1 2 00 (worker#0 listens there, ticket valid 5s)`},
	}
	base := structure(sequence("v3", lines))
	want := map[string][]string{
		"participants": {"C as client", "D as dispatcher", "W0 as worker#35;0"},
		"C":            {"1 C->>D connect", "2 C->>D requetetype1"},
		"D":            {"2 D->>W0 ping", "3 D->>C GOTO host port ticket"},
		"W0":           {"2 W0->>D pong ready"},
	}
	if d := cmp.Diff(want, base); d != "" {
		t.Fatalf("structure (-want +got):\n%s", d)
	}
	for i, change := range []func([]traceLine){
		func(l []traceLine) { l[4].Step = 4 },
		func(l []traceLine) { l[3].Msg = "ping: expect ticket; proof asked" },
		func(l []traceLine) { l[3].Role = "worker#1" },
	} {
		changed := slices.Clone(lines)
		change(changed)
		if cmp.Equal(base, structure(sequence("v3", changed))) {
			t.Errorf("change %d went unseen", i)
		}
	}
}

// A long note is wrapped at spaces, never inside a word, and ends with
// "…" only where text was left out.
func TestWrapNoteKeepsWords(t *testing.T) {
	msg := "client 127.0.0.1:39524 presented ticket 22079821fed1fe8cb61ba59ab0c1d2e3f4a5b6c7d8e9f00112233445566778899 and its proof; slot 0 takes it"
	got := wrapNote(msg)
	lines := strings.Split(got, "<br/>")
	var words []string
	for _, l := range lines {
		if n := len([]rune(l)); n > noteWidth && strings.Contains(l, " ") {
			t.Errorf("line %q is %d runes, more than %d, with a space to break at", l, n, noteWidth)
		}
		words = append(words, strings.Fields(decode(l))...)
	}
	if d := cmp.Diff(strings.Fields(msg), words); d != "" {
		t.Errorf("wrapNote(%q) = %q: words changed (-message +note):\n%s", msg, got, d)
	}
	long := strings.Repeat("word ", 60)
	got = wrapNote(long)
	if n := strings.Count(got, "<br/>"); n != noteLines-1 || !strings.HasSuffix(got, "word …") {
		t.Errorf("wrapNote of 60 words = %q; want %d lines, the last ending with a whole word and …", got, noteLines)
	}
}

// A session that fails shows the client's own report (ERR unknown-type).
func TestDiagramShowsTheClientsError(t *testing.T) {
	var out, errb strings.Builder
	code := run([]string{"diagram", "--bin", binDir, "v3", "bogus"}, &out, &errb)
	if code != 1 || !strings.Contains(errb.String(), `bogus: ERR unknown-type`) {
		t.Errorf("diagram v3 bogus: exit %d, stderr:\n%s\nwant 1 and the client's ERR unknown-type line", code, errb.String())
	}
}
