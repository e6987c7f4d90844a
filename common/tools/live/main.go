// Command osps-live demonstrates a running server seen from outside, the
// way the kernel shows it, with three instruments:
//
//	osps-live xray    VARIANT  processes, pipes, sockets and the segment, read from /proc
//	osps-live top     VARIANT  the slots, read from the segment itself, attached read-only
//	osps-live diagram VARIANT [REQUEST...]  one traced session, drawn as a sequence diagram
//
// Each starts the variant's dispatcher itself (bin/<variant> serve --port
// 0, or $PORT), or looks at a running one (--pid PID; top also --shmid N).
// ./run.sh xray, ./run.sh top and ./run.sh diagram build and run it.
package main

import (
	"fmt"
	"io"
	"os"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

const usage = `usage: osps-live xray|top|diagram [flags] VARIANT [REQUEST...]
  xray     the processes, their pipes and sockets, and the segment (--mermaid: a flowchart)
  top      a live view of the slots (--frames N: print N frames and exit)
  diagram  one traced client session, as a Mermaid sequenceDiagram
VARIANT is v1, v2 or v3; --help after the command lists its flags.
`

// run is main without the exit, for the tests.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "xray":
		return runXray(args[1:], stdout, stderr)
	case "top":
		return runTop(args[1:], stdout, stderr)
	case "diagram":
		return runDiagram(args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "osps-live: unknown command %q\n%s", args[0], usage)
	return 2
}
