// ctwin_test.go checks the C rows and what the report makes of them:
// the twin and the C floor build with the machine's compiler and serve
// v1's wire format (the full rows are in TestBenchEndToEnd); the twin's
// segment is marked for removal at once and gone, with its workers,
// once it stops; without a compiler the C rows say "skipped" and the
// rest is prepared; the paired ratios, the verdict, the SVG chart and
// the strace summary parser.

package main

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"osps/common/client"
	"osps/common/shm"
	"osps/common/tools/procfs"
	"osps/common/wire"
)

var moduleRoot = filepath.Join("..", "..", "..")

// buildCTwin compiles name into a temporary directory, or skips the test.
func buildCTwin(t *testing.T, name string) string {
	t.Helper()
	if _, err := cCompiler(); err != nil {
		t.Skip(err)
	}
	bin, skip := buildC(moduleRoot, t.TempDir(), name)
	if skip != "" {
		t.Fatalf("build %s: %s", name, skip)
	}
	return bin
}

func TestCTwinSegmentWorkersAndStop(t *testing.T) {
	bin := buildCTwin(t, "c-v1")
	srv, err := startServer([]string{bin, "serve", "--listen", "127.0.0.1", "--port", "0", "--workers", "3"}, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.kill)
	pid := srv.cmd.Process.Pid
	segs, err := shm.Table()
	if err != nil {
		t.Fatal(err)
	}
	var mine []shm.Entry
	for _, s := range segs {
		if s.Cpid == pid {
			mine = append(mine, s)
		}
	}
	if len(mine) != 1 || !mine[0].Dest() {
		t.Fatalf("segments created by the twin %d: %+v; want one, marked for removal", pid, mine)
	}
	workers := procfs.ChildPids(pid)
	if len(workers) != 3 {
		t.Fatalf("workers of %d: %v, want 3", pid, workers)
	}
	// Lines sent ahead on one session: each answered in order, every
	// payload checked, a chunked one (over the 64 KiB slot) included.
	c, r := dial(t, srv.Addr)
	if _, err := io.WriteString(c, "requetetype1\nrequetetype2 200000\nrequetetype2 0\nbogus\nSTATS\nQUIT\n"); err != nil {
		t.Fatal(err)
	}
	if got := string(payload(t, r)); !regexp.MustCompile(`^worker=0 pid=\d+ served=1\n$`).MatchString(got) {
		t.Errorf("requetetype1 answered %q", got)
	}
	if err := wire.CheckPattern(payload(t, r), 0); err != nil {
		t.Errorf("requetetype2 200000: %v", err)
	}
	if p := payload(t, r); len(p) != 0 {
		t.Errorf("requetetype2 0: %d bytes", len(p))
	}
	if l := line(t, r); l != `ERR unknown-type unknown request type "bogus"` {
		t.Errorf("bogus answered %q", l)
	}
	if got := string(payload(t, r)); !regexp.MustCompile(`^(worker=\d pid=\d+ state=idle served=1 restarts=0 total=1\n){3}$`).MatchString(got) {
		t.Errorf("STATS answered %q", got)
	}
	if l := line(t, r); l != wire.BYE {
		t.Errorf("QUIT answered %q", l)
	}
	if _, err := srv.stop(10 * time.Second); err != nil {
		t.Fatalf("stop: %v", err)
	}
	for _, w := range workers {
		if p, ok := procfs.Read(w); ok && p.Live() {
			t.Errorf("worker %d still alive after the twin stopped", w)
		}
	}
	if ids, _ := shm.CreatedBy(pid); len(ids) > 0 {
		t.Errorf("the twin's segment %v is left after it stopped", ids)
	}
}

// TestCRowsSkippedWithoutCompiler prepares the bench on a PATH that
// holds the go command alone: no cc, no gcc (and so no cgo: go build
// turns it off by itself). The C rows are skipped, the rest is built.
func TestCRowsSkippedWithoutCompiler(t *testing.T) {
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command on PATH")
	}
	path := t.TempDir()
	if err := os.Symlink(goCmd, filepath.Join(path, "go")); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", path)
	t.Setenv("CC", "")
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	vs, err := prepare(config{root: moduleRoot, binDir: t.TempDir(), variants: []string{"floor", "c-floor", "v1", "c-v1"}}, self)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, v := range vs {
		got[v.Name] = v.skip
	}
	for _, n := range []string{"floor", "v1"} {
		if got[n] != "" {
			t.Errorf("%s is skipped too: %q", n, got[n])
		}
	}
	for _, n := range []string{"c-floor", "c-v1"} {
		if !strings.HasPrefix(got[n], "no C compiler") {
			t.Errorf("%s: skip = %q, want no C compiler", n, got[n])
		}
	}
	r := result{V: "c-v1", Row: rows[0], Skip: got["c-v1"]}
	if cells := r.cells(nil); cells[3] != "skipped: "+got["c-v1"] {
		t.Errorf("the skipped row reads %q", cells)
	}
	rep := report{results: []result{r}}
	var out bytes.Buffer
	rep.verdict(&out)
	if !strings.Contains(out.String(), "- the C rows: skipped: no C compiler") {
		t.Errorf("the verdict does not say why the C rows are missing:\n%s", out.String())
	}
}

