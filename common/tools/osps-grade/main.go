// Command osps-grade is the grader a student runs on their own code
// (`./run.sh check VARIANT`): it builds the variant (from this tree, or
// from another copy with --tree), or takes any program with --bin, runs
// the conformance checks of the groups asked for, and prints one line per
// check for a person, with the docs/ section that explains a failure.
//
// It runs the very checks `go test` runs on the variants (the lists of
// conformance.Run and conformance.RunFaults), through the test package
// common/tools/osps-grade/suite and `go test -json`: one list, two front ends.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/spf13/pflag"

	"osps/common/tools/conformance"
	"osps/common/tools/osps-grade/suite"
)

// Variants maps a variant's name to its directory.
var Variants = map[string]string{
	"v1": "v1-relay",
	"v2": "v2-worker-calls-client",
	"v3": "v3-client-calls-worker",
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := pflag.NewFlagSet("check", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	bin := fs.String("bin", "", "grade this program (any language) instead of building the variant")
	tree := fs.String("tree", "", "build the variant from this copy of the repository (default: this one)")
	only := fs.String("only", "", "run only these check groups, comma-separated (default: all)")
	root := fs.String("root", ".", "the repository whose checks run (where go.mod is)")
	usage := func(w io.Writer) {
		fmt.Fprintf(w, "Usage: ./run.sh check VARIANT [--bin PATH] [--tree DIR] [--only GROUP,...]\n\nVARIANT is v1, v2 or v3 (how the program is driven). Groups:\n")
		for _, g := range conformance.Groups {
			fmt.Fprintf(w, "  %-9s %s\n", g.Name, g.What)
		}
		fmt.Fprintf(w, "\nFlags:\n%s", fs.FlagUsages())
	}
	fs.Usage = func() {} // printed below: --help on stdout, a usage error on stderr
	if err := fs.Parse(args); errors.Is(err, pflag.ErrHelp) {
		usage(stdout)
		return 0
	} else if err != nil {
		usage(stderr)
		return 2
	}
	if fs.NArg() != 1 || Variants[fs.Arg(0)] == "" {
		fmt.Fprintln(stderr, "check: want one VARIANT: v1, v2 or v3")
		usage(stderr)
		return 2
	}
	variant := fs.Arg(0)
	groups, err := parseGroups(*only)
	if err != nil {
		fmt.Fprintf(stderr, "check: %v\n", err)
		return 2
	}
	absRoot, err := filepath.Abs(*root)
	if err != nil {
		fmt.Fprintf(stderr, "check: %v\n", err)
		return 2
	}
	program := *bin
	if program == "" {
		tmp, err := os.MkdirTemp("", "osps-grade-")
		if err != nil {
			fmt.Fprintf(stderr, "check: %v\n", err)
			return 1
		}
		defer os.RemoveAll(tmp)
		from := absRoot
		if *tree != "" {
			from = *tree
		}
		if program, err = build(ctx, from, Variants[variant], tmp); err != nil {
			fmt.Fprintf(stdout, "FAIL  build  %v\n0 passed, 1 failed\n", err)
			return 1
		}
		fmt.Fprintf(stdout, "grading %s, built from %s\n", variant, filepath.Join(from, Variants[variant]))
	} else {
		if program, err = filepath.Abs(program); err != nil {
			fmt.Fprintf(stderr, "check: %v\n", err)
			return 2
		}
		if _, err := os.Stat(program); err != nil {
			fmt.Fprintf(stderr, "check: --bin: %v\n", err)
			return 2
		}
		fmt.Fprintf(stdout, "grading %s as %s\n", program, variant)
	}
	sum, err := grade(ctx, absRoot, program, variant, groups, stdout)
	if err != nil {
		fmt.Fprintf(stdout, "FAIL  grader  %v\n", err)
		sum.Failed++
	}
	fmt.Fprintf(stdout, "%d passed, %d failed\n", sum.Passed, sum.Failed)
	if sum.Failed > 0 || sum.Passed == 0 {
		return 1
	}
	return 0
}

// parseGroups checks a --only list against conformance.Groups; empty
// means all groups.
func parseGroups(only string) ([]string, error) {
	var all []string
	for _, g := range conformance.Groups {
		all = append(all, g.Name)
	}
	if only == "" {
		return all, nil
	}
	var gs []string
	for _, g := range strings.Split(only, ",") {
		g = strings.TrimSpace(g)
		if !slices.Contains(all, g) {
			return nil, fmt.Errorf("--only: no group %q (groups: %s)", g, strings.Join(all, ", "))
		}
		gs = append(gs, g)
	}
	return gs, nil
}

// build compiles the variant directory dir of the repository at tree
// into out and returns the binary's path.
func build(ctx context.Context, tree, dir, out string) (string, error) {
	bin := filepath.Join(out, dir)
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./"+dir)
	cmd.Dir = tree
	if msg, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./%s in %s: %v\n%s", dir, tree, err, msg)
	}
	return bin, nil
}

// Pattern is the -run pattern of the checks of groups, and whether any
// check was selected.
func Pattern(groups []string) (string, bool) {
	suites := map[string][]string{}
	for name, e := range conformance.Catalog {
		if slices.Contains(groups, e.Group) {
			suites[e.Suite] = append(suites[e.Suite], name)
		}
	}
	var tops, names []string
	for _, s := range []struct{ suite, test string }{{"Run", "TestConformance"}, {"RunFaults", "TestFaults"}} {
		if len(suites[s.suite]) > 0 {
			tops = append(tops, s.test)
			names = append(names, suites[s.suite]...)
		}
	}
	if len(names) == 0 {
		return "", false
	}
	slices.Sort(names)
	return "^(" + strings.Join(tops, "|") + ")$/^(" + strings.Join(names, "|") + ")$", true
}

// grade runs the checks of groups against program with `go test -json`
// in root, and prints the result as it comes.
func grade(ctx context.Context, root, program, variant string, groups []string, w io.Writer) (Summary, error) {
	pattern, ok := Pattern(groups)
	if !ok {
		return Summary{}, fmt.Errorf("no check in groups %v", groups)
	}
	cmd := exec.CommandContext(ctx, "go", "test", "-json", "-count=1", "-timeout", "20m", "-run", pattern, "./common/tools/osps-grade/suite")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), suite.EnvBin+"="+program, suite.EnvVariant+"="+variant)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return Summary{}, err
	}
	if err := cmd.Start(); err != nil {
		return Summary{}, fmt.Errorf("go test: %w", err)
	}
	sum := Report(out, w)
	werr := cmd.Wait()
	if werr != nil && sum.Failed == 0 {
		return sum, fmt.Errorf("go test ended with %v and no check failed: see the lines above", werr)
	}
	return sum, nil
}
