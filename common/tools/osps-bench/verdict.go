// verdict.go is the start of the bench's report, its conclusion: a few
// lines saying which design wins on which row, how the Go code stands
// against its C twin, and how many targets were met, before the long
// tables (behind --verbose, and in the --md and --csv files).

package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
)

// labDesigns are the designs the lab builds, among which a row's winner
// is named (the floors and the reference servers are yardsticks).
var labDesigns = []string{"v1", "v2", "v3"}

// verdict prints the few lines that open the report.
func (rep *report) verdict(w io.Writer) {
	fmt.Fprintf(w, "## Verdict\n\n")
	noisy := ""
	if rep.busy > 0.1 {
		noisy = ": a busy machine, read ratios of the same round, not times"
	}
	fmt.Fprintf(w, "- %s; before the run, other processes kept %.0f%% of the CPUs busy%s.\n", rep.machine, 100*rep.busy, noisy)
	var wins []string
	for _, row := range rows {
		best, bx := "", 0.0
		for _, r := range rep.results {
			if r.Row != row || !slices.Contains(labDesigns, r.V) || r.Err != nil || r.Sum == nil {
				continue
			}
			if f := floorOf(rep.results, r); f != nil && f.Sum.RPS() > 0 {
				if x := r.Sum.RPS() / f.Sum.RPS(); x > bx {
					best, bx = r.V, x
				}
			}
		}
		if best != "" {
			wins = append(wins, fmt.Sprintf("%s ×%d %s (%.2f)", row.Label, row.Clients, best, bx))
		}
	}
	if len(wins) > 0 {
		fmt.Fprintf(w, "- who wins where (req/s ÷ the Go floor): %s.\n", strings.Join(wins, ", "))
	}
	if ps := rep.twinPairs(); len(ps) > 0 {
		var xs []string
		met := 0
		for _, p := range ps {
			xs = append(xs, fmt.Sprintf("%s ×%d %.2f", p.Row.Label, p.Row.Clients, p.Median))
			if p.Median >= 0.8 {
				met++
			}
		}
		fmt.Fprintf(w, "- Go v1 ÷ its C twin (paired rounds): %s; target ≥ 0.8 met on %d of %d.\n", strings.Join(xs, ", "), met, len(ps))
	} else if r := rep.find("c-v1"); r != nil && r.Skip != "" {
		fmt.Fprintf(w, "- the C rows: skipped: %s.\n", r.Skip)
	}
	var ratios []string
	for _, spec := range [][2]string{{"c-v1", "c-floor"}, {"v1", "floor"}} {
		for _, p := range rep.pairs {
			if p.A == spec[0] && p.B == spec[1] && p.Row == rows[1] {
				ratios = append(ratios, fmt.Sprintf("%s ÷ %s %.2f", p.A, p.B, p.Median))
			}
		}
	}
	if len(ratios) > 0 {
		fmt.Fprintf(w, "- requetetype1 ×16, each design against its own floor: %s (the target for v1: ≥ 0.5).\n", strings.Join(ratios, ", "))
	}
	if sc := rep.syscalls; sc != nil {
		fmt.Fprintf(w, "- %s\n", sc.summary())
	}
	ts := rep.targetList()
	met := 0
	var missed []string
	for _, t := range ts {
		if t.OK {
			met++
		} else {
			missed = append(missed, t.What)
		}
	}
	fmt.Fprintf(w, "- targets: %d of %d met", met, len(ts))
	if len(missed) > 0 && len(missed) <= 3 {
		fmt.Fprintf(w, "; missed: %s", strings.Join(missed, "; "))
	}
	fmt.Fprintf(w, ". The tables: --verbose, or --md FILE.\n")
}

// find is the first result of design v.
func (rep *report) find(v string) *result {
	for i := range rep.results {
		if rep.results[i].V == v {
			return &rep.results[i]
		}
	}
	return nil
}

// pairTable prints every paired ratio.
func (rep *report) pairTable(w io.Writer) {
	if len(rep.pairs) == 0 {
		return
	}
	fmt.Fprintf(w, "\n### Paired ratios (req/s of A ÷ req/s of B, run one after the other in each round; median, and the range)\n\n")
	var rs [][]string
	for _, p := range rep.pairs {
		rs = append(rs, []string{p.A + " ÷ " + p.B, p.Row.Label, fmt.Sprint(p.Row.Clients),
			fmt.Sprintf("%.2f", p.Median), fmt.Sprintf("%.2f – %.2f", p.Min, p.Max), fmt.Sprint(p.N)})
	}
	table(w, []string{"ratio", "request", "clients", "median", "range", "rounds"}, rs)
}
