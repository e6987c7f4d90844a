// catalog_test.go keeps the catalog and the check lists together: every
// check of Run, RunFaults and RunStructure has an entry, every entry is a check, and
// every entry names an existing group and a heading of docs/.

package conformance

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"osps/common/tools/doccheck"
)

// listedChecks reads the package's source and returns, for each check
// named in the lists of Run and RunFaults ({"Name", checkFunc}), the
// function that lists it.
func listedChecks(t *testing.T) map[string]string {
	t.Helper()
	fset := token.NewFileSet()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]string{}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatalf("parse %s: %v", f, err)
		}
		for _, decl := range file.Decls {
			fn, ok := decl.(*ast.FuncDecl)
			if !ok || fn.Recv != nil {
				continue
			}
			suite, listed := map[string]string{"RunWith": "Run", "RunFaultsWith": "RunFaults", "RunStructure": "RunStructure"}[fn.Name.Name]
			if !listed {
				continue
			}
			ast.Inspect(fn.Body, func(n ast.Node) bool {
				lit, ok := n.(*ast.CompositeLit)
				if !ok || len(lit.Elts) != 2 {
					return true
				}
				name, ok := lit.Elts[0].(*ast.BasicLit)
				if !ok || name.Kind != token.STRING {
					return true
				}
				if _, isFunc := lit.Elts[1].(*ast.Ident); !isFunc {
					return true
				}
				s, err := strconv.Unquote(name.Value)
				if err != nil {
					t.Fatalf("%s: %v", fset.Position(name.Pos()), err)
				}
				found[s] = suite
				return true
			})
		}
	}
	return found
}

func TestCatalog(t *testing.T) {
	listed := listedChecks(t)
	if len(listed) < 10 {
		t.Fatalf("found only %d checks in Run and RunFaults (%v): has the shape of their lists changed?", len(listed), listed)
	}
	var groups []string
	for _, g := range Groups {
		groups = append(groups, g.Name)
	}
	for name, suite := range listed {
		e, ok := Catalog[name]
		if !ok {
			t.Errorf("check %q (in %s) has no entry in the catalog: add to Catalog in common/tools/conformance/catalog.go\n"+
				"\t%q: {%q, \"GROUP\", \"docs/PAGE.md#heading\"},\n"+
				"with GROUP one of %v and the docs/ section that explains what the check checks", name, suite, name, suite, groups)
			continue
		}
		if e.Suite != suite {
			t.Errorf("catalog entry %q says Suite %q, but the check is listed in %s", name, e.Suite, suite)
		}
	}
	for name := range Catalog {
		if _, ok := listed[name]; !ok {
			t.Errorf("catalog entry %q names no check of Run or RunFaults: remove it, or rename it as the check now is", name)
		}
	}
	anchors := map[string][]string{}
	used := map[string]bool{}
	for name, e := range Catalog {
		used[e.Group] = true
		if !slices.Contains(groups, e.Group) {
			t.Errorf("catalog entry %q: group %q is not one of %v", name, e.Group, groups)
		}
		page, frag, _ := strings.Cut(e.Doc, "#")
		if _, ok := anchors[page]; !ok {
			src, err := os.ReadFile(filepath.Join("..", "..", "..", filepath.FromSlash(page)))
			if err != nil {
				t.Errorf("catalog entry %q: %v", name, err)
				continue
			}
			anchors[page] = doccheck.ParsePage(page, src).Anchors
		}
		if frag == "" || !slices.Contains(anchors[page], frag) {
			t.Errorf("catalog entry %q: %s has no heading whose anchor is #%s", name, page, frag)
		}
	}
	var unused []string
	for _, g := range groups {
		if !used[g] {
			unused = append(unused, g)
		}
	}
	if diff := cmp.Diff([]string(nil), unused); diff != "" {
		t.Errorf("groups with no check (-want +got):\n%s", diff)
	}
}