func TestWrongCCIsNotReplaced(t *testing.T) {
	t.Setenv("CC", "/nonexistent/cc")
	if cc, err := cCompiler(); !errors.Is(err, errNoCC) {
		t.Errorf("CC=/nonexistent/cc: got %q, %v; want no C compiler (not another compiler)", cc, err)
	}
}

// run is one measured run of a row at rps requests per second.
func run(v string, row rowSpec, rps float64) result {
	return result{V: v, Row: row, Sum: &client.Summary{OK: int64(rps), Elapsed: time.Second, P50: time.Duration(1e9 / rps)}}
}

func TestPairedRatiosRoundByRound(t *testing.T) {
	row := rows[1]
	failed := result{V: "c-v1", Row: row, Err: errors.New("refused")}
	runs := map[string][]result{
		// Round 2 is twice as fast for both: paired, the ratio stays 0.5.
		"v1":   {run("v1", row, 100), run("v1", row, 200), run("v1", row, 100), run("v1", row, 999)},
		"c-v1": {run("c-v1", row, 200), run("c-v1", row, 400), run("c-v1", row, 200), failed},
	}
	ps := pairedRatios(row, runs)
	if len(ps) != 1 {
		t.Fatalf("pairs: %+v, want v1 ÷ c-v1 alone", ps)
	}
	want := pairRatio{A: "v1", B: "c-v1", Row: row, Median: 0.5, Min: 0.5, Max: 0.5, N: 3}
	if diff := cmp.Diff(want, ps[0]); diff != "" {
		t.Errorf("v1 ÷ c-v1 (-want +got):\n%s", diff)
	}
	if got := medianOf([]float64{1, 2, 3, 10}); got != 2.5 {
		t.Errorf("median of 1 2 3 10 = %v, want 2.5", got)
	}
}

// twinReport is a report of the floors, v1, v2 and the twin on every row.
func twinReport() report {
	var rs []result
	var ps []pairRatio
	for i, row := range rows {
		rs = append(rs, run("floor", row, 1000), run("c-floor", row, 1500), run("v1", row, 300+100*float64(i)),
			run("v2", row, 400), run("c-v1", row, 600))
		ps = append(ps, pairRatio{A: "v1", B: "c-v1", Row: row, Median: (300 + 100*float64(i)) / 600, N: 3},
			pairRatio{A: "c-v1", B: "c-floor", Row: row, Median: 0.4, N: 3},
			pairRatio{A: "v1", B: "floor", Row: row, Median: (300 + 100*float64(i)) / 1000, N: 3})
	}
	sc := &syscallReport{Requests: 100, Clients: 1, OK: map[string]int64{"v1": 100, "c-v1": 100}, Counts: []syscallCount{
		{Server: "v1", Role: "dispatcher", Calls: map[string]int64{"read": 400, "write": 400}},
		{Server: "v1", Role: "workers", Calls: map[string]int64{"read": 200, "write": 100}},
		{Server: "c-v1", Role: "dispatcher", Calls: map[string]int64{"read": 200, "write": 200}},
		{Server: "c-v1", Role: "workers", Calls: map[string]int64{"read": 100, "write": 100}},
	}}
	return report{machine: "2 cores, A & B <CPU>, Linux x, go1.x", command: "./run.sh bench --quick",
		cfg: config{duration: time.Second, workers: 4}, floors: testFloors, results: rs, pairs: ps, syscalls: sc}
}

