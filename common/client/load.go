// load.go is the load generator, in the spirit of the one client of
// Stevens' UNP ch. 30: C concurrent sessions of the ordinary client, each
// request timed from its first byte sent to its last payload byte checked,
// and one summary (requests/s, MB/s, latency percentiles, errors by code)
// that a person reads and a program parses. Because the sessions are
// client.Client values with the variant's own Dial and Do, the same code
// measures v1, v2, v3 and the floor server.
//
//	v1-relay client --clients 16 --duration 5s --mix 'requetetype1:3,requetetype2 65536:1'
//	v1-relay client --clients 4 --requests 100 'requetetype2 1048576'

package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"os/signal"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/pflag"

	"osps/common/wire"
)

// Load is one load run: Clients sessions, each sending requests drawn
// from Mix until it has sent Requests of them or Duration has passed
// (whichever comes first; a zero value means no such limit).
type Load struct {
	Clients  int
	Requests int
	Duration time.Duration
	Mix      []MixEntry
	Seed     uint64 // the draws from Mix; session i uses Seed and i
}

// MixEntry is one request line of a mix and its weight.
type MixEntry struct {
	Line   string
	Weight int
}

// Error classes counted besides the server's own ERR codes.
const (
	ErrBroken = "broken" // the session broke: short payload, wrong byte, reset, no reply in time
	ErrDial   = "dial"   // a session could not (re)connect
)

// ParseMix reads a mix such as 'requetetype1:3,requetetype2 65536:1':
// request lines separated by commas, each with an optional :weight
// (default 1).
func ParseMix(s string) ([]MixEntry, error) {
	var mix []MixEntry
	for part := range strings.SplitSeq(s, ",") {
		line, w := strings.TrimSpace(part), 1
		if i := strings.LastIndexByte(line, ':'); i >= 0 {
			n, err := strconv.Atoi(strings.TrimSpace(line[i+1:]))
			if err != nil || n < 1 || n > 1_000_000 {
				return nil, fmt.Errorf("mix entry %q: weight must be an integer from 1 to 1000000", wire.Printable([]byte(part), 60))
			}
			line, w = strings.TrimSpace(line[:i]), n
		}
		if err := checkMixLine(line); err != nil {
			return nil, fmt.Errorf("mix entry %q: %w", wire.Printable([]byte(part), 60), err)
		}
		mix = append(mix, MixEntry{Line: line, Weight: w})
	}
	return mix, nil
}

func checkMixLine(line string) error {
	switch {
	case line == "":
		return errors.New("empty request line")
	case len(line) > wire.MaxLine:
		return fmt.Errorf("longer than %d bytes", wire.MaxLine)
	case strings.ContainsAny(line, "\r\n"):
		return errors.New("a request line cannot hold CR or LF")
	case strings.TrimSpace(line) == wire.Quit:
		return errors.New("QUIT would end the session")
	}
	return nil
}

// picker draws lines from a mix in proportion to their weights.
type picker struct {
	mix   []MixEntry
	total int
	rng   *rand.Rand
}

func newPicker(mix []MixEntry, seed, stream uint64) *picker {
	p := &picker{mix: mix, rng: rand.New(rand.NewPCG(seed, stream))}
	for _, e := range mix {
		p.total += e.Weight
	}
	return p
}

func (p *picker) next() string {
	if len(p.mix) == 1 {
		return p.mix[0].Line
	}
	k := p.rng.IntN(p.total)
	for _, e := range p.mix {
		if k < e.Weight {
			return e.Line
		}
		k -= e.Weight
	}
	return p.mix[len(p.mix)-1].Line
}

// Summary is the outcome of a load run.
type Summary struct {
	Clients  int
	Requests int64            // requests sent (a failed dial counts none)
	OK       int64            // requests answered OK with every byte checked
	Errors   int64            // everything else, and failed dials
	ByCode   map[string]int64 // Errors by ERR code, ErrBroken or ErrDial
	Bytes    int64            // payload bytes received and checked
	Elapsed  time.Duration    // from the start of the first request to the end of the last
	// Latencies of the OK requests, nearest rank.
	P50, P90, P99, Max time.Duration
}

// RPS is OK requests per second.
func (s *Summary) RPS() float64 { return perSecond(float64(s.OK), s.Elapsed) }

// MBps is checked payload in MB (10^6 bytes) per second.
func (s *Summary) MBps() float64 { return perSecond(float64(s.Bytes)/1e6, s.Elapsed) }

