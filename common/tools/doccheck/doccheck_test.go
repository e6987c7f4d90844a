// doccheck_test.go runs the docs<->code check on the real repository, and
// on a fixture tree that breaks every rule once, to show that the check
// catches an anchor renamed on one side only.

package doccheck

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestRepository is the check itself: docs/ and the code agree.
func TestRepository(t *testing.T) {
	rep, err := Check("../../..")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range rep.Problems {
		t.Error(p)
	}
	// A check that read nothing would pass: make sure it read something.
	if rep.Pages < 5 || rep.Citations < 10 || rep.Anchors < 10 || rep.Paths < 10 || rep.Commands < 5 {
		t.Errorf("the check looked at too little to mean anything: %d pages, %d citations, %d anchors, %d paths, %d commands",
			rep.Pages, rep.Citations, rep.Anchors, rep.Paths, rep.Commands)
	}
	t.Logf("%d pages, %d citations, %d anchors in the code, %d paths, %d run.sh commands",
		rep.Pages, rep.Citations, rep.Anchors, rep.Paths, rep.Commands)
}

// TestFixture runs the check on testdata/tree, where docs/v1-fake.md cites
// anchors the code lost or renamed, and the code holds anchors no page
// cites: the check must report exactly those problems.
func TestFixture(t *testing.T) {
	rep, err := Check("testdata/tree")
	if err != nil {
		t.Fatal(err)
	}
	const page = "docs/v1-fake.md"
	want := []Problem{
		{page, 4, "cites STEP v1.3 in v1-fake/worker.go, which has no comment // STEP v1.3"},
		{page, 5, "cites DOC: x-start in common/x/x.go, which has no comment // DOC: x-start"},
		{page, 8, "link to ../common/x/nothere.go: common/x/nothere.go does not exist"},
		{page, 9, `link text "STEP 1.2" is not an anchor: want STEP vN.K or DOC: name`},
		{page, 13, "`common/x/gone.go`: no such file or directory in the repository"},
		{page, 14, "`v3-fake/main.go`: no such file or directory in the repository"},
		{page, 15, "link to ../../elsewhere.md points outside the repository (it breaks in a clone)"},
		{page, 16, "link to missing.md: docs/missing.md does not exist"},
		{page, 17, "link to /etc/passwd: an absolute path breaks in a clone; link relative to the page"},
		{page, 22, "`./run.sh test --all`: ./run.sh help lists no such command"},
		{page, 22, "`./run.sh v3`: ./run.sh help lists no such command"},
		{page, 23, "`./run.sh v1 bogus`: ./run.sh help lists no such command"},
		{page, 27, "`./run.sh v1 client requetetype1`: ./run.sh help lists no such command"},
		{page, 41, "link to #no-such-heading: docs/v1-fake.md has no heading whose anchor is #no-such-heading"},
		{"v1-fake/worker.go", 7, "STEP v1.2 is cited by no page of docs/: cite it as [STEP v1.2](../v1-fake/worker.go)"},
		{"v1-fake/worker.go", 8, `comment "// STEP v1.3 a colon is missing, so this is no anchor" looks like an anchor but is not one: want // STEP vN.K or // DOC: name, then ':' or the end of the line`},
		{"v2-fake/", 0, "no doc page docs/v2-fake.md: its STEP anchors are cited nowhere"},
	}
	if diff := cmp.Diff(want, rep.Problems); diff != "" {
		t.Errorf("problems on the fixture (-want +got):\n%s", diff)
	}
	// What it looked at: five citations (two good, three bad; "STEP 1.2"
	// is none), six anchors (v1.1, v1.2, v2.1, v2.2, two DOC), twelve
	// links to files (web links and #fragments of the page itself are
	// not files) and five path spans (`./run.sh` is one), nine commands
	// (seven spans, two in the sh block, none in the diagram).
	wantCounts := Report{Pages: 1, Citations: 5, Anchors: 6, Paths: 17, Commands: 9}
	rep.Problems = nil
	if diff := cmp.Diff(wantCounts, *rep); diff != "" {
		t.Errorf("counts on the fixture (-want +got):\n%s", diff)
	}
}

