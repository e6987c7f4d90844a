// chart.go draws the bench's chart with the standard library alone: an SVG
// file written as text, two panels side by side. On the left, each
// design's throughput over the Go floor's for each row (a bar per design,
// a group per row, a line at 1 = the floor and one at 0.5); on the right,
// each design's median latency against the payload's size, both axes
// logarithmic. The bench writes it with --svg; the chart role draws it
// again from a CSV the bench wrote:
//
//	osps-bench chart --csv bench.csv --svg docs/comparison.svg

package main

import (
	"bytes"
	"encoding/csv"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"osps/common/cli"
	"osps/common/client"
)

// chartDesigns are the designs drawn, in order, with their colours.
var chartDesigns = []struct{ name, colour string }{
	{"floor", "#444444"}, {"c-floor", "#999999"}, {"fdpass", "#8c564b"}, {"prefork", "#e377c2"},
	{"v1", "#1f77b4"}, {"c-v1", "#9ecae1"}, {"v2", "#ff7f0e"}, {"v3", "#2ca02c"},
}

// payloadBytes is what a row's answer carries (requetetype1: its line).
func payloadBytes(r rowSpec) float64 {
	if r.N == 0 {
		return 28
	}
	return float64(r.N)
}

// writeSVG draws the report's rows.
func (rep *report) writeSVG(w io.Writer) error {
	const W, H, pad = 960, 420, 50
	var b bytes.Buffer
	esc := func(s string) string {
		var e bytes.Buffer
		_ = xml.EscapeText(&e, []byte(s))
		return e.String()
	}
	text := func(x, y float64, anchor, size, s string) {
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="%s" font-size="%s">%s</text>`+"\n", x, y, anchor, size, esc(s))
	}
	line := func(x1, y1, x2, y2 float64, style string) {
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" %s/>`+"\n", x1, y1, x2, y2, style)
	}
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif">`+"\n", W, H, W, H)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="white"/>`+"\n", W, H)
	text(W/2, 18, "middle", "14", "OSPS: "+rep.machine)

	ok := func(r result) bool { return r.Skip == "" && r.Err == nil && r.Sum != nil }
	drawn := map[string]bool{}
	for _, r := range rep.results {
		if ok(r) {
			drawn[r.V] = true
		}
	}

	// Left: req/s ÷ the Go floor, a group of bars per row.
	x0, x1, y0, y1 := float64(pad), float64(W/2-20), float64(H-70), float64(40)
	ymax := 1.25
	for _, r := range rep.results {
		if f := floorOf(rep.results, r); ok(r) && f != nil && f.Sum.RPS() > 0 {
			ymax = math.Max(ymax, math.Min(r.Sum.RPS()/f.Sum.RPS(), 3))
		}
	}
	ymax = math.Ceil(ymax*4) / 4
	yOf := func(v float64) float64 { return y0 - (y0-y1)*v/ymax }
	for v := 0.0; v <= ymax+1e-9; v += 0.25 {
		line(x0, yOf(v), x1, yOf(v), `stroke="#eeeeee"`)
		text(x0-6, yOf(v)+4, "end", "10", strconv.FormatFloat(v, 'f', 2, 64))
	}
	line(x0, yOf(1), x1, yOf(1), `stroke="#444444" stroke-dasharray="4 3"`)
	line(x0, yOf(0.5), x1, yOf(0.5), `stroke="#bbbbbb" stroke-dasharray="2 3"`)
	text((x0+x1)/2, 34, "middle", "12", "req/s ÷ the Go floor's, per row (dashed: 1 and 0.5)")
	group := (x1 - x0) / float64(len(rows))
	var shown []string
	for _, d := range chartDesigns {
		if drawn[d.name] {
			shown = append(shown, d.name)
		}
	}
	barW := (group - 10) / float64(max(len(shown), 1))
	for gi, row := range rows {
		gx := x0 + float64(gi)*group + 5
		text(gx+group/2-5, y0+14, "middle", "10", fmt.Sprintf("%s ×%d", row.Label, row.Clients))
		for bi, name := range shown {
			for _, r := range rep.results {
				f := floorOf(rep.results, r)
				if r.V != name || r.Row != row || !ok(r) || f == nil || f.Sum.RPS() <= 0 {
					continue
				}
				v := math.Min(r.Sum.RPS()/f.Sum.RPS(), ymax)
				fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s</title></rect>`+"\n",
					gx+float64(bi)*barW, yOf(v), math.Max(barW-1, 1), y0-yOf(v), colour(name),
					esc(fmt.Sprintf("%s %s ×%d: %.2f× the floor", name, row.Label, row.Clients, r.Sum.RPS()/f.Sum.RPS())))
			}
		}
	}
	line(x0, y0, x1, y0, `stroke="black"`)

	// Right: p50 against the payload, log-log, one line per design.
	px0, px1 := float64(W/2+50), float64(W-20)
	var plotted []rowSpec
	for _, r := range rows {
		if r.Clients == 1 || r.N > 0 { // requetetype1 ×16 has the size of ×1: left out
			plotted = append(plotted, r)
		}
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, r := range rep.results {
		if ok(r) && r.Sum.P50 > 0 {
			lo, hi = math.Min(lo, float64(r.Sum.P50)), math.Max(hi, float64(r.Sum.P50))
		}
	}
	if math.IsInf(lo, 1) {
		lo, hi = float64(time.Microsecond), float64(time.Second)
	}
	lo, hi = math.Pow(10, math.Floor(math.Log10(lo))), math.Pow(10, math.Ceil(math.Log10(hi)))
	if hi <= lo {
		hi = lo * 10
	}
	sx0, sx1 := math.Log10(payloadBytes(plotted[0])), math.Log10(payloadBytes(plotted[len(plotted)-1]))
	xOf := func(n float64) float64 { return px0 + (px1-px0)*(math.Log10(n)-sx0)/(sx1-sx0) }
	lyOf := func(d float64) float64 {
		return y0 - (y0-y1)*(math.Log10(d)-math.Log10(lo))/(math.Log10(hi)-math.Log10(lo))
	}
	for d := lo; d <= hi*1.001; d *= 10 {
		line(px0, lyOf(d), px1, lyOf(d), `stroke="#eeeeee"`)
		text(px0-6, lyOf(d)+4, "end", "10", dur(time.Duration(d)))
	}
	for _, r := range plotted {
		text(xOf(payloadBytes(r)), y0+14, "middle", "10", fmt.Sprintf("%s ×%d", r.Label, r.Clients))
	}
	text((px0+px1)/2, 34, "middle", "12", "p50 against the payload's size (log-log)")
	line(px0, y0, px1, y0, `stroke="black"`)
	for _, name := range shown {
		var pts []string
		for _, row := range plotted {
			for _, r := range rep.results {
				if r.V == name && r.Row == row && ok(r) && r.Sum.P50 > 0 {
					pts = append(pts, fmt.Sprintf("%.1f,%.1f", xOf(payloadBytes(row)), lyOf(float64(r.Sum.P50))))
				}
			}
		}
		if len(pts) > 0 {
			fmt.Fprintf(&b, `<polyline points="%s" fill="none" stroke="%s" stroke-width="2"><title>%s</title></polyline>`+"\n",
				strings.Join(pts, " "), colour(name), esc(name))
		}
	}

	// The legend, under both panels.
	lx := float64(pad)
	for _, name := range shown {
		fmt.Fprintf(&b, `<rect x="%.1f" y="%d" width="12" height="12" fill="%s"/>`+"\n", lx, H-40, colour(name))
		text(lx+16, float64(H-30), "start", "12", name)
		lx += 16 + 8*float64(len(name)) + 24
	}
	text(float64(W-20), float64(H-30), "end", "10", rep.command)
	b.WriteString("</svg>\n")
	_, err := w.Write(b.Bytes())
	return err
}

func colour(name string) string {
	for _, d := range chartDesigns {
		if d.name == name {
			return d.colour
		}
	}
	return "#000000"
}

// runChart draws the chart again from a CSV the bench wrote (--csv).
func runChart(args []string) int {
	fs := pflag.NewFlagSet("chart", pflag.ContinueOnError)
	in := fs.String("csv", "", "the CSV a bench run wrote (./run.sh bench --csv FILE)")
	out := fs.String("svg", "", "the SVG file to write")
	if st, done := cli.Parse(fs, args, "osps-bench chart --csv FILE --svg FILE"); done {
		return st
	}
	if *in == "" || *out == "" || fs.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "chart: needs --csv FILE and --svg FILE, and no argument")
		return 2
	}
	rep, err := readCSVReport(*in)
	if err == nil {
		var f *os.File
		if f, err = os.Create(*out); err == nil {
			err = errors.Join(rep.writeSVG(f), f.Close())
		}
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "chart: %v\n", err)
		return 1
	}
	return 0
}

// readCSVReport reads back what writeCSV wrote: the machine line, and
// for each row its design, request, clients, throughput and p50.
func readCSVReport(path string) (*report, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	first, rest, _ := strings.Cut(string(raw), "\n")
	rep := &report{}
	if m, ok := strings.CutPrefix(first, "# machine: "); ok {
		rep.machine, rep.command, _ = strings.Cut(m, "; command: ")
		rep.command, _, _ = strings.Cut(rep.command, ";")
	}
	recs, err := csv.NewReader(strings.NewReader(rest)).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(recs) < 2 || len(recs[0]) < 10 || recs[0][0] != "design" {
		return nil, fmt.Errorf("%s: not a CSV of the bench (no header)", path)
	}
	col := map[string]int{}
	for i, h := range recs[0] {
		col[h] = i
	}
	for _, rec := range recs[1:] {
		clients, _ := strconv.Atoi(rec[col["clients"]])
		var row rowSpec
		for _, r := range rows {
			if r.Line == rec[col["request"]] && r.Clients == clients {
				row = r
			}
		}
		if row.Line == "" {
			continue // a row this version of the bench does not have
		}
		r := result{V: rec[col["design"]], Row: row}
		rps, err1 := strconv.ParseFloat(rec[col["rps"]], 64)
		p50, err2 := strconv.ParseFloat(rec[col["p50_us"]], 64)
		if err1 != nil || err2 != nil {
			r.Err = errors.New(rec[len(rec)-1])
		} else {
			r.Sum = &client.Summary{OK: int64(rps * 1000), Elapsed: 1000 * time.Second, P50: time.Duration(p50 * 1e3)}
		}
		rep.results = append(rep.results, r)
	}
	return rep, nil
}
