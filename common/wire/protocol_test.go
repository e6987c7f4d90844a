// protocol_test.go reads the contract itself, ../shared/PROTOCOL.md
// beside the repository, so that a code added there and not here (or the
// other way round) fails a test.

package wire_test

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// protocolPath is PROTOCOL.md as seen from this package's directory.
const protocolPath = "../../../shared/PROTOCOL.md"

// protocolCodes returns the error codes listed in PROTOCOL.md §1 (the
// sentence "Codes, a closed set: `a`, `b`, ..."), in order. ok is false
// when the file is not there (a copy of the repository alone).
func protocolCodes(t *testing.T) (codes []string, ok bool) {
	t.Helper()
	b, err := os.ReadFile(protocolPath)
	if os.IsNotExist(err) {
		t.Logf("%s not found: checking Codes against the list in this test only", protocolPath)
		return nil, false
	}
	if err != nil {
		t.Fatalf("read the contract: %v", err)
	}
	text := string(b)
	_, after, found := strings.Cut(text, "Codes, a closed set:")
	if !found {
		t.Fatalf("%s: no \"Codes, a closed set:\" sentence", protocolPath)
	}
	sentence, _, _ := strings.Cut(after, ".")
	for _, m := range regexp.MustCompile("`([a-z-]+)`").FindAllStringSubmatch(sentence, -1) {
		codes = append(codes, m[1])
	}
	if len(codes) == 0 {
		t.Fatalf("%s: no code in the closed-set sentence", protocolPath)
	}
	return codes, true
}
