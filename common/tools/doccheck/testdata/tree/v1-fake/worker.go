// worker.go is a doccheck fixture: one STEP anchor cited, one cited by
// no page, one malformed.
package main

func work() {
	// STEP v1.1: cited by docs/v1-fake.md.
	// STEP v1.2: cited by no page.
	// STEP v1.3 a colon is missing, so this is no anchor
}

func main() { work() }
