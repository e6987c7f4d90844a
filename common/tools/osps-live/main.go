// Command osps-live is the Go behind ./run.sh's commands that start or
// watch a running server (run.sh only builds it and routes to it). Three
// instruments show a server from outside, the way the kernel shows it:
//
//	osps-live xray    VARIANT  processes, pipes, sockets and the segment, read from /proc
//	osps-live top     VARIANT  the slots, read from the segment itself, attached read-only
//	osps-live diagram VARIANT [REQUEST...]  one traced session, drawn as a sequence diagram
//
// Each starts the variant's dispatcher itself (bin/<variant> serve --port
// $PORT, or a free port), or looks at a running one (--pid PID; top also
// --shmid N). Two narrated runs, ./run.sh v1|v2|v3 and ./run.sh chaos:
//
//	osps-live demo  VARIANT [serve flags]    start, one traced session, SIGTERM, nothing left
//	osps-live chaos [VARIANT [serve flags]]  kill -9 one worker, kill -STOP another, the watchdog heals
//
// And ./run.sh wait PORT, for a script that started serve itself:
//
//	osps-live wait PORT  until the server on 127.0.0.1:PORT answers STATS
package main

import (
	"fmt"
	"io"
	"os"

	"github.com/spf13/pflag"

	"osps/common/cli"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

const usage = `Usage: osps-live COMMAND [flags] VARIANT [ARGS...]
  xray VARIANT             the processes, their pipes and sockets, and the segment (--mermaid: a flowchart)
  top VARIANT              a live view of the slots (--frames N: print N frames and exit)
  diagram VARIANT [REQUEST...]
                           one traced client session, as a Mermaid sequenceDiagram
  demo VARIANT [FLAGS...]  the narrated run of ./run.sh v1|v2|v3 (FLAGS: serve's)
  chaos [VARIANT [FLAGS...]]
                           the narrated faults of ./run.sh chaos (VARIANT: v3 if none)
  wait PORT                until the server on 127.0.0.1:PORT answers STATS (./run.sh wait)
VARIANT is v1, v2 or v3; COMMAND --help lists the command's flags.
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
	case "demo":
		return runDemo(args[1:], stdout, stderr)
	case "chaos":
		return runChaos(args[1:], stdout, stderr)
	case "wait":
		return runWait(args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "osps-live: unknown command %q\n%s", args[0], usage)
	return 2
}

// parseFlags parses a command's flags: --help prints its usage on stdout
// (status 0), a bad flag the error and the usage on stderr (status 2).
func parseFlags(fs *pflag.FlagSet, args []string, synopsis string, stdout, stderr io.Writer) (status int, done bool) {
	return cli.ParseTo(fs, args, synopsis, stdout, stderr)
}

// usageError prints msg and the command's usage on stderr.
func usageError(stderr io.Writer, fs *pflag.FlagSet, synopsis, msg string) int {
	return cli.UsageError(stderr, fs, synopsis, msg)
}

// variantArg checks the VARIANT argument of a command.
func variantArg(v string) error {
	if _, ok := variantDirs[v]; !ok {
		return fmt.Errorf("unknown variant %q (v1, v2 or v3)", v)
	}
	return nil
}
