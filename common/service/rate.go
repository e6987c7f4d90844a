// One rule for slow readers, the same in the three variants: an answer
// goes on while the client takes at least MinRate bytes per second, with
// one window of slack, and is cut when it falls further behind. It is judged on what the client's TCP acknowledged.
// A steady slow reader gets every byte; a reader that stalls frees its
// worker within one window (nginx's send_timeout and Apache's
// mod_reqtimeout MinRate follow the same idea).

package service

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"syscall"
	"time"

	"github.com/spf13/pflag"
	"golang.org/x/sys/unix"

	"osps/common/cli"
)

// Defaults of --min-rate and --rate-window (docs/protocol.md, "Limits").
const (
	DefaultMinRate    = 64 << 10 // bytes per second
	DefaultRateWindow = 10 * time.Second
)

// ErrTooSlow reports an answer cut because its reader took less than the
// minimum rate over a whole window.
var ErrTooSlow = errors.New("the client reads below the minimum rate")

// Rate is the min-rate rule's two settings. serve takes them on its
// command line and hands them on to the workers that write their answers
// themselves (v2, v3): one flag definition, one check, for every role.
type Rate struct {
	MinRate int64         // bytes per second; <= 0 means DefaultMinRate
	Window  time.Duration // <= 0 means DefaultRateWindow
}

// Register adds --min-rate and --rate-window to fs, with their defaults.
func (r *Rate) Register(fs *pflag.FlagSet) {
	r.MinRate, r.Window = DefaultMinRate, DefaultRateWindow
	fs.Int64Var(&r.MinRate, "min-rate", DefaultMinRate, "bytes per second: an answer is cut once its client falls more than --rate-window behind this pace (counting the bytes its TCP acknowledged)")
	fs.Var((*cli.PositiveDuration)(&r.Window), "rate-window", "how far behind --min-rate a client may fall before its answer is cut")
}

// Check refuses a rate that is not positive.
func (r Rate) Check() error {
	if r.MinRate <= 0 {
		return fmt.Errorf("--min-rate %d: must be positive (bytes per second)", r.MinRate)
	}
	return nil
}

// Args is r as a worker's command line (Register parses it back).
func (r Rate) Args() []string {
	return []string{"--min-rate", strconv.FormatInt(r.MinRate, 10), "--rate-window", r.Window.String()}
}

// Writer is a RateWriter on conn under r.
func (r Rate) Writer(conn net.Conn, progress func(n int)) *RateWriter {
	return &RateWriter{Conn: conn, Rate: r, Progress: progress}
}

// params is r with its defaults filled in, and its quota: the bytes of
// one window at the minimum rate.
func (r Rate) params() (rate float64, window time.Duration, quota float64) {
	rate, window = float64(r.MinRate), r.Window
	if rate <= 0 {
		rate = DefaultMinRate
	}
	if window <= 0 {
		window = DefaultRateWindow
	}
	return rate, window, max(rate*window.Seconds(), 1)
}

// Quota is the bytes of one window at the minimum rate (MinRate ×
// Window, defaults filled in): the credit a RateWriter starts with, and
// the size past which an answer is long (the dispatcher's long lane).
func (r Rate) Quota() float64 {
	_, _, quota := r.params()
	return quota
}

// RateWriter writes to Conn under the min-rate rule, judged on what the
// client really took: the bytes its TCP acknowledged, not the bytes the
// kernel accepted into buffers (a few megabytes on loopback, taken at
// once whatever the client's pace). The rule is a bucket of credit: it
// starts full, with one window's quota (MinRate × Window bytes); every
// byte the client takes adds one, every second takes MinRate away, and
// it never holds more than one quota. When it runs dry the answer is
// cut. So a client may fall behind the schedule of MinRate by at most
// one window: a steady reader above MinRate is never cut, one at half
// the rate is cut after two windows, one that stops after one.
//
// Time during which nothing waits for the client (every byte written is
// acknowledged) is not charged to it: then the writer is the slow one
// (a worker computing, a dispatcher stopped by SIGSTOP).
//
// The socket's send buffer is bounded to about one quota, so that the
// end of an answer does not wait in kernel buffers out of the rule's
// reach. A cut reaches the client at once: the connection is reset (SO_LINGER
// 0), so the megabytes still queued are dropped, not delivered for
// minutes after the server gave up. Progress, if set, is called after
// each piece that went out (a worker beats its heartbeat there: a
// stalled transfer stops the heartbeat).
//
// DOC: rate-acked
type RateWriter struct {
	Conn net.Conn
	Rate
	Progress func(n int)

	started bool
	bounded bool      // the send buffer was bounded (boundBuffer)
	last    time.Time // when credit was last brought up to date
	credit  float64   // bytes the client may still fall behind
	written int64     // bytes handed to the kernel
	taken   int64     // bytes the client had taken at the last look
}

