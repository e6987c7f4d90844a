// limits.go checks the limits of docs/protocol.md ("Limits", "Slow
// readers") from outside, as an attacker on the same machine would try
// them: more connections than the server has descriptors, silent and
// half-sent connections, clients that read too slowly; and in each case
// an honest client is answered, never left hanging.

package conformance

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// checkSessionCap: a server with an open-file limit of 256 and 300 idle
// connections on it still answers an honest client at once (OK, or
// ERR busy past --max-sessions), and --watchdog still replaces a killed
// worker: the descriptors it needs were kept in reserve.
func checkSessionCap(t *testing.T, bin string, d Driver) {
	const nofile, idle = 256, 300
	srv := StartWithFileLimit(t, nofile, bin, "--workers", "2", "--watchdog")
	conns := dialMany(t, srv.Addr, idle, "")

	honest, err := PlainDial(t, srv.Addr)
	if err != nil {
		t.Fatalf("honest client: %v", err)
	}
	defer honest.Close()
	if err := honest.Send("requetetype1"); err != nil {
		t.Fatalf("honest client: %v", err)
	}
	l, err := honest.Line() // bounded by IOTimeout: no answer at all is the failure
	switch {
	case err != nil:
		t.Fatalf("honest client with %d idle connections on a server limited to %d files: no answer: %v", idle, nofile, err)
	case strings.HasPrefix(l, "ERR busy "):
	case strings.HasPrefix(l, "ERR "):
		t.Fatalf("honest client: got %q, want OK (or WAIT, GOTO) or ERR busy", l)
	}

	victim := srv.Workers()
	if len(victim) == 0 {
		t.Fatal("no worker to kill")
	}
	_ = syscall.Kill(victim[0], syscall.SIGKILL)
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(srv.Log(), "worker respawned") {
		if strings.Contains(srv.Log(), "respawn failed") || time.Now().After(deadline) {
			t.Fatalf("with %d idle connections, the killed worker was not replaced", idle)
		}
		time.Sleep(20 * time.Millisecond)
	}

	for _, c := range conns {
		c.Close()
	}
	// Once the crowd has gone, sessions open again and the new worker serves.
	deadline = time.Now().Add(10 * time.Second)
	for {
		s := d.Open(t, srv.Addr)
		o := d.Do(s, "requetetype2 1000")
		if o.Code == "" && o.Err == nil {
			break
		}
		if o.Code != "busy" || time.Now().After(deadline) {
			t.Fatalf("after the idle connections left: got %v, want OK", o)
		}
		s.Close()
		time.Sleep(20 * time.Millisecond)
	}
}

// checkSessionTimeouts: a silent connection, a half-sent line, and a
// session idle after an answer are all closed by the server
// (--idle-timeout, --line-timeout).
func checkSessionTimeouts(t *testing.T, bin string, d Driver) {
	srv := Start(t, bin, "--workers", "1", "--idle-timeout", "300ms", "--line-timeout", "300ms")
	silent, err := PlainDial(t, srv.Addr)
	if err != nil {
		t.Fatalf("dial a silent connection: %v", err)
	}
	defer silent.Close()
	half, err := PlainDial(t, srv.Addr)
	if err != nil {
		t.Fatalf("dial a half-line connection: %v", err)
	}
	defer half.Close()
	if err := half.SendRaw([]byte("requete")); err != nil {
		t.Fatalf("send half a line: want it written; got %v", err)
	}
	served := d.Open(t, srv.Addr)
	expectOK(t, d.Do(served, "requetetype2 10"), "requetetype2 10", 10)

	for name, s := range map[string]*Session{"a silent connection": silent, "a half-sent line": half, "a session idle after its answer": served} {
		if err := ExpectClosed(s.Conn, s.R); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// errStopped ends a paced reader on the check's request.
var errStopped = errors.New("stopped by the check")

// paced makes s read its payloads at rate bytes per second, until stop.
func paced(s *Session, rate int64, stop *atomic.Bool) {
	s.ReadSize = int(max(rate/20, 512)) // about 20 reads a second
	start := time.Now()
	s.Pace = func(got int64) error {
		if stop != nil && stop.Load() {
			return errStopped
		}
		due := start.Add(time.Duration(float64(got) / float64(rate) * float64(time.Second)))
		time.Sleep(time.Until(due))
		return nil
	}
}

// checkSteadySlowReader: a client that reads a 16 MiB answer steadily
// at 1 MiB/s, above --min-rate, gets every byte (docs/protocol.md,
// "Slow readers"), however long the answer takes.
func checkSteadySlowReader(t *testing.T, bin string, d Driver) {
	srv := Start(t, bin, "--workers", "1", "--rate-window", "3s")
	s := d.Open(t, srv.Addr)
	paced(s, 1<<20, nil)
	const n = 16 << 20
	line := fmt.Sprintf("requetetype2 %d", n)
	expectOK(t, d.Do(s, line), line, n)
}

// checkTrickleReaders: four clients that read at 10 KiB/s, far below
// --min-rate, hold the four workers; their answers are cut within a
// --rate-window (3 s), and an honest client is served meanwhile: it
// waits for a worker up to --queue-timeout (8 s), and would get ERR busy
// if the trickles kept their workers longer (a 10 s deadline per write,
// or per answer, did).
func checkTrickleReaders(t *testing.T, bin string, d Driver) {
	const readers = 4
	srv := Start(t, bin, "--workers", "4", "--rate-window", "3s", "--queue-timeout", "8s")
	var stop atomic.Bool
	var wg sync.WaitGroup
	defer wg.Wait()        // second: the readers end...
	defer stop.Store(true) // ...first: once told to stop, at their next read
	started := make(chan struct{}, readers)
	for range readers {
		s := d.Open(t, srv.Addr)
		paced(s, 10<<10, &stop)
		s.OnPayload = func() { started <- struct{}{} }
		wg.Go(func() { d.Do(s, "requetetype2 67108864") })
	}
	for range readers {
		select {
		case <-started:
		case <-time.After(IOTimeout):
			t.Fatal("the slow readers did not all get the first bytes of their answer")
		}
	}
	honest := d.Open(t, srv.Addr)
	expectOK(t, d.Do(honest, "requetetype2 100000"), "requetetype2 100000", 100000)
	stop.Store(true)
	waitStats(t, srv.Addr, 10*time.Second, "every worker idle again", func(s []Slot) bool {
		for _, sl := range s {
			if sl.State != "idle" {
				return false
			}
		}
		return true
	})
}

// dialMany opens n connections to addr, each sending first (if not
// empty); they are closed when the test ends (closing one again is
// harmless).
func dialMany(t *testing.T, addr string, n int, first string) []net.Conn {
	t.Helper()
	conns := make([]net.Conn, 0, n)
	t.Cleanup(func() {
		for _, c := range conns {
			c.Close()
		}
	})
	for i := range n {
		c, err := net.DialTimeout("tcp", addr, IOTimeout)
		if err != nil {
			t.Fatalf("connection %d of %d: %v", i+1, n, err)
		}
		conns = append(conns, c)
		if first != "" {
			_, _ = c.Write([]byte(first))
		}
	}
	return conns
}
