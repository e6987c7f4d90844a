// model_test.go checks the cost model's arithmetic and the report on
// made-up figures, then runs the whole bench, briefly, on the floor, the
// reference servers and v1: every row measured, the table and the CSV written, nothing left.

package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"osps/common/client"
	"osps/common/tools/procfs"
)

const us = time.Microsecond

var testFloors = floors{
	Cores: 2, Workers: 4, Pipe: cost{10 * us, 12 * us},
	ProcReq: cost{30 * us, 40 * us}, ProcReqCold: cost{100 * us, 200 * us}, ProcReqLoaded: cost{60 * us, 24 * us},
	ProcReqAfterT: cost{70 * us, 45 * us},
	ProcChunk:     cost{20 * us, 25 * us},
	FdPass:        cost{25 * us, 30 * us}, FdPassCold: cost{90 * us, 180 * us}, FdPassLoaded: cost{50 * us, 20 * us},
	FdPassAfterT: cost{65 * us, 35 * us},
	TCP:          cost{10 * us, 12 * us}, TCPCold: cost{90 * us, 150 * us},
	Connect: cost{50 * us, 70 * us}, ConnectCold: cost{120 * us, 200 * us},
	Stream: cost{40 * us, 60 * us}, Fill: cost{30 * us, 30 * us}, Check: cost{50 * us, 50 * us},
}

func row(line string, n int64, clients int) rowSpec {
	return rowSpec{Label: line, Line: line, N: n, Clients: clients}
}

func sum(p50 time.Duration) *client.Summary {
	return &client.Summary{Clients: 1, Requests: 100, OK: 100, Elapsed: time.Second, P50: p50, ByCode: map[string]int64{}}
}

func TestPredict(t *testing.T) {
	t1, t16 := row("requetetype1", 0, 1), row("requetetype1", 0, 16)
	k64, m64 := row("requetetype2 65536", 64<<10, 4), row("requetetype2 67108864", 64<<20, 1)
	var rs []result
	for _, r := range []rowSpec{t1, t16, k64, m64} {
		for _, v := range []string{"floor", "fdpass", "prefork", "v1", "v2", "v3"} {
			s := sum(1000 * us)
			if v == "floor" { // p50 800 µs; mean 1 ms: C × 1000 requests in 1 s
				s = &client.Summary{Clients: r.Clients, Requests: int64(r.Clients) * 1000, OK: int64(r.Clients) * 1000,
					Elapsed: time.Second, P50: 800 * us, ByCode: map[string]int64{}}
			}
			rs = append(rs, result{V: v, Row: r, Sum: s})
		}
	}
	predict(rs, testFloors)
	got := map[string]time.Duration{}
	for _, r := range rs {
		got[fmt.Sprintf("%s %s/%d", r.V, r.Row.Line, r.Row.Clients)] = r.Model
	}
	want := map[string]time.Duration{
		// floor: T; or T + fill + 2 stream + check (+ the slower stage per
		// further chunk); or C × CPU / K when that is more.
		"floor requetetype1/1":          10 * us,
		"floor requetetype1/16":         16 * 12 * us / 2,
		"floor requetetype2 65536/4":    4 * (12 + 30 + 60 + 50) * us / 2,
		"floor requetetype2 67108864/1": (10 + 30 + 80 + 50 + 1023*(40+50)) * us,
		// prefork: the floor's p50, nothing added.
		"prefork requetetype1/1":          800 * us,
		"prefork requetetype1/16":         800 * us,
		"prefork requetetype2 65536/4":    800 * us,
		"prefork requetetype2 67108864/1": 800 * us,
		// The others: with one client, the floor's p50 and the round
		// trips as one client pays them (after a TCP round trip, cold);
		// with more, the floor's mean and the loaded CPU.
		"fdpass requetetype1/1":          800*us + 65*us,
		"fdpass requetetype1/16":         1000*us + 16*20*us/2,
		"fdpass requetetype2 65536/4":    1000*us + 4*20*us/2,
		"fdpass requetetype2 67108864/1": 800*us + 65*us,
		"v1 requetetype1/1":              800*us + 70*us,
		"v1 requetetype1/16":             1000*us + 16*24*us/2,
		"v1 requetetype2 65536/4":        1000*us + 4*24*us/2,
		"v1 requetetype2 67108864/1":     800*us + 70*us + 1023*20*us,
		"v2 requetetype1/1":              800*us + (90+70+120)*us,
		"v2 requetetype1/16":             1000*us + 16*(12+40+70)*us/2,
		"v2 requetetype2 65536/4":        1000*us + 4*(12+40+70)*us/2,
		"v2 requetetype2 67108864/1":     800*us + (90+70+120)*us,
		"v3 requetetype1/1":              800*us + (90+10+70+120)*us, // v2's, and the proof's round trip, hot
		"v3 requetetype1/16":             1000*us + 16*(2*12+40+70)*us/2,
		"v3 requetetype2 65536/4":        1000*us + 4*(2*12+40+70)*us/2,
		"v3 requetetype2 67108864/1":     800*us + (90+10+70+120)*us,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("predictions (-want +got):\n%s", diff)
	}
}

