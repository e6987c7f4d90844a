// report.go reports the measurement so that it can be reproduced: the
// machine and the command first, then one Markdown table (and the same
// rows as CSV), with ratios beside absolute figures, since absolute times
// vary from one machine to the next.

package main

import (
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// machineLine names the machine: cores, CPU model, kernel, Go version.
func machineLine() string {
	model := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for l := range strings.Lines(string(b)) {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	kernel := "unknown kernel"
	var u unix.Utsname
	if err := unix.Uname(&u); err == nil {
		kernel = unix.ByteSliceToString(u.Sysname[:]) + " " + unix.ByteSliceToString(u.Release[:])
	}
	return fmt.Sprintf("%d cores, %s, %s, %s", runtime.NumCPU(), model, kernel, runtime.Version())
}

// commandLine is the command as the person typed it: run.sh's own
// --bin is left out.
func commandLine(c config) string {
	var words []string
	for i := 0; i < len(c.args); i++ {
		switch a := c.args[i]; {
		case a == "--bin":
			i++
		case strings.HasPrefix(a, "--bin="):
		default:
			words = append(words, a)
		}
	}
	return strings.TrimSpace("./run.sh bench " + strings.Join(words, " "))
}

// othersBusy samples /proc/stat for d and returns the share of all the
// CPUs that was busy meanwhile (the bench itself is idle then): a busy
// neighbour makes every figure noisy, and the report says so.
func othersBusy(d time.Duration) (float64, error) {
	b0, t0, err := cpuTimes()
	if err != nil {
		return 0, err
	}
	time.Sleep(d)
	b1, t1, err := cpuTimes()
	if err != nil {
		return 0, err
	}
	return othersShare(b0, t0, b1, t1, 0), nil
}

type report struct {
	busy             float64 // share of the CPUs busy before the run
	machine, command string
	cfg              config
	floors           floors
	variants         []variant
	results          []result
	pairs            []pairRatio
	syscalls         *syscallReport // nil: not counted
	took             time.Duration
}

// floorOf returns the floor's result for the same row.
func floorOf(results []result, r result) *result {
	for i := range results {
		f := &results[i]
		if f.V == "floor" && f.Row == r.Row && f.Err == nil && f.Sum != nil {
			return f
		}
	}
	return nil
}

// cells is one result as table cells.
func (r result) cells(results []result) []string {
	if r.Skip != "" {
		cells := []string{r.V, r.Row.Label, strconv.Itoa(r.Row.Clients), "skipped: " + r.Skip}
		return append(cells, make([]string, len(header)-len(cells))...)
	}
	if r.Err != nil || r.Sum == nil {
		cells := []string{r.V, r.Row.Label, strconv.Itoa(r.Row.Clients), "failed: " + oneLine(r.Err)}
		return append(cells, make([]string, len(header)-len(cells))...)
	}
	s := r.Sum
	xfloor, xmodel := "", ""
	if f := floorOf(results, r); f != nil && f.Sum.RPS() > 0 {
		xfloor = fmt.Sprintf("%.2f", s.RPS()/f.Sum.RPS())
	}
	if r.Model > 0 {
		xmodel = fmt.Sprintf("%.2f", float64(s.P50)/float64(r.Model))
	}
	errs := strconv.FormatInt(s.Errors, 10)
	if r.RunErr != nil {
		errs += "; " + oneLine(r.RunErr)
	}
	return []string{
		r.V, r.Row.Label, strconv.Itoa(r.Row.Clients),
		fmt.Sprintf("%.0f", s.RPS()), fmt.Sprintf("%.1f", s.MBps()),
		dur(s.P50), dur(s.P99),
		fmt.Sprintf("%.3f", r.CPU.Seconds()*1000/float64(max(s.OK, 1))),
		fmt.Sprintf("%.1f MiB", float64(r.RSS)/(1<<20)), fmt.Sprintf("%.0f%%", 100*r.Busy),
		xfloor, dur(r.Model), xmodel, errs,
	}
}

var header = []string{"design", "request", "clients", "req/s", "MB/s", "p50", "p99",
	"CPU s/1000 req", "disp. peak RSS", "disp. busy", "req/s ÷ floor", "model p50", "p50 ÷ model", "errors"}

func oneLine(err error) string {
	if err == nil {
		return "no summary"
	}
	return firstLine(err.Error())
}

// dur prints a latency with three significant figures.
func dur(d time.Duration) string {
	switch {
	case d <= 0:
		return ""
	case d < time.Millisecond:
		return fmt.Sprintf("%.1f µs", float64(d)/1e3)
	case d < time.Second:
		return fmt.Sprintf("%.2f ms", float64(d)/1e6)
	default:
		return fmt.Sprintf("%.2f s", d.Seconds())
	}
}

func (rep *report) markdown(w io.Writer) {
	fmt.Fprintf(w, "## OSPS comparison\n\n")
	fmt.Fprintf(w, "- machine: %s\n", rep.machine)
	fmt.Fprintf(w, "- before the run, other processes kept %.0f%% of the CPUs busy", 100*rep.busy)
	if rep.busy > 0.1 {
		fmt.Fprintf(w, ": the figures below are noisier than on an idle machine")
	}
	fmt.Fprintf(w, "\n")
	fmt.Fprintf(w, "- command: `%s` (each row: %d run(s) of %v on a fresh server, the median by req/s shown; %d workers per dispatcher; took %v)\n",
		rep.command, rep.cfg.repeat, rep.cfg.duration, rep.cfg.workers, rep.took.Round(time.Second))
	for _, v := range rep.variants {
		if v.skip != "" {
			fmt.Fprintf(w, "- %s: not measured: %s\n", v.Name, v.skip)
		}
	}
	fl := rep.floors
	fmt.Fprintf(w, "\n### Primitives (the floors; best of %d rounds)\n\n| primitive | symbol | latency | CPU (all processes) |\n| --- | --- | --- | --- |\n", rep.cfg.rounds)
	prim := func(name, sym string, c cost) {
		fmt.Fprintf(w, "| %s | %s | %s | %s |\n", name, sym, dur(c.Lat), dur(c.CPU))
	}
	prim("pipe ping/pong round trip, two processes", "", fl.Pipe)
	prim(fmt.Sprintf("the same, the peer asleep for %v before", idlePause), "", fl.PipeCold)
	prim("the kernel's pipe round trip (blocking calls), both on CPU 0", "", fl.PipeOneCPU)
	prim("the kernel's pipe round trip, one on CPU 0, the other on CPU 1", "", fl.PipeTwoCPUs)
	prim(fmt.Sprintf("the same through common/proc, a new request (%d workers take turns)", fl.Workers), "P_req", fl.ProcReq)
	prim("the same with --lifo: the worker idle the shortest, the same one each time", "", fl.ProcReqLIFO)
	prim(fmt.Sprintf("the same, the workers asleep for %v before", idlePause), "P_req (cold)", fl.ProcReqCold)
	prim("the same, right after a TCP round trip (one client's dispatcher)", "P_req (after T)", fl.ProcReqAfterT)
	prim(fmt.Sprintf("the same, %d round trips in flight at once (its CPU: the multi-client rows)", fl.Workers), "P_req (loaded)", fl.ProcReqLoaded)
	prim("the same through common/proc, the next chunk (same worker)", "P_chunk", fl.ProcChunk)
	prim(fmt.Sprintf("a descriptor and a line over a Unix socket, and \"done\" (%d peers take turns)", fl.Workers), "F", fl.FdPass)
	prim(fmt.Sprintf("the same, the peers asleep for %v before", idlePause), "F (cold)", fl.FdPassCold)
	prim("the same, right after a TCP round trip (one client's dispatcher)", "F (after T)", fl.FdPassAfterT)
	prim(fmt.Sprintf("the same, %d passes in flight at once", fl.Workers), "F (loaded)", fl.FdPassLoaded)
	prim("TCP round trip, open loopback connection", "T", fl.TCP)
	prim(fmt.Sprintf("the same, the peer asleep for %v before", idlePause), "T (cold)", fl.TCPCold)
	prim("TCP connect + accept + close, loopback", "C", fl.Connect)
	prim(fmt.Sprintf("the same, the peer asleep for %v before", idlePause), "C (cold)", fl.ConnectCold)
	prim("TCP stream, loopback, per 64 KiB", "stream", fl.Stream)
	prim("copy 64 KiB into a shm slot", "", fl.ShmIn)
	prim("copy 64 KiB out of a shm slot", "", fl.ShmOut)
	prim("produce 64 KiB of the requetetype2 pattern", "fill", fl.Fill)
	prim("check 64 KiB of the requetetype2 pattern", "check", fl.Check)

	fmt.Fprintf(w, "\n### Rows\n\n")
	table(w, header, rep.rows(rep.results))
	var wide []string
	for _, r := range rep.results {
		if r.Runs > 1 && r.MinRPS > 0 && r.MaxRPS > 1.2*r.MinRPS {
			wide = append(wide, fmt.Sprintf("%s %s ×%d (%.0f to %.0f req/s)", r.V, r.Row.Label, r.Row.Clients, r.MinRPS, r.MaxRPS))
		}
	}
	if len(wide) > 0 {
		fmt.Fprintf(w, "\nRows whose runs differed by more than 20%% in throughput: %s.\n", strings.Join(wide, "; "))
	}
	var noisy, dropped []string
	for _, r := range rep.results {
		name := fmt.Sprintf("%s %s ×%d", r.V, r.Row.Label, r.Row.Clients)
		if r.Others > disturbed {
			noisy = append(noisy, fmt.Sprintf("%s (%.0f%%)", name, 100*r.Others))
		}
		if r.Dropped > 0 {
			dropped = append(dropped, fmt.Sprintf("%s (%d of %d)", name, r.Dropped, r.Runs))
		}
	}
	if len(dropped) > 0 {
		fmt.Fprintf(w, "\nRuns left out because other processes took more than %.0f%% of the CPUs meanwhile: %s.\n", 100*disturbed, strings.Join(dropped, "; "))
	}
	if len(noisy) > 0 {
		fmt.Fprintf(w, "\nRows measured while other processes took more than %.0f%% of the CPUs (their share in brackets): %s. Their figures are not the machine's.\n", 100*disturbed, strings.Join(noisy, "; "))
	}
	rep.pairTable(w)
	if rep.syscalls != nil {
		rep.syscalls.markdown(w)
	}
	fmt.Fprintf(w, "\nModel per row (K = %d cores, C = clients; docs/comparison.md explains each term):\n\n", fl.Cores)
	for _, r := range rep.results {
		if r.Formula != "" {
			fmt.Fprintf(w, "- %s %s ×%d: %s = %s\n", r.V, r.Row.Label, r.Row.Clients, r.Formula, dur(r.Model))
		}
	}
	rep.targets(w)
}

func (rep *report) rows(rs []result) [][]string {
	var out [][]string
	for _, r := range rs {
		out = append(out, r.cells(rep.results))
	}
	return out
}

func table(w io.Writer, head []string, rows [][]string) {
	fmt.Fprintf(w, "| %s |\n|%s\n", strings.Join(head, " | "), strings.Repeat(" --- |", len(head)))
	for _, r := range rows {
		fmt.Fprintf(w, "| %s |\n", strings.Join(r, " | "))
	}
}

// target is one goal with its measured value.
type target struct {
	What, Value string
	OK          bool
}

// targets prints each target of the issue with its measured ratio.
func (rep *report) targets(w io.Writer) {
	fmt.Fprintf(w, "\n### Targets\n\n")
	for _, t := range rep.targetList() {
		mark := "met"
		if !t.OK {
			mark = "MISSED"
		}
		fmt.Fprintf(w, "- %s: %s (%s)\n", t.What, t.Value, mark)
	}
}

// targetList is every target that this run measured.
func (rep *report) targetList() []target {
	var ts []target
	get := func(v string, line string, clients int) *result {
		for i := range rep.results {
			r := &rep.results[i]
			if r.V == v && r.Row.Line == line && r.Row.Clients == clients && r.Err == nil && r.Sum != nil {
				return r
			}
		}
		return nil
	}
	check := func(what string, ok bool, value string) {
		ts = append(ts, target{What: what, Value: value, OK: ok})
	}
	// The dispatcher's round trip with a worker against the bare pipe's,
	// measured in the same run.
	if fl := rep.floors; fl.Pipe.Lat > 0 {
		x := float64(fl.ProcChunk.Lat) / float64(fl.Pipe.Lat)
		check("P_chunk (next chunk, same worker) within 1.5× of the pipe round trip", x <= 1.5, fmt.Sprintf("%.2f×", x))
		x = float64(fl.ProcReq.Lat) / float64(fl.Pipe.Lat)
		check("P_req (new request, workers taking turns) within 2× of the pipe round trip", x <= 2, fmt.Sprintf("%.2f×", x))
	}
	for _, r := range rep.results {
		if r.Err == nil && r.Sum != nil && r.Model > 0 && r.V != "floor" {
			x := float64(r.Sum.P50) / float64(r.Model)
			check(fmt.Sprintf("%s %s ×%d: p50 within 1.25× of the model", r.V, r.Row.Label, r.Row.Clients),
				x <= 1.25 && x >= 1/1.25, fmt.Sprintf("%.2f×", x))
		}
	}
	if r := get("v1", "requetetype2 67108864", 1); r != nil {
		check("v1 64 MiB: dispatcher peak RSS under 32 MiB", r.RSS < 32<<20, fmt.Sprintf("%.1f MiB", float64(r.RSS)/(1<<20)))
	}
	ratio := func(v, line string, clients int) (float64, bool) {
		r, f := get(v, line, clients), get("floor", line, clients)
		if r == nil || f == nil || f.Sum.RPS() == 0 {
			return 0, false
		}
		return r.Sum.RPS() / f.Sum.RPS(), true
	}
	type tgt struct {
		v, line string
		clients int
		min     float64
		what    string
	}
	for _, t := range []tgt{
		{"v1", "requetetype2 67108864", 1, 0.5, "v1 64 MiB throughput ≥ 0.5× the floor's"},
		{"v2", "requetetype2 1048576", 4, 0.8, "v2 1 MiB throughput ≥ 0.8× the floor's"},
		{"v2", "requetetype2 67108864", 1, 0.8, "v2 64 MiB throughput ≥ 0.8× the floor's"},
		{"v3", "requetetype2 1048576", 4, 0.8, "v3 1 MiB throughput ≥ 0.8× the floor's"},
		{"v3", "requetetype2 67108864", 1, 0.8, "v3 64 MiB throughput ≥ 0.8× the floor's"},
		{"v1", "requetetype1", 16, 0.5, "v1 requetetype1 ×16 throughput ≥ 0.5× the floor's"},
	} {
		if x, ok := ratio(t.v, t.line, t.clients); ok {
			check(t.what, x >= t.min, fmt.Sprintf("%.2f×", x))
		}
	}
	for _, p := range rep.twinPairs() {
		check(fmt.Sprintf("Go v1 ≥ 0.8× its C twin, %s ×%d (paired, %d round(s))", p.Row.Label, p.Row.Clients, p.N),
			p.Median >= 0.8, fmt.Sprintf("%.2f×", p.Median))
	}
	if sc := rep.syscalls; sc != nil && sc.Err == nil && sc.OK["v1"] > 0 && sc.OK["c-v1"] > 0 {
		for _, role := range []struct {
			name  string
			slack float64
		}{{"worker", 1}, {"dispatcher", 2}} {
			g, c := sc.perRequest("v1", role.name), sc.perRequest("c-v1", role.name)
			check(fmt.Sprintf("a v1 %s's system calls per request at most %.0f more than the C twin's", role.name, role.slack),
				g <= c+role.slack, fmt.Sprintf("%.1f against %.1f", g, c))
		}
	}
	return ts
}

// twinPairs are the Go v1 ÷ C v1 ratios of the twin's target rows:
// requetetype1 with 1 and 16 clients, 64 MiB with 1.
func (rep *report) twinPairs() []pairRatio {
	var out []pairRatio
	for _, p := range rep.pairs {
		if p.A == "v1" && p.B == "c-v1" && (p.Row.Line == "requetetype1" || p.Row.N == 64<<20) {
			out = append(out, p)
		}
	}
	return out
}

// writeCSV writes the machine line, then the rows.
func (rep *report) writeCSV(w io.Writer) error {
	if _, err := fmt.Fprintf(w, "# machine: %s; command: %s; %v per row, %d workers\n",
		rep.machine, rep.command, rep.cfg.duration, rep.cfg.workers); err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"design", "request", "clients", "requests", "ok", "errors", "rps", "mbps",
		"p50_us", "p90_us", "p99_us", "max_us", "cpu_s_per_1000", "dispatcher_peak_rss_bytes", "dispatcher_busy",
		"rps_over_floor", "model_p50_us", "p50_over_model", "model", "runs", "dropped_runs", "min_rps", "max_rps", "others_cpu", "error"})
	for _, r := range rep.results {
		rec := []string{r.V, r.Row.Line, strconv.Itoa(r.Row.Clients)}
		if r.Skip != "" || r.Err != nil || r.Sum == nil {
			rec = append(rec, make([]string, 21)...)
			if r.Skip != "" {
				rec = append(rec, "skipped: "+r.Skip)
			} else {
				rec = append(rec, oneLine(r.Err))
			}
		} else {
			s := r.Sum
			xfloor, xmodel := "", ""
			if fr := floorOf(rep.results, r); fr != nil && fr.Sum.RPS() > 0 {
				xfloor = fmt.Sprintf("%.3f", s.RPS()/fr.Sum.RPS())
			}
			if r.Model > 0 {
				xmodel = fmt.Sprintf("%.3f", float64(s.P50)/float64(r.Model))
			}
			rec = append(rec, strconv.FormatInt(s.Requests, 10), strconv.FormatInt(s.OK, 10), strconv.FormatInt(s.Errors, 10),
				fmt.Sprintf("%.1f", s.RPS()), fmt.Sprintf("%.2f", s.MBps()),
				usf(s.P50), usf(s.P90), usf(s.P99), usf(s.Max),
				fmt.Sprintf("%.4f", r.CPU.Seconds()*1000/float64(max(s.OK, 1))), strconv.FormatInt(r.RSS, 10), fmt.Sprintf("%.3f", r.Busy),
				xfloor, usf(r.Model), xmodel, r.Formula,
				strconv.Itoa(r.Runs), strconv.Itoa(r.Dropped), fmt.Sprintf("%.1f", r.MinRPS), fmt.Sprintf("%.1f", r.MaxRPS),
				fmt.Sprintf("%.3f", r.Others), errString(r.RunErr))
		}
		_ = cw.Write(rec)
	}
	cw.Flush()
	return cw.Error()
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return oneLine(err)
}

func usf(d time.Duration) string { return fmt.Sprintf("%.1f", float64(d)/1e3) }
