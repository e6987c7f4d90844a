// checks.go is the conformance suite itself: docs/protocol.md and the
// parts of §5 that every variant shares, as black-box checks.

package conformance

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// SlotSize is the --slot-size the checks start servers with (the default).
const SlotSize = 64 << 10

// Gate, if not nil, runs first in each check, and may skip it (the
// grader skips the checks that need worker processes when a server has
// none).
type Gate func(t *testing.T, check string)

// Run runs every shared check against the variant binary bin, raw, with
// driver d. Checks that can share one server do; the others start their own.
func Run(t *testing.T, bin string, d Driver) { RunWith(t, bin, d, nil) }

// RunWith is Run, each check behind gate; a check of another variant's
// protocol (VariantOnly) skips.
func RunWith(t *testing.T, bin string, d Driver, gate Gate) {
	srv := Start(t, bin, "--workers", "4", "--queue-timeout", "30s")
	checks := []struct {
		name string
		f    func(t *testing.T, srv *Server, bin string, d Driver)
	}{
		{"Type1Shape", checkType1Shape},
		{"Type2Sizes", checkType2Sizes},
		{"FiveInOneSession", checkFiveInOneSession},
		{"Stats", checkStats},
		{"Errors", checkErrors},
		{"LineTooLong", checkLineTooLong},
		{"QuitAndEOF", checkQuit},
		{"IdleConnection", checkIdleConnection},
		{"Concurrent16x20", checkConcurrent},
		{"Client", checkClientBinary},
		{"Busy", checkBusy},
		{"Burst", checkBurst},
		{"TermDuringLargeRequest", checkTermDuringLarge},
		{"Help", checkHelp},
		{"CommandLine", checkCommandLine},
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			if !Applies(c.name, d.Name) {
				t.Skipf("%s only: not %s's protocol (VariantOnly)", VariantOnly[c.name], d.Name)
			}
			t.Parallel()
			if gate != nil {
				gate(t, c.name)
			}
			c.f(t, srv, bin, d)
		})
	}
}

var type1RE = regexp.MustCompile(`^worker=\d+ pid=\d+ served=\d+( [a-z_]+=\S*)*\n?$`)

func expectOK(t *testing.T, o Outcome, line string, n int64) {
	t.Helper()
	if o.Err != nil || o.Code != "" || o.N != n {
		t.Fatalf("%q: got %v, want OK with %d payload bytes", line, o, n)
	}
}

func checkType1Shape(t *testing.T, srv *Server, _ string, d Driver) {
	s := d.Open(t, srv.Addr)
	o := d.Do(s, "requetetype1")
	if o.Err != nil || o.Code != "" || !type1RE.Match(o.Payload) {
		t.Fatalf("requetetype1: got %v payload %q, want one line worker=<id> pid=<pid> served=<n>", o, o.Payload)
	}
}

func checkType2Sizes(t *testing.T, srv *Server, _ string, d Driver) {
	s := d.Open(t, srv.Addr)
	for _, n := range []int64{0, 1, SlotSize - 1, SlotSize, SlotSize + 1, 3*SlotSize + 7, 16 << 20} {
		line := fmt.Sprintf("requetetype2 %d", n)
		expectOK(t, d.Do(s, line), line, n)
	}
	expectOK(t, d.Do(s, "requetetype2"), "requetetype2", 4096)
}

func checkFiveInOneSession(t *testing.T, srv *Server, _ string, d Driver) {
	s := d.Open(t, srv.Addr)
	lines := []string{"requetetype1", "requetetype2 10", "requetetype2 100000", "requetetype1", "requetetype2 0"}
	for _, l := range lines {
		o := d.Do(s, l)
		if o.Err != nil || o.Code != "" {
			t.Fatalf("%q: %v", l, o)
		}
	}
}

var statsRE = regexp.MustCompile(`^worker=(\d+) pid=(\d+) state=(idle|busy|dead|starting) served=\d+ restarts=\d+( [a-z_]+=\S*)*$`)

