// The `serve` role's outer shell: flags, signals (SIGINT/SIGTERM start
// the drain), and the exit status.

package server

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/pflag"

	"osps/common/cli"
)

// Main is the body of the `serve` role of every variant.
func Main(fs *pflag.FlagSet, args []string, synopsis string, cfg *Config, v Variant) int {
	if st, done := cli.Parse(fs, args, synopsis); done {
		return st
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "serve: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := Run(ctx, *cfg, v, os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "serve: %v\n", err)
		return 1
	}
	return 0
}
