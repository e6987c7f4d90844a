// The end-to-end tests of v2: the conformance and fault suites against
// the real v2-worker-calls-client binary. v2's own end-to-end checks sit
// beside it in v2_*_test.go (v2_callback_test.go: the call-back;
// v2_latepong_test.go: a slow worker comes back; v2_thief_test.go: a
// process sharing the client's port gets nothing), with v2_raw_test.go,
// the hand-written client they use. The tests of one file are named
// after it (client_sameport_test.go, dispatcher_test.go...).

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
