// The dispatcher's command line, one for the three variants: every flag
// of `serve` is declared and checked here once.

package server

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/spf13/pflag"

	"osps/common/cli"
	"osps/common/proc"
	"osps/common/service"
	"osps/common/shm"
	"osps/common/wire"
)

// Config is the dispatcher's configuration (the flags of `serve`).
type Config struct {
	Listen         string
	Port           int
	Workers        int
	MaxBytes       int64
	SlotSize       int
	QueueTimeout   time.Duration
	RequestTimeout time.Duration
	Rate           service.Rate  // the min-rate rule: --min-rate, with --rate-window of slack
	MaxSessions    int           // open sessions at most; 0: derived from the open-file limit
	MaxPerPeer     int           // open sessions from one IP address at most; 0: no limit
	LongAnswers    int           // long answers in flight at most; 0: all workers but a quarter (longLane)
	IdleTimeout    time.Duration // a session with no request for this long is closed...
	LineTimeout    time.Duration // ...and so is one whose line is not finished within this
	Grace          time.Duration
	Heartbeat      time.Duration
	Watchdog       bool
	LIFO           bool
	HangTimeout    time.Duration
	Chaos          string
	Trace          bool
	Verbose        bool
}

// Defaults of the session limits (docs/protocol.md, "Limits").
const (
	DefaultIdleTimeout = time.Minute
	DefaultLineTimeout = 10 * time.Second
)

// Register adds serve's flags to fs.
func (c *Config) Register(fs *pflag.FlagSet) {
	fs.StringVar(&c.Listen, "listen", "127.0.0.1", "address to listen on")
	fs.IntVar(&c.Port, "port", 2222, "TCP port of the dispatcher (0: pick a free port)")
	fs.IntVar(&c.Workers, "workers", 4, "number of worker processes")
	fs.Int64Var(&c.MaxBytes, "max-bytes", wire.DefaultMaxBytes, "largest requetetype2 payload served")
	fs.IntVar(&c.SlotSize, "slot-size", shm.DefaultSlotSize, "bytes in each worker's shared-memory data area")
	fs.DurationVar(&c.QueueTimeout, "queue-timeout", 2*time.Second, "how long a request waits for an idle worker before ERR busy")
	fs.DurationVar(&c.RequestTimeout, "request-timeout", 10*time.Second, "how long the dispatcher waits for a worker's pong before ERR timeout")
	c.Rate.Register(fs)
	fs.IntVar(&c.MaxSessions, "max-sessions", 0, "open sessions at most; past it a new connection pushes out the session idle the longest, or gets ERR busy if every session has a request in flight (0: the open-file limit minus a reserve for the workers)")
	fs.IntVar(&c.MaxPerPeer, "max-sessions-per-peer", 0, "open sessions from one IP address at most; past it a new connection from there gets ERR busy (0: no limit; on loopback every local client is 127.0.0.1)")
	fs.IntVar(&c.LongAnswers, "long-answers", 0, "long answers (more than --min-rate × --rate-window bytes) in flight at most, so that short ones keep a worker (0: all workers but a quarter, one at least)")
	fs.DurationVar(&c.IdleTimeout, "idle-timeout", DefaultIdleTimeout, "close a session that sends no request for this long, counted from the end of its last one (lines that are not requests do not reset it)")
	fs.DurationVar(&c.LineTimeout, "line-timeout", DefaultLineTimeout, "close a session that does not finish a line it began within this")
	fs.DurationVar(&c.Grace, "grace", 5*time.Second, "on SIGINT/SIGTERM, how long requests in flight may take to finish")
	fs.DurationVar(&c.Heartbeat, "heartbeat", time.Second, "an idle worker beats its heartbeat at least this often")
	fs.BoolVar(&c.LIFO, "lifo", false, "hand each request to the worker idle the shortest, still warm (a stack), not the one idle the longest (a queue: workers take turns)")
	fs.BoolVar(&c.Watchdog, "watchdog", false, "respawn dead workers and kill hung ones (docs/watchdog.md)")
	fs.DurationVar(&c.HangTimeout, "hang-timeout", 10*time.Second, "with --watchdog: kill a worker whose heartbeat is older than this")
	fs.StringVar(&c.Chaos, "chaos", "", "fault injection for labs: crash=P,hang=P,lie=P,seed=S (a worker crashes, hangs or breaks the pipe protocol on that fraction of requests)")
	fs.BoolVar(&c.Trace, "trace", false, "print one line per protocol step (dispatcher and workers) on stderr")
	fs.BoolVar(&c.Verbose, "verbose", false, "debug logs")
}