func checkStats(t *testing.T, srv *Server, _ string, d Driver) {
	s := d.Open(t, srv.Addr)
	o := stats(t, s)
	lines := strings.Split(strings.TrimSuffix(string(o.Payload), "\n"), "\n")
	var ids []int
	for _, l := range lines {
		m := statsRE.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("STATS line %q does not match %v", l, statsRE)
		}
		id, _ := strconv.Atoi(m[1])
		ids = append(ids, id)
		if pid, _ := strconv.Atoi(m[2]); !slices.Contains(srv.Workers(), pid) {
			t.Errorf("STATS names pid %d, not a live worker of the server (%v)", pid, srv.Workers())
		}
	}
	if diff := cmp.Diff([]int{0, 1, 2, 3}, ids); diff != "" {
		t.Errorf("STATS worker ids (-want +got):\n%s", diff)
	}
}

// stats sends STATS on s and returns its answer.
func stats(t testing.TB, s *Session) Outcome {
	t.Helper()
	if err := s.Send("STATS"); err != nil {
		t.Fatalf("send STATS: want the line written; got %v", err)
	}
	o := s.readReply(s.Conn, s.R, "STATS")
	if o.Err != nil || o.Code != "" {
		t.Fatalf("STATS: %v", o)
	}
	return o
}

func checkErrors(t *testing.T, srv *Server, _ string, d Driver) {
	s := d.Open(t, srv.Addr)
	cases := []struct{ line, code string }{
		{"", "bad-request"},
		{"   ", "bad-request"},
		{"requetetype3", "unknown-type"},
		{"QUITTER", "unknown-type"},
		{"requetetype2 abc", "bad-request"},
		{"requetetype2 -1", "bad-request"},
		{"requetetype2 +5", "bad-request"},
		{"requetetype2 1.5", "bad-request"},
		{"requetetype2 0x10", "bad-request"},
		{"requetetype2 1 2", "bad-request"},
		{"requetetype1 extra", "bad-request"},
		{"requetetype2 99999999999999999999999999", "too-large"},
		{"requetetype2 67108865", "too-large"},
		{"\x00requetetype1", "unknown-type"},
		{"requetetype1\x00", "unknown-type"},
		{"r\xc3\xa9qu\xc3\xaatetype1 \xff\xfe", "unknown-type"},
		{"requetetype2 1\x00", "bad-request"},
	}
	for _, c := range cases {
		o := d.Do(s, c.line)
		if o.Err != nil || o.Code != c.code {
			t.Errorf("%q: got %v, want ERR %s", c.line, o, c.code)
		}
		for _, b := range []byte(o.Header) {
			if b < 0x20 || b > 0x7e {
				t.Errorf("%q: the error line %q echoes a byte that is not printable ASCII", c.line, o.Header)
				break
			}
		}
		// The session is still served after every error.
		expectOK(t, d.Do(s, "requetetype2 5"), "requetetype2 5", 5)
	}
	// Spaces around tokens and a CR before LF are fine.
	for _, l := range []string{"  requetetype2   7  ", "requetetype2 7\r"} {
		expectOK(t, d.Do(s, l), l, 7)
	}
}

