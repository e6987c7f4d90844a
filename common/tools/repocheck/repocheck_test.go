// repocheck_test.go checks the repository as git tracks it: no binary,
// go.mod and go.sum tidy.

package repocheck

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// root is the repository's root, from this package's directory.
const root = "../../.."

// binaryAllowed lists the tracked files that may hold NUL bytes: test
// data that is binary on purpose. None today; a new one is added here,
// under a testdata/ directory, with the reason.
var binaryAllowed = map[string]string{}

// binaryKind says why content is build output or binary data ("" if it
// is text): an ELF header, or a NUL byte.
func binaryKind(content []byte) string {
	switch {
	case bytes.HasPrefix(content, []byte("\x7fELF")):
		return "an ELF executable (build output: build into bin/, which is ignored)"
	case bytes.IndexByte(content, 0) >= 0:
		return "binary data (a NUL byte)"
	}
	return ""
}

// tracked lists the files git tracks, or skips the test outside a clone
// (a copy made by lab start or handout without its .git).
func tracked(t *testing.T) []string {
	t.Helper()
	cmd := exec.Command("git", "ls-files", "-z")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		if _, serr := os.Stat(filepath.Join(root, ".git")); serr != nil {
			t.Skipf("not a git clone (no %s/.git): nothing tracked to check", root)
		}
		t.Fatalf("git ls-files: %v", err)
	}
	return strings.Split(strings.TrimRight(string(out), "\x00"), "\x00")
}

// No tracked file is an executable or binary data.
func TestNoBinaryTracked(t *testing.T) {
	files := tracked(t)
	if len(files) < 50 {
		t.Fatalf("git ls-files lists %d files; want the repository's", len(files))
	}
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(root, f))
		if os.IsNotExist(err) {
			continue // deleted in the work tree, not yet committed
		}
		if err != nil {
			t.Fatal(err)
		}
		kind := binaryKind(b)
		if kind == "" {
			continue
		}
		if why, ok := binaryAllowed[f]; ok && strings.Contains(f, "testdata/") && !strings.HasPrefix(kind, "an ELF") {
			t.Logf("%s: %s, allowed: %s", f, kind, why)
			continue
		}
		t.Errorf("%s is tracked and is %s: git rm --cached it and add it to .gitignore", f, kind)
	}
}

// The check rejects what it must: an ELF header (even allowed), a NUL.
func TestBinaryKindRejects(t *testing.T) {
	for _, c := range []struct {
		content string
		binary  bool
	}{
		{"\x7fELF\x02\x01\x01\x00", true},
		{"package main\n\x00", true},
		{"package main\n// héllo → ok\n", false},
		{"", false},
	} {
		if got := binaryKind([]byte(c.content)) != ""; got != c.binary {
			t.Errorf("binaryKind(%q) binary = %v; want %v", c.content, got, c.binary)
		}
	}
}

// go.mod and go.sum are what go mod tidy would write: a direct import is
// not marked // indirect, nothing unused is listed.
func TestGoModTidy(t *testing.T) {
	cmd := exec.Command("go", "mod", "tidy", "-diff")
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Errorf("go mod tidy -diff: %v: go.mod or go.sum is not tidy (run go mod tidy):\n%s", err, out)
	}
}

// go install ./... names each command after its directory: the
// instruments' are osps-* (osps-live, osps-grade, ...), never a bare
// "bench" or "live" in someone's GOBIN. The three variants keep their
// own names.
func TestInstallNames(t *testing.T) {
	cmd := exec.Command("go", "list", "-f", "{{if eq .Name \"main\"}}{{.ImportPath}}{{end}}", "./...")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	n := 0
	for _, p := range strings.Fields(string(out)) {
		n++
		name := p[strings.LastIndex(p, "/")+1:]
		if strings.HasPrefix(p, "osps/common/") && !strings.HasPrefix(name, "osps-") {
			t.Errorf("%s is a command: go install names it %q; rename its directory osps-%s", p, name, name)
		}
	}
	if n < 7 {
		t.Errorf("go list found %d commands; want the 3 variants and the instruments", n)
	}
}
