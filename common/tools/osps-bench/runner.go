// runner.go runs the comparison, fair in the way of UNP ch. 30: the same
// rows for every design, the same worker count, the same load client (each
// variant's own `client` in load mode, common/client/load.go), the same
// meter (meter.go), a fresh server for each run of a row, the designs
// interleaved run by run so that a noisy neighbour hurts them all alike,
// and each row run several times, its median run reported.
//
//	./run.sh bench [--quick] [--csv FILE]     (osps-bench run ...)

package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/pflag"

	"osps/common/cli"
	"osps/common/client"
)

// variant is one design under test.
type variant struct {
	Name string // floor, c-floor, fdpass, prefork, v1, c-v1, v2, v3
	Dir  string // its directory ("" for the floors and the reference servers, built into this binary or in C)
	bin  string // its binary, once built
	cli  string // the binary whose `client` drives it (v1's, for those built in)
	skip string // why it is not measured, if it is not
}

// The floor and the two reference designs of UNP ch. 30 (fdpass.go,
// prefork.go) are built into this binary and speak v1's wire format; so
// do the C floor and the C twin of v1 (ctwin.go), compiled at run time.
// Each C row comes right after its Go counterpart: in each round they
// run one after the other, and their ratio is taken round by round.
var allVariants = []variant{
	{Name: "floor"},
	{Name: "c-floor"},
	{Name: "fdpass"},
	{Name: "prefork"},
	{Name: "v1", Dir: "v1-relay"},
	{Name: "c-v1"},
	{Name: "v2", Dir: "v2-worker-calls-client"},
	{Name: "v3", Dir: "v3-client-calls-worker"},
}

// allNames lists the designs, for --variants.
func allNames() []string {
	var ns []string
	for _, v := range allVariants {
		ns = append(ns, v.Name)
	}
	return ns
}

// rowSpec is one line of the comparison: a request, a number of clients.
type rowSpec struct {
	Label   string // e.g. "requetetype1"
	Line    string // the request line
	N       int64  // its payload size (0 for requetetype1)
	Clients int
}

// The rows of the issue: requetetype1 at 1 and 16 clients; requetetype2
// of 64 KiB and 1 MiB at 4 clients; 64 MiB at 1 client.
var rows = []rowSpec{
	{"requetetype1", "requetetype1", 0, 1},
	{"requetetype1", "requetetype1", 0, 16},
	{"64 KiB", "requetetype2 65536", 64 << 10, 4},
	{"1 MiB", "requetetype2 1048576", 1 << 20, 4},
	{"64 MiB", "requetetype2 67108864", 64 << 20, 1},
}

// result is one measured row.
type result struct {
	V       string
	Row     rowSpec
	Sum     *client.Summary
	CPU     time.Duration // dispatcher + workers, during the load
	RSS     int64         // the dispatcher's peak resident size
	Busy    float64       // the dispatcher's own CPU over the load's duration (1 = one processor)
	Others  float64       // share of all the CPUs that other processes used meanwhile
	Model   time.Duration // predicted p50
	Formula string        // how Model was computed
	Err     error
	// Of the repeated runs of the row, the median is reported:
	Runs           int     // how many runs there were
	Dropped        int     // runs left out: other processes disturbed them
	MinRPS, MaxRPS float64 // the spread of the throughput of the runs kept
	RunErr         error   // the runs that failed, if some did
	Skip           string  // why the design was not measured (no C compiler...)
}

// config is the bench's command line.
type config struct {
	quick    bool
	csv      string
	workers  int
	duration time.Duration
	primTime time.Duration
	rounds   int // of each primitive; the fastest is kept
	repeat   int // runs of each row, each on a fresh server; the median is kept
	root     string
	binDir   string // where the variants are built
	variants []string
	args     []string
	verbose  bool   // the whole report on stdout, not only the verdict
	md       string // also write the whole report, in Markdown, to this file
	svg      string // also write the chart to this file
	strace   bool   // count the system calls per request of v1 and its C twin
}

