// Every Mermaid text a reader meets, checked: the blocks of
// the repository's pages and what diagram and xray --mermaid print, with
// the real Mermaid library (.ci/mermaid: node, mermaid and jsdom from npm,
// versions pinned in its package-lock.json). A text must parse, and every
// label must come out of the parser whole: a raw "#" in a sequence
// diagram starts a comment and cuts the rest of the line silently.
//
// Without node or .ci/mermaid/node_modules the test is skipped, saying
// why; CI sets OSPS_MERMAID=required, which turns the skip into a failure.

package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// mermaidDir holds the node package (package.json, package-lock.json,
// parse.mjs); npm ci --prefix .ci/mermaid installs it.
const mermaidDir = "../../../.ci/mermaid"

// parsed is parse.mjs's answer for one text.
type parsed struct {
	Error string   `json:"error"`
	Type  string   `json:"type"`
	Texts []string `json:"texts"`
}

// needMermaid returns node's path, or skips the test (fails it when
// OSPS_MERMAID=required) when the parser cannot run.
func needMermaid(t *testing.T) string {
	t.Helper()
	cannot := func(why string) {
		t.Helper()
		msg := "the Mermaid check cannot run: " + why + " (install it with: npm ci --prefix .ci/mermaid)"
		if os.Getenv("OSPS_MERMAID") == "required" {
			t.Fatal(msg + "; OSPS_MERMAID=required")
		}
		t.Skip(msg)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		cannot("no node on PATH")
	}
	if _, err := os.Stat(filepath.Join(mermaidDir, "node_modules", "mermaid", "package.json")); err != nil {
		cannot("mermaid is not installed in .ci/mermaid/node_modules")
	}
	return node
}

// mermaidParse runs the real parser over texts.
func mermaidParse(t *testing.T, node string, texts []string) []parsed {
	t.Helper()
	in, err := json.Marshal(texts)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(node, "parse.mjs")
	cmd.Dir = mermaidDir
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node parse.mjs: %v\n%s", err, stderr.String())
	}
	var res []parsed
	if err := json.Unmarshal(out, &res); err != nil || len(res) != len(texts) {
		t.Fatalf("parse.mjs answered %d results for %d texts (%v):\n%s", len(res), len(texts), err, out)
	}
	return res
}

var (
	entityRE      = regexp.MustCompile(`#(\d+|quot|amp|lt|gt);`)
	participantRE = regexp.MustCompile(`^(?:participant|actor) (\S+)(?: as (.*))?$`)
	noteRE2       = regexp.MustCompile(`^Note (?:over|left of|right of) [^:]+: ?(.*)$`)
	messageRE     = regexp.MustCompile(`^([^-\s]+)(?:->>|-->>|->|-->|-x|--x|-\)|--\))[+-]?([^:\s]+): ?(.*)$`)
	blockRE2      = regexp.MustCompile(`^(?:loop|alt|else|opt|par|and|critical|break) (.*)$`)
	quotedRE      = regexp.MustCompile(`"([^"]*)"`)
)

// decode writes Mermaid's entities (#35;, #59;, #quot;) as characters.
func decode(s string) string {
	return entityRE.ReplaceAllStringFunc(s, func(e string) string {
		name := e[1 : len(e)-1]
		if n, err := strconv.Atoi(name); err == nil {
			return string(rune(n))
		}
		return map[string]string{"quot": `"`, "amp": "&", "lt": "<", "gt": ">"}[name]
	})
}

