// region.go cuts a lab out of the real code: find the one file of the
// lab's directory that holds its markers, and put the stub between them.

package main

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

// markerRE matches a marker line: // LAB <name>: begin|end.
var markerRE = regexp.MustCompile(`(?m)^[ \t]*// LAB ([a-z0-9-]+): (begin|end)[ \t]*$`)

// Region is where a lab's markers are: the byte offsets of the region
// between the end of the begin line and the start of the end line.
type Region struct {
	File       string // relative to the repository's root
	Start, End int
}

// Locate finds lab l's region under root.
func Locate(root string, l Lab) (Region, error) {
	files, err := filepath.Glob(filepath.Join(root, filepath.FromSlash(l.Dir), "*.go"))
	if err != nil {
		return Region{}, err
	}
	var found []Region
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			return Region{}, err
		}
		start, end, ok, err := markers(src, l.Name)
		if err != nil {
			return Region{}, fmt.Errorf("%s: %w", f, err)
		}
		if ok {
			rel, _ := filepath.Rel(root, f)
			found = append(found, Region{File: filepath.ToSlash(rel), Start: start, End: end})
		}
	}
	switch len(found) {
	case 0:
		return Region{}, fmt.Errorf("lab %s: no file of %s/ holds the marker // LAB %s: begin", l.Name, l.Dir, l.Name)
	case 1:
		return found[0], nil
	}
	return Region{}, fmt.Errorf("lab %s: markers in more than one file: %v", l.Name, found)
}

// markers finds name's begin and end lines in src, once each, in order.
func markers(src []byte, name string) (start, end int, ok bool, err error) {
	begins, ends := 0, 0
	start, end = -1, -1
	for _, m := range markerRE.FindAllSubmatchIndex(src, -1) {
		if string(src[m[2]:m[3]]) != name {
			continue
		}
		if string(src[m[4]:m[5]]) == "begin" {
			begins++
			start = m[1] + 1 // after the line's LF
		} else {
			ends++
			end = m[0]
		}
	}
	if begins == 0 && ends == 0 {
		return 0, 0, false, nil
	}
	if begins != 1 || ends != 1 || start > end {
		return 0, 0, false, fmt.Errorf("lab %s: want one begin marker, then one end marker; found %d begin, %d end", name, begins, ends)
	}
	return start, end, true, nil
}

// Stubbed returns src with the region replaced by l's stub and l's
// imports added.
func Stubbed(src []byte, r Region, l Lab) ([]byte, error) {
	var b bytes.Buffer
	b.Write(src[:r.Start])
	b.WriteString(l.Stub)
	b.Write(src[r.End:])
	out := b.Bytes()
	for _, imp := range l.Imports {
		q := fmt.Sprintf("%q", imp)
		if bytes.Contains(out, []byte("\t"+q+"\n")) {
			continue
		}
		i := bytes.Index(out, []byte("import (\n"))
		if i < 0 {
			return nil, fmt.Errorf("lab %s: %s has no import block to add %s to", l.Name, r.File, q)
		}
		i += len("import (\n")
		out = append(out[:i:i], append([]byte("\t"+q+"\n"), out[i:]...)...)
	}
	return out, nil
}

// Names lists every lab marker name found in the repository's .go files
// (repoFiles: lab/ and bin/ left out; testdata and hidden folders
// skipped too), with the files that hold it.
func Names(root string) (map[string][]string, error) {
	files, err := repoFiles(root)
	if err != nil {
		return nil, err
	}
	names := map[string][]string{}
	for _, f := range files {
		f = filepath.ToSlash(f)
		dirs := strings.Split(path.Dir(f), "/")
		if !strings.HasSuffix(f, ".go") || slices.ContainsFunc(dirs, func(d string) bool { return d == "testdata" || strings.HasPrefix(d, ".") && d != "." }) {
			continue
		}
		src, err := os.ReadFile(filepath.Join(root, f))
		if errors.Is(err, fs.ErrNotExist) {
			continue // known to git, deleted in this copy
		}
		if err != nil {
			return nil, err
		}
		for _, m := range markerRE.FindAllSubmatch(src, -1) {
			names[string(m[1])] = append(names[string(m[1])], f)
		}
	}
	return names, nil
}
