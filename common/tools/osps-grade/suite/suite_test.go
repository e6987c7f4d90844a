// suite_test.go runs the conformance lists against the program the
// grader names, driven as the variant it names.

package suite

import (
	"os"
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

func TestConformance(t *testing.T) {
	bin, d := target(t)
	conformance.Run(t, bin, d)
}

func TestFaults(t *testing.T) {
	bin, d := target(t)
	conformance.RunFaults(t, bin, d)
}
