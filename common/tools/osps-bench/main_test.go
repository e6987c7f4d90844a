// main_test.go makes the test binary play every process of the bench
// (the helper-process pattern of Go's os/exec tests): re-executed with
// OSPS_BENCH_HELPER set it is the peer of a primitive, with a role as
// its first argument it is the floor server, a reference server (fdpass,
// prefork), or a worker of one of them or of a pool.

package main

import (
	"os"
	"testing"
)

func TestMain(m *testing.M) {
	switch os.Getenv(helperEnv) {
	case "burn":
		os.Exit(burn())
	case "burn-parent":
		os.Exit(burnParent())
	}
	if kind := os.Getenv(helperEnv); kind != "" {
		os.Exit(helperMain(kind)) // the peer process of a primitive
	}
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case procWorkerRole:
			os.Exit(runProcWorker(os.Args[2:])) // a worker of startProcPool
		case "floor":
			os.Exit(runFloor(os.Args[2:])) // the floor server, as the bench starts it
		case "fdpass":
			os.Exit(runFdpass(os.Args[2:])) // the reference servers and their workers
		case fdpassWorkerRole:
			os.Exit(runFdpassWorker(os.Args[2:]))
		case "prefork":
			os.Exit(runPrefork(os.Args[2:]))
		case preforkWorkerRole:
			os.Exit(runPreforkWorker(os.Args[2:]))
		}
	}
	os.Exit(m.Run())
}
