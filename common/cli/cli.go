// Package cli is the command line of the three variant binaries, one shape
// for all: `serve`, `client`, and the internal `worker` role, each with
// its own pflag set and --help, and slog logs on stderr.
package cli

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
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
	return ParseTo(fs, args, synopsis, os.Stdout, os.Stderr)
}

// ParseTo is Parse with the streams given: --help prints the synopsis
// and the flags on stdout (status 0); a usage error prints the error,
// the synopsis and the flags on stderr (status 2), as every OSPS binary
// and instrument does.
func ParseTo(fs *pflag.FlagSet, args []string, synopsis string, stdout, stderr io.Writer) (status int, done bool) {
	fs.SetOutput(stderr)
	fs.Usage = func() {} // printed below, on the right stream
	err := fs.Parse(args)
	if errors.Is(err, pflag.ErrHelp) {
		PrintUsage(stdout, fs, synopsis)
		return 0, true
	}
	if err != nil {
		return UsageError(stderr, fs, synopsis, err.Error()), true
	}
	return 0, false
}

// PrintUsage prints the synopsis, then the flags.
func PrintUsage(w io.Writer, fs *pflag.FlagSet, synopsis string) {
	fmt.Fprintf(w, "Usage: %s\n\nFlags:\n%s\n", synopsis, strings.TrimRight(fs.FlagUsages(), "\n"))
}

// UsageError prints "NAME: msg" and the usage on stderr, and returns 2,
// the status of a usage error.
func UsageError(stderr io.Writer, fs *pflag.FlagSet, synopsis, msg string) int {
	fmt.Fprintf(stderr, "%s: %s\n", fs.Name(), msg)
	PrintUsage(stderr, fs, synopsis)
	return 2
}

// CheckListen refuses a --listen value that holds a port, and says
// where the port goes: "--listen 127.0.0.1:34141" is "--listen 127.0.0.1
// --port 34141". An address (127.0.0.1, 0.0.0.0, ::1) or a host name
// passes.
func CheckListen(listen string) error {
	if _, err := netip.ParseAddr(listen); err == nil {
		return nil
	}
	if host, port, err := net.SplitHostPort(listen); err == nil {
		return fmt.Errorf("--listen %s: --listen takes an address only, the port goes in --port: --listen %s --port %s", listen, host, port)
	}
	return nil
}

// NewLogger returns a text slog logger on stderr.
func NewLogger(verbose bool) *slog.Logger {
	level := slog.LevelInfo
	if verbose {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
}
