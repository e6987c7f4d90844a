// main.go is a doccheck fixture: a variant whose page is not written yet.
package main

func main() {
	// STEP v2.1: its variant has no page yet.
	// STEP v2.2: reported once with v2.1, not twice.
}