func perSecond(x float64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return x / d.Seconds()
}

// tally is what one load session counted, merged at the end.
type tally struct {
	lat    []time.Duration
	sent   int64
	bytes  int64
	byCode map[string]int64
}

func (t *tally) fail(code string) { t.byCode[code]++ }

// RunLoad runs l against the dispatcher of tmpl (its Server, Timeout, V
// and Tr are copied into every session). Cancelling ctx stops every
// session after its request in flight. It fails only if no session could
// connect at all; every other failure is counted in the summary.
func RunLoad(ctx context.Context, tmpl *Client, l Load) (*Summary, error) {
	if l.Clients < 1 {
		return nil, fmt.Errorf("load: need at least one client, got %d", l.Clients)
	}
	if len(l.Mix) == 0 {
		return nil, errors.New("load: the mix holds no request line")
	}
	if l.Requests <= 0 && l.Duration <= 0 {
		return nil, errors.New("load: give a number of requests or a duration")
	}
	tallies := make([]*tally, l.Clients)
	clients := make([]*Client, l.Clients)
	var dialErr error
	var wg sync.WaitGroup
	var mu sync.Mutex
	// DOC: load-dial-first: every session connects before the clock starts.
	for i := range l.Clients {
		tallies[i] = &tally{byCode: map[string]int64{}}
		c := &Client{Server: tmpl.Server, Timeout: tmpl.Timeout, Tr: tmpl.Tr, V: tmpl.V}
		wg.Go(func() {
			if err := c.open(ctx); err != nil {
				tallies[i].fail(ErrDial)
				mu.Lock()
				dialErr = err
				mu.Unlock()
				return
			}
			clients[i] = c
		})
	}
	wg.Wait()
	if !slices.ContainsFunc(clients, func(c *Client) bool { return c != nil }) {
		return nil, fmt.Errorf("load: no session could connect: %w", dialErr)
	}

	start := time.Now()
	for i, c := range clients {
		if c == nil {
			continue
		}
		wg.Go(func() {
			tallies[i].run(ctx, c, l, newPicker(l.Mix, l.Seed, uint64(i)), start)
		})
	}
	wg.Wait()
	return summarize(l.Clients, tallies, time.Since(start)), nil
}

// open dials the dispatcher session of c.
func (c *Client) open(ctx context.Context) error {
	dctx, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()
	conn, err := c.dial(dctx)
	if err != nil {
		return err
	}
	c.Conn, c.R = conn, wire.NewReader(conn)
	return nil
}

// run is one session's loop: draw a line, time it, tally it.
func (t *tally) run(ctx context.Context, c *Client, l Load, p *picker, start time.Time) {
	defer func() {
		if c.Conn != nil {
			_ = c.send(wire.Quit)
			c.Conn.Close()
		}
	}()
	for n := 0; l.Requests <= 0 || n < l.Requests; n++ {
		if ctx.Err() != nil || (l.Duration > 0 && time.Since(start) >= l.Duration) {
			return
		}
		line := p.next()
		// DOC: load-timing: from the first byte sent to the last payload byte checked.
		t0 := time.Now()
		res, err := c.Request(line)
		d := time.Since(t0)
		t.sent++
		switch {
		case err != nil:
			// The session broke (a short or wrong payload, a reset, a
			// reply that never came): count it and start a new one.
			t.fail(ErrBroken)
			c.Conn.Close()
			c.Conn = nil
			if ctx.Err() != nil {
				return
			}
			if err := c.open(ctx); err != nil {
				t.fail(ErrDial)
				return
			}
		case res.Err != nil:
			t.fail(res.Err.Code)
		default:
			t.lat = append(t.lat, d)
			t.bytes += res.N
		}
	}
}

func summarize(clients int, tallies []*tally, elapsed time.Duration) *Summary {
	s := &Summary{Clients: clients, ByCode: map[string]int64{}, Elapsed: elapsed}
	var lat []time.Duration
	for _, t := range tallies {
		s.Requests += t.sent
		s.Bytes += t.bytes
		lat = append(lat, t.lat...)
		for code, n := range t.byCode {
			s.ByCode[code] += n
			s.Errors += n
		}
	}
	s.OK = int64(len(lat))
	slices.Sort(lat)
	s.P50, s.P90, s.P99 = Percentile(lat, 0.50), Percentile(lat, 0.90), Percentile(lat, 0.99)
	if len(lat) > 0 {
		s.Max = lat[len(lat)-1]
	}
	return s
}

