// v1_test.go runs the conformance suite against the real v1-relay
// binary, and v1's own checks.

package main

import (
	"os"
	"testing"

	"osps/common/tools/conformance"
)

var bin string

func TestMain(m *testing.M) {
	os.Exit(conformance.MainBuild(m, "osps/v1-relay", &bin))
}

func TestConformance(t *testing.T) {
	conformance.Run(t, bin, conformance.V1)
}

func TestFaults(t *testing.T) {
	conformance.RunFaults(t, bin, conformance.V1)
}

func BenchmarkRespawn(b *testing.B) { conformance.BenchRespawn(b, bin, conformance.V1) }

func BenchmarkOrphans(b *testing.B) { conformance.BenchOrphans(b, bin, conformance.V1) }
