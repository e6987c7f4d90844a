// The dispatcher's life: listen, start the workers, say "ready", accept
// sessions, and on SIGINT/SIGTERM drain: stop accepting, let requests in
// flight finish within --grace, stop and reap the workers, let the
// kernel free the segment, exit 0.

package server

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"osps/common/cli"
	"osps/common/proc"
	"osps/common/shm"
	"osps/common/trace"
	"osps/common/wire"
)

// Handler is what differs between the variants: the steps that follow
// once a checked request has an idle (now busy) worker.
type Handler interface {
	// Serve answers req on session s with worker w. It writes what the
	// client must read, and gives w back with s.Release(w) once the
	// worker is waiting for a ping again (possibly later, from a
	// goroutine started with s.Go). A non-nil error closes the session.
	Serve(s *Session, w *proc.Handle, req wire.Request) error
}

// Variant describes one variant to the common dispatcher.
type Variant struct {
	Name        string // "v1", "v2", "v3": the trace prefix
	RequestStep int    // the doc's step number of "the dispatcher receives a request line"
	Handler     Handler
	// WorkerArgs returns the worker role's arguments (after "worker"),
	// given the dispatcher's listening address.
	WorkerArgs func(ln *net.TCPAddr) []string
	// WorkerFiles, if set, opens the files each worker slot inherits
	// (proc.Config.Files), given the dispatcher's listening address. The
	// dispatcher keeps them open across respawns and closes them at exit.
	WorkerFiles func(ln *net.TCPAddr, workers int) ([][]*os.File, error)
	// Starved, if set, is called while a request waits for an idle
	// worker (every starvedEvery of waiting, the first once one has
	// passed without a worker): the variant may free a
	// worker that holds nothing anyone uses (v3 cancels the oldest
	// ticket nobody came for).
	Starved func()
	// Admit, if set, may refuse a checked request before it waits for a
	// worker; its error is the client's answer (v3: a session whose
	// tickets keep expiring unclaimed waits a while).
	Admit func(s *Session) error
	// Exited, if set, is called as soon as a worker dies, before
	// the watchdog replaces it (proc.Config.Exited; v3 answers on the
	// dead worker's port from then on).
	Exited func(w *proc.Handle)
}

// Server is one running dispatcher.
type Server struct {
	Cfg  Config
	V    Variant
	Log  *slog.Logger
	Tr   *trace.Tracer
	Pool *proc.Pool
	ln   *net.TCPListener

	draining atomic.Bool
	mu       sync.Mutex
	sessions map[*Session]struct{}
	idle     list.List          // sessions with no request in flight, idle the longest first (*Session)
	peers    map[netip.Addr]int // open sessions per peer address
	peak     int                // most sessions open since memory was last given back
	refusing chan struct{}      // refusals and evictions in flight past the session cap (at most refuseMax)
	long     chan struct{}      // long answers in flight (at most longLane)
	nextID   int
	wg       sync.WaitGroup // sessions and their background goroutines
}

// Run runs a dispatcher until ctx is cancelled (the signal handler), then
// shuts down. It prints "ready host:port" on ready once it accepts.
func Run(ctx context.Context, cfg Config, v Variant, ready io.Writer) error {
	if err := cfg.Check(); err != nil {
		return err
	}
	log := cfg.Logger()
	s := &Server{Cfg: cfg, V: v, Log: log, Tr: trace.New(cfg.Trace, v.Name, "dispatcher"), sessions: map[*Session]struct{}{},
		peers: map[netip.Addr]int{}, refusing: make(chan struct{}, refuseMax), long: make(chan struct{}, longLane(cfg.Workers, cfg.LongAnswers))}

	// DOC: dispatcher-listen: listen first, so the workers can be told the port.
	addr := net.JoinHostPort(cfg.Listen, strconv.Itoa(cfg.Port))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	s.ln = ln.(*net.TCPListener)
	defer closeConn(s.ln, log)
	laddr := s.ln.Addr().(*net.TCPAddr)

	exe, err := proc.Executable()
	if err != nil {
		return err
	}
	role := []string{"worker"}
	if v.WorkerArgs != nil {
		role = append(role, v.WorkerArgs(laddr)...)
	}
	var files [][]*os.File
	if v.WorkerFiles != nil {
		if files, err = v.WorkerFiles(laddr, cfg.Workers); err != nil {
			return err
		}
		defer closeAll(files) // after the workers are stopped: Run's last step
	}
	workers := "workers"
	if cfg.Workers == 1 {
		workers = "worker"
	}
	s.Tr.Step(0, "creating the shared-memory segment and starting %d %s", cfg.Workers, workers)
	pool, err := proc.Start(proc.Config{
		Exe: exe, Role: role, Workers: cfg.Workers, SlotSize: cfg.SlotSize, Log: log,
		Worker:   proc.WorkerFlags{Heartbeat: cfg.WorkerHeartbeat(), Trace: cfg.Trace, Chaos: cfg.Chaos},
		Watchdog: proc.Watchdog{Enabled: cfg.Watchdog, HangTimeout: cfg.HangTimeout},
		LIFO:     cfg.LIFO,
		Files:    slotFiles(files),
		Exited:   v.Exited,
	})
	if err != nil {
		return fmt.Errorf("start workers: %w", err)
	}
	s.Pool = pool
	for _, w := range pool.Workers() {
		s.Tr.Step(0, "worker#%d started, pid %d, slot %d", w.ID, w.Pid, w.ID)
	}
	log.Info("listening", "addr", laddr.String(), "workers", cfg.Workers, "shmid", pool.Seg.ID(), "max_sessions", cfg.MaxSessions)
	if err := cli.PrintReady(ready, laddr); err != nil {
		log.Warn("cannot print the ready line: serving all the same", "err", err)
	}

	acceptDone := make(chan struct{})
	go func() {
		defer close(acceptDone)
		wire.AcceptLoop(s.ln, log, s.accept)
	}()
	<-ctx.Done()
	s.shutdown()
	<-acceptDone
	return nil
}