// TestParsePage checks the Markdown reading on the forms docs/ uses.
func TestParsePage(t *testing.T) {
	src := "Intro [STEP v1.2](../v1-relay/dispatcher.go) and ![pic](img.png).\n" +
		"A span `common/shm/slot.go`, a ``span with ` inside``, and `[x](not-a-link)`.\n" +
		"[ref]: ../run.sh\n" +
		"```sh\n" +
		"PORT=2301 ./run.sh v1 serve --port 2301 >/tmp/out 2>&1 &\n" +
		"echo ./run.shx; ./x./run.sh no\n" +
		"```\n" +
		"Text `./run.sh v1 client 'requetetype2 200000' \"STATS\"` ends.\n"
	got := ParsePage("docs/p.md", []byte(src))
	want := Page{
		Path: "docs/p.md",
		Links: []Link{
			{Text: "STEP v1.2", Target: "../v1-relay/dispatcher.go", Line: 1},
			{Text: "pic", Target: "img.png", Line: 1},
			{Text: "ref", Target: "../run.sh", Line: 3},
		},
		Spans: []Span{
			{Text: "common/shm/slot.go", Line: 2},
			{Text: "span with ` inside", Line: 2},
			{Text: "[x](not-a-link)", Line: 2},
			{Text: `./run.sh v1 client 'requetetype2 200000' "STATS"`, Line: 8},
		},
		Commands: []Command{
			{Text: "./run.sh v1 serve --port 2301", Words: []string{"v1", "serve", "--port", "2301"}, Line: 5},
			{Text: `./run.sh v1 client 'requetetype2 200000' "STATS"`, Words: []string{"v1", "client", "requetetype2 200000", "STATS"}, Line: 8},
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ParsePage (-want +got):\n%s", diff)
	}
}

// TestGrammar checks commands against a help text shaped like run.sh's.
func TestGrammar(t *testing.T) {
	g := ParseHelp(`OSPS lab.

  ./run.sh v1 | v2 | v3            narrated demo
  ./run.sh VARIANT serve [flags]   run that variant's dispatcher
  ./run.sh VARIANT client [flags] REQUEST...
                                   run one client session against it
  ./run.sh test                    every test

VARIANT is v1 (relay), v2 (worker calls client) or v3 (client calls worker).
Environment: PORT (default 2222) is the demo's dispatcher port.
`)
	for _, tc := range []struct {
		cmd  []string
		want bool
	}{
		{nil, true},
		{[]string{"v1"}, true},
		{[]string{"v3"}, true},
		{[]string{"v4"}, false},
		{[]string{"v1", "--slot-size", "4096"}, false},
		{[]string{"v2", "serve"}, true},
		{[]string{"v2", "serve", "--port", "0", "--trace"}, true},
		{[]string{"VARIANT", "serve"}, true},
		{[]string{"v5", "serve"}, false},
		{[]string{"v1", "client", "requetetype1"}, true},
		{[]string{"v1", "bench"}, false},
		{[]string{"test"}, true},
		{[]string{"test", "-v"}, false},
		{[]string{"bench"}, false},
		{[]string{"serve"}, false},
	} {
		if got := g.Accepts(tc.cmd); got != tc.want {
			t.Errorf("Accepts(%q) = %v, want %v", tc.cmd, got, tc.want)
		}
	}
}

// TestHeadingAnchors checks the #fragments made of headings, as GitHub
// makes them: the pages link to sections such as exercises.md#6-hang-a-worker.
func TestHeadingAnchors(t *testing.T) {
	src := "# OSPS lab guide\n" +
		"## 4. kill -9 the dispatcher\n" +
		"## Security: FTP's bounce attack, and the ticket\n" +
		"### Step 1: the client sends `requetetype1`\n" +
		"```\n# not a heading in a fence\n```\n" +
		"#not a heading\n" +
		"## Try this\n## Try this\n"
	got := ParsePage("docs/p.md", []byte(src)).Anchors
	want := []string{
		"osps-lab-guide",
		"4-kill--9-the-dispatcher",
		"security-ftps-bounce-attack-and-the-ticket",
		"step-1-the-client-sends-requetetype1",
		"try-this",
		"try-this-1",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("heading anchors (-want +got):\n%s", diff)
	}
}

// TestTranslatedPages: pages in a folder under docs/ (the French pages
// of docs/fr/) are checked like the others, their links resolved from
// their own folder.
func TestTranslatedPages(t *testing.T) {
	root := t.TempDir()
	files := map[string]string{
		"run.sh":         "#!/usr/bin/env bash\ncat <<'USAGE'\n  ./run.sh test                    the tests\nUSAGE\n",
		"docs/README.md": "# Guide\n\n## The assignment\n\nSee [fr/README.md](fr/README.md).\n",
		"docs/fr/lab.md": "# TP\n",
		"docs/fr/README.md": "# Guide\n\n[ok](../README.md#the-assignment) [tp](lab.md)\n" +
			"[bad](../README.md#nope) [gone](../protocol.md) [out](../../../x.md)\n\n`./run.sh test` `./run.sh nosuch`\n",
	}
	writeTree(t, root, files)
	rep, err := Check(root)
	if err != nil {
		t.Fatal(err)
	}
	const page = "docs/fr/README.md"
	want := []Problem{
		{page, 4, "link to ../../../x.md points outside the repository (it breaks in a clone)"},
		{page, 4, "link to ../README.md#nope: docs/README.md has no heading whose anchor is #nope"},
		{page, 4, "link to ../protocol.md: docs/protocol.md does not exist"},
		{page, 6, "`./run.sh nosuch`: ./run.sh help lists no such command"},
	}
	if diff := cmp.Diff(want, rep.Problems); diff != "" {
		t.Errorf("problems in docs/fr/ (-want +got):\n%s", diff)
	}
}

// TestPythonAnchors: a .py file holds anchors as "# DOC: name" comments,
// in testdata too (the grader's Python programs live there), read with
// the Go rule; a .go file in testdata is still not read.
func TestPythonAnchors(t *testing.T) {
	root := t.TempDir()
	files := map[string]string{
		"run.sh": "#!/usr/bin/env bash\ncat <<'USAGE'\n  ./run.sh test                    the tests\nUSAGE\n",
		"docs/python.md": "# Python\n\n[DOC: py-alone](../tools/testdata/py/v1.py) [DOC: py-after](../tools/testdata/py/v1.py)\n" +
			"[DOC: py-gone](../tools/testdata/py/v1.py) [DOC: go-in-testdata](../tools/testdata/x.go)\n",
		"tools/testdata/py/v1.py": "import os\n# DOC: py-alone: a comment of its own\n" +
			"os.close(3)  # DOC: py-after\n" +
			"x = 1  # STEP 5: no variant, so no anchor\n" +
			"s = \"#\"  # a plain comment\n",
		"tools/testdata/x.go": "package x\n\n// DOC: go-in-testdata\n",
	}
	writeTree(t, root, files)
	rep, err := Check(root)
	if err != nil {
		t.Fatal(err)
	}
	want := []Problem{
		{"docs/python.md", 4, "cites DOC: go-in-testdata in tools/testdata/x.go, which has no comment // DOC: go-in-testdata"},
		{"docs/python.md", 4, "cites DOC: py-gone in tools/testdata/py/v1.py, which has no comment // DOC: py-gone"},
		{"tools/testdata/py/v1.py", 4, `comment "# STEP 5: no variant, so no anchor" looks like an anchor but is not one: want // STEP vN.K or // DOC: name, then ':' or the end of the line`},
	}
	if diff := cmp.Diff(want, rep.Problems); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
	if rep.Anchors != 2 {
		t.Errorf("anchors found: %d, want 2 (py-alone, py-after)", rep.Anchors)
	}
}

// writeTree writes files (path -> text) into a tree under root.
func writeTree(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for name, text := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
