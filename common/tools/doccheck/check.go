// check.go is the docs<->code check itself: read the pages, the anchors
// and run.sh's help, then compare them both ways.

package doccheck

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
)

// Problem is one disagreement between docs/ and the code.
type Problem struct {
	File string // slash path from the root: a doc page, a .go file, a directory
	Line int    // 1-based; 0 when the problem is about a whole file
	Msg  string
}

func (p Problem) String() string {
	if p.Line == 0 {
		return p.File + ": " + p.Msg
	}
	return fmt.Sprintf("%s:%d: %s", p.File, p.Line, p.Msg)
}

// Report is what Check found: the problems, and how much it looked at
// (a check that looked at nothing must not pass as green).
type Report struct {
	Problems  []Problem
	Pages     int // doc pages read
	Citations int // anchor citations in the pages
	Anchors   int // anchors in the code
	Paths     int // repository paths mentioned (links and code spans)
	Commands  int // ./run.sh commands quoted
}

// variantDir is the name of a variant's directory, and of its doc page.
var variantDir = regexp.MustCompile(`^v([0-9]+)-[a-z0-9-]+$`)

// Check reads root/docs, every .go file under root, and root/run.sh's
// help, and reports every problem. The error is for what prevents the
// check (no docs/ directory, run.sh help failing).
func Check(root string) (*Report, error) {
	pages, err := readPages(root)
	if err != nil {
		return nil, err
	}
	grammar, err := HelpGrammar(root)
	if err != nil {
		return nil, err
	}
	anchors, malformed, err := CodeAnchors(root)
	if err != nil {
		return nil, err
	}
	c := &checker{root: root, rep: &Report{Pages: len(pages), Anchors: len(anchors)}, top: topLevel(root), anchors: map[string][]string{}}
	for _, p := range pages {
		c.anchors[p.Path] = p.Anchors
	}
	have := map[string]bool{} // "file\x00name" for each anchor in the code
	for _, a := range anchors {
		have[a.File+"\x00"+a.Name] = true
	}
	for _, m := range malformed {
		c.add(m.File, m.Line, "comment %q looks like an anchor but is not one: want // STEP vN.K or // DOC: name, then ':' or the end of the line", trim(m.Text, 60))
	}

	cited := map[string]bool{}
	for _, p := range pages {
		dir := path.Dir(p.Path)
		for _, l := range p.Links {
			target, ok := c.linkTarget(p.Path, dir, l)
			if !ok {
				continue
			}
			text := strings.ReplaceAll(l.Text, "`", "")
			switch {
			case anchorName.MatchString(text):
				c.rep.Citations++
				cited[target+"\x00"+text] = true
				if c.exists(target) && !have[target+"\x00"+text] {
					c.add(p.Path, l.Line, "cites %s in %s, which has no comment // %s", text, target, text)
				}
			case strings.HasPrefix(text, "STEP ") || strings.HasPrefix(text, "DOC:"):
				c.add(p.Path, l.Line, "link text %q is not an anchor: want STEP vN.K or DOC: name", text)
			}
		}
		for _, s := range p.Spans {
			c.spanPath(p.Path, s)
		}
		for _, cmd := range p.Commands {
			c.rep.Commands++
			if !grammar.Accepts(cmd.Words) {
				c.add(p.Path, cmd.Line, "`%s`: ./run.sh help lists no such command", cmd.Text)
			}
		}
	}
	c.uncitedSteps(anchors, cited, pages)
	sort.Slice(c.rep.Problems, func(i, j int) bool {
		a, b := c.rep.Problems[i], c.rep.Problems[j]
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Msg < b.Msg
	})
	return c.rep, nil
}

type checker struct {
	root    string
	rep     *Report
	top     map[string]bool     // top-level entries of the repository
	anchors map[string][]string // heading anchors of the pages read so far
}

func (c *checker) add(file string, line int, format string, a ...any) {
	c.rep.Problems = append(c.rep.Problems, Problem{File: file, Line: line, Msg: fmt.Sprintf(format, a...)})
}

func (c *checker) exists(rel string) bool {
	_, err := os.Stat(filepath.Join(c.root, filepath.FromSlash(rel)))
	return err == nil
}

// linkTarget resolves a link of page (in dir) to a slash path from the
// root, and reports a target that is missing or outside the repository.
// ok is false for links that are not to a repository file (web, #anchor).
func (c *checker) linkTarget(page, dir string, l Link) (string, bool) {
	t := l.Target
	if strings.HasPrefix(t, "mailto:") || strings.Contains(t, "://") {
		return "", false
	}
	t, frag, _ := strings.Cut(t, "#")
	t, _, _ = strings.Cut(t, "?")
	if t == "" {
		if frag != "" {
			c.fragment(page, page, frag, l)
		}
		return "", false
	}
	c.rep.Paths++
	if strings.HasPrefix(t, "/") {
		c.add(page, l.Line, "link to %s: an absolute path breaks in a clone; link relative to the page", l.Target)
		return "", false
	}
	rel := path.Join(dir, t)
	if rel == ".." || strings.HasPrefix(rel, "../") {
		c.add(page, l.Line, "link to %s points outside the repository (it breaks in a clone)", l.Target)
		return "", false
	}
	if !c.exists(rel) {
		c.add(page, l.Line, "link to %s: %s does not exist", l.Target, rel)
	} else if frag != "" && strings.HasSuffix(rel, ".md") {
		c.fragment(page, rel, frag, l)
	}
	return rel, true
}

