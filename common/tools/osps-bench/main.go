// Command osps-bench is the OSPS comparison (docs/comparison.md): the
// bench runner, the floor server, and the peers of the primitive
// benchmarks.
//
//	osps-bench run [--quick] [--csv FILE]     what ./run.sh bench runs
//	osps-bench floor [--port 2222]            the floor server alone
//	osps-bench fdpass [--port 2222]           the descriptor-passing reference server
//	osps-bench prefork [--port 2222]          the preforked reference server
package main

import (
	"os"

	"osps/common/cli"
)

func main() {
	if kind := os.Getenv(helperEnv); kind != "" {
		os.Exit(helperMain(kind)) // the peer process of a primitive
	}
	cli.Main("osps-bench", "the measured comparison of the three designs (docs/comparison.md)",
		cli.Role{Name: "run", Summary: "measure floor, v1, v2, v3 and print the table (./run.sh bench)", Run: runBench},
		cli.Role{Name: "floor", Summary: "run the floor server: one process, v1's wire format, no workers", Run: runFloor},
		cli.Role{Name: "fdpass", Summary: "run the reference server that passes each connection to a worker (SCM_RIGHTS)", Run: runFdpass},
		cli.Role{Name: "prefork", Summary: "run the reference server whose workers each call accept", Run: runPrefork},
		cli.Role{Name: procWorkerRole, Internal: true, Run: runProcWorker},
		cli.Role{Name: fdpassWorkerRole, Internal: true, Run: runFdpassWorker},
		cli.Role{Name: preforkWorkerRole, Internal: true, Run: runPreforkWorker},
	)
}
