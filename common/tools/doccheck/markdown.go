// markdown.go reads just enough Markdown to check a page: fenced blocks,
// code spans, inline links and link definitions, each with its line
// number. It is not a full CommonMark parser; it is exact for the forms
// that docs/ uses.

package doccheck

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"
	"unicode"
)

// Page is what one doc page mentions.
type Page struct {
	Path     string    // slash path from the root, e.g. "docs/shm.md"
	Links    []Link    // inline links and images, and link definitions
	Spans    []Span    // code spans outside fenced blocks
	Commands []Command // ./run.sh commands, from code spans and fenced blocks
	Anchors  []string  // the #fragment of each heading, as GitHub makes it
}

// Link is [Text](Target), ![Text](Target) or a definition [Text]: Target.
type Link struct {
	Text   string // whitespace collapsed, as written (code spans kept)
	Target string
	Line   int
}

// Span is the text of a code span.
type Span struct {
	Text string
	Line int
}

// Command is one ./run.sh command line: the words after "./run.sh".
type Command struct {
	Text  string // as quoted, from "./run.sh" on
	Words []string
	Line  int
}

var (
	// inlineLink matches [text](target) or [text](target "title"); the
	// text may not hold brackets (code spans are masked before matching).
	inlineLink = regexp.MustCompile(`!?\[([^\[\]]*)\]\(\s*([^()\s]+)(?:\s+"[^"]*")?\s*\)`)
	// linkDef matches a link reference definition on its own line.
	linkDef = regexp.MustCompile(`(?m)^ {0,3}\[([^\[\]]+)\]:[ \t]*(\S+)`)
)

// ParsePage reads one Markdown page.
func ParsePage(path string, src []byte) Page {
	p := Page{Path: path}
	lines := newLineIndex(src)

	// Fenced blocks: their lines are blanked from the prose; their
	// ./run.sh commands are kept (except in diagrams).
	prose := bytes.Clone(src)
	for _, f := range fencedBlocks(src) {
		for i := f.start; i < f.end; i++ {
			if prose[i] != '\n' {
				prose[i] = ' '
			}
		}
		if f.info == "mermaid" {
			continue
		}
		for _, l := range joinContinued(f.body) {
			for _, c := range commandsIn(l.text) {
				c.Line = lines.at(f.bodyStart) + l.line
				p.Commands = append(p.Commands, c)
			}
		}
	}

	p.Anchors = headingAnchors(string(prose))

	// Code spans: kept as spans, then masked so that a link-like text
	// inside one is not taken for a link.
	masked := bytes.Clone(prose)
	for _, s := range codeSpans(prose) {
		text := collapse(string(prose[s.start:s.end]))
		line := lines.at(s.start)
		p.Spans = append(p.Spans, Span{Text: text, Line: line})
		for _, c := range commandsIn(text) {
			c.Line = line
			p.Commands = append(p.Commands, c)
		}
		for i := s.start; i < s.end; i++ {
			if masked[i] != '\n' {
				masked[i] = 'x'
			}
		}
	}

	for _, m := range inlineLink.FindAllSubmatchIndex(masked, -1) {
		p.Links = append(p.Links, Link{
			Text:   collapse(string(prose[m[2]:m[3]])),
			Target: string(prose[m[4]:m[5]]),
			Line:   lines.at(m[0]),
		})
	}
	for _, m := range linkDef.FindAllSubmatchIndex(masked, -1) {
		p.Links = append(p.Links, Link{
			Text:   collapse(string(prose[m[2]:m[3]])),
			Target: string(prose[m[4]:m[5]]),
			Line:   lines.at(m[0]),
		})
	}
	return p
}

// headingAnchors returns the fragment GitHub gives each ATX heading
// ("## 3. Look at it" -> "3-look-at-it"): lower case, punctuation
// dropped, spaces made hyphens; a repeated one gets "-1", "-2"...
func headingAnchors(prose string) []string {
	var out []string
	seen := map[string]int{}
	for _, l := range strings.Split(prose, "\n") {
		t := strings.TrimLeft(l, " ")
		level := len(t) - len(strings.TrimLeft(t, "#"))
		if level < 1 || level > 6 || len(l)-len(t) > 3 || !strings.HasPrefix(t[level:], " ") {
			continue
		}
		text := strings.TrimSpace(strings.TrimRight(strings.TrimSpace(t[level:]), "#"))
		var b strings.Builder
		for _, r := range strings.ToLower(text) {
			switch {
			case r == ' ':
				b.WriteByte('-')
			case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsNumber(r):
				b.WriteRune(r)
			}
		}
		a := b.String()
		if n := seen[a]; n > 0 {
			seen[a]++
			a = fmt.Sprintf("%s-%d", a, n)
		} else {
			seen[a] = 1
		}
		out = append(out, a)
	}
	return out
}

// fence is one fenced code block: [start, end) covers it from its opening
// fence line to the end of its closing fence line; body is what is inside.
type fence struct {
	start, end int
	info       string
	body       string
	bodyStart  int
}

// fencedBlocks finds ``` and ~~~ blocks (an unclosed one runs to the end).
func fencedBlocks(src []byte) []fence {
	var out []fence
	var cur *fence
	var marker string
	off := 0
	for off < len(src) {
		end := bytes.IndexByte(src[off:], '\n')
		next := len(src)
		if end >= 0 {
			next = off + end + 1
		}
		line := strings.TrimRight(string(src[off:next]), "\r\n")
		// Any indent: a fence may sit in a list item.
		trimmed := strings.TrimLeft(line, " ")
		switch {
		case cur == nil && (strings.HasPrefix(trimmed, "```") || strings.HasPrefix(trimmed, "~~~")):
			n := len(trimmed) - len(strings.TrimLeft(trimmed, trimmed[:1]))
			marker = trimmed[:n]
			info, _, _ := strings.Cut(strings.TrimSpace(trimmed[n:]), " ")
			cur = &fence{start: off, info: info, bodyStart: next}
		case cur != nil && strings.HasPrefix(trimmed, marker) &&
			strings.TrimLeft(trimmed, marker[:1]) == "":
			cur.body = string(src[cur.bodyStart:off])
			cur.end = next
			out = append(out, *cur)
			cur = nil
		}
		off = next
	}
	if cur != nil {
		cur.bodyStart = min(cur.bodyStart, len(src))
		cur.body = string(src[cur.bodyStart:])
		cur.end = len(src)
		out = append(out, *cur)
	}
	return out
}

