// Package repocheck holds the repository's own hygiene tests, run by
// ./run.sh test like any other package's: no build output tracked (no
// executable, no file with NUL bytes outside an allowed testdata list),
// and go.mod tidy (go mod tidy -diff agrees with it).
package repocheck