func TestVerdict(t *testing.T) {
	rep := twinReport()
	var out bytes.Buffer
	rep.verdict(&out)
	v := out.String()
	for _, want := range []string{
		"- who wins where (req/s ÷ the Go floor): requetetype1 ×1 v2 (0.40), requetetype1 ×16 v1 (0.40), 64 KiB ×4 v1 (0.50), 1 MiB ×4 v1 (0.60), 64 MiB ×1 v1 (0.70).",
		"- Go v1 ÷ its C twin (paired rounds): requetetype1 ×1 0.50, requetetype1 ×16 0.67, 64 MiB ×1 1.17; target ≥ 0.8 met on 1 of 3.",
		"- requetetype1 ×16, each design against its own floor: c-v1 ÷ c-floor 0.40, v1 ÷ floor 0.40 (the target for v1: ≥ 0.5).",
		"worker 3.0 in Go against 2.0 in C (target: at most 1 more), dispatcher 8.0 against 4.0 (at most 2 more).",
	} {
		if !strings.Contains(v, want) {
			t.Errorf("the verdict lacks %q:\n%s", want, v)
		}
	}
	ts := rep.targetList()
	met := 0
	for _, tg := range ts {
		if tg.OK {
			met++
		}
	}
	// Among the targets: the worker's calls are met (3 ≤ 2+1), the dispatcher's missed (8 > 4+2).
	for what, ok := range map[string]bool{
		"a v1 worker's system calls per request at most 1 more than the C twin's":     true,
		"a v1 dispatcher's system calls per request at most 2 more than the C twin's": false,
		"Go v1 ≥ 0.8× its C twin, 64 MiB ×1 (paired, 3 round(s))":                     true,
		"Go v1 ≥ 0.8× its C twin, requetetype1 ×16 (paired, 3 round(s))":              false,
	} {
		found := false
		for _, tg := range ts {
			if tg.What == what {
				found = true
				if tg.OK != ok {
					t.Errorf("%s: met = %v, want %v (%s)", what, tg.OK, ok, tg.Value)
				}
			}
		}
		if !found {
			t.Errorf("no target %q", what)
		}
	}
	if want := "- targets: " + strconv.Itoa(met) + " of " + strconv.Itoa(len(ts)) + " met"; !strings.Contains(v, want) {
		t.Errorf("the verdict lacks %q:\n%s", want, v)
	}
	// With one of the two servers not counted, no system-call target is judged.
	rep.syscalls.OK = map[string]int64{"c-v1": 100}
	for _, tg := range rep.targetList() {
		if strings.Contains(tg.What, "system calls") {
			t.Errorf("v1 not counted, yet a target is judged: %+v", tg)
		}
	}
	if lines := strings.Count(v, "\n"); lines > 10 {
		t.Errorf("the verdict takes %d lines: it must be a few", lines)
	}
}

func TestSVGIsWellFormed(t *testing.T) {
	rep := twinReport()
	var b bytes.Buffer
	if err := rep.writeSVG(&b); err != nil {
		t.Fatal(err)
	}
	d := xml.NewDecoder(bytes.NewReader(b.Bytes()))
	count := map[string]int{}
	var texts []string
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("the SVG is not well-formed XML: %v\n%s", err, b.String())
		}
		switch e := tok.(type) {
		case xml.StartElement:
			count[e.Name.Local]++
			if e.Name.Local == "svg" && e.Name.Space != "http://www.w3.org/2000/svg" {
				t.Errorf("root element in namespace %q", e.Name.Space)
			}
		case xml.CharData:
			texts = append(texts, string(e))
		}
	}
	// Five designs drawn on five rows: a bar each, a latency line each.
	if count["svg"] != 1 || count["polyline"] != 5 {
		t.Errorf("elements: %v; want one svg and 5 polylines", count)
	}
	if bars := strings.Count(b.String(), "× the floor</title></rect>"); bars != 25 {
		t.Errorf("%d bars, want 25 (5 designs × 5 rows)", bars)
	}
	if !strings.Contains(strings.Join(texts, "|"), "OSPS: 2 cores, A & B <CPU>, Linux x, go1.x") {
		t.Errorf("the title does not carry the machine, escaped and read back:\n%v", texts)
	}
}

func TestChartFromCSV(t *testing.T) {
	rep := twinReport()
	dir := t.TempDir()
	in, out := filepath.Join(dir, "rows.csv"), filepath.Join(dir, "chart.svg")
	var b bytes.Buffer
	if err := rep.writeCSV(&b); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(in, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if st := runChart([]string{"--csv", in, "--svg", out}); st != 0 {
		t.Fatalf("chart exited %d", st)
	}
	back, err := readCSVReport(in)
	if err != nil {
		t.Fatal(err)
	}
	if len(back.results) != len(rep.results) || back.machine != rep.machine {
		t.Errorf("read back %d rows of %q, want %d of %q", len(back.results), back.machine, len(rep.results), rep.machine)
	}
	var direct, again bytes.Buffer
	back.command = rep.command
	_ = back.writeSVG(&again)
	_ = rep.writeSVG(&direct)
	if diff := cmp.Diff(direct.String(), again.String()); diff != "" {
		t.Errorf("the chart from the CSV differs from the run's (-run +csv):\n%s", diff)
	}
}

func TestParseStrace(t *testing.T) {
	const out = `% time     seconds  usecs/call     calls    errors syscall
------ ----------- ----------- --------- --------- ----------------
 30.60    0.181587          18     10002           epoll_wait
 26.36    0.156444          15     10001      5000 read
  0.02    0.000103          51         2         1 accept4
------ ----------- ----------- --------- --------- ----------------
100.00    0.593448          19     20005      5001 total
`
	c, err := parseStrace(strings.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]int64{"epoll_wait": 10002, "read": 10001, "accept4": 2}, c.Calls); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]int64{"read": 5000, "accept4": 1}, c.Errors); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
	if _, err := parseStrace(strings.NewReader("strace: attach: ptrace(PTRACE_SEIZE, 1): Operation not permitted\n")); err == nil {
		t.Error("no table: want an error")
	}
}
