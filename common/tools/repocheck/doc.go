// Package repocheck holds the repository's own hygiene tests, run by
// ./run.sh test like any other package's: no build output tracked (no
// executable, no file with NUL bytes outside an allowed testdata list),
// go.mod tidy (go mod tidy -diff agrees with it), every command installed
// under a name of its own (TestInstallNames: go install ./... names the
// instruments osps-*, never a bare "bench" or "live"), plain file headers
// (headers_test.go: a Go file's first comment never opens with the set
// phrase "<file>.go demonstrates"), and the lab apart from its
// instruments (imports_test.go: no package outside common/tools imports
// one, tests included, but for the variants' tests, which run the shared
// suite).
package repocheck