// ratePiece is the most a RateWriter hands the kernel in one write.
const ratePiece = 64 << 10

// minJudge is the shortest a blocked write waits before the rule looks
// again, and how long a fast answer goes between two looks.
const minJudge = 5 * time.Millisecond

// minSendBuffer is the smallest send buffer boundBuffer sets: an answer
// no longer than that fits whatever the bound, and is left alone.
const minSendBuffer = 64 << 10

func (w *RateWriter) Write(p []byte) (int, error) {
	rate, window, quota := w.params()
	written := 0
	for written < len(p) {
		now := time.Now()
		if !w.started {
			w.started, w.last, w.credit = true, now, quota
		}
		if !w.bounded && w.written+int64(len(p)-written) > minSendBuffer {
			w.boundBuffer(quota) // once per answer, and only for one that can fill a buffer
			w.bounded = true
		}
		// Judge when time has passed, or when the credit could run dry
		// even if the client took nothing meanwhile; not before each
		// piece of a fast answer (each look at the send queue is a
		// system call: one per request for requetetype1, once).
		if dt := now.Sub(w.last); dt >= minJudge || w.credit < rate*dt.Seconds() {
			if err := w.judge(now, rate, window, quota); err != nil {
				return written, err
			}
		}
		// Block at most until the credit would run dry if the client
		// took nothing meanwhile (and a quarter window at most): then
		// judge again.
		wait := time.Duration(w.credit / rate * float64(time.Second))
		wait = min(max(wait, minJudge), max(window/4, minJudge))
		if err := w.Conn.SetWriteDeadline(now.Add(wait)); err != nil {
			return written, fmt.Errorf("set write deadline: %w", err)
		}
		piece := p[written:min(len(p), written+ratePiece)]
		n, err := w.Conn.Write(piece)
		written += n
		w.written += int64(n)
		if n > 0 && w.Progress != nil {
			w.Progress(n)
		}
		if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
			return written, err
		}
	}
	return written, nil
}

// judge brings the credit up to date at now, and cuts the answer when
// it has run dry.
func (w *RateWriter) judge(now time.Time, rate float64, window time.Duration, quota float64) error {
	taken, queued := w.took()
	dt := now.Sub(w.last).Seconds()
	w.last = now
	if queued == 0 {
		// Nothing waits for the client: any delay is the writer's own.
		w.credit, w.taken = quota, taken
		return nil
	}
	w.credit = min(quota, w.credit+float64(taken-w.taken)-rate*dt)
	w.taken = taken
	if w.credit >= 0 {
		return nil
	}
	Reset(w.Conn)
	return fmt.Errorf("%w: over a window (%v) behind %.0f bytes/s: it took %d of the %d bytes written, %d still queued; connection reset",
		ErrTooSlow, window, rate, taken, w.written, queued)
}

// boundBuffer bounds the socket's send buffer to about one window's
// quota (at least 64 KiB; the kernel doubles it): left to itself, Linux
// grows it to megabytes, and what waits there at the end of an answer is
// past the rule's reach. A fast client loses nothing: the buffer still
// holds a window of the slowest pace the rule accepts.
func (w *RateWriter) boundBuffer(quota float64) {
	if tc, ok := w.Conn.(*net.TCPConn); ok {
		_ = tc.SetWriteBuffer(int(min(max(quota, minSendBuffer), 64<<20)))
	}
}

// took is how many of the bytes written the client has taken, and how
// many still wait for it in the socket's send queue (SIOCOUTQ: written
// but not yet acknowledged by the peer's TCP). On a connection that is
// not a socket (a net.Pipe in tests) a write returns once the reader has
// it: every byte written is taken, and the clock always counts.
func (w *RateWriter) took() (taken, queued int64) {
	sc, ok := w.Conn.(syscall.Conn)
	if !ok {
		return w.written, 1
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return w.written, 1
	}
	var outq int
	var ierr error
	if err := raw.Control(func(fd uintptr) {
		outq, ierr = unix.IoctlGetInt(int(fd), unix.TIOCOUTQ) // SIOCOUTQ on a socket
	}); err != nil || ierr != nil {
		return w.written, 1
	}
	q := min(int64(outq), w.written)
	return w.written - q, q
}

// Reset closes conn with a reset (SO_LINGER 0) instead of a FIN: what
// is still queued for the peer is dropped, and the peer learns at once
// that the answer was cut.
func Reset(conn net.Conn) {
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}
