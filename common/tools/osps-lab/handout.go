// handout.go writes the students' copy of the repository (`./run.sh
// handout OUT`): a fresh git repository of one commit, in which every lab
// region is its stub and nothing holds the reference code or the answers:
// docs/answers.md is left out (the pages' links to it become plain
// words), and so are the files that quote a reference region (the
// catalogue of wrong solutions, an exercise patch written against a
// region). A file HANDOUT at its root tells the tests where they are.

package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

// HandoutMarker is the file at the root of a handout.
const HandoutMarker = "HANDOUT"

// IsHandout reports whether the repository at root is a students' copy.
func IsHandout(root string) bool {
	_, err := os.Stat(filepath.Join(root, HandoutMarker))
	return err == nil
}

const handoutNote = `This is the students' copy of OSPS, made by ./run.sh handout.

Every lab region (between // LAB NAME: begin and // LAB NAME: end) is
the lab's stub: ./run.sh lab list, ./run.sh lab start NAME and
./run.sh lab check NAME. Until the labs are written, the code that
needs them does not work: the servers (the demos, the exercises) fail;
that is expected. ./run.sh test passes: here it compiles every test,
runs those of the packages that need no lab, and names the labs to
write. docs/answers.md stays with the teacher.
`

// answersLinkRE is a Markdown link to docs/answers.md, from docs/ or a
// folder of docs/.
var answersLinkRE = regexp.MustCompile(`\[([^\]]+)\]\((?:\.\./)?answers\.md(?:#[^)]*)?\)`)

// docAnchorRE is a DOC anchor comment line.
var docAnchorRE = regexp.MustCompile(`^\s*// DOC: [a-z0-9-]+`)

// referenceLines are the lines (trimmed) that only the reference
// solutions hold: lines of the lab regions that are not blank, not a DOC
// anchor, not in the lab's stub, and not anywhere else in the files of
// the repository (outside the regions).
func referenceLines(root string, files []string) (map[string]string, error) {
	regions := map[string][]Region{} // file -> the lab regions it holds
	ref := map[string]string{}       // line -> lab
	stubLines := map[string]bool{}
	for _, l := range All {
		r, err := Locate(root, l)
		if err != nil {
			return nil, err
		}
		regions[r.File] = append(regions[r.File], r)
		src, err := os.ReadFile(filepath.Join(root, r.File))
		if err != nil {
			return nil, err
		}
		for _, line := range strings.Split(string(src[r.Start:r.End]), "\n") {
			if t := strings.TrimSpace(line); t != "" && !docAnchorRE.MatchString(line) {
				ref[t] = l.Name
			}
		}
		for _, line := range strings.Split(l.Stub, "\n") {
			stubLines[strings.TrimSpace(line)] = true
		}
	}
	for t := range stubLines {
		delete(ref, t)
	}
	for _, f := range files {
		src, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			continue
		}
		rs := slices.SortedFunc(slices.Values(regions[f]), func(a, b Region) int { return b.Start - a.Start })
		for _, r := range rs { // the file outside its regions, cut from the last one up: the offsets before stay true
			src = append(append([]byte{}, src[:r.Start]...), src[r.End:]...)
		}
		if quotesRegions(f) {
			continue
		}
		for _, line := range strings.Split(string(src), "\n") {
			delete(ref, strings.TrimSpace(line))
		}
	}
	return ref, nil
}

// quotesRegions: files that are made of lab code, not to be counted as
// "elsewhere" (the catalogue of wrong solutions copies reference lines).
func quotesRegions(f string) bool {
	return strings.HasPrefix(f, mistakesDir)
}

// mistakesDir holds the catalogue of wrong solutions.
const mistakesDir = "common/tools/osps-lab/testdata/mistakes/"

// leaks returns the reference lines data holds.
func leaks(data []byte, ref map[string]string) []string {
	var found []string
	for _, line := range strings.Split(string(data), "\n") {
		t := strings.TrimSpace(line)
		lab, ok := ref[t]
		if !ok && len(line) > 0 && strings.ContainsRune("+- ", rune(line[0])) {
			lab, ok = ref[strings.TrimSpace(line[1:])] // a line of a patch
		}
		if ok {
			found = append(found, fmt.Sprintf("%q (lab %s)", t, lab))
		}
	}
	return found
}