func checkLineTooLong(t *testing.T, srv *Server, _ string, d Driver) {
	for _, tc := range []struct {
		name string
		data string
	}{
		{"2000 bytes and LF", strings.Repeat("a", 2000) + "\n"},
		{"1025 bytes and LF", strings.Repeat("b", 1025) + "\n"},
		{"2000 bytes, no LF yet", strings.Repeat("c", 2000)},
	} {
		s := d.Open(t, srv.Addr)
		if err := s.SendRaw([]byte(tc.data)); err != nil {
			t.Fatalf("%s: want the bytes written; got %v", tc.name, err)
		}
		l, err := s.Line()
		if code, _ := errCode(l); err != nil || code != "line-too-long" {
			t.Errorf("%s: got %q, %v; want ERR line-too-long", tc.name, l, err)
		}
		if err := ExpectClosed(s.Conn, s.R); err != nil {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
	// The reply must survive input that the server never reads: a client
	// that keeps sending after its too-long line, and reads only later,
	// still gets ERR line-too-long (and not a reset that destroys it).
	s := d.Open(t, srv.Addr)
	junk := append([]byte(strings.Repeat("e", 2000)+"\n"), bytes.Repeat([]byte("more "), 40_000)...)
	if err := s.SendRaw(junk); err != nil {
		t.Fatalf("a too-long line and more: want the bytes written; got %v", err)
	}
	time.Sleep(300 * time.Millisecond) // let the server answer and close before we read
	if l, err := s.Line(); !strings.HasPrefix(l, "ERR line-too-long") {
		t.Errorf("too-long line followed by more input: got %q, %v; want ERR line-too-long (a lingering close)", l, err)
	}
	_ = s.Conn.SetReadDeadline(time.Now().Add(IOTimeout))
	if _, err := s.R.ReadByte(); err != io.EOF {
		t.Errorf("after ERR line-too-long with unread input: got %v, want a clean end of file (FIN), not a reset that could have destroyed the reply", err)
	}

	// 1024 bytes is still a line (an unknown type, but not too long).
	s = d.Open(t, srv.Addr)
	o := d.Do(s, strings.Repeat("d", 1024))
	if o.Code != "unknown-type" {
		t.Errorf("a 1024-byte line: got %v, want ERR unknown-type", o)
	}
	if o := d.Do(s, "requetetype1 "); o.Err != nil || !type1RE.Match(o.Payload) {
		t.Errorf("requetetype1 after a 1024-byte line: got %v", o)
	}
}

func checkQuit(t *testing.T, srv *Server, _ string, d Driver) {
	s := d.Open(t, srv.Addr)
	expectOK(t, d.Do(s, "requetetype2 3"), "requetetype2 3", 3)
	if err := s.Send("QUIT"); err != nil {
		t.Fatalf("send QUIT: want the line written; got %v", err)
	}
	if l, err := s.Line(); err != nil || l != "BYE" {
		t.Fatalf("QUIT: got %q, %v; want BYE", l, err)
	}
	if err := ExpectClosed(s.Conn, s.R); err != nil {
		t.Fatalf("after BYE: %v", err)
	}
	// A last line without LF is answered, then EOF closes the session.
	s2 := d.Open(t, srv.Addr)
	if err := s2.SendRaw([]byte("STATS")); err != nil {
		t.Fatalf("send STATS without LF: want it written; got %v", err)
	}
	_ = s2.Conn.(interface{ CloseWrite() error }).CloseWrite()
	if l, err := s2.Line(); err != nil || !strings.HasPrefix(l, "OK ") {
		t.Fatalf("STATS without LF then EOF: got %q, %v", l, err)
	}
}

func checkIdleConnection(t *testing.T, srv *Server, _ string, d Driver) {
	idle := d.Open(t, srv.Addr)
	partial := d.Open(t, srv.Addr)
	if err := partial.SendRaw([]byte("requete")); err != nil {
		t.Fatalf("send half a line: want it written; got %v", err)
	}
	s := d.Open(t, srv.Addr)
	for range 5 {
		expectOK(t, d.Do(s, "requetetype2 1000"), "requetetype2 1000", 1000)
	}
	_ = idle
}

// mixed is request i of session k in the concurrency check.
func mixed(r *rand.Rand) (string, int64) {
	switch r.IntN(4) {
	case 0:
		return "requetetype1", -1
	case 1:
		return "requetetype2", 4096
	default:
		n := r.Int64N(300_000)
		return fmt.Sprintf("requetetype2 %d", n), n
	}
}

func checkConcurrent(t *testing.T, srv *Server, _ string, d Driver) {
	const sessions, requests = 16, 20
	var wg sync.WaitGroup
	errs := make(chan error, sessions*requests)
	for k := range sessions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := d.Open(t, srv.Addr)
			r := rand.New(rand.NewPCG(uint64(k), 42))
			for range requests {
				line, n := mixed(r)
				o := d.Do(s, line)
				switch {
				case o.Err != nil || o.Code != "":
					errs <- fmt.Errorf("session %d %q: %v", k, line, o)
					return
				case n >= 0 && o.N != n:
					errs <- fmt.Errorf("session %d %q: %d bytes", k, line, o.N)
				case n < 0 && !type1RE.Match(o.Payload):
					errs <- fmt.Errorf("session %d %q: payload %q", k, line, o.Payload)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func checkBusy(t *testing.T, _ *Server, bin string, d Driver) {
	srv := Start(t, bin, append([]string{"--workers", "1", "--queue-timeout", "300ms"}, d.HoldArgs...)...)
	holder := d.Open(t, srv.Addr)
	if err := d.Hold(holder); err != nil {
		t.Fatalf("hold the only worker: %v", err)
	}
	s := d.Open(t, srv.Addr)
	o := Outcome{}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) { // the hold takes effect at once or very soon
		if o = d.Do(s, "requetetype1"); o.Code == "busy" {
			break
		}
	}
	if o.Code != "busy" {
		t.Fatalf("with the only worker held: got %v, want ERR busy", o)
	}
	// The holder leaves: its worker must come back, nothing lost.
	holder.Close()
	for {
		o = d.Do(s, "requetetype1")
		if o.Code == "" && o.Err == nil {
			break
		}
		if o.Code != "busy" || time.Now().After(deadline.Add(10*time.Second)) {
			t.Fatalf("after the holder left: got %v, want the worker back", o)
		}
	}
}

// checkBurst: one session sends 10,000 requetetype1 lines in one write
// and never follows up (it reads nothing, takes no call-back, follows no
// GOTO), while honest sessions go on: every honest request is served,
// none gets ERR busy. A session holds at most one worker: the dispatcher
// reads its next line only once the previous request is over.
func checkBurst(t *testing.T, _ *Server, bin string, d Driver) {
	srv := Start(t, bin, append([]string{"--workers", "4", "--queue-timeout", "500ms"}, d.HoldArgs...)...)
	burst := d.Open(t, srv.Addr)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // the write may block once the server's buffers are full
		defer wg.Done()
		_ = burst.SendRaw([]byte(strings.Repeat("requetetype1\n", 10_000)))
	}()
	defer func() {
		burst.Close()
		wg.Wait()
	}()
	const sessions, requests = 3, 20
	errs := make(chan error, sessions*requests)
	var honest sync.WaitGroup
	for k := range sessions {
		honest.Add(1)
		go func() {
			defer honest.Done()
			s := d.Open(t, srv.Addr)
			for i := range requests {
				if o := d.Do(s, "requetetype1"); o.Err != nil || o.Code != "" {
					errs <- fmt.Errorf("honest session %d, request %d, during the burst: %v", k, i, o)
				}
			}
		}()
	}
	honest.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func checkTermDuringLarge(t *testing.T, _ *Server, bin string, d Driver) {
	srv := Start(t, bin, "--workers", "2")
	s := d.Open(t, srv.Addr)
	const n = 64 << 20
	s.OnPayload = func() { srv.Signal(syscall.SIGTERM) }
	line := fmt.Sprintf("requetetype2 %d", n)
	expectOK(t, d.Do(s, line), line, n)
	if st := srv.Wait(15 * time.Second); st != 0 {
		t.Fatalf("serve exited %d after SIGTERM, want 0", st)
	}
	if err := srv.CheckGone(3 * time.Second); err != nil {
		t.Fatalf("after SIGTERM: want no process and no segment left; %v", err)
	}
}

var pidRE = regexp.MustCompile(`pid=(\d+)`)
