// runsh.go checks the quoted ./run.sh commands against run.sh's own usage
// text: the commands that `./run.sh help` lists are the grammar, so the
// docs cannot promise a command that run.sh does not have.

package doccheck

import (
	"context"
	"fmt"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Grammar is the set of command forms that run.sh's help lists, such as
// "v1 | v2 | v3" or "VARIANT serve [flags]".
type Grammar struct {
	Forms [][]Slot
	// Defs gives the values of a placeholder that the help defines,
	// "VARIANT is v1 (relay), v2 (...) or v3 (...)".
	Defs map[string][]string
}

// Slot is one word position of a form: literal alternatives, or a
// placeholder.
type Slot struct {
	Words []string // literal alternatives ("v1", "v2", "v3")
	Name  string   // placeholder name ("VARIANT", "[flags]", "REQUEST")
}

var (
	placeholder = regexp.MustCompile(`^[A-Z][A-Z_]*(\.\.\.)?$`)
	definition  = regexp.MustCompile(`^\s*([A-Z][A-Z_]*) is (.*)$`)
	parens      = regexp.MustCompile(`\([^)]*\)`)
)

// ParseHelp reads the grammar out of run.sh's usage text. A form is a
// line that starts with "./run.sh "; its synopsis ends at the first run
// of two spaces (where the description starts).
func ParseHelp(text string) *Grammar {
	g := &Grammar{Defs: map[string][]string{}}
	for _, line := range strings.Split(text, "\n") {
		t := strings.TrimSpace(line)
		if m := definition.FindStringSubmatch(line); m != nil {
			var vals []string
			for _, w := range strings.FieldsFunc(parens.ReplaceAllString(m[2], " "), func(r rune) bool {
				return !(r == '-' || r == '_' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9')
			}) {
				if w != "or" && w != "and" {
					vals = append(vals, w)
				}
			}
			g.Defs[m[1]] = vals
			continue
		}
		rest, ok := strings.CutPrefix(t, "./run.sh ")
		if !ok {
			continue
		}
		syn, _, _ := strings.Cut(rest, "  ")
		var form []Slot
		toks := strings.Fields(syn)
		for i := 0; i < len(toks); i++ {
			tok := toks[i]
			switch {
			case tok == "|" && len(form) > 0 && i+1 < len(toks):
				last := &form[len(form)-1]
				last.Words = append(last.Words, toks[i+1])
				i++
			case strings.HasPrefix(tok, "[") || placeholder.MatchString(tok):
				form = append(form, Slot{Name: strings.TrimSuffix(tok, "...")})
			default:
				form = append(form, Slot{Words: []string{tok}})
			}
		}
		if len(form) > 0 {
			g.Forms = append(g.Forms, form)
		}
	}
	return g
}

// Accepts reports whether the words after "./run.sh" fit one of the
// forms. A placeholder with a definition takes one of its values (or its
// own name, when a page quotes the synopsis); any other placeholder takes
// all the words left. Bare "./run.sh" prints the help, so it is accepted.
func (g *Grammar) Accepts(words []string) bool {
	if len(words) == 0 {
		return true
	}
	for _, f := range g.Forms {
		if g.fits(f, words) {
			return true
		}
	}
	return false
}

func (g *Grammar) fits(form []Slot, words []string) bool {
	for i, s := range form {
		vals, defined := g.Defs[s.Name]
		free := s.Name != "" && !defined
		if free {
			return true
		}
		if i >= len(words) {
			return false
		}
		w := words[i]
		switch {
		case s.Name != "":
			if w != s.Name && !slices.Contains(vals, w) {
				return false
			}
		case !slices.Contains(s.Words, w):
			return false
		}
	}
	return len(words) == len(form)
}

// HelpGrammar runs `bash run.sh help` in root and parses its output.
func HelpGrammar(root string) (*Grammar, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "run.sh", "help")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("run.sh help in %s: %w", root, err)
	}
	g := ParseHelp(string(out))
	if len(g.Forms) == 0 {
		return nil, fmt.Errorf("run.sh help in %s lists no ./run.sh command", root)
	}
	return g, nil
}
