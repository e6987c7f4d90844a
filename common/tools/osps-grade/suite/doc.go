// Package suite is the grader's test package: its tests run the
// conformance suite (the same Run and RunFaults lists the variants' own
// tests run) against any binary, named by the environment. The grader
// (common/tools/osps-grade) runs it with `go test -json` and prints the
// result for a person; without the environment it skips, so that
// `go test ./...` does not grade anything twice.
package suite

// The environment the grader sets for the test binary.
const (
	EnvBin     = "OSPS_GRADE_BIN"     // the program to grade
	EnvVariant = "OSPS_GRADE_VARIANT" // v1, v2 or v3: how to drive it
)
