// abuse.go checks the defences of docs/protocol.md against a stranger on
// the same machine, built for the class of attack, not one figure:
// connections that hold sessions with a newline now and then, a flood of
// sessions and the memory it leaves, readers paced just above and below
// --min-rate, slow readers holding every worker, v3 tickets asked for and
// never used, a QUIT with a GOTO pending, a dead worker's port. Each
// measures the honest clients served beside the attack.

package conformance

import (
	"bufio"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"osps/common/tools/procfs"
)

// served counts the honest requests answered OK, out of n, each on a
// session of its own, one after the other.
func served(t *testing.T, d Driver, addr, line string, n int) (ok int, fails []string) {
	t.Helper()
	for i := range n {
		s, err := dialDriver(t, d, addr)
		if err != nil {
			fails = append(fails, fmt.Sprintf("honest %d: dial: %v", i, err))
			continue
		}
		o := d.Do(s, line)
		s.Close()
		if d.Close != nil {
			d.Close(s)
		}
		if o.Err == nil && o.Code == "" {
			ok++
		} else {
			fails = append(fails, fmt.Sprintf("honest %d: %v", i, o))
		}
	}
	return ok, fails
}

// dialDriver is d.Open without the cleanup (the caller closes).
func dialDriver(t testing.TB, d Driver, addr string) (*Session, error) {
	if d.Dial != nil {
		return d.Dial(t, addr)
	}
	return PlainDial(t, addr)
}

// atLeast fails t unless ok of n reach frac.
func atLeast(t *testing.T, what string, ok, n int, frac float64, fails []string) {
	t.Helper()
	t.Logf("%s: honest clients served %d of %d", what, ok, n)
	if float64(ok) < frac*float64(n) {
		t.Errorf("%s: honest clients served %d of %d, want at least %.0f%%; failures:\n\t%s", what, ok, n, frac*100, strings.Join(fails, "\n\t"))
	}
}

// checkStrangersHoldNoSession: with --max-sessions 16, 16 strangers that
// each send an empty line every 300 ms (never a request) do not keep
// honest clients out: a newcomer pushes out the session idle the
// longest, and empty lines do not reset a session's idle clock.
// (Before, they held every session for good: honest 0 of 10.)
func checkStrangersHoldNoSession(t *testing.T, bin string, d Driver) {
	const cap, honest = 16, 10
	srv := Start(t, bin, "--workers", "2", "--max-sessions", strconv.Itoa(cap), "--idle-timeout", "5s")
	var stop atomic.Bool
	var wg sync.WaitGroup
	defer wg.Wait()
	defer stop.Store(true)
	for range cap {
		wg.Go(func() {
			// A stranger: reconnects when pushed out, and sends nothing
			// but newlines, never a request.
			for !stop.Load() {
				c, err := net.DialTimeout("tcp", srv.Addr, IOTimeout)
				if err != nil {
					return
				}
				go func() { _, _ = bufio.NewReader(c).WriteTo(discard{}) }()
				for !stop.Load() {
					_ = c.SetWriteDeadline(time.Now().Add(time.Second))
					if _, err := c.Write([]byte("\n")); err != nil {
						break
					}
					time.Sleep(300 * time.Millisecond)
				}
				c.Close()
			}
		})
	}
	time.Sleep(500 * time.Millisecond) // the strangers hold every session
	ok, fails := served(t, d, srv.Addr, "requetetype1", honest)
	atLeast(t, fmt.Sprintf("beside %d strangers sending newlines (--max-sessions %d)", cap, cap), ok, honest, 0.8, fails)
}

