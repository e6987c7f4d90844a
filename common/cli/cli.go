// Package cli demonstrates one command-line shape for the three variant
// binaries: `serve`, `client`, and the internal `worker` role, each with
// its own pflag set and --help, and slog logs on stderr.
package cli

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/spf13/pflag"
)

// Role is one sub-command of a variant binary.
type Role struct {
	Name     string
	Summary  string
	Internal bool // not listed in the usage (the worker role)
	// Run parses args with its own flag set and runs the role; it
	// returns the process exit status.
	Run func(args []string) int
}

// Main runs the role named by os.Args[1] and exits with its status.
func Main(binary, about string, roles ...Role) {
	os.Exit(Dispatch(os.Stdout, os.Stderr, binary, about, os.Args[1:], roles...))
}

// Dispatch picks the role named by args[0] (testable Main).
func Dispatch(stdout, stderr io.Writer, binary, about string, args []string, roles ...Role) int {
	usage := func(w io.Writer) {
		fmt.Fprintf(w, "%s: %s\n\nUsage:\n", binary, about)
		for _, r := range roles {
			if !r.Internal {
				fmt.Fprintf(w, "  %s %-7s %s\n", binary, r.Name, r.Summary)
			}
		}
		fmt.Fprintf(w, "\n`%s ROLE --help` shows a role's flags.\n", binary)
	}
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	switch args[0] {
	case "-h", "--help", "help":
		usage(stdout)
		return 0
	}
	for _, r := range roles {
		if r.Name == args[0] {
			return r.Run(args[1:])
		}
	}
	fmt.Fprintf(stderr, "%s: unknown role %q\n\n", binary, args[0])
	usage(stderr)
	return 2
}

// Parse parses args with fs. It returns (0, true) after printing --help,
// (2, true) after a usage error, and (0, false) when the role should run.
func Parse(fs *pflag.FlagSet, args []string, synopsis string) (status int, done bool) {
	fs.SetOutput(os.Stderr)
	usage := func(w io.Writer) {
		fmt.Fprintf(w, "Usage: %s\n\nFlags:\n%s\n", synopsis, strings.TrimRight(fs.FlagUsages(), "\n"))
	}
	fs.Usage = func() {} // printed below, on the right stream
	err := fs.Parse(args)
	if errors.Is(err, pflag.ErrHelp) {
		usage(os.Stdout)
		return 0, true
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", fs.Name(), err)
		usage(os.Stderr)
		return 2, true
	}
	return 0, false
}

// NewLogger returns a text slog logger on stderr.
func NewLogger(verbose bool) *slog.Logger {
	level := slog.LevelInfo
	if verbose {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
}
