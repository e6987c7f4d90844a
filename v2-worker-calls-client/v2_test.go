// v2_test.go runs the conformance and fault suites against the real
// v2-worker-calls-client binary. v2's own checks sit beside it:
// callback_test.go (the call-back, from both ends), sameport_test.go (the
// same-port trick), latepong_test.go (a slow worker comes back) and
// thief_test.go (a process sharing the client's port gets nothing);
// raw_test.go is the hand-written client they use.

package main

import (
	"os"
	"testing"

	"osps/common/tools/conformance"
)

var bin string

func TestMain(m *testing.M) {
	os.Exit(conformance.MainBuild(m, "osps/v2-worker-calls-client", &bin))
}

func TestConformance(t *testing.T) {
	conformance.Run(t, bin, conformance.V2)
}

func TestFaults(t *testing.T) {
	conformance.RunFaults(t, bin, conformance.V2)
}

func BenchmarkRespawn(b *testing.B) { conformance.BenchRespawn(b, bin, conformance.V2) }

func BenchmarkOrphans(b *testing.B) { conformance.BenchOrphans(b, bin, conformance.V2) }