func runBench(args []string) int {
	var c config
	fs := pflag.NewFlagSet("run", pflag.ContinueOnError)
	fs.BoolVar(&c.quick, "quick", false, "short rows (0.6 s each): the whole run in about a minute")
	fs.StringVar(&c.csv, "csv", "", "also write the rows as CSV to this file")
	fs.IntVar(&c.workers, "workers", 4, "worker processes of every variant's dispatcher")
	fs.DurationVar(&c.duration, "duration", 0, "load time per run of a row (default 5s, 600ms with --quick)")
	fs.IntVar(&c.repeat, "repeat", 0, "runs of each row, each on a fresh server; the median is reported (default 3, 1 with --quick)")
	fs.StringVar(&c.root, "root", ".", "the osps module's directory (where go.mod is)")
	fs.StringVar(&c.binDir, "bin", "", "where to build the variants (default ROOT/bin)")
	fs.StringSliceVar(&c.variants, "variants", allNames(), "which designs to measure")
	fs.BoolVar(&c.verbose, "verbose", false, "print the whole report (primitives, rows, model, targets) after the verdict")
	fs.StringVar(&c.md, "md", "", "also write the whole report, in Markdown, to this file")
	fs.StringVar(&c.svg, "svg", "", "also write the chart (req/s ÷ floor, p50 against payload size) as SVG to this file")
	fs.BoolVar(&c.strace, "syscalls", true, "count system calls per request of v1 and c-v1 with strace -c -f, when strace is installed")
	if st, done := cli.Parse(fs, args, "osps-bench run [--quick] [--verbose] [--csv FILE] [--md FILE] [--svg FILE] [--workers 4] [--variants "+strings.Join(allNames(), ",")+"]"); done {
		return st
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "run: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	c.args = args
	if c.duration <= 0 {
		c.duration = 5 * time.Second
		if c.quick {
			c.duration = 600 * time.Millisecond
		}
	}
	if c.repeat <= 0 {
		c.repeat = 3
		if c.quick {
			c.repeat = 1
		}
	}
	c.primTime, c.rounds = 300*time.Millisecond, 3
	if c.quick {
		c.primTime, c.rounds = 60*time.Millisecond, 2
	}
	if c.binDir == "" {
		c.binDir = filepath.Join(c.root, "bin")
	}
	if c.workers < 1 || c.workers > 256 {
		fmt.Fprintf(os.Stderr, "run: --workers %d: must be between 1 and 256\n", c.workers)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := bench(ctx, c, os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		return 1
	}
	return 0
}

func bench(ctx context.Context, c config, out io.Writer) error {
	began := time.Now()
	if _, err := os.Stat(filepath.Join(c.root, "go.mod")); err != nil {
		return fmt.Errorf("--root %s: not the osps module: %w", c.root, err)
	}
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find own binary: %w", err)
	}
	// The output files are opened first: a bad path fails now, not after the run.
	var csvFile, mdFile, svgFile *os.File
	for _, f := range []struct {
		name string
		flag string
		dst  **os.File
	}{{c.csv, "--csv", &csvFile}, {c.md, "--md", &mdFile}, {c.svg, "--svg", &svgFile}} {
		if f.name == "" {
			continue
		}
		if *f.dst, err = os.Create(f.name); err != nil {
			return fmt.Errorf("%s: %w", f.flag, err)
		}
		defer (*f.dst).Close()
	}
	vs, err := prepare(c, self)
	if err != nil {
		return err
	}
	busy, err := othersBusy(500 * time.Millisecond)
	if err != nil {
		return fmt.Errorf("read /proc/stat: %w", err)
	}
	if busy > 0.1 {
		progress("warning: before the run, other processes keep %.0f%% of the CPUs busy: the figures will be noisy", 100*busy)
	}
	progress("measuring the primitives (best of %d rounds of %v each)", c.rounds, c.primTime)
	fl, err := measureFloors(ctx, c.rounds, c.primTime, c.workers)
	if err != nil {
		return fmt.Errorf("primitives: %w", err)
	}
	var results []result
	var pairs []pairRatio
	for _, row := range rows {
		runs := map[string][]result{}
		for i := range c.repeat {
			// Round by round the designs run one after the other, in
			// the opposite order every other round, so that a drift of
			// the machine's speed within a round favours no one.
			order := slices.Clone(vs)
			if i%2 == 1 {
				slices.Reverse(order)
			}
			for _, v := range order {
				if v.skip != "" {
					continue
				}
				if ctx.Err() != nil {
					return ctx.Err()
				}
				progress("%-7s %-12s %2d client(s), %v, run %d of %d", v.Name, row.Label, row.Clients, c.duration, i+1, c.repeat)
				runs[v.Name] = append(runs[v.Name], measureRow(ctx, c, v, row))
			}
		}
		for _, v := range vs {
			if v.skip == "" {
				results = append(results, median(runs[v.Name]))
			} else {
				results = append(results, result{V: v.Name, Row: row, Skip: v.skip})
			}
		}
		pairs = append(pairs, pairedRatios(row, runs)...)
	}
	predict(results, fl)
	rep := report{busy: busy, machine: machineLine(), command: commandLine(c), cfg: c, floors: fl,
		variants: vs, results: results, pairs: pairs}
	if c.strace {
		rep.syscalls = countSyscalls(ctx, c, vs)
	}
	rep.took = time.Since(began)
	rep.verdict(out)
	if c.verbose {
		fmt.Fprintln(out)
		rep.markdown(out)
	}
	for _, f := range []struct {
		file  *os.File
		name  string
		write func(io.Writer) error
	}{
		{csvFile, c.csv, rep.writeCSV},
		{mdFile, c.md, func(w io.Writer) error { rep.verdict(w); fmt.Fprintln(w); rep.markdown(w); return nil }},
		{svgFile, c.svg, rep.writeSVG},
	} {
		if f.file == nil {
			continue
		}
		if err := f.write(f.file); err != nil {
			return fmt.Errorf("%s: %w", f.name, err)
		}
		if err := f.file.Close(); err != nil {
			return fmt.Errorf("%s: %w", f.name, err)
		}
		progress("written to %s", f.name)
	}
	return nil
}

// pairRatio is the throughput of design A over design B on one row,
// taken round by round (A and B ran in the same round, one after the
// other) and reduced to the median over the rounds.
type pairRatio struct {
	A, B             string
	Row              rowSpec
	Median, Min, Max float64
	N                int // rounds in which both ran
}

// The pairs the report gives: the Go code against its C twin, each
// design against its own floor, and the two floors.
var pairSpecs = [][2]string{{"v1", "c-v1"}, {"c-v1", "c-floor"}, {"v1", "floor"}, {"floor", "c-floor"}}

// pairedRatios computes each pair of pairSpecs on row from the runs of
// each design, in the order they were made (one per round).
func pairedRatios(row rowSpec, runs map[string][]result) []pairRatio {
	var out []pairRatio
	for _, p := range pairSpecs {
		a, b := runs[p[0]], runs[p[1]]
		var xs []float64
		for i := range min(len(a), len(b)) {
			ra, rb := a[i], b[i]
			if ra.Err != nil || rb.Err != nil || ra.Sum == nil || rb.Sum == nil || rb.Sum.RPS() <= 0 {
				continue
			}
			xs = append(xs, ra.Sum.RPS()/rb.Sum.RPS())
		}
		if len(xs) == 0 {
			continue
		}
		slices.Sort(xs)
		out = append(out, pairRatio{A: p[0], B: p[1], Row: row, Median: medianOf(xs), Min: xs[0], Max: xs[len(xs)-1], N: len(xs)})
	}
	return out
}

// medianOf is the median of sorted xs (the mean of the middle two for
// an even count).
func medianOf(xs []float64) float64 {
	n := len(xs)
	if n%2 == 1 {
		return xs[n/2]
	}
	return (xs[n/2-1] + xs[n/2]) / 2
}

func find(vs []variant, name string) (variant, bool) {
	for _, v := range vs {
		if v.Name == name {
			return v, true
		}
	}
	return variant{}, false
}

// prepare builds each selected variant that exists into the bin
// directory and notes why the others are skipped. The designs built into
// this binary need v1's too: v1's client drives them (they speak v1's
// wire format).
func prepare(c config, self string) ([]variant, error) {
	want := map[string]bool{}
	for _, n := range c.variants {
		if _, ok := find(allVariants, n); !ok {
			return nil, fmt.Errorf("--variants: unknown design %q (%s)", n, strings.Join(allNames(), ", "))
		}
		want[n] = true
	}
	var vs []variant
	for _, v := range allVariants {
		switch {
		case !want[v.Name] && !(v.Name == "v1" && builtIn(want)):
			continue
		case cSource[v.Name] != "":
			v.bin, v.skip = buildC(c.root, c.binDir, v.Name)
		case v.Dir == "":
			v.bin = self
		default:
			v.bin, v.skip = build(c, v.Dir)
		}
		if v.skip != "" {
			progress("skipping %s: %s", v.Name, v.skip)
		}
		vs = append(vs, v)
	}
	v1, _ := find(vs, "v1")
	for i := range vs {
		vs[i].cli = vs[i].bin
		if vs[i].Dir == "" {
			vs[i].cli = v1.bin
			if v1.skip != "" && vs[i].skip == "" {
				vs[i].skip = "its load client is v1's, which did not build"
			}
		}
	}
	if !want["v1"] { // built for the load client's sake only
		vs = slices.DeleteFunc(vs, func(v variant) bool { return v.Name == "v1" })
	}
	return vs, nil
}

// builtIn reports whether a design built into this binary is wanted.
func builtIn(want map[string]bool) bool {
	for _, v := range allVariants {
		if v.Dir == "" && want[v.Name] {
			return true
		}
	}
	return false
}

// build runs go build for the variant in dir; skip says why not, if not.
func build(c config, dir string) (bin, skip string) {
	if _, err := os.Stat(filepath.Join(c.root, dir)); err != nil {
		return "", fmt.Sprintf("%s/ does not exist yet", dir)
	}
	bin, err := filepath.Abs(filepath.Join(c.binDir, dir))
	if err != nil {
		return "", fmt.Sprintf("bin directory: %v", err)
	}
	progress("go build -o %s ./%s", bin, dir)
	cmd := exec.Command("go", "build", "-o", bin, "./"+dir)
	cmd.Dir = c.root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Sprintf("go build ./%s failed: %s", dir, firstLine(string(out)))
	}
	return bin, ""
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return l
}

