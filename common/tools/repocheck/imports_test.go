// imports_test.go keeps the lab apart from its instruments: no package
// outside common/tools imports one under it, in its code or in its
// tests, so that a student reading the lab meets only the lab. The one
// exception is the variants' tests, which run the shared black-box suite
// (common/tools/conformance) against their own binary.

package repocheck

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const (
	labPrefix   = "osps/common/"
	toolsPrefix = "osps/common/tools/"
	suite       = "osps/common/tools/conformance"
)

// toolImports lists, for the Go module at dir, every import of a tool by
// a package outside common/tools, as "package imports tool" or
// "package (tests) imports tool".
func toolImports(t *testing.T, dir string) []string {
	t.Helper()
	cmd := exec.Command("go", "list", "-e", "-f",
		"{{.ImportPath}}|{{join .Imports \",\"}}|{{join .TestImports \",\"}},{{join .XTestImports \",\"}}", "./...")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list in %s: %v", dir, err)
	}
	var bad []string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Split(line, "|")
		if len(f) != 3 {
			t.Fatalf("go list printed %q", line)
		}
		pkg := f[0]
		if strings.HasPrefix(pkg+"/", toolsPrefix) {
			continue // a tool may import anything of the lab, or another tool
		}
		for _, imp := range strings.Split(f[1], ",") {
			if strings.HasPrefix(imp, toolsPrefix) {
				bad = append(bad, pkg+" imports "+imp)
			}
		}
		for _, imp := range strings.Split(f[2], ",") {
			variantSuite := !strings.HasPrefix(pkg, labPrefix) && imp == suite
			if strings.HasPrefix(imp, toolsPrefix) && !variantSuite && !slices.Contains(bad, pkg+" (tests) imports "+imp) {
				bad = append(bad, pkg+" (tests) imports "+imp)
			}
		}
	}
	slices.Sort(bad)
	return bad
}

// The lab and its tests import no tool; the variants' code none either.
func TestLabImportsNoTool(t *testing.T) {
	for _, b := range toolImports(t, root) {
		t.Errorf("%s: the lab must not depend on an instrument (move what it needs into the lab, or the test into a tool)", b)
	}
}

// The rule catches a lab package whose tests or code import a tool, and a
// variant's test that imports a tool other than the shared suite; it
// lets a tool import the lab and a variant's test run the suite.
func TestToolImportsRejects(t *testing.T) {
	dir := t.TempDir()
	for name, src := range map[string]string{
		"go.mod":                        "module osps\n\ngo 1.22\n",
		"common/tools/probe/probe.go":   "package probe\n\nimport _ \"osps/common/lab\"\n",
		"common/tools/conformance/c.go": "package conformance\n",
		"common/lab/lab.go":             "package lab\n",
		"common/lab/lab_test.go":        "package lab\n\nimport _ \"osps/common/tools/probe\"\n",
		"common/code/code.go":           "package code\n\nimport _ \"osps/common/tools/probe\"\n",
		"common/xtest/x.go":             "package xtest\n",
		"common/xtest/x_test.go":        "package xtest_test\n\nimport _ \"osps/common/tools/conformance\"\n",
		"v1-fake/main.go":               "package main\n\nfunc main() {}\n",
		"v1-fake/v1_test.go":            "package main\n\nimport _ \"osps/common/tools/conformance\"\n",
		"v1-fake/probe_test.go":         "package main\n\nimport _ \"osps/common/tools/probe\"\n",
	} {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{
		"osps/common/code imports osps/common/tools/probe",
		"osps/common/lab (tests) imports osps/common/tools/probe",
		"osps/common/xtest (tests) imports osps/common/tools/conformance",
		"osps/v1-fake (tests) imports osps/common/tools/probe",
	}
	if d := cmp.Diff(want, toolImports(t, dir)); d != "" {
		t.Errorf("toolImports on a tree that breaks the rule (-want +got):\n%s", d)
	}
}