func TestChunks(t *testing.T) {
	for n, want := range map[int64]int64{0: 1, 1: 1, 65536: 1, 65537: 2, 1 << 20: 16, 64 << 20: 1024} {
		if got := chunks(n); got != want {
			t.Errorf("chunks(%d) = %d, want %d", n, got, want)
		}
	}
}

func TestReport(t *testing.T) {
	t16, m64 := rows[1], rows[4]
	rs := []result{
		{V: "floor", Row: t16, Sum: &client.Summary{OK: 1000, Elapsed: time.Second, P50: 100 * us}},
		{V: "v1", Row: t16, Sum: &client.Summary{Requests: 400, OK: 400, Elapsed: time.Second, P50: 400 * us}, Model: 300 * us, CPU: time.Second},
		{V: "floor", Row: m64, Sum: &client.Summary{OK: 10, Bytes: 10 << 26, Elapsed: time.Second, P50: 100 * time.Millisecond}},
		{V: "v1", Row: m64, Sum: &client.Summary{OK: 6, Bytes: 6 << 26, Elapsed: time.Second, P50: 110 * time.Millisecond}, Model: 100 * time.Millisecond, RSS: 40 << 20},
		{V: "v2", Row: m64, Err: os.ErrNotExist},
	}
	rep := report{machine: "2 cores, a CPU, Linux x, go1.x", command: "./run.sh bench --quick", cfg: config{duration: time.Second, workers: 4},
		floors: testFloors, variants: []variant{{Name: "v3", skip: "v3-client-calls-worker/ does not exist yet"}}, results: rs}
	var md bytes.Buffer
	rep.markdown(&md)
	for _, want := range []string{
		"- machine: 2 cores, a CPU, Linux x, go1.x",
		"`./run.sh bench --quick`",
		"- v3: not measured: v3-client-calls-worker/ does not exist yet",
		"| v1 | requetetype1 | 16 | 400 | 0.0 | 400.0 µs |",
		"| 2.500 | 0.0 MiB | 0% | 0.40 |", // CPU: 1 s for 400 requests
		"| v2 | 64 MiB | 1 | failed: file does not exist |",
		"- v1 requetetype1 ×16: p50 within 1.25× of the model: 1.33× (MISSED)",
		"- v1 64 MiB ×1: p50 within 1.25× of the model: 1.10× (met)",
		"- v1 64 MiB: dispatcher peak RSS under 32 MiB: 40.0 MiB (MISSED)",
		"- v1 64 MiB throughput ≥ 0.5× the floor's: 0.60× (met)",
		"- v1 requetetype1 ×16 throughput ≥ 0.5× the floor's: 0.40× (MISSED)",
		"- P_chunk (next chunk, same worker) within 1.5× of the pipe round trip: 2.00× (MISSED)",
		"- P_req (new request, workers taking turns) within 2× of the pipe round trip: 3.00× (MISSED)",
	} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("the Markdown report lacks %q:\n%s", want, md.String())
		}
	}

	var b bytes.Buffer
	if err := rep.writeCSV(&b); err != nil {
		t.Fatal(err)
	}
	first, rest, _ := strings.Cut(b.String(), "\n")
	if !strings.HasPrefix(first, "# machine: 2 cores, a CPU, Linux x, go1.x;") {
		t.Errorf("CSV's first line %q does not name the machine", first)
	}
	recs, err := csv.NewReader(strings.NewReader(rest)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1+len(rs) {
		t.Fatalf("CSV has %d records, want a header and %d rows", len(recs), len(rs))
	}
	for i, r := range recs {
		if len(r) != len(recs[0]) {
			t.Errorf("CSV record %d has %d fields, the header %d", i, len(r), len(recs[0]))
		}
	}
	if got := recs[2][:7]; !cmp.Equal(got, []string{"v1", "requetetype1", "16", "400", "400", "0", "400.0"}) {
		t.Errorf("CSV row of v1: %q", got)
	}
	if got := recs[2][15]; got != "0.400" {
		t.Errorf("CSV rps_over_floor of v1 = %q, want 0.400", got)
	}
}