// disturbed is the share of the CPUs taken by other processes beyond
// which a run is dropped, when an undisturbed run of the row exists.
const disturbed = 0.15

// median is the run with the median throughput among those that worked
// (each run had a fresh server: a fresh draw of where the scheduler puts
// the processes), leaving out the runs that other processes disturbed
// if some were not. Runs that failed are counted in it; if all failed,
// the last failure is the result.
func median(runs []result) result {
	var ok, quiet []result
	var failed []result
	for _, r := range runs {
		switch {
		case r.Err != nil || r.Sum == nil:
			failed = append(failed, r)
		case r.Others <= disturbed:
			quiet = append(quiet, r)
			fallthrough
		default:
			ok = append(ok, r)
		}
	}
	dropped := 0
	if len(quiet) > 0 {
		dropped, ok = len(ok)-len(quiet), quiet
	}
	if len(ok) == 0 {
		return failed[len(failed)-1]
	}
	slices.SortFunc(ok, func(a, b result) int { return cmp.Compare(a.Sum.RPS(), b.Sum.RPS()) })
	m := ok[len(ok)/2]
	m.Runs, m.Dropped, m.MinRPS, m.MaxRPS = len(runs), dropped, ok[0].Sum.RPS(), ok[len(ok)-1].Sum.RPS()
	if len(failed) > 0 {
		m.RunErr = fmt.Errorf("%d of %d runs failed: %w", len(failed), len(runs), failed[0].Err)
	}
	return m
}