// Check refuses a configuration that cannot work, with a clear reason.
func (c *Config) Check() error {
	if err := cli.CheckListen(c.Listen); err != nil {
		return err
	}
	switch {
	case c.Port < 0 || c.Port > 65535:
		return fmt.Errorf("--port %d: not a TCP port", c.Port)
	case c.Workers < 1 || c.Workers > 256:
		return fmt.Errorf("--workers %d: must be between 1 and 256", c.Workers)
	case c.MaxBytes < 0:
		return fmt.Errorf("--max-bytes %d: must not be negative", c.MaxBytes)
	case c.SlotSize < shm.MinSlotSize || c.SlotSize > 64<<20:
		return fmt.Errorf("--slot-size %d: must be between %d and %d", c.SlotSize, shm.MinSlotSize, 64<<20)
	case c.Rate.Check() != nil:
		return c.Rate.Check()
	case c.QueueTimeout <= 0 || c.RequestTimeout <= 0 || c.Grace < 0 || c.Heartbeat <= 0 || c.HangTimeout <= 0 ||
		c.IdleTimeout <= 0 || c.LineTimeout <= 0:
		return fmt.Errorf("timeouts must be positive")
	case c.MaxSessions < 0:
		return fmt.Errorf("--max-sessions %d: must not be negative", c.MaxSessions)
	case c.LongAnswers < 0:
		return fmt.Errorf("--long-answers %d: must not be negative", c.LongAnswers)
	case c.MaxPerPeer < 0:
		return fmt.Errorf("--max-sessions-per-peer %d: must not be negative", c.MaxPerPeer)
	}
	if _, err := proc.ParseChaos(c.Chaos); err != nil {
		return err
	}
	return c.sizeSessions()
}

// sizeSessions checks --max-sessions against the open-file limit, or
// derives it: every session holds a descriptor, and the reserve must
// stay free for the workers' pipes and their respawns.
func (c *Config) sizeSessions() error {
	room, limit, err := sessionRoom(c.Workers)
	if err != nil {
		return err
	}
	switch {
	case room < 1:
		return fmt.Errorf("the open-file limit (%d) is too low for %d workers: the dispatcher keeps %d descriptors in reserve", limit, c.Workers, fdReserve(c.Workers))
	case c.MaxSessions == 0:
		c.MaxSessions = room
	case c.MaxSessions > room:
		return fmt.Errorf("--max-sessions %d: the open-file limit (%d) leaves room for %d sessions with %d workers", c.MaxSessions, limit, room, c.Workers)
	}
	return nil
}

// AnswerTime is the longest an answer of n bytes may take under the
// min-rate rule: its client may fall at most one --rate-window behind
// the schedule of --min-rate, so n bytes take at most n / --min-rate
// plus one window (the reply line alone gets the window). The writer's
// own stalls are not charged to the client, so a worker that stalls
// may take longer: that is the watchdog's business. A dispatcher that
// waits for a worker's answer waits that long (v2).
func (c *Config) AnswerTime(n int64) time.Duration {
	rate := max(c.Rate.MinRate, 1)
	return c.Rate.Window + time.Duration(float64(n)/float64(rate)*float64(time.Second)).Round(time.Millisecond)
}

// WorkerHeartbeat is how often an idle worker beats: --heartbeat, but at
// least four times per --hang-timeout, so that an idle worker is never
// taken for a hung one.
func (c *Config) WorkerHeartbeat() time.Duration {
	if c.Watchdog {
		return min(c.Heartbeat, c.HangTimeout/4)
	}
	return c.Heartbeat
}

// Logger is the dispatcher's slog logger on stderr.
func (c *Config) Logger() *slog.Logger {
	return cli.NewLogger(c.Verbose).With("role", "dispatcher")
}
