// Package repocheck holds the repository's own hygiene tests, run by
// ./run.sh test like any other package's: no build output tracked (no
// executable, no file with NUL bytes outside an allowed testdata list),
// go.mod tidy (go mod tidy -diff agrees with it), and the lab apart from
// its instruments (no package outside common/tools imports one, tests
// included, but for the variants' tests, which run the shared suite).
package repocheck
