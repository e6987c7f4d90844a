// rate.go demonstrates one rule for slow readers, the same in the three
// variants: an answer goes on while the client takes at least MinRate
// bytes per second, measured over a window, and is cut when it does not.
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
	"time"

	"github.com/spf13/pflag"

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
	fs.Int64Var(&r.MinRate, "min-rate", DefaultMinRate, "an answer is cut when its client reads fewer bytes per second than this, over --rate-window")
	fs.Var((*cli.PositiveDuration)(&r.Window), "rate-window", "the window over which --min-rate is measured")
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

// RateWriter writes to Conn under the min-rate rule: every Window, at
// least MinRate*Window bytes must have gone out, or the next write fails
// with ErrTooSlow. A write is cut into pieces so that a large one is
// judged window by window too. Progress, if set, is called after each
// piece that went out (a worker beats its heartbeat there: a stalled
// transfer stops the heartbeat).
type RateWriter struct {
	Conn net.Conn
	Rate
	Progress func(n int)

	start time.Time // when the current window began
	done  int64     // bytes written in the current window
}

// ratePiece is the most a RateWriter hands the kernel in one write.
const ratePiece = 64 << 10

func (w *RateWriter) Write(p []byte) (int, error) {
	rate, window := w.MinRate, w.Window
	if rate <= 0 {
		rate = DefaultMinRate
	}
	if window <= 0 {
		window = DefaultRateWindow
	}
	quota := max(int64(float64(rate)*window.Seconds()), 1)
	written := 0
	for written < len(p) {
		now := time.Now()
		if w.start.IsZero() {
			w.start = now
		}
		if err := w.Conn.SetWriteDeadline(w.start.Add(window)); err != nil {
			return written, fmt.Errorf("set write deadline: %w", err)
		}
		piece := p[written:min(len(p), written+ratePiece)]
		n, err := w.Conn.Write(piece)
		written += n
		w.done += int64(n)
		if n > 0 && w.Progress != nil {
			w.Progress(n)
		}
		if w.done >= quota { // this window's quota is met: a new window begins
			w.start, w.done = time.Now(), 0
		}
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				return written, fmt.Errorf("%w: fewer than %d bytes in %v: %w", ErrTooSlow, quota, window, err)
			}
			return written, err
		}
	}
	return written, nil
}