// TestBenchEndToEnd runs the bench as ./run.sh does, with short rows,
// on the floor, the reference servers (this test binary re-executed as
// "floor", "fdpass", "prefork"), v1, and the C floor and twin, compiled
// with the machine's C compiler (their rows say "skipped" without one).
func TestBenchEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds v1 and runs 10 short rows")
	}
	dir := t.TempDir()
	c := config{
		workers: 2, duration: 150 * time.Millisecond, primTime: 5 * time.Millisecond, rounds: 1, repeat: 1,
		root: filepath.Join("..", "..", ".."), binDir: dir, csv: filepath.Join(dir, "rows.csv"),
		variants: []string{"floor", "c-floor", "fdpass", "prefork", "v1", "c-v1"}, args: []string{"--quick"},
		verbose: true, svg: filepath.Join(dir, "chart.svg"),
	}
	var out bytes.Buffer
	if err := bench(context.Background(), c, &out); err != nil {
		t.Fatalf("bench: %v\n%s", err, out.String())
	}
	md := out.String()
	for _, r := range rows {
		for _, v := range c.variants {
			if !strings.Contains(md, "| "+v+" | "+r.Label+" | ") {
				t.Errorf("no row for %s %s ×%d", v, r.Label, r.Clients)
			}
		}
	}
	if strings.Contains(md, "failed") {
		t.Errorf("a row failed:\n%s", md)
	}
	csvText, err := os.ReadFile(c.csv)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(csvText), "\n"); n != 2+len(c.variants)*len(rows) {
		t.Errorf("CSV has %d lines, want the machine, the header and %d rows:\n%s", n, len(c.variants)*len(rows), csvText)
	}
	if !strings.HasPrefix(md, "## Verdict\n") || !strings.Contains(md, "- Go v1 ÷ its C twin (paired rounds): ") && !strings.Contains(md, "- the C rows: skipped: ") {
		t.Errorf("the output does not open with the verdict and the twin's ratios:\n%s", md)
	}
	if svg, err := os.ReadFile(c.svg); err != nil || !bytes.Contains(svg, []byte("</svg>")) {
		t.Errorf("no chart written: %v", err)
	}
	if kids := procfs.ChildPids(os.Getpid()); len(kids) > 0 {
		t.Errorf("processes left behind: %v", kids)
	}
}