// measureRow runs one row on a fresh server of variant v.
func measureRow(ctx context.Context, c config, v variant, row rowSpec) result {
	r := result{V: v.Name, Row: row, Runs: 1}
	serveArgv := []string{v.bin, "serve", "--listen", "127.0.0.1", "--port", "0", "--workers", strconv.Itoa(c.workers)}
	switch v.Name {
	case "floor":
		serveArgv = []string{v.bin, "floor", "--listen", "127.0.0.1", "--port", "0"}
	case "fdpass", "prefork":
		serveArgv[1] = v.Name
	}
	srv, err := startServer(serveArgv, 15*time.Second)
	if err != nil {
		r.Err = err
		return r
	}
	// DOC: bench-others: how much CPU other processes took during the load.
	b0, t0, statErr := cpuTimes()
	srv0, _ := groupCPU(srv.cmd.Process.Pid)
	out, clientCPU, err := runClient(ctx, []string{v.cli, "client", "--server", srv.Addr,
		"--clients", strconv.Itoa(row.Clients), "--duration", c.duration.String(),
		"--timeout", "60s", row.Line})
	srv1, _ := groupCPU(srv.cmd.Process.Pid)
	b1, t1, statErr1 := cpuTimes()
	if statErr == nil && statErr1 == nil {
		r.Others = othersShare(b0, t0, b1, t1, srv1-srv0+clientCPU)
	}
	if err == nil {
		r.Sum, err = ParseSummary(strings.NewReader(out))
	}
	rss, rssErr := srv.peakRSS()
	own, ownErr := srv.ownCPU()
	cpu, stopErr := srv.stop(30 * time.Second)
	r.Err = errors.Join(err, rssErr, ownErr, stopErr)
	r.RSS, r.CPU = rss, cpu
	if r.Sum != nil && r.Sum.Elapsed > 0 {
		r.Busy = float64(own) / float64(r.Sum.Elapsed)
	}
	if r.Err != nil {
		progress("      failed: %v", r.Err)
	}
	return r
}

// progress tells the person waiting what is going on (stderr: stdout is
// the table).
func progress(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", a...)
}