// IdleWorkers is how many workers are idle now (read from their slots).
func (s *Server) IdleWorkers() int { return s.Pool.Count(shm.Idle) }

// Draining reports whether the server is shutting down.
func (s *Server) Draining() bool { return s.draining.Load() }

// slotFiles is proc.Config.Files for the files WorkerFiles opened.
func slotFiles(files [][]*os.File) func(int) []*os.File {
	if files == nil {
		return nil
	}
	return func(i int) []*os.File { return files[i] }
}

func closeAll(files [][]*os.File) {
	for _, fs := range files {
		for _, f := range fs {
			f.Close()
		}
	}
}

// accept opens a session for conn, or refuses it: past --max-sessions
// the session idle the longest makes room (sessions.go), and if every
// session has a request in flight the client is told ERR busy and the
// connection closed at once.
func (s *Server) accept(conn net.Conn) {
	sess, why := s.newSession(conn)
	switch {
	case why != "":
		s.refuse(conn, why)
	case sess == nil:
		closeConn(conn, s.Log) // draining
	default:
		go func() {
			defer s.wg.Done()
			defer s.dropSession(sess)
			sess.run()
		}()
	}
}

// refuse answers a connection past the session cap with ERR busy and
// closes it. At most refuseMax refusals are in flight, each for at most
// refuseLinger, so that a flood of connections cannot eat the
// descriptors kept in reserve: past that, the accept loop waits for one
// to end (the kernel queues the next connections meanwhile).
//
// DOC: session-cap
func (s *Server) refuse(conn net.Conn, why string) {
	s.refusing <- struct{}{}
	s.Log.Warn("session refused", "why", why, "peer", conn.RemoteAddr().String())
	go func() {
		defer func() { <-s.refusing }()
		goodbye(conn, wire.Errorf(wire.CodeBusy, "%s: try again later", why))
	}()
}

// goodbye tells a client why its connection ends, best effort, and
// closes it, all within about 2 × refuseLinger.
func goodbye(conn net.Conn, e error) {
	// Best effort: a new or idle socket's send buffer has room for the
	// line; a client that cannot take it is not reading anyway.
	_ = conn.SetWriteDeadline(time.Now().Add(refuseLinger))
	_ = wire.WriteErr(conn, e)
	// A short lingering close: the client may have sent its line
	// already, and a close with unread input would reset the
	// connection, ERR line included.
	wire.Linger{Bytes: 64 << 10, Time: refuseLinger}.Close(conn)
}

// closeConn closes a connection the server is done with; a failure is
// only logged (the descriptor is released either way).
func closeConn(c io.Closer, log *slog.Logger) {
	if err := c.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
		log.Debug("close", "err", err)
	}
}

// shutdown is the drain: stop accepting, refuse new requests, let the
// requests in flight finish (bounded by --grace), then close everything.
//
// DOC: drain
func (s *Server) shutdown() {
	s.Log.Info("shutting down: no new connections, draining requests in flight", "grace", s.Cfg.Grace)
	s.mu.Lock()
	s.draining.Store(true)
	s.mu.Unlock()
	closeConn(s.ln, s.Log) // the accept loop ends
	ctx, cancel := context.WithTimeout(context.Background(), s.Cfg.Grace)
	finished := s.Pool.Drain(ctx)
	cancel()
	if !finished {
		s.Log.Warn("grace period over: cutting the requests still in flight")
	}
	s.mu.Lock()
	for sess := range s.sessions {
		closeConn(sess.conn, s.Log)
	}
	s.mu.Unlock()
	s.Pool.StopWorkers(time.Second)
	s.wg.Wait()
	s.Pool.Close()
	s.Log.Info("stopped: workers reaped, segment detached (the kernel frees it)")
}
