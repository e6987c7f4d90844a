// cli_test.go keeps the flag lists the help check asks for equal to the
// flag tables of docs/protocol.md ("serve", "client").

package conformance

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// tableFlags returns the flags in the first column of the table under
// heading in page.
func tableFlags(t *testing.T, page, heading string) []string {
	t.Helper()
	_, rest, ok := strings.Cut(page, "\n"+heading+"\n")
	if !ok {
		t.Fatalf("docs/protocol.md has no heading %q", heading)
	}
	if i := strings.Index(rest, "\n#"); i >= 0 {
		rest = rest[:i]
	}
	var flags []string
	for _, m := range regexp.MustCompile("(?m)^\\| `(--[a-z-]+)` \\|").FindAllStringSubmatch(rest, -1) {
		flags = append(flags, m[1])
	}
	return flags
}

func TestFlagsAreTheDocs(t *testing.T) {
	b, err := os.ReadFile("../../../docs/protocol.md")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(tableFlags(t, string(b), "### serve"), ServeFlags); diff != "" {
		t.Errorf("ServeFlags and the serve table of docs/protocol.md differ (-doc +code):\n%s", diff)
	}
	if diff := cmp.Diff(tableFlags(t, string(b), "### client"), ClientFlags); diff != "" {
		t.Errorf("ClientFlags and the client table of docs/protocol.md differ (-doc +code):\n%s", diff)
	}
	for f, v := range VariantFlags {
		if !strings.Contains(string(b), "| `"+f+"` |") || !regexp.MustCompile("\\| `"+f+"` \\| [^|]+ \\| "+v+" only").MatchString(string(b)) {
			t.Errorf("docs/protocol.md does not say that %s is %s only", f, v)
		}
	}
}
