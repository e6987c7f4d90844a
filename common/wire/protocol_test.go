// protocol_test.go reads the contract itself, docs/protocol.md, so that a
// code added there and not here (or the other way round) fails a test.
// The contract lives in the repository: a missing page is a failure.

package wire_test

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"osps/common/wire"
)

// protocolPath is docs/protocol.md as seen from this package's directory.
const protocolPath = "../../docs/protocol.md"

// codesHeading starts the section whose table lists the closed set.
const codesHeading = "## Errors: a closed set of codes"

// protocolCodes returns the error codes of the contract's closed set: the
// first column of the table under codesHeading, in order.
func protocolCodes(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(protocolPath)
	if err != nil {
		t.Fatalf("read the contract: %v", err)
	}
	_, section, found := strings.Cut(string(b), codesHeading+"\n")
	if !found {
		t.Fatalf("%s: no %q section", protocolPath, codesHeading)
	}
	if i := strings.Index(section, "\n## "); i >= 0 {
		section = section[:i]
	}
	row := regexp.MustCompile("(?m)^\\| `([a-z-]+)` \\|")
	var codes []string
	for _, m := range row.FindAllStringSubmatch(section, -1) {
		codes = append(codes, m[1])
	}
	if len(codes) == 0 {
		t.Fatalf("%s: the %q section has no table of codes", protocolPath, codesHeading)
	}
	return codes
}

// TestContractCodes checks wire's closed set against the contract's.
func TestContractCodes(t *testing.T) {
	if diff := cmp.Diff(protocolCodes(t), wire.Codes); diff != "" {
		t.Errorf("wire.Codes differ from %s (-contract +wire):\n%s", protocolPath, diff)
	}
}
