// Command osps-bench is the OSPS comparison (docs/comparison.md): the
// bench runner, the floor server, and the peers of the primitive
// benchmarks.
//
//	osps-bench run [--quick] [--csv FILE]     what ./run.sh bench runs
//	osps-bench floor [--port 2222]            the floor server alone
//	osps-bench fdpass [--port 2222]           the descriptor-passing reference server
//	osps-bench prefork [--port 2222]          the preforked reference server
//	osps-bench syscalls [--requests 16000]    system calls per request, v1 against its C twin
//	osps-bench chart --csv FILE --svg FILE    the chart again, from a run's CSV
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
		cli.Role{Name: "run", Summary: "measure the floors, the reference servers, v1 (and its C twin), v2, v3: the verdict, and the tables with --verbose (./run.sh bench)", Run: runBench},
		cli.Role{Name: "floor", Summary: "run the floor server: one process, v1's wire format, no workers", Run: runFloor},
		cli.Role{Name: "fdpass", Summary: "run the reference server that passes each connection to a worker (SCM_RIGHTS)", Run: runFdpass},
		cli.Role{Name: "prefork", Summary: "run the reference server whose workers each call accept", Run: runPrefork},
		cli.Role{Name: "syscalls", Summary: "count the system calls per request of v1 and its C twin (strace -c -f)", Run: runSyscalls},
		cli.Role{Name: "chart", Summary: "draw the SVG chart again from the CSV of a run", Run: runChart},
		cli.Role{Name: procWorkerRole, Internal: true, Run: runProcWorker},
		cli.Role{Name: fdpassWorkerRole, Internal: true, Run: runFdpassWorker},
		cli.Role{Name: preforkWorkerRole, Internal: true, Run: runPreforkWorker},
	)
}