// fragment reports a link to #frag in the Markdown page target when no
// heading there has that anchor.
func (c *checker) fragment(page, target, frag string, l Link) {
	anchors, ok := c.anchors[target]
	if !ok {
		src, err := os.ReadFile(filepath.Join(c.root, filepath.FromSlash(target)))
		if err != nil {
			return // reported as a missing file
		}
		anchors = ParsePage(target, src).Anchors
		c.anchors[target] = anchors
	}
	if !slices.Contains(anchors, frag) {
		c.add(page, l.Line, "link to %s: %s has no heading whose anchor is #%s", l.Target, target, frag)
	}
}

// spanPath checks a code span that names a repository path, such as
// `common/shm/slot.go`: one whose first element is a top-level entry of
// the repository, or a variant directory (v2-...), existing or not.
func (c *checker) spanPath(page string, s Span) {
	t := strings.TrimPrefix(s.Text, "./")
	if t == "" || strings.ContainsAny(t, " \t*?[]{}$~:<>|'\"`,;=()") || strings.Contains(t, "...") ||
		strings.HasPrefix(t, "/") || strings.HasPrefix(t, ".") || strings.HasPrefix(t, "-") {
		return
	}
	first, _, _ := strings.Cut(t, "/")
	if !c.top[first] && !variantDir.MatchString(first) {
		return
	}
	c.rep.Paths++
	if !c.exists(strings.TrimSuffix(t, "/")) {
		c.add(page, s.Line, "`%s`: no such file or directory in the repository", s.Text)
	}
}

// uncitedSteps reports each STEP anchor that no page cites. A variant
// directory whose page does not exist yet is reported once instead.
func (c *checker) uncitedSteps(anchors []Anchor, cited map[string]bool, pages []Page) {
	hasPage := map[string]bool{} // variant number -> a page docs/vN-*.md exists
	for _, p := range pages {
		if m := variantDir.FindStringSubmatch(strings.TrimSuffix(path.Base(p.Path), ".md")); m != nil && path.Dir(p.Path) == "docs" {
			hasPage[m[1]] = true
		}
	}
	dirOf := map[string]string{} // variant number -> its directory
	for name := range c.top {
		if m := variantDir.FindStringSubmatch(name); m != nil && c.isDir(name) {
			dirOf[m[1]] = name
		}
	}
	noPage := map[string]bool{}
	for _, a := range anchors {
		m := stepVariant.FindStringSubmatch(a.Name)
		if m == nil || cited[a.File+"\x00"+a.Name] {
			continue
		}
		v := m[1]
		if dir, ok := dirOf[v]; ok && !hasPage[v] {
			if !noPage[v] {
				noPage[v] = true
				c.add(dir+"/", 0, "no doc page docs/%s.md: its STEP anchors are cited nowhere", dir)
			}
			continue
		}
		c.add(a.File, a.Line, "%s is cited by no page of docs/: cite it as [%s](%s)", a.Name, a.Name, relFromDocs(a.File))
	}
}

func (c *checker) isDir(rel string) bool {
	fi, err := os.Stat(filepath.Join(c.root, rel))
	return err == nil && fi.IsDir()
}

// relFromDocs is how a page in docs/ links to file.
func relFromDocs(file string) string { return "../" + file }

// readPages parses every .md file under root/docs.
func readPages(root string) ([]Page, error) {
	docs := filepath.Join(root, "docs")
	var pages []Page
	err := filepath.WalkDir(docs, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !strings.HasSuffix(p, ".md") {
			return nil
		}
		src, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		pages = append(pages, ParsePage(filepath.ToSlash(rel), src))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read the guide: %w", err)
	}
	if len(pages) == 0 {
		return nil, errors.New("read the guide: no .md page under " + docs)
	}
	return pages, nil
}

// topLevel lists the entries at the top of the repository, less hidden
// and generated ones.
func topLevel(root string) map[string]bool {
	skip := generatedDirs(root)
	out := map[string]bool{}
	ents, _ := os.ReadDir(root)
	for _, e := range ents {
		if !strings.HasPrefix(e.Name(), ".") && !skip[e.Name()] {
			out[e.Name()] = true
		}
	}
	return out
}

func trim(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}