// Handout writes the students' copy of the repository at root to out.
func Handout(root, out string, w io.Writer) error {
	absRoot, err1 := filepath.Abs(root)
	absOut, err2 := filepath.Abs(out)
	if err1 != nil || err2 != nil {
		return fmt.Errorf("%s: %v", out, errors.Join(err1, err2))
	}
	if absOut == absRoot || strings.HasPrefix(absOut, absRoot+string(filepath.Separator)) {
		return fmt.Errorf("%s is inside the repository: give a folder outside it (e.g. ../osps-students)", out)
	}
	if entries, err := os.ReadDir(out); err == nil && len(entries) > 0 {
		return fmt.Errorf("%s exists and is not empty: give a new folder", out)
	}
	files, err := repoFiles(root)
	if err != nil {
		return err
	}
	ref, err := referenceLines(root, files)
	if err != nil {
		return err
	}
	var kept, left []string
	for _, f := range files {
		data, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			continue // deleted in the work tree
		}
		switch {
		case f == "docs/answers.md" || quotesRegions(f) || f == HandoutMarker:
			left = append(left, f)
		case strings.HasPrefix(f, "docs/exercises/") && len(leaks(data, ref)) > 0:
			left = append(left, f) // a patch written against a lab region
		default:
			kept = append(kept, f)
		}
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	if err := copyFiles(root, out, kept); err != nil {
		return err
	}
	for _, l := range All {
		r, err := Locate(out, l)
		if err != nil {
			return err
		}
		path := filepath.Join(out, r.File)
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		hl := l
		hl.Stub = docAnchors(src[r.Start:r.End]) + l.Stub
		stubbed, err := Stubbed(src, r, hl)
		if err != nil {
			return err
		}
		if err := os.WriteFile(path, stubbed, 0o644); err != nil {
			return err
		}
	}
	for _, f := range kept {
		if !strings.HasSuffix(f, ".md") {
			continue
		}
		path := filepath.Join(out, f)
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		orig := src
		src = answersLinkRE.ReplaceAll(src, []byte("$1 (kept by your teacher)"))
		// A code span that names what was left out becomes plain words.
		for _, f := range append(left, mistakesDir) {
			if quotesRegions(f) && f != mistakesDir {
				continue // the folder stands for its files
			}
			span := regexp.MustCompile("`[^`\n]*" + regexp.QuoteMeta(f) + "[^`\n]*`")
			words := f + " (not in the students' copy)"
			if strings.HasPrefix(f, "docs/exercises/") {
				words = "the patch " + f + " (not in the students' copy: it quotes a lab's reference code)"
			}
			src = span.ReplaceAll(src, []byte(words))
		}
		if !bytes.Equal(src, orig) {
			if err := os.WriteFile(path, src, 0o644); err != nil {
				return err
			}
		}
	}
	if err := os.WriteFile(filepath.Join(out, HandoutMarker), []byte(handoutNote), 0o644); err != nil {
		return err
	}
	for _, args := range [][]string{
		{"init", "-q"},
		{"add", "-A"},
		{"-c", "user.name=OSPS handout", "-c", "user.email=handout@osps.invalid", "commit", "-q", "-m", "OSPS: the students' copy (./run.sh handout)"},
	} {
		cmd := exec.Command("git", args...)
		cmd.Dir = out
		if msg, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("git %s in %s: %v\n%s", args[0], out, err, msg)
		}
	}
	var shown []string
	mistakes := 0
	for _, f := range left {
		if quotesRegions(f) {
			mistakes++
		} else {
			shown = append(shown, f)
		}
	}
	if mistakes > 0 {
		shown = append(shown, fmt.Sprintf("%s (%d wrong solutions)", mistakesDir, mistakes))
	}
	slices.Sort(shown)
	fmt.Fprintf(w, "handout: the students' copy is in %s (a new git repository, one commit)\n", out)
	fmt.Fprintf(w, "  labs as stubs: %d (%s)\n", len(All), strings.Join(labNames(), ", "))
	fmt.Fprintf(w, "  left out: %s\n", strings.Join(shown, ", "))
	return nil
}

// docAnchors keeps the DOC anchors of a reference region, so that the
// pages that cite them still find them in the stub.
func docAnchors(region []byte) string {
	var b bytes.Buffer
	for _, line := range strings.SplitAfter(string(region), "\n") {
		if docAnchorRE.MatchString(line) {
			b.WriteString(line)
		}
	}
	return b.String()
}

func labNames() []string {
	var ns []string
	for _, l := range All {
		ns = append(ns, l.Name)
	}
	return ns
}
