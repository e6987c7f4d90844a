// suite_test.go runs the conformance lists against the program the
// grader names, driven as the variant it names: the structure checks
// first, then the protocol, then the faults. A check that needs worker
// processes is skipped, with the reason, when the program has none.

package suite

import (
	"os"
	"sync"
	"testing"

	"osps/common/tools/conformance"
)

func target(t *testing.T) (string, conformance.Driver) {
	bin := os.Getenv(EnvBin)
	if bin == "" {
		t.Skipf("%s is not set: this package is run by the grader (./run.sh check)", EnvBin)
	}
	v := os.Getenv(EnvVariant)
	d, ok := map[string]conformance.Driver{"v1": conformance.V1, "v2": conformance.V2, "v3": conformance.V3}[v]
	if !ok {
		t.Fatalf("%s=%q: want v1, v2 or v3", EnvVariant, v)
	}
	return bin, d
}

var (
	probe     sync.Once
	noWorkers string // why the checks that need workers cannot run
)

// gate skips a check that needs worker processes when the program has
// none: one probe per run, the first time such a check asks.
func gate(bin string) conformance.Gate {
	return func(t *testing.T, check string) {
		if !conformance.Catalog[check].Workers {
			return
		}
		probe.Do(func() { noWorkers = conformance.WorkersMissing(t, bin) })
		if noWorkers != "" {
			t.Skip("skipped: " + noWorkers)
		}
	}
}

func TestStructure(t *testing.T) {
	bin, d := target(t)
	conformance.RunStructure(t, bin, d)
}

func TestConformance(t *testing.T) {
	bin, d := target(t)
	conformance.RunWith(t, bin, d, gate(bin))
}

func TestFaults(t *testing.T) {
	bin, d := target(t)
	conformance.RunFaultsWith(t, bin, d, gate(bin))
}
