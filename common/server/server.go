// server.go demonstrates the dispatcher's life: listen, start the
// workers, say "ready", accept sessions, and on SIGINT/SIGTERM drain:
// stop accepting, let requests in flight finish within --grace, stop and
// reap the workers, let the kernel free the segment, exit 0.

package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"osps/common/proc"
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
	s := &Server{Cfg: cfg, V: v, Log: log, Tr: trace.New(cfg.Trace, v.Name, "dispatcher"), sessions: map[*Session]struct{}{}}

	// DOC: dispatcher-listen: listen first, so the workers can be told the port.
	addr := net.JoinHostPort(cfg.Listen, strconv.Itoa(cfg.Port))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	s.ln = ln.(*net.TCPListener)
	defer s.ln.Close()
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
	s.Tr.Step(0, "creating the shared-memory segment and starting %d workers", cfg.Workers)
	pool, err := proc.Start(proc.Config{
		Exe: exe, Role: role, Workers: cfg.Workers, SlotSize: cfg.SlotSize, Log: log,
		Child:    proc.ChildFlags{Heartbeat: cfg.ChildHeartbeat(), Trace: cfg.Trace, Chaos: cfg.Chaos},
		Watchdog: proc.Watchdog{Enabled: cfg.Watchdog, HangTimeout: cfg.HangTimeout},
		Files:    slotFiles(files),
	})
	if err != nil {
		return fmt.Errorf("start workers: %w", err)
	}
	s.Pool = pool
	for _, w := range pool.Workers() {
		s.Tr.Step(0, "worker#%d started, pid %d, slot %d", w.ID, w.Pid, w.ID)
	}
	log.Info("listening", "addr", laddr.String(), "workers", cfg.Workers, "shmid", pool.Seg.ID())
	fmt.Fprintf(ready, "ready %s\n", laddr.String())

	acceptDone := make(chan struct{})
	go func() {
		defer close(acceptDone)
		s.acceptLoop()
	}()
	<-ctx.Done()
	s.shutdown()
	<-acceptDone
	return nil
}

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

func (s *Server) acceptLoop() {
	for {
		conn, err := s.ln.Accept()
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				s.Log.Error("accept", "err", err)
				time.Sleep(50 * time.Millisecond) // e.g. EMFILE: do not spin
				continue
			}
			return
		}
		sess := s.newSession(conn)
		if sess == nil {
			conn.Close()
			continue
		}
		go func() {
			defer s.wg.Done()
			defer s.dropSession(sess)
			sess.run()
		}()
	}
}

func (s *Server) newSession(conn net.Conn) *Session {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.draining.Load() {
		return nil
	}
	s.nextID++
	sess := newSession(s, conn, s.nextID)
	s.sessions[sess] = struct{}{}
	s.wg.Add(1)
	return sess
}

func (s *Server) dropSession(sess *Session) {
	s.mu.Lock()
	delete(s.sessions, sess)
	s.mu.Unlock()
	sess.conn.Close()
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
	s.ln.Close()
	ctx, cancel := context.WithTimeout(context.Background(), s.Cfg.Grace)
	finished := s.Pool.Drain(ctx)
	cancel()
	if !finished {
		s.Log.Warn("grace period over: cutting the requests still in flight")
	}
	s.mu.Lock()
	for sess := range s.sessions {
		sess.conn.Close()
	}
	s.mu.Unlock()
	s.Pool.StopWorkers(time.Second)
	s.wg.Wait()
	s.Pool.Close()
	s.Log.Info("stopped: workers reaped, segment detached (the kernel frees it)")
}
