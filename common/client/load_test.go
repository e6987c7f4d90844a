// load_test.go checks the load generator against a small in-process
// server: every request is counted once, errors are counted by code, a
// wrong payload byte breaks only its session, and the summary line reads
// back as it was written.

package client

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/pflag"

	"osps/common/service"
	"osps/common/wire"
)

func TestParseMix(t *testing.T) {
	got, err := ParseMix("requetetype1:3, requetetype2 65536:1 ,requetetype2")
	if err != nil {
		t.Fatal(err)
	}
	want := []MixEntry{{"requetetype1", 3}, {"requetetype2 65536", 1}, {"requetetype2", 1}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ParseMix (-want +got):\n%s", diff)
	}
	for _, bad := range []string{"", "requetetype1:0", "requetetype1:x", ":3", "QUIT", "requetetype1,,requetetype2",
		"requetetype1:-1", "requetetype1:1000001", strings.Repeat("a", wire.MaxLine+1)} {
		if _, err := ParseMix(bad); err == nil {
			t.Errorf("ParseMix(%.40q) accepted it", bad)
		}
	}
}

func TestPickerFollowsWeights(t *testing.T) {
	p := newPicker([]MixEntry{{"a", 3}, {"b", 1}}, 1, 0)
	n := map[string]int{}
	for range 40000 {
		n[p.next()]++
	}
	// 3:1 of 40000 is 30000:10000; a PCG stream is far closer than 5%.
	if n["a"] < 28500 || n["a"] > 31500 || n["a"]+n["b"] != 40000 {
		t.Errorf("draws %v, want about 30000 a and 10000 b", n)
	}
	again := newPicker([]MixEntry{{"a", 3}, {"b", 1}}, 1, 0)
	first := newPicker([]MixEntry{{"a", 3}, {"b", 1}}, 1, 0)
	for i := range 100 {
		if x, y := again.next(), first.next(); x != y {
			t.Fatalf("draw %d differs with the same seed: %s, %s", i, x, y)
		}
	}
}

func TestPercentile(t *testing.T) {
	var d []time.Duration
	for i := 1; i <= 100; i++ {
		d = append(d, time.Duration(i))
	}
	for _, tt := range []struct {
		p    float64
		want time.Duration
	}{{0.5, 50}, {0.9, 90}, {0.99, 99}, {1, 100}, {0.001, 1}} {
		if got := Percentile(d, tt.p); got != tt.want {
			t.Errorf("Percentile(1..100, %v) = %v, want %v", tt.p, got, tt.want)
		}
	}
	if got := Percentile(nil, 0.5); got != 0 {
		t.Errorf("Percentile(empty) = %v", got)
	}
	if got := Percentile([]time.Duration{7}, 0.99); got != 7 {
		t.Errorf("Percentile(one) = %v", got)
	}
}

func TestLoadFlagsSwitchMode(t *testing.T) {
	for _, tt := range []struct {
		args []string
		on   bool
	}{
		{[]string{"requetetype1"}, false},
		{[]string{"--server", "x:1", "requetetype1"}, false},
		{[]string{"--clients", "1", "requetetype1"}, true},
		{[]string{"--requests", "5", "requetetype1"}, true},
		{[]string{"--duration", "1s", "requetetype1"}, true},
		{[]string{"--mix", "requetetype1"}, true},
	} {
		fs := pflag.NewFlagSet("client", pflag.ContinueOnError)
		fs.String("server", "", "")
		f := registerLoadFlags(fs)
		if err := fs.Parse(tt.args); err != nil {
			t.Fatal(err)
		}
		if got := f.on(fs); got != tt.on {
			t.Errorf("%v: load mode %v, want %v", tt.args, got, tt.on)
		}
	}
}

// fake is a v1-shaped server in this process: OK <n> and the payload
// on the session, "ERR too-large" above 1 MiB, and payload byte 100 of
// every corrupt-th requetetype2 answer wrong.
type fake struct {
	ln      net.Listener
	corrupt int64
	served  atomic.Int64
	wg      sync.WaitGroup
}

func startFake(t *testing.T, corrupt int64) *fake {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &fake{ln: ln, corrupt: corrupt}
	f.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			f.wg.Go(func() { f.session(c) })
		}
	})
	t.Cleanup(func() {
		ln.Close()
		f.wg.Wait()
	})
	return f
}

func (f *fake) session(c net.Conn) {
	defer c.Close()
	r, w := wire.NewReader(c), bufio.NewWriter(c)
	for {
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		line, err := wire.ReadLine(r)
		if err != nil || string(line) == wire.Quit {
			return
		}
		req, err := wire.ParseRequest(line, 1<<20)
		if err != nil {
			_ = wire.WriteErr(w, err)
			_ = w.Flush()
			continue
		}
		n := f.served.Add(1)
		src := service.PayloadFor(req, 0, 1, uint64(n))
		buf := make([]byte, src.Len())
		src.Fill(buf)
		if req.Type == wire.Type2 && f.corrupt > 0 && n%f.corrupt == 0 && len(buf) > 100 {
			buf[100]++
		}
		_ = wire.WriteOK(w, int64(len(buf)))
		_, _ = w.Write(buf)
		_ = w.Flush()
	}
}