// span is the content of one code span, delimiters excluded.
type span struct{ start, end int }

// codeSpans finds code spans: from a run of n backquotes to the next run
// of exactly n (so a span may hold a backquote). A run with no match is
// literal text.
func codeSpans(src []byte) []span {
	var out []span
	i := 0
	for i < len(src) {
		if src[i] != '`' {
			i++
			continue
		}
		n := runLen(src, i)
		open := i + n
		j := open
		found := false
		for j < len(src) {
			if src[j] != '`' {
				j++
				continue
			}
			m := runLen(src, j)
			if m == n {
				out = append(out, span{open, j})
				i = j + m
				found = true
				break
			}
			j += m
		}
		if !found {
			i = open
		}
	}
	return out
}

func runLen(b []byte, i int) int {
	n := 0
	for i+n < len(b) && b[i+n] == '`' {
		n++
	}
	return n
}

// contLine is one logical line of a fenced block, backslash continuations
// joined; line is the 0-based line of its start within the block.
type contLine struct {
	text string
	line int
}

func joinContinued(body string) []contLine {
	var out []contLine
	var cur strings.Builder
	start := -1
	for i, l := range strings.Split(body, "\n") {
		l = strings.TrimRight(l, "\r")
		if start < 0 {
			start = i
		}
		if strings.HasSuffix(l, "\\") {
			cur.WriteString(strings.TrimSuffix(l, "\\"))
			cur.WriteByte(' ')
			continue
		}
		cur.WriteString(l)
		out = append(out, contLine{cur.String(), start})
		cur.Reset()
		start = -1
	}
	return out
}

// commandsIn finds each "./run.sh" in s that starts a word and returns
// the command it starts, up to the first shell operator.
func commandsIn(s string) []Command {
	var out []Command
	const prog = "./run.sh"
	for i := 0; ; {
		k := strings.Index(s[i:], prog)
		if k < 0 {
			return out
		}
		at := i + k
		i = at + len(prog)
		if at > 0 && isPathByte(s[at-1]) {
			continue // e.g. "x./run.sh": some other file
		}
		if i < len(s) && !isSpace(s[i]) && !strings.ContainsRune(";&|<>)`", rune(s[i])) {
			continue // e.g. "./run.shx"
		}
		words, n := shellWords(s[i:])
		out = append(out, Command{Text: collapse(s[at : i+n]), Words: words})
	}
}

func isPathByte(c byte) bool {
	return c == '.' || c == '/' || c == '_' || c == '-' ||
		'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' }

// shellWords splits s into words as sh would (quotes, backslashes), up to
// the first unquoted operator or comment. It returns the words and how
// many bytes of s they took.
func shellWords(s string) ([]string, int) {
	var words []string
	var w strings.Builder
	inWord := false
	wordStart := 0 // where the current word started in s
	flush := func() {
		if inWord {
			words = append(words, w.String())
			w.Reset()
			inWord = false
		}
	}
	i := 0
loop:
	for i < len(s) {
		c := s[i]
		switch {
		case isSpace(c):
			flush()
		case c == '\'':
			startWord(&inWord, &wordStart, i)
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				w.WriteString(s[i+1:])
				i = len(s)
				break loop
			}
			w.WriteString(s[i+1 : i+1+j])
			i += j + 1
		case c == '"':
			startWord(&inWord, &wordStart, i)
			i++
			for i < len(s) && s[i] != '"' {
				if s[i] == '\\' && i+1 < len(s) {
					i++
				}
				w.WriteByte(s[i])
				i++
			}
		case c == '\\' && i+1 < len(s):
			startWord(&inWord, &wordStart, i)
			w.WriteByte(s[i+1])
			i++
		case c == '#' && !inWord:
			break loop
		case (c == '<' || c == '>') && inWord && w.Len() > 0 && strings.Trim(w.String(), "0123456789") == "":
			// "2>&1": the digits were a file descriptor, not a word.
			w.Reset()
			inWord = false
			i = wordStart
			break loop
		case strings.IndexByte(";&|<>()`\n", c) >= 0:
			break loop
		default:
			startWord(&inWord, &wordStart, i)
			w.WriteByte(c)
		}
		i++
	}
	flush()
	return words, min(i, len(s))
}

func startWord(inWord *bool, start *int, i int) {
	if !*inWord {
		*inWord, *start = true, i
	}
}

// collapse turns runs of white space (line ends too) into one space.
func collapse(s string) string { return strings.Join(strings.Fields(s), " ") }

// lineIndex maps byte offsets to 1-based line numbers.
type lineIndex []int // offsets where each line starts

func newLineIndex(src []byte) lineIndex {
	idx := lineIndex{0}
	for i, c := range src {
		if c == '\n' {
			idx = append(idx, i+1)
		}
	}
	return idx
}

func (l lineIndex) at(off int) int {
	lo, hi := 0, len(l)
	for lo+1 < hi {
		mid := (lo + hi) / 2
		if l[mid] <= off {
			lo = mid
		} else {
			hi = mid
		}
	}
	return lo + 1
}