// discard is io.Discard as an io.Writer value for WriteTo.
type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// checkRefusedLinesClose: a session that sends lines that are not
// requests, 8 in a row, is closed, and the last error says why; one
// request in between starts the count again.
func checkRefusedLinesClose(t *testing.T, bin string, d Driver) {
	srv := Start(t, bin, "--workers", "1")
	s, err := PlainDial(t, srv.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.SendRaw([]byte(strings.Repeat("\n", 5) + "STATS\n")); err != nil {
		t.Fatal(err)
	}
	for range 5 {
		if l, err := s.Line(); err != nil || !strings.HasPrefix(l, "ERR bad-request ") {
			t.Fatalf("an empty line: got %q, %v; want ERR bad-request", l, err)
		}
	}
	if o := s.readAfterHeaderLine(t, "STATS"); o.Err != nil || o.Code != "" {
		t.Fatalf("STATS after 5 empty lines: %v", o)
	}
	if err := s.SendRaw([]byte(strings.Repeat("bogus\n", 8))); err != nil {
		t.Fatal(err)
	}
	var last string
	for i := range 8 {
		l, err := s.Line()
		if err != nil {
			t.Fatalf("bad line %d of 8: %v (got %q)", i+1, err, l)
		}
		last = l
	}
	if !strings.HasPrefix(last, "ERR unknown-type ") || !strings.Contains(last, "closing") {
		t.Errorf("the 8th bad line in a row: got %q, want ERR unknown-type ...: closing", last)
	}
	if err := ExpectClosed(s.Conn, s.R); err != nil {
		t.Errorf("after 8 bad lines in a row: %v", err)
	}
}

// readAfterHeaderLine reads the answer to a line already sent (STATS).
func (s *Session) readAfterHeaderLine(t *testing.T, line string) Outcome {
	h, err := s.Line()
	if err != nil {
		return Outcome{Header: h, Err: err}
	}
	return s.readAfterHeader(s.Conn, s.R, line, h)
}

// rss is the resident memory of process pid, in bytes.
func rss(pid int) (int64, error) { return procfs.StatusBytes(pid, "VmRSS") }

// checkFloodMemoryReturned: 4000 connections that each send a newline
// make the dispatcher grow; once they are gone, at least half of what it
// grew by is given back to the system. (Before, none was: 249 MB after
// a flood of 19,940 sessions stayed 249 MB.)
func checkFloodMemoryReturned(t *testing.T, bin string, d Driver) {
	const flood = 4000
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil || lim.Cur < flood+256 {
		t.Skipf("the open-file limit (%d) is below %d", lim.Cur, flood+256)
	}
	srv := Start(t, bin, "--workers", "1")
	before, err := rss(srv.Pid())
	if err != nil {
		t.Fatal(err)
	}
	conns := dialMany(t, srv.Addr, flood, "\n")
	// Every connection had its answer: each is a session of its own.
	for _, c := range conns {
		_ = c.SetReadDeadline(time.Now().Add(IOTimeout))
		if _, err := bufio.NewReader(c).ReadString('\n'); err != nil {
			t.Fatalf("a flood connection got no answer: %v", err)
		}
	}
	during, err := rss(srv.Pid())
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range conns {
		c.Close()
	}
	var after int64
	deadline := time.Now().Add(10 * time.Second)
	for {
		if after, err = rss(srv.Pid()); err != nil {
			t.Fatal(err)
		}
		if after-before <= (during-before)/2 || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("dispatcher RSS: %d MiB before, %d MiB with %d sessions, %d MiB after they left", before>>20, during>>20, flood, after>>20)
	if after-before > (during-before)/2 {
		t.Errorf("memory not given back after a flood: RSS %d MiB before, %d MiB during, %d MiB 10 s after (want at most half the growth kept)", before>>20, during>>20, after>>20)
	}
}

// checkPacedReaders: with --min-rate 512 KiB/s and --rate-window 1 s,
// readers paced at 1.1 and 2 times the rate get every byte of an 8 MiB
// answer, and a reader at half the rate is cut, and learns it at once
// (before it has read half the answer). (Before, the rule counted what
// the kernel accepted: a reader above the rate was cut once the socket
// buffers were full and the writer blocked longer than a window.)
func checkPacedReaders(t *testing.T, bin string, d Driver) {
	const rate, n = 512 << 10, 8 << 20
	// Four workers: three may serve long answers at once (the fourth is
	// kept for short ones).
	srv := Start(t, bin, "--workers", "4", "--min-rate", strconv.Itoa(rate), "--rate-window", "1s")
	line := fmt.Sprintf("requetetype2 %d", n)
	var wg sync.WaitGroup
	for _, f := range []float64{1.1, 2, 0.5} {
		s := d.Open(t, srv.Addr)
		paced(s, int64(f*rate), nil)
		wg.Go(func() {
			o := d.Do(s, line)
			switch {
			case f >= 1 && (o.Err != nil || o.Code != "" || o.N != n):
				t.Errorf("a reader at %.1f× --min-rate was cut: %v", f, o)
			case f < 1 && o.Code != "":
				t.Errorf("a reader at %.1f× --min-rate: got %v, want OK and a cut", f, o)
			case f < 1 && o.Err == nil:
				t.Errorf("a reader at %.1f× --min-rate got every byte: want it cut", f)
			case f < 1 && o.N >= n/2:
				t.Errorf("a reader at %.1f× --min-rate was cut only after %d of %d bytes: the cut did not reach it at once", f, o.N, n)
			default:
				t.Logf("reader at %.1f× --min-rate: %d of %d bytes (%v)", f, o.N, n, o.Err)
			}
		})
	}
	wg.Wait()
}

// checkSlowReadersBesideFast: four readers at three times --min-rate
// (the defaults), each asking for 64 MiB (about 6 minutes each), beside
// honest clients asking for short answers: the honest clients stay
// served, since long answers may hold all workers but one. (Before, the
// four held all four workers: honest 0 of 10.)
func checkSlowReadersBesideFast(t *testing.T, bin string, d Driver) {
	const readers, honest = 4, 10
	srv := Start(t, bin, "--workers", "4")
	var stop atomic.Bool
	var wg sync.WaitGroup
	defer wg.Wait()
	defer stop.Store(true)
	started := make(chan struct{}, readers)
	for range readers {
		s := d.Open(t, srv.Addr)
		paced(s, 3*65536, &stop)
		s.OnPayload = func() { started <- struct{}{} }
		wg.Go(func() {
			for !stop.Load() { // a slow reader refused for now asks again
				if o := d.Do(s, "requetetype2 67108864"); o.Code != "busy" {
					return
				}
			}
		})
	}
	for range readers - 1 {
		select {
		case <-started:
		case <-time.After(IOTimeout):
			t.Fatal("the slow readers did not get the first bytes of their answers")
		}
	}
	ok, fails := served(t, d, srv.Addr, "requetetype2 10000", honest)
	atLeast(t, fmt.Sprintf("beside %d readers of 64 MiB at 3× --min-rate", readers), ok, honest, 0.8, fails)
}

// checkHoardersBesideHonest (v3): 8 sessions that each ask for a ticket
// and never follow the GOTO, again and again, beside honest clients:
// at least 80% of the honest requests are served. (Before, 8 hoarders
// kept the 4 workers waiting: honest 1 of 15.)
func checkHoardersBesideHonest(t *testing.T, bin string, d Driver) {
	const hoarders, honest = 8, 15
	srv := Start(t, bin, "--workers", "4")
	var stop atomic.Bool
	var wg sync.WaitGroup
	defer wg.Wait()
	defer stop.Store(true)
	for range hoarders {
		s := d.Open(t, srv.Addr)
		wg.Go(func() {
			for !stop.Load() {
				if s.Send("requetetype1") != nil {
					return
				}
				if _, err := s.Line(); err != nil {
					return
				}
			}
		})
	}
	time.Sleep(300 * time.Millisecond)
	ok, fails := served(t, d, srv.Addr, "requetetype1", honest)
	atLeast(t, fmt.Sprintf("beside %d sessions hoarding tickets", hoarders), ok, honest, 0.8, fails)
}

// checkQuitCancelsGoto (v3): a session that sends QUIT, or ends, with a
// GOTO pending gets BYE at once and frees the worker at once, as nc
// users do: with one worker and a 60 s ticket lifetime, the next
// session is served. (Before, BYE and the worker waited for the ticket
// to expire.)
func checkQuitCancelsGoto(t *testing.T, bin string, d Driver) {
	srv := Start(t, bin, "--workers", "1", "--ticket-ttl", "60s", "--queue-timeout", "10s")
	s, err := PlainDial(t, srv.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.SendRaw([]byte("requetetype1\nQUIT\n")); err != nil { // printf 'requetetype1\nQUIT\n' | nc
		t.Fatal(err)
	}
	for _, want := range []string{"GOTO ", "BYE"} {
		if l, err := s.Line(); err != nil || !strings.HasPrefix(l, want) {
			t.Fatalf("requetetype1 then QUIT: got %q, %v; want %q", l, err, want)
		}
	}
	next := d.Open(t, srv.Addr)
	if o := d.Do(next, "requetetype1"); o.Err != nil || o.Code != "" {
		t.Fatalf("requetetype1 after a QUIT with a GOTO pending: got %v, want OK", o)
	}

	// The same when the session ends (end of file) instead of QUIT.
	e, err := PlainDial(t, srv.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if err := e.Send("requetetype1"); err != nil {
		t.Fatal(err)
	}
	if l, err := e.Line(); err != nil || !strings.HasPrefix(l, "GOTO ") {
		t.Fatalf("requetetype1: got %q, %v; want GOTO", l, err)
	}
	_ = e.Conn.(*net.TCPConn).CloseWrite()
	if o := d.Do(next, "requetetype1"); o.Err != nil || o.Code != "" {
		t.Errorf("requetetype1 after a session ended with a GOTO pending: got %v, want OK", o)
	}
}

// checkDeadPortAnswers (v3): a connection to the port of a worker that
// died, with or without --watchdog, gets an answer and a close at once
// (ERR worker-failed from the dispatcher while the slot is dead), never
// silence. (Before, without --watchdog, the dispatcher held the socket
// and nobody answered: the client waited for its own timeout.)
func checkDeadPortAnswers(t *testing.T, bin string, d Driver) {
	for _, watchdog := range []bool{false, true} {
		args := []string{"--workers", "1"}
		if watchdog {
			args = append(args, "--watchdog")
		}
		srv := Start(t, bin, args...)
		s := d.Open(t, srv.Addr)
		if err := s.Send("requetetype1"); err != nil {
			t.Fatal(err)
		}
		h, err := s.Line()
		g, ok := ParseGoto(h)
		if err != nil || !ok {
			t.Fatalf("%v: requetetype1: got %q, %v; want GOTO", args, h, err)
		}
		for _, pid := range srv.Workers() {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		c, r, err := s.DialWorker(g)
		if err != nil {
			// Refused is an answer too.
			t.Logf("%v: the dead worker's port: %v", args, err)
			continue
		}
		_ = c.SetDeadline(time.Now().Add(IOTimeout))
		if _, err := fmt.Fprintf(c, "PROVE %s\n", strings.Repeat("ab", 16)); err != nil {
			t.Fatal(err)
		}
		l, err := r.ReadString('\n')
		c.Close()
		switch {
		case err != nil:
			t.Errorf("%v: the dead worker's port: no answer: %v", args, err)
		case !strings.HasPrefix(l, "ERR "):
			t.Errorf("%v: the dead worker's port answered %q, want ERR worker-failed (or, once respawned, ERR bad-ticket)", args, l)
		case watchdog:
			t.Logf("%v: the dead worker's port answered %q", args, strings.TrimSpace(l))
		case !strings.HasPrefix(l, "ERR worker-failed "):
			t.Errorf("%v: the dead worker's port answered %q, want ERR worker-failed", args, l)
		}
	}
}

// checkDispatcherStopped: the dispatcher stopped (SIGSTOP) for three
// --rate-windows in the middle of an answer, then continued: a reader
// at twice --min-rate, which took everything it was sent meanwhile, is
// not charged for the server's own stall, and gets every byte. (Before,
// v1 counted the stop against its client and cut it.)
func checkDispatcherStopped(t *testing.T, bin string, d Driver) {
	const rate, n = 256 << 10, 4 << 20
	srv := Start(t, bin, "--workers", "1", "--min-rate", strconv.Itoa(rate), "--rate-window", "1s")
	s := d.Open(t, srv.Addr)
	paced(s, 2*rate, nil)
	var once sync.Once
	s.OnPayload = func() {
		once.Do(func() {
			srv.Signal(syscall.SIGSTOP)
			time.AfterFunc(3*time.Second, func() { srv.Signal(syscall.SIGCONT) })
		})
	}
	line := fmt.Sprintf("requetetype2 %d", n)
	o := d.Do(s, line)
	srv.Signal(syscall.SIGCONT) // whatever happened
	if o.Err != nil || o.Code != "" || o.N != n {
		t.Errorf("a reader at 2× --min-rate, the dispatcher stopped for 3 s mid-answer: got %v, want every byte", o)
	}
}

// checkSessionsPerPeer: with --max-sessions-per-peer 2, a third session
// from 127.0.0.1 gets ERR busy naming the address, while a session from
// another address (127.0.0.2) is served: the cap is per peer. (On
// loopback every local client is 127.0.0.1 unless it binds another
// address: docs/protocol.md says so.)
func checkSessionsPerPeer(t *testing.T, bin string, d Driver) {
	srv := Start(t, bin, "--workers", "1", "--max-sessions-per-peer", "2")
	var open []*Session
	defer func() {
		for _, s := range open {
			s.Close()
		}
	}()
	for range 2 {
		s, err := PlainDial(t, srv.Addr)
		if err != nil {
			t.Fatal(err)
		}
		open = append(open, s)
		if o := stats(t, s); o.Err != nil || o.Code != "" {
			t.Fatalf("a session within the per-peer cap: STATS got %v", o)
		}
	}
	third, err := PlainDial(t, srv.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer third.Close()
	if l, err := third.Line(); err != nil || !strings.HasPrefix(l, "ERR busy too many sessions from 127.0.0.1") {
		t.Errorf("a third session from 127.0.0.1: got %q, %v; want ERR busy too many sessions from 127.0.0.1", l, err)
	}
	dl := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}, Timeout: IOTimeout}
	c, err := dl.Dial("tcp", srv.Addr)
	if err != nil {
		t.Skipf("cannot dial from 127.0.0.2: %v", err)
	}
	other := &Session{T: t, Addr: srv.Addr, Conn: c, R: bufio.NewReader(c)}
	defer other.Close()
	if o := stats(t, other); o.Err != nil || o.Code != "" {
		t.Errorf("a session from 127.0.0.2 beside two from 127.0.0.1: STATS got %v, want OK", o)
	}
}

// checkEmptyLinesDoNotHold: a session that sends 6 empty lines, one
// every 400 ms, and never a request, is closed before the last of them
// is answered: --idle-timeout (1 s) counts from its start, since lines
// that are not requests do not reset the idle clock (and 6 is under the
// run of 8 that would close it anyway). (Before, each line reset the
// clock: all 6 were answered, and a line every 8 s held a session for
// good.)
func checkEmptyLinesDoNotHold(t *testing.T, bin string, d Driver) {
	const lines = 6
	srv := Start(t, bin, "--workers", "1", "--idle-timeout", "1s")
	s, err := PlainDial(t, srv.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	done := make(chan struct{})
	defer close(done)
	go func() {
		for range lines {
			select {
			case <-done:
				return
			case <-time.After(400 * time.Millisecond):
			}
			if s.SendRaw([]byte("\n")) != nil {
				return
			}
		}
	}()
	answered := 0
	for {
		l, err := s.Line() // bounded by IOTimeout
		if err != nil {
			break
		}
		if !strings.HasPrefix(l, "ERR bad-request ") {
			t.Fatalf("an empty line: got %q, want ERR bad-request", l)
		}
		answered++
	}
	if answered >= lines {
		t.Errorf("a session sending an empty line every 400 ms with --idle-timeout 1s: all %d lines answered before it was closed; want it closed 1 s after it opened (empty lines do not reset the idle clock)", answered)
	}
}