func TestMedianRun(t *testing.T) {
	run := func(ok int64) result {
		return result{V: "v1", Row: rows[0], Runs: 1, Sum: &client.Summary{OK: ok, Elapsed: time.Second}}
	}
	bad := result{V: "v1", Row: rows[0], Runs: 1, Err: os.ErrDeadlineExceeded}
	m := median([]result{run(10), run(30), bad, run(20)})
	if m.Sum.OK != 20 || m.Runs != 4 || m.MinRPS != 10 || m.MaxRPS != 30 {
		t.Errorf("median of 10, 30, failed, 20 req/s: %+v", m)
	}
	if m.RunErr == nil || !strings.Contains(m.RunErr.Error(), "1 of 4 runs failed") {
		t.Errorf("the failed run is not reported: %v", m.RunErr)
	}
	if m := median([]result{bad, bad}); m.Err == nil {
		t.Errorf("all runs failed, yet the median has no error: %+v", m)
	}
}

func TestMedianLeavesOutDisturbedRuns(t *testing.T) {
	run := func(ok int64, others float64) result {
		return result{V: "v1", Row: rows[0], Runs: 1, Others: others, Sum: &client.Summary{OK: ok, Elapsed: time.Second}}
	}
	m := median([]result{run(10, 0.6), run(30, 0.02), run(20, 0.05)})
	if m.Sum.OK != 30 || m.Dropped != 1 || m.MinRPS != 20 {
		t.Errorf("median of 10 (disturbed), 30, 20 req/s: kept %d req/s, dropped %d, min %v", m.Sum.OK, m.Dropped, m.MinRPS)
	}
	if m := median([]result{run(10, 0.6), run(30, 0.5)}); m.Sum.OK != 30 || m.Dropped != 0 || m.Others != 0.5 {
		t.Errorf("all runs disturbed: %+v", m)
	}
}

func TestOthersShare(t *testing.T) {
	// 200 ticks of 2 CPUs (1 s), 150 busy, ours 1 s: the others 0.5 s of 2 s.
	if got := othersShare(1000, 5000, 1150, 5200, time.Second); got != 0.25 {
		t.Errorf("othersShare = %v, want 0.25", got)
	}
	if got := othersShare(0, 0, 10, 100, 5*time.Second); got != 0 {
		t.Errorf("ours above the busy time: %v, want 0", got)
	}
}

// TestMeasureAfter checks that the one-client measure runs its first
// step before every operation, untimed, and then once more on its own
// (to take its CPU off).
func TestMeasureAfter(t *testing.T) {
	var seq []string
	first := func(n int) error {
		seq = append(seq, fmt.Sprintf("first×%d", n))
		return nil
	}
	op := func(n int) error {
		seq = append(seq, fmt.Sprintf("op×%d", n))
		return nil
	}
	if _, err := measureAfter(first)(0, op); err != nil {
		t.Fatal(err)
	}
	// target 0: one operation, then first alone, as many times as fit in
	// the target (at least once).
	if diff := cmp.Diff([]string{"first×1", "op×1", "first×1"}, seq); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
	boom := errors.New("boom")
	if _, err := measureAfter(func(int) error { return boom })(time.Second, op); !errors.Is(err, boom) {
		t.Errorf("a failing first step: %v, want %v", err, boom)
	}
}

// TestBestOfStopsWhenCancelled checks that Ctrl-C (a done context) stops
// the primitives between two rounds, before a new peer is started.
func TestBestOfStopsWhenCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	opened := 0
	var c cost
	open := func() ([]probe, func() error, error) {
		opened++
		cancel() // Ctrl-C during the first round
		return []probe{{&c, func(time.Duration, func(int) error) (cost, error) { return cost{Lat: time.Microsecond}, nil },
			func(int) error { return nil }}}, nil, nil
	}
	if err := bestOf(ctx, 3, time.Millisecond, open); !errors.Is(err, context.Canceled) {
		t.Errorf("bestOf after Ctrl-C = %v, want context.Canceled", err)
	}
	if opened != 1 {
		t.Errorf("%d rounds started, want 1 (the one under way finishes, no new one starts)", opened)
	}
}
