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
	"time"

	"github.com/spf13/pflag"

	"osps/common/cli"
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

// DefaultTimeout is the bound on one `check`, all groups, the build
// included: past it the checks still running fail, saying so, and every
// process they started is killed. A correct server takes about 20 s.
const DefaultTimeout = 4 * time.Minute

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "grade" {
		return runGrade(ctx, args[1:], stdout, stderr)
	}
	fs := pflag.NewFlagSet("check", pflag.ContinueOnError)
	bin := fs.String("bin", "", "grade this program (any language) instead of building the variant")
	tree := fs.String("tree", "", "build the variant from this copy of the repository (default: this one)")
	only := fs.String("only", "", "run only these check groups, comma-separated (default: all)")
	root := fs.String("root", ".", "the repository whose checks run (where go.mod is)")
	jsonOut := fs.String("json", "", "also write every check's result, the score per group and the total to this file, as JSON")
	timeout := fs.Duration("timeout", DefaultTimeout, "the bound on the whole check, build included: past it, what still runs fails and is killed")
	var synopsis strings.Builder
	fmt.Fprintf(&synopsis, "./run.sh check VARIANT [--bin PATH] [--tree DIR] [--only GROUP,...] [--json FILE] [--timeout D]\n"+
		"       ./run.sh grade DIR [flags]   (every submission in DIR: ./run.sh grade --help)\n\n"+
		"VARIANT is v1, v2 or v3 (how the program is driven). A check ends within --timeout\n"+
		"(default %v, all groups); every program it starts has a deadline and is killed\n"+
		"with its process group past it; Ctrl-C leaves no process and no segment behind.\n\nGroups (points):", DefaultTimeout)
	for _, g := range conformance.Groups {
		fmt.Fprintf(&synopsis, "\n  %-9s %3d  %s", g.Name, Rubric[g.Name], g.What)
	}
	if status, done := cli.ParseTo(fs, args, synopsis.String(), stdout, stderr); done {
		return status
	}
	if fs.NArg() != 1 || Variants[fs.Arg(0)] == "" {
		return cli.UsageError(stderr, fs, synopsis.String(), "want one VARIANT: v1, v2 or v3")
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
	if program != "" {
		if program, err = filepath.Abs(program); err != nil {
			fmt.Fprintf(stderr, "check: %v\n", err)
			return 2
		}
		if _, err := os.Stat(program); err != nil {
			fmt.Fprintf(stderr, "check: --bin: %v\n", err)
			return 2
		}
	}
	began := time.Now()
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	res := Results{Variant: variant, Groups: groups}
	tmp, err := os.MkdirTemp("", "osps-grade-")
	if err != nil {
		fmt.Fprintf(stderr, "check: %v\n", err)
		return 1
	}
	defer os.RemoveAll(tmp)
	if program == "" {
		from := absRoot
		if *tree != "" {
			from = *tree
		}
		res.Program = filepath.Join(from, Variants[variant])
		fmt.Fprintf(stdout, "grading %s, built from %s\n", variant, res.Program)
		if program, err = build(ctx, from, Variants[variant], tmp); err != nil {
			c := Check{Name: "build", Group: "-", Status: "fail", Message: err.Error()}
			fmt.Fprintln(stdout, c.Line())
			res.Problems = append(res.Problems, "build: "+err.Error())
		}
	} else {
		res.Program = program
		fmt.Fprintf(stdout, "grading %s as %s\n", program, variant)
	}
	if len(res.Problems) == 0 {
		res.Checks, res.Problems = grade(ctx, absRoot, program, variant, groups, filepath.Join(tmp, "registry"), stdout)
	}
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		res.Problems = append(res.Problems, fmt.Sprintf("the grader's bound of %v (--timeout) was reached: what still ran was stopped", *timeout))
		fmt.Fprintf(stdout, "FAIL  %s\n", res.Problems[len(res.Problems)-1])
	case ctx.Err() != nil:
		res.Problems = append(res.Problems, "interrupted: what still ran was stopped")
		fmt.Fprintf(stdout, "FAIL  %s\n", res.Problems[len(res.Problems)-1])
	}
	res.complete(stdout)
	res.Seconds = time.Since(began).Seconds()
	fmt.Fprintf(stdout, "Score: %s/%d\n", Points(res.Score), res.Total)
	if res.Skipped > 0 {
		fmt.Fprintf(stdout, "%d passed, %d failed, %d skipped\n", res.Passed, res.Failed, res.Skipped)
	} else {
		fmt.Fprintf(stdout, "%d passed, %d failed\n", res.Passed, res.Failed)
	}
	if *jsonOut != "" {
		if err := res.Write(*jsonOut); err != nil {
			fmt.Fprintf(stderr, "check: --json: %v\n", err)
			return 1
		}
	}
	if res.Failed > 0 || res.Passed == 0 {
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
// into out and returns the binary's path; ctx bounds it.
func build(ctx context.Context, tree, dir, out string) (string, error) {
	bin := filepath.Join(out, dir)
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./"+dir)
	cmd.Dir = tree
	// A go command killed past the bound leaves its work directory
	// behind: make it in the grader's own temporary folder, removed after.
	cmd.Env = append(os.Environ(), "GOTMPDIR="+out)
	cli.OwnGroup(cmd) // go build and its compilers, go test and its test binary: killed whole
	if msg, err := cmd.CombinedOutput(); err != nil {
		if ctx.Err() != nil {
			return "", fmt.Errorf("go build ./%s in %s: stopped: %v", dir, tree, ctx.Err())
		}
		return "", fmt.Errorf("go build ./%s in %s: %v: %s", dir, tree, err, conformance.Tail(string(msg), 3))
	}
	return bin, nil
}

// Pattern is the -run pattern of the checks of groups that apply to
// variant, and whether any check was selected.
func Pattern(groups []string, variant string) (string, bool) {
	suites := map[string][]string{}
	for _, name := range conformance.Checks(groups, variant) {
		s := conformance.Catalog[name].Suite
		suites[s] = append(suites[s], name)
	}
	var tops, names []string
	for _, s := range []struct{ suite, test string }{{"RunStructure", "TestStructure"}, {"Run", "TestConformance"}, {"RunFaults", "TestFaults"}} {
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
// in root, prints the result as it comes, and returns it. The test
// binary's -timeout ends before ctx does; whatever way it ends, the
// servers it started (listed in the registry file) are killed and their
// segments removed.
func grade(ctx context.Context, root, program, variant string, groups []string, registry string, w io.Writer) ([]Check, []string) {
	pattern, ok := Pattern(groups, variant)
	if !ok {
		return nil, []string{fmt.Sprintf("no check in groups %v", groups)}
	}
	limit := 20 * time.Minute
	if d, ok := ctx.Deadline(); ok {
		limit = max(time.Until(d)-10*time.Second, 5*time.Second)
	}
	cmd := exec.CommandContext(ctx, "go", "test", "-json", "-count=1", "-timeout", limit.Round(time.Second).String(), "-run", pattern, "./common/tools/osps-grade/suite")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), suite.EnvBin+"="+program, suite.EnvVariant+"="+variant, conformance.EnvRegistry+"="+registry,
		"GOTMPDIR="+filepath.Dir(registry)) // as in build: nothing left in /tmp when it is killed
	cmd.Stderr = os.Stderr
	cli.OwnGroup(cmd) // go build and its compilers, go test and its test binary: killed whole
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, []string{fmt.Sprintf("go test: %v", err)}
	}
	if err := cmd.Start(); err != nil {
		return nil, []string{fmt.Sprintf("go test: %v", err)}
	}
	checks, problems := Report(out, w)
	werr := cmd.Wait()
	procs, segs, rerr := conformance.Reap(registry)
	var late []string
	if len(procs) > 0 || len(segs) > 0 {
		late = append(late, fmt.Sprintf("the checks left processes %v and segments %v behind: the grader killed and removed them", procs, segs))
	}
	if rerr != nil {
		late = append(late, rerr.Error())
	}
	if werr != nil && ctx.Err() == nil && !slices.ContainsFunc(checks, func(c Check) bool { return c.Status == "fail" }) && len(problems) == 0 {
		late = append(late, fmt.Sprintf("go test ended with %v and no check failed: see the lines above", werr))
	}
	for _, p := range late {
		fmt.Fprintf(w, "FAIL  %s\n", p)
	}
	problems = append(problems, late...)
	return checks, problems
}
