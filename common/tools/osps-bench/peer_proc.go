// peer_proc.go is the common/proc peer: a pool of real workers (this
// binary as the internal role "proc-worker") that only pong, so that a
// round trip costs what a dispatcher pays through common/proc: acquire,
// ping, await the pong, release.

package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"osps/common/pingpong"
	"osps/common/proc"
	"osps/common/shm"
	"osps/common/trace"
)

// procWorkerRole is the internal role of this binary that proc.Pool
// starts: a worker whose whole service is to pong each ping.
const procWorkerRole = "proc-worker"

// runProcWorker is that role: common/proc's worker loop (fds 3 and 4, the
// segment attached, a read deadline per ping for the heartbeat), with a
// pong for each ping.
func runProcWorker(args []string) int {
	return proc.RunWorker(args, proc.WorkerRole{Variant: "bench", Open: func(self *proc.Self, _ *trace.Tracer) (proc.PingServer, error) {
		return proc.PingFunc(func(m pingpong.Msg) error {
			return self.Pong(pingpong.Msg{Op: pingpong.PongChunk, Seq: m.Seq})
		}), nil
	}})
}

// procPool is a dispatcher's pool of workers that only pong.
type procPool struct{ pool *proc.Pool }

// startProcPool starts the pool; lifo as serve --lifo.
func startProcPool(workers int, lifo bool) (*procPool, error) {
	exe, err := proc.Executable()
	if err != nil {
		return nil, err
	}
	pool, err := proc.Start(proc.Config{
		Exe: exe, Role: []string{procWorkerRole}, Workers: workers, SlotSize: shm.MinSlotSize,
		Log:    slog.New(slog.NewTextHandler(io.Discard, nil)),
		Worker: proc.WorkerFlags{Heartbeat: time.Second},
		LIFO:   lifo,
	})
	if err != nil {
		return nil, fmt.Errorf("start %d pong workers: %w", workers, err)
	}
	return &procPool{pool: pool}, nil
}

// requests does what a dispatcher does n times for one request of one
// chunk: take an idle worker (the one idle the longest, so the workers
// take turns; with lifo the one idle the shortest, so the same one each
// time), ping it, await its pong, give it back.
func (p *procPool) requests(n int) error {
	for i := range n {
		// DOC: prim-proc-round-trip: acquire, ping, await the pong, release.
		ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
		w, err := p.pool.Acquire(ctx)
		cancel()
		if err != nil {
			return fmt.Errorf("request %d: no idle worker: %w", i, err)
		}
		if err := p.roundTrip(w, pingpong.PingRequest); err != nil {
			return fmt.Errorf("request %d: %w", i, err)
		}
		p.pool.Release(w)
	}
	return nil
}

// chunks does what v1's dispatcher does for each further chunk of a
// payload: ping the same worker again and await its pong, n times. The
// ping is a PingRequest, not v1's PingNext: the worker loop passes only
// requests to the PingServer (v1 reads its PingNext itself), and the
// round trip costs the same.
func (p *procPool) chunks(n int) error {
	ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
	w, err := p.pool.Acquire(ctx)
	cancel()
	if err != nil {
		return fmt.Errorf("no idle worker: %w", err)
	}
	defer p.pool.Release(w)
	for i := range n {
		if err := p.roundTrip(w, pingpong.PingRequest); err != nil {
			return fmt.Errorf("chunk %d: %w", i, err)
		}
	}
	return nil
}

func (p *procPool) roundTrip(w *proc.Handle, op pingpong.Op) error {
	w.Begin()
	if err := w.Ping(op, 0); err != nil {
		return err
	}
	if _, err := w.Await(ioTimeout); err != nil {
		return fmt.Errorf("pong: %w", err)
	}
	return nil
}

func (p *procPool) close() {
	p.pool.StopWorkers(5 * time.Second)
	p.pool.Close()
}

// loadedRequests is requests with W round trips in flight at once.
func (p *procPool) loadedRequests(n int) error {
	return concurrently(p.pool.Seg.NSlots(), n, func(_, n int) error { return p.requests(n) })
}
