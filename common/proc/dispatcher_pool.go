// The dispatcher's pool of workers: start N processes on one segment,
// hand an idle one to each request (waiting a bounded time), take it
// back, and at the end stop and reap them all.

package proc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"osps/common/shm"
)

// ErrClosing is returned by Acquire once the pool is draining.
var ErrClosing = errors.New("pool is shutting down")

// Config says how to start the pool's workers.
type Config struct {
	Exe          string        // the binary to re-execute (os.Executable)
	Role         []string      // its arguments before the WorkerFlags: "worker", variant flags...
	Worker       WorkerFlags   // heartbeat, trace; ShmID and Slot are set per worker
	Workers      int           // number of workers (slots)
	SlotSize     int           // data area of each slot
	ReadyTimeout time.Duration // how long a worker may take to say ready
	Watchdog     Watchdog      // respawn dead workers, kill hung ones (off: the bare part)
	Log          *slog.Logger
	// LIFO hands each request to the worker idle the shortest (the idle
	// list as a stack): the one most likely still awake, so one client
	// keeps one warm worker. Without it the worker idle the longest takes
	// it (a queue), and the workers take turns.
	LIFO bool
	// Files, if set, gives the files a worker of slot i inherits after
	// its two pipes, as fds 5, 6, ... (ExtraFile). The pool does not own
	// them: the caller keeps them open across respawns, and closes them
	// once the pool is stopped (v3 hands each worker its listening socket).
	Files func(slot int) []*os.File
	// Exited, if set, is called as soon as a worker is reaped (not
	// during shutdown), on the goroutine that reaped it and before the
	// watchdog starts its successor: while it runs, w is still its
	// slot's worker (v3 answers on its port from then on).
	Exited func(w *Handle)
}

// Pool owns the segment and the worker processes.
type Pool struct {
	cfg       Config
	Seg       *shm.Segment
	spawn     chan spawnReq
	idle      []*Handle     // idle workers, in the order they became idle (guarded by mu)
	avail     chan struct{} // a token: "the idle list may be non-empty"
	closing   chan struct{}
	closeOnce sync.Once

	mu      sync.Mutex
	workers []*Handle // the current worker of each slot
	quick   []int     // per slot: deaths in a row within MinLife of a start
	monitor sync.WaitGroup
}

