// Package x is a doccheck fixture: code whose anchors drift from docs/.
package x

// Start holds an anchor that docs/v1-fake.md cites by its old name.
func Start() int {
	// DOC: x-start-renamed
	n := 1
	return n // DOC: x-trailing: an anchor after code on its line
}

// Later mentions DOC: x-mention inside its text, which is no anchor.
var Later = "// DOC: x-in-a-string is no comment"