// labels is every label the text writes, as Mermaid should read it:
// for a sequence diagram, participants' names, messages, notes and
// blocks; for a flowchart, every quoted text.
func labels(text string) []string {
	var out []string
	lines := strings.Split(strings.TrimSpace(text), "\n")
	if strings.TrimSpace(lines[0]) == "sequenceDiagram" {
		actors := map[string]bool{}
		actor := func(name, label string) {
			if !actors[name] {
				actors[name] = true
				out = append(out, decode(label))
			}
		}
		for _, l := range lines[1:] {
			l = strings.TrimSpace(l)
			if m := participantRE.FindStringSubmatch(l); m != nil {
				if m[2] == "" {
					m[2] = m[1]
				}
				actor(m[1], m[2])
			} else if m := noteRE2.FindStringSubmatch(l); m != nil {
				out = append(out, decode(m[1]))
			} else if m := messageRE.FindStringSubmatch(l); m != nil {
				actor(m[1], m[1]) // named by a message only: its name is its label
				actor(m[2], m[2])
				if m[3] != "" {
					out = append(out, decode(m[3]))
				}
			} else if m := blockRE2.FindStringSubmatch(l); m != nil {
				out = append(out, decode(m[1]))
			}
		}
		return out
	}
	for _, m := range quotedRE.FindAllStringSubmatch(text, -1) {
		out = append(out, decode(strings.ReplaceAll(m[1], "<br/>", "<br>")))
	}
	return out
}

// mermaidProblems is what is wrong with text, given the parser's answer.
func mermaidProblems(text string, p parsed) string {
	if p.Error != "" {
		return "Mermaid cannot parse it: " + p.Error
	}
	want, got := labels(text), slices.Clone(p.Texts)
	slices.Sort(want)
	slices.Sort(got)
	if d := cmp.Diff(want, got); d != "" {
		return "Mermaid reads other labels than the text writes (a raw # or ; cuts a label: write #35; and #59;; quote a flowchart's labels) (-written +read):\n" + d
	}
	return ""
}

// mermaidBlocks finds the ```mermaid blocks of the repository's pages
// (not those of testdata/, which are fixtures of other tests).
func mermaidBlocks(t *testing.T) (names, texts []string) {
	t.Helper()
	root := "../../.."
	blockRE := regexp.MustCompile("(?s)```mermaid\n(.*?)```")
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if d.IsDir() && p != root && (strings.HasPrefix(d.Name(), ".") || rel == "bin" || rel == "lab" || d.Name() == "node_modules" || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(p, ".md") {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, m := range blockRE.FindAllSubmatchIndex(b, -1) {
			line := 1 + bytes.Count(b[:m[0]], []byte("\n"))
			names = append(names, fmt.Sprintf("%s:%d", rel, line))
			texts = append(texts, string(b[m[2]:m[3]]))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return names, texts
}

// Every Mermaid text of the pages, every diagram and every xray
// --mermaid of the three variants, parsed whole by Mermaid itself.
func TestMermaidParses(t *testing.T) {
	node := needMermaid(t)
	names, texts := mermaidBlocks(t)
	if len(texts) < 11 {
		t.Fatalf("found %d Mermaid blocks in the pages; want at least the 11 of docs/", len(texts))
	}
	// Two texts the check must reject, so that a check which lets
	// everything through fails here: a ";" inside a note, and a "#".
	bad := []string{
		"sequenceDiagram\n    participant W as worker k\n    Note over W: dies (kill -9); the port stays\n",
		"sequenceDiagram\n    participant W0 as worker#0\n    Note over W0: 1: worker#0 is idle\n",
	}
	for _, v := range []string{"v1", "v2", "v3"} {
		names = append(names, "./run.sh diagram "+v, "./run.sh xray --mermaid "+v)
		texts = append(texts, runTool(t, "diagram", v, "requetetype1", "requetetype2 100000"), runTool(t, "xray", "--mermaid", v))
	}
	res := mermaidParse(t, node, append(slices.Clone(texts), bad...))
	for i, text := range texts {
		if p := mermaidProblems(text, res[i]); p != "" {
			t.Errorf("%s: %s\n%s", names[i], p, text)
		}
	}
	for i, text := range bad {
		if mermaidProblems(text, res[len(texts)+i]) == "" {
			t.Errorf("the check let a broken text through:\n%s", text)
		}
	}
}