// Start creates the segment and starts cfg.Workers workers. If any
// worker fails to start, everything started is stopped again and the
// error says why: a start-up failure is never a loop.
func Start(cfg Config) (*Pool, error) {
	if cfg.Workers < 1 {
		return nil, fmt.Errorf("need at least one worker, got %d", cfg.Workers)
	}
	if cfg.ReadyTimeout <= 0 {
		cfg.ReadyTimeout = 5 * time.Second
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	// DOC: pool-create-segment
	seg, err := shm.Create(cfg.Workers, cfg.SlotSize)
	if err != nil {
		return nil, err
	}
	p := &Pool{
		cfg: cfg, Seg: seg,
		spawn:   make(chan spawnReq),
		avail:   make(chan struct{}, 1),
		closing: make(chan struct{}),
		workers: make([]*Handle, cfg.Workers),
		quick:   make([]int, cfg.Workers),
	}
	go spawner(p.spawn)
	cfg.Log.Info("segment created and marked for removal", "shmid", seg.ID(), "bytes", shm.Size(cfg.Workers, cfg.SlotSize))
	started := make([]*Handle, cfg.Workers)
	for i := range cfg.Workers {
		w, err := p.startWorker(i)
		if err != nil {
			p.StopWorkers(time.Second)
			p.Close()
			return nil, err
		}
		started[i] = w
	}
	// Made idle so that worker#0 is handed out first, in either order.
	for i := range started {
		if cfg.LIFO {
			i = len(started) - 1 - i
		}
		p.Release(started[i])
	}
	if cfg.Watchdog.Enabled {
		p.monitor.Add(1)
		go p.watchHangs()
	}
	return p, nil
}

func (p *Pool) startWorker(i int) (*Handle, error) {
	var extra []*os.File
	if p.cfg.Files != nil {
		extra = p.cfg.Files(i)
	}
	flags := p.cfg.Worker
	flags.ShmID, flags.Slot, flags.Extra = p.Seg.ID(), i, len(extra)
	args := append(append([]string{}, p.cfg.Role...), flags.args()...)
	w, err := start(p.spawn, p.cfg.Exe, args, extra, i, p.Seg.Slot(i), p.cfg.ReadyTimeout, p.cfg.Log)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	if p.isClosing() { // StopWorkers already took its list: stop this one here
		p.mu.Unlock()
		w.closePing()
		select {
		case <-w.exited:
		case <-time.After(time.Second):
			w.Kill()
			<-w.exited
		}
		return nil, ErrClosing
	}
	p.workers[i] = w
	p.mu.Unlock()
	p.monitor.Add(1)
	go p.watchExit(w)
	w.log.Debug("worker started")
	return w, nil
}

// watchExit logs a worker's death as soon as it is reaped, tells
// Config.Exited, and with the watchdog on, starts a new worker in its
// slot.
func (p *Pool) watchExit(w *Handle) {
	defer p.monitor.Done()
	<-w.exited
	if p.isClosing() {
		w.log.Debug("worker exited", "status", w.status)
		return
	}
	// Reaped (Wait returned): the second half of the death notice,
	// after end of file on the pong pipe (DOC: watchdog-notice-death).
	w.log.Warn("worker died", "status", w.status, "lived", time.Since(w.started).Round(time.Millisecond))
	if p.cfg.Exited != nil {
		p.cfg.Exited(w)
	}
	if p.cfg.Watchdog.Enabled {
		p.respawn(w)
	}
}

func (p *Pool) isClosing() bool {
	select {
	case <-p.closing:
		return true
	default:
		return false
	}
}

// Acquire takes an idle worker, waiting until ctx is done (the caller's
// --queue-timeout). Dead workers are dropped. The slot is then busy.
func (p *Pool) Acquire(ctx context.Context) (*Handle, error) {
	for {
		if p.isClosing() {
			return nil, ErrClosing
		}
		if w := p.takeIdle(); w != nil {
			return w, nil
		}
		select {
		case <-p.avail:
		case <-p.closing:
			return nil, ErrClosing
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// takeIdle pops a live idle worker, or returns nil: the one idle the
// longest (the list's first), or with LIFO the one idle the shortest
// (its last). If more are left, it passes the token on to the next
// waiter.
func (p *Pool) takeIdle() *Handle {
	p.mu.Lock()
	defer p.mu.Unlock()
	for len(p.idle) > 0 {
		// DOC: pool-pick: which idle worker takes the request.
		var w *Handle
		if p.cfg.LIFO {
			w, p.idle = p.idle[len(p.idle)-1], p.idle[:len(p.idle)-1]
		} else {
			w, p.idle = p.idle[0], p.idle[1:]
		}
		if !w.Alive() || !w.Slot.SwapState(shm.Idle, shm.Busy) {
			continue // died while idle
		}
		if len(p.idle) > 0 {
			p.signal()
		}
		return w
	}
	return nil
}

// signal leaves the token for one waiter, if none is there yet.
func (p *Pool) signal() {
	select {
	case p.avail <- struct{}{}:
	default:
	}
}

// Release gives a worker back to the pool once its request is over and
// it is waiting for a ping again (or once it has just started).
func (p *Pool) Release(w *Handle) {
	if !w.Alive() {
		// Reaped: not given back. Its slot may already be its
		// successor's (the watchdog starts one once this one is reaped),
		// whose "starting" state is not this handle's to change.
		return
	}
	if !w.Slot.SwapState(shm.Busy, shm.Idle) && !w.Slot.SwapState(shm.Starting, shm.Idle) {
		return // dead (reap set the slot dead): not given back
	}
	p.mu.Lock()
	p.idle = append(p.idle, w)
	p.mu.Unlock()
	p.signal()
}

// Drain refuses new requests (Acquire returns ErrClosing) and waits until
// no worker is busy, or ctx is done. It reports whether all finished.
func (p *Pool) Drain(ctx context.Context) bool {
	p.closeOnce.Do(func() { close(p.closing) })
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		if p.Count(shm.Busy) == 0 {
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-tick.C:
		}
	}
}

// Count is how many slots are in state st now, read from the segment.
func (p *Pool) Count(st shm.State) int {
	n := 0
	for i := range p.Seg.NSlots() {
		if p.Seg.Slot(i).State() == st {
			n++
		}
	}
	return n
}

// StopWorkers closes every worker's ping pipe (the worker reads end of
// file and exits), waits up to grace, kills what is left and reaps all.
func (p *Pool) StopWorkers(grace time.Duration) {
	p.closeOnce.Do(func() { close(p.closing) })
	p.mu.Lock()
	ws := append([]*Handle(nil), p.workers...)
	p.mu.Unlock()
	for _, w := range ws {
		if w != nil {
			w.closePing()
		}
	}
	deadline := time.NewTimer(grace)
	defer deadline.Stop()
	for _, w := range ws {
		if w == nil {
			continue
		}
		select {
		case <-w.exited:
		case <-deadline.C:
			deadline.Reset(0)
			w.log.Warn("worker did not exit in time: killing it")
			w.Kill()
			<-w.exited
		}
	}
	p.monitor.Wait()
}

// Close detaches the segment, which the kernel then frees (it was marked
// IPC_RMID at creation). Call it after StopWorkers, once nothing uses a
// slot any more. A second call does nothing.
func (p *Pool) Close() {
	if p.spawn == nil {
		return
	}
	close(p.spawn)
	p.spawn = nil
	if err := p.Seg.Detach(); err != nil {
		p.cfg.Log.Error("detach segment", "err", err)
	}
}

// Workers returns the current worker of each slot (nil where none).
func (p *Pool) Workers() []*Handle {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]*Handle(nil), p.workers...)
}

// Stats is the STATS payload: one line per slot, read from the segment.
func (p *Pool) Stats() []byte {
	var b strings.Builder
	for i := range p.Seg.NSlots() {
		s := p.Seg.Slot(i)
		fmt.Fprintf(&b, "worker=%d pid=%d state=%s served=%d restarts=%d total=%d\n",
			i, s.Pid(), s.State(), s.Served(), s.Restarts(), s.Total())
	}
	return []byte(b.String())
}

// Executable is the path of the running binary, to re-execute as worker.
func Executable() (string, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("find own binary: %w", err)
	}
	return exe, nil
}