// Percentile returns the nearest-rank p-quantile (0 < p <= 1) of sorted,
// or 0 when it is empty.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(p*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// Print writes the summary for a person, then one line per error code
// and the final "summary" line that programs parse (the bench reads it):
//
//	errors code=busy count=3
//	summary clients=4 requests=400 ok=397 errors=3 bytes=... seconds=... rps=... mbps=... p50_us=... p90_us=... p99_us=... max_us=...
func (s *Summary) Print(w io.Writer) {
	fmt.Fprintf(w, "load: %d clients, %d requests in %.3fs: %d ok, %d errors; %.1f req/s, %.2f MB/s\n",
		s.Clients, s.Requests, s.Elapsed.Seconds(), s.OK, s.Errors, s.RPS(), s.MBps())
	fmt.Fprintf(w, "latency (first byte sent to last byte checked): p50 %v  p90 %v  p99 %v  max %v\n",
		s.P50, s.P90, s.P99, s.Max)
	codes := make([]string, 0, len(s.ByCode))
	for c := range s.ByCode {
		codes = append(codes, c)
	}
	sort.Strings(codes)
	for _, c := range codes {
		fmt.Fprintf(w, "errors code=%s count=%d\n", c, s.ByCode[c])
	}
	fmt.Fprintf(w, "summary clients=%d requests=%d ok=%d errors=%d bytes=%d seconds=%.6f rps=%.3f mbps=%.3f p50_us=%.1f p90_us=%.1f p99_us=%.1f max_us=%.1f\n",
		s.Clients, s.Requests, s.OK, s.Errors, s.Bytes, s.Elapsed.Seconds(), s.RPS(), s.MBps(),
		us(s.P50), us(s.P90), us(s.P99), us(s.Max))
}

func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

// loadFlags are the client flags that switch it to load mode.
type loadFlags struct {
	clients  *int
	requests *int
	duration *time.Duration
	mix      *string
}

var loadFlagNames = []string{"clients", "requests", "duration", "mix"}

func registerLoadFlags(fs *pflag.FlagSet) *loadFlags {
	return &loadFlags{
		clients:  fs.Int("clients", 1, "load mode: number of concurrent sessions"),
		requests: fs.Int("requests", 0, "load mode: requests per session (default 100 when --duration is not given)"),
		duration: fs.Duration("duration", 0, "load mode: each session sends requests for this long"),
		mix:      fs.String("mix", "", "load mode: request lines and weights, e.g. 'requetetype1:3,requetetype2 65536:1' (default: the REQUEST arguments, weight 1 each)"),
	}
}

// on reports whether a load flag was given: the client then runs a load.
func (f *loadFlags) on(fs *pflag.FlagSet) bool {
	return slices.ContainsFunc(loadFlagNames, fs.Changed)
}

// run is the client role in load mode: it prints the summary on stdout
// and exits non-zero if any request failed.
func (f *loadFlags) run(tmpl *Client, args []string) int {
	l := Load{Clients: *f.clients, Requests: *f.requests, Duration: *f.duration, Seed: 1}
	var err error
	switch {
	case *f.mix != "" && len(args) > 0:
		err = errors.New("give the requests either as --mix or as REQUEST arguments, not both")
	case *f.mix != "":
		l.Mix, err = ParseMix(*f.mix)
	case len(args) == 0:
		err = errors.New("give the requests as --mix or as REQUEST arguments")
	default:
		for _, a := range args {
			if err = checkMixLine(a); err != nil {
				err = fmt.Errorf("request %q: %w", wire.Printable([]byte(a), 60), err)
				break
			}
			l.Mix = append(l.Mix, MixEntry{Line: a, Weight: 1})
		}
	}
	switch {
	case err != nil:
	case l.Clients < 1 || l.Clients > 10000:
		err = fmt.Errorf("--clients %d: must be between 1 and 10000", l.Clients)
	case l.Requests < 0 || l.Duration < 0:
		err = errors.New("--requests and --duration must not be negative")
	case l.Requests == 0 && l.Duration == 0:
		l.Requests = 100
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "client: %v\n", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	s, err := RunLoad(ctx, tmpl, l)
	if err != nil {
		fmt.Fprintf(os.Stderr, "client: %v\n", err)
		return 1
	}
	s.Print(os.Stdout)
	if s.Errors > 0 {
		return 1
	}
	return 0
}
