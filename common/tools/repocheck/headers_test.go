// headers_test.go keeps the files' headers plain: a Go file's first
// comment says what the file is for, never in the set phrase
// "<file>.go demonstrates ..." or "Package <x> demonstrates ...", which
// read alike in every file and say nothing of the one at hand.

package repocheck

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// setPhrase matches a header that opens with the set phrase.
var setPhrase = regexp.MustCompile(`^(\S+\.go|Package \S+) demonstrates\b`)

// setPhraseHeaders lists the Go files under dir (relative paths, sorted)
// whose header opens with the set phrase. A file that does not parse up
// to its package clause is listed too: its header cannot be read.
func setPhraseHeaders(t *testing.T, dir string) []string {
	t.Helper()
	var bad []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path != dir && (strings.HasPrefix(d.Name(), ".") || d.Name() == "bin" || d.Name() == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") {
			return nil
		}
		rel, _ := filepath.Rel(dir, path)
		f, perr := parser.ParseFile(token.NewFileSet(), path, nil, parser.PackageClauseOnly|parser.ParseComments)
		if perr != nil {
			bad = append(bad, rel+": "+perr.Error())
			return nil
		}
		if setPhrase.MatchString(header(f)) {
			bad = append(bad, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("walk %s: %v", dir, err)
	}
	slices.Sort(bad)
	return bad
}

// header is the text of a file's first comment before its package
// clause, build constraints and other directives left out ("" if none).
func header(f *ast.File) string {
	for _, c := range f.Comments {
		if c.Pos() > f.Package {
			break
		}
		if text := strings.TrimSpace(c.Text()); text != "" {
			return text
		}
	}
	return ""
}

// The rule finds the set phrase in a file's header, in a package doc, in
// a block comment and after a build constraint; it lets be a plain
// header, the phrase further in a header, a comment after the package
// clause, a file with no header, and what a dot directory holds.
func TestSetPhraseHeadersRejects(t *testing.T) {
	dir := t.TempDir()
	for name, src := range map[string]string{
		"a/worker.go":    "// worker.go demonstrates a worker.\n\npackage a\n",
		"a/doc.go":       "// Package a demonstrates things.\npackage a\n",
		"a/plain.go":     "// plain.go is the worker's loop: it demonstrates nothing.\n\npackage a\n",
		"a/later.go":     "package a\n\n// later.go demonstrates nothing: not a header.\n",
		"a/none.go":      "package a\n",
		"b/main_test.go": "//go:build linux\n\n// main_test.go demonstrates the helper process.\n\npackage b\n",
		"b/copyright.go": "/* Package b demonstrates a block comment. */\npackage b\n",
		".git/x.go":      "// x.go demonstrates a file git keeps.\npackage x\n",
	} {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{"a/doc.go", "a/worker.go", "b/copyright.go", "b/main_test.go"}
	if d := cmp.Diff(want, setPhraseHeaders(t, dir)); d != "" {
		t.Errorf("setPhraseHeaders on a tree with the set phrase (-want +got):\n%s", d)
	}
}

// No Go file of the repository opens with the set phrase.
func TestNoSetPhraseHeader(t *testing.T) {
	for _, f := range setPhraseHeaders(t, root) {
		t.Errorf("%s: its header opens with the set phrase %q; say plainly what the file is for", f, "... demonstrates")
	}
}