func relay(_ context.Context, c *Client, line string, r wire.Reply) (Result, error) {
	return ReadResult(c.R, line, r)
}

func tmpl(addr string) *Client {
	return &Client{Server: addr, Timeout: 10 * time.Second, V: Variant{Name: "test", Do: relay}}
}

func TestRunLoadCountsEveryRequest(t *testing.T) {
	f := startFake(t, 0)
	mix, err := ParseMix("requetetype1:1,requetetype2 5000:1,requetetype2 99999999:1")
	if err != nil {
		t.Fatal(err)
	}
	s, err := RunLoad(context.Background(), tmpl(f.ln.Addr().String()), Load{Clients: 5, Requests: 60, Mix: mix, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	if s.Requests != 300 || s.OK+s.Errors != 300 {
		t.Errorf("requests %d, ok %d, errors %d; want 300 = ok + errors", s.Requests, s.OK, s.Errors)
	}
	if s.ByCode[wire.CodeTooLarge] != s.Errors || s.Errors == 0 {
		t.Errorf("errors by code %v, want only too-large (%d)", s.ByCode, s.Errors)
	}
	if s.OK != f.served.Load() {
		t.Errorf("ok %d, but the server served %d", s.OK, f.served.Load())
	}
	// Every OK is a requetetype1 (31 to 40 bytes here) or 5000 bytes.
	if s.Bytes < 5000 || s.Bytes > s.OK*5000 {
		t.Errorf("bytes %d for %d OK requests", s.Bytes, s.OK)
	}
	if !(0 < s.P50 && s.P50 <= s.P90 && s.P90 <= s.P99 && s.P99 <= s.Max && s.Elapsed > 0) {
		t.Errorf("latencies out of order: %+v", s)
	}
}

func TestRunLoadCountsBadPayloadAndGoesOn(t *testing.T) {
	f := startFake(t, 4) // every 4th answer carries a wrong byte
	s, err := RunLoad(context.Background(), tmpl(f.ln.Addr().String()),
		Load{Clients: 1, Requests: 20, Mix: []MixEntry{{"requetetype2 1000", 1}}})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int64{ErrBroken: 5}
	if diff := cmp.Diff(want, s.ByCode); diff != "" || s.OK != 15 || s.Requests != 20 {
		t.Errorf("ok %d of %d; errors by code (-want +got):\n%s", s.OK, s.Requests, diff)
	}
}

func TestRunLoadDuration(t *testing.T) {
	f := startFake(t, 0)
	s, err := RunLoad(context.Background(), tmpl(f.ln.Addr().String()),
		Load{Clients: 2, Duration: 50 * time.Millisecond, Mix: []MixEntry{{"requetetype1", 1}}})
	if err != nil {
		t.Fatal(err)
	}
	if s.OK == 0 || s.Errors != 0 || s.OK != s.Requests {
		t.Errorf("a 50ms run: %+v", s)
	}
}

func TestRunLoadNoServer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nobody listens there now
	_, err = RunLoad(context.Background(), tmpl(addr), Load{Clients: 3, Requests: 1, Mix: []MixEntry{{"requetetype1", 1}}})
	if err == nil || !strings.Contains(err.Error(), "no session could connect") {
		t.Errorf("RunLoad without a server: %v", err)
	}
}

func TestRunLoadStopsOnCancel(t *testing.T) {
	f := startFake(t, 0)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan *Summary, 1)
	go func() {
		s, err := RunLoad(ctx, tmpl(f.ln.Addr().String()), Load{Clients: 3, Duration: time.Hour, Mix: []MixEntry{{"requetetype1", 1}}})
		if err != nil {
			t.Error(err)
		}
		done <- s
	}()
	for f.served.Load() < 10 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	s := <-done // a hang here is the failure (the test's own timeout)
	if s.Errors != 0 || s.OK == 0 {
		t.Errorf("cancelled run: %+v", s)
	}
}

// ExampleSummary_Print shows the lines a load run prints.
func ExampleSummary_Print() {
	s := &Summary{Clients: 2, Requests: 10, OK: 10, Bytes: 40960, Elapsed: time.Second,
		ByCode: map[string]int64{}, P50: time.Millisecond, P90: 2 * time.Millisecond, P99: 3 * time.Millisecond, Max: 4 * time.Millisecond}
	s.Print(stdout{})
	// Output:
	// load: 2 clients, 10 requests in 1.000s: 10 ok, 0 errors; 10.0 req/s, 0.04 MB/s
	// latency (first byte sent to last byte checked): p50 1ms  p90 2ms  p99 3ms  max 4ms
	// summary clients=2 requests=10 ok=10 errors=0 bytes=40960 seconds=1.000000 rps=10.000 mbps=0.041 p50_us=1000.0 p90_us=2000.0 p99_us=3000.0 max_us=4000.0
}

type stdout struct{}

func (stdout) Write(p []byte) (int, error) { fmt.Print(string(p)); return len(p), nil }

var _ io.Writer = stdout{}
