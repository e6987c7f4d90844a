// anchors.go finds the anchors in the source code: the Go scanner yields
// every comment with its position, so an anchor is found wherever it sits
// (alone, or after code on its line) and never in a string literal.

package doccheck

import (
	"fmt"
	"go/scanner"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

// Anchor is one anchor comment in the code.
type Anchor struct {
	Name string // "STEP v1.2" or "DOC: shm-rmid-at-once"
	File string // slash path from the root
	Line int
}

var (
	// anchorName is the text of an anchor, as a citation's link text.
	anchorName = regexp.MustCompile(`^(STEP v[0-9]+\.[0-9]+|DOC: [A-Za-z0-9][A-Za-z0-9_-]*)$`)
	// anchorComment is a comment that is an anchor: the name, then ':'
	// or the end of the comment.
	anchorComment = regexp.MustCompile(`^//\s*(STEP v[0-9]+\.[0-9]+|DOC: [A-Za-z0-9][A-Za-z0-9_-]*)(?::|\s*$)`)
	// anchorLike is a comment that starts as an anchor would.
	anchorLike = regexp.MustCompile(`^//\s*(STEP\b|DOC:)`)
	// stepVariant is the variant number of a STEP anchor.
	stepVariant = regexp.MustCompile(`^STEP v([0-9]+)\.`)
)

// Malformed is a comment that starts like an anchor but is not one.
type Malformed struct {
	Text string
	File string
	Line int
}

// CodeAnchors walks root for .go files (skipping testdata, hidden and
// generated directories) and .py files (testdata included: the grader's
// Python programs live there), and returns every anchor comment, and
// every comment that looks like an anchor but is not one.
func CodeAnchors(root string) ([]Anchor, []Malformed, error) {
	skip := generatedDirs(root)
	var anchors []Anchor
	var bad []Malformed
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			name := d.Name()
			if rel != "." && (strings.HasPrefix(name, ".") || name == "vendor" || skip[rel]) {
				return filepath.SkipDir
			}
			return nil
		}
		inTestdata := slices.Contains(strings.Split(rel, "/"), "testdata")
		scan := fileAnchors
		switch {
		case strings.HasSuffix(path, ".go") && !inTestdata:
		case strings.HasSuffix(path, ".py"):
			scan = pyAnchors
		default:
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("read %s: %w", rel, err)
		}
		a, b := scan(rel, src)
		anchors = append(anchors, a...)
		bad = append(bad, b...)
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("walk %s: %w", root, err)
	}
	return anchors, bad, nil
}

// fileAnchors scans one Go source file. A file that does not scan
// cleanly still yields the comments before and after the fault.
func fileAnchors(rel string, src []byte) ([]Anchor, []Malformed) {
	var anchors []Anchor
	var bad []Malformed
	fset := token.NewFileSet()
	file := fset.AddFile(rel, -1, len(src))
	var s scanner.Scanner
	s.Init(file, src, func(token.Position, string) {}, scanner.ScanComments)
	for {
		pos, tok, lit := s.Scan()
		if tok == token.EOF {
			break
		}
		if tok != token.COMMENT || !strings.HasPrefix(lit, "//") {
			continue
		}
		line := fset.Position(pos).Line
		if m := anchorComment.FindStringSubmatch(lit); m != nil {
			anchors = append(anchors, Anchor{Name: m[1], File: rel, Line: line})
		} else if anchorLike.MatchString(lit) {
			bad = append(bad, Malformed{Text: lit, File: rel, Line: line})
		}
	}
	return anchors, bad
}

// pyHash is where a Python comment starts as an anchor would.
var pyHash = regexp.MustCompile(`#\s*(STEP\b|DOC:)`)

// pyAnchors scans one Python file, line by line: an anchor is a comment,
// "# DOC: name" then ':' or the end of the line, alone on its line or
// after code, read with the same rule as a Go comment.
func pyAnchors(rel string, src []byte) ([]Anchor, []Malformed) {
	var anchors []Anchor
	var bad []Malformed
	for i, line := range strings.Split(string(src), "\n") {
		loc := pyHash.FindStringIndex(line)
		if loc == nil {
			continue
		}
		comment := strings.TrimRight(line[loc[0]:], " \t\r")
		if m := anchorComment.FindStringSubmatch("//" + comment[1:]); m != nil {
			anchors = append(anchors, Anchor{Name: m[1], File: rel, Line: i + 1})
		} else {
			bad = append(bad, Malformed{Text: comment, File: rel, Line: i + 1})
		}
	}
	return anchors, bad
}

// generatedDirs reads the top-level directories that .gitignore lists
// ("/bin/"): built files, not part of a clone.
func generatedDirs(root string) map[string]bool {
	out := map[string]bool{}
	b, err := os.ReadFile(filepath.Join(root, ".gitignore"))
	if err != nil {
		return out
	}
	for _, l := range strings.Split(string(b), "\n") {
		l = strings.TrimSpace(l)
		if strings.HasPrefix(l, "/") && strings.HasSuffix(l, "/") && len(l) > 2 && !strings.ContainsAny(l, "*?[") {
			out[strings.Trim(l, "/")] = true
		}
	}
	return out
}
