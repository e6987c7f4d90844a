// model.go is the cost model: measure the floor of each primitive
// (primitives.go), then predict a design's median latency from the
// primitives one request pays in it (docs/comparison.md, "The cost
// model"), and print the prediction beside the measurement.
//
// Each primitive has two costs: its latency (wall time per operation)
// and its CPU (the time the processes involved spent on a processor per
// operation, from /proc/<pid>/task/*/schedstat). One client waits for the
// latencies on its request's path; many clients on K cores wait, at
// least, for everyone's CPU:
//
//	predicted p50 = max(latency on the path, C × CPU per request / K)
//
// the two asymptotes of a closed system (Denning and Buzen's operational
// laws). A design's prediction is the floor server's measured latency
// for the same row plus what the design adds, in the same form:
//
//	design p50 = floor + max(extra latency, C × extra CPU / K)
//
// where floor is the floor's p50 with one client, its mean (C ÷ its
// throughput) with more (predict says why).

package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"time"
)

// cost is what one operation of a primitive costs.
type cost struct {
	Lat time.Duration // wall time
	CPU time.Duration // processor time of every process involved
}

func (c cost) times(k int64) cost { return cost{c.Lat * time.Duration(k), c.CPU * time.Duration(k)} }
func (c cost) plus(d cost) cost   { return cost{c.Lat + d.Lat, c.CPU + d.CPU} }

// floors are the measured costs of the primitives.
type floors struct {
	Cores   int
	Workers int
	// Pipe is a bare ping/pong round trip between two processes.
	Pipe cost
	// PipeCold is the same with a peer that has slept for idlePause.
	PipeCold cost
	// PipeOneCPU and PipeTwoCPUs are the kernel's own round trip (raw
	// blocking read and write, no Go scheduler), both processes pinned
	// to CPU 0, or one on CPU 0 and the other on CPU 1.
	PipeOneCPU, PipeTwoCPUs cost
	// ProcReq is a round trip as a dispatcher makes it through
	// common/proc for a new request: acquire the idle worker that waited
	// longest (with W workers, they take turns), ping, await the pong,
	// release.
	ProcReq cost
	// ProcReqLIFO is the same with serve --lifo: the worker idle the
	// shortest, the same one each time.
	ProcReqLIFO cost
	// ProcReqCold is the same as ProcReq with workers that have slept
	// for idlePause.
	ProcReqCold cost
	// ProcReqAfterT is ProcReq made right after a TCP round trip, not
	// counted: what the dispatcher of one client pays, which has just
	// waited for its client's next line (its process fell asleep).
	ProcReqAfterT cost
	// ProcReqLoaded is the same with W round trips in flight at once
	// (one per worker): its CPU is what a round trip costs a busy server,
	// where no processor sits idle spinning for work.
	ProcReqLoaded cost
	// ProcChunk is a further round trip with the same worker (v1's
	// "relay the chunk, fill the next one").
	ProcChunk cost
	// FdPass is a descriptor and a request line passed to a peer process
	// over a Unix socket, and its one-byte "done" (fdpass.go), W peers
	// taking turns; FdPassCold after the peers slept for idlePause;
	// FdPassAfterT right after a TCP round trip, as ProcReqAfterT;
	// FdPassLoaded with W passes in flight at once.
	FdPass, FdPassCold, FdPassAfterT, FdPassLoaded cost
	TCP                                            cost // a 32-byte message and its answer on an open loopback connection
	// TCPCold is the same to a peer that has slept for idlePause.
	TCPCold cost
	Connect cost // TCP connect + accept + close on loopback
	// ConnectCold is the same to a peer that has slept for idlePause.
	ConnectCold cost
	// Per 64 KiB chunk.
	Stream cost // loopback TCP: write, and the peer's read
	ShmIn  cost // copy into a shm slot
	ShmOut cost // copy out of a shm slot
	Fill   cost // produce the requetetype2 pattern
	Check  cost // check the requetetype2 pattern
}

// selfCPU is the processor time of this process and its children so far.
func selfCPU() time.Duration {
	d, err := groupCPU(os.Getpid())
	if err != nil {
		return 0
	}
	return d
}

// measure runs f(n) with growing n until one run takes at least target
// (as testing.B does), and returns the cost per operation of that run.
func measure(target time.Duration, f func(n int) error) (cost, error) {
	n := 1
	for {
		cpu0 := selfCPU()
		t0 := time.Now()
		if err := f(n); err != nil {
			return cost{}, err
		}
		d := time.Since(t0)
		cpu := selfCPU() - cpu0
		if d >= target || n >= 1e9 {
			return cost{Lat: d / time.Duration(n), CPU: max(cpu, 0) / time.Duration(n)}, nil
		}
		next := 100 * n
		if d > 0 {
			next = int(float64(n) * 1.2 * float64(target) / float64(d))
		}
		n = min(max(next, n+1), 100*n)
	}
}

// idlePause is how long a peer stays idle before a "cold" operation.
const idlePause = time.Millisecond

// measureCold runs op again and again, each time after the peer has been
// idle for idlePause (not counted), for about target in all, and returns
// the cost of one op: what waking a process that sleeps costs.
func measureCold(target time.Duration, op func(n int) error) (cost, error) {
	// DOC: model-cold: the peer sleeps first; only the operation is timed.
	return measureEachAfter(target, op, func() error { time.Sleep(idlePause); return nil })
}

// measureAfter returns a measure that runs before each op, untimed, one
// call of first (a TCP round trip: what a dispatcher does between two
// requests of one client). The CPU of first alone, measured as many
// times, is taken off.
func measureAfter(first func(n int) error) func(time.Duration, func(int) error) (cost, error) {
	return func(target time.Duration, op func(n int) error) (cost, error) {
		c, err := measureEachAfter(target, op, func() error { return first(1) })
		if err != nil {
			return c, err
		}
		n := max(1, int(target/max(c.Lat, time.Microsecond)))
		cpu0 := selfCPU()
		if err := first(n); err != nil {
			return c, err
		}
		c.CPU = max(0, c.CPU-(selfCPU()-cpu0)/time.Duration(n))
		return c, nil
	}
}

// measureEachAfter runs op again and again, each time after before (not
// timed), for about target in all, and returns the cost of one op (its
// CPU with before's).
func measureEachAfter(target time.Duration, op func(n int) error, before func() error) (cost, error) {
	var lat time.Duration
	n := 0
	cpu0 := selfCPU()
	for start := time.Now(); n == 0 || time.Since(start) < target; n++ {
		if err := before(); err != nil {
			return cost{}, err
		}
		t0 := time.Now()
		if err := op(1); err != nil {
			return cost{}, err
		}
		lat += time.Since(t0)
	}
	cpu := selfCPU() - cpu0
	return cost{Lat: lat / time.Duration(n), CPU: max(cpu, 0) / time.Duration(n)}, nil
}

// probe is one primitive measured on a peer: into dst, by m (measure
// or measureCold), running f.
type probe struct {
	dst *cost
	m   func(time.Duration, func(int) error) (cost, error)
	f   func(int) error
}

// bestOf runs the probes of a fresh peer, rounds times, and keeps the
// fastest result of each: a floor is what the machine can do, not what
// it did while a neighbour was busy. A fresh peer each round is a fresh
// draw of where the scheduler puts it (on this machine, the same CPU or
// the other one makes a tenfold difference).
// It gives up between two rounds once ctx is done (Ctrl-C).
func bestOf(ctx context.Context, rounds int, target time.Duration, open func() ([]probe, func() error, error)) error {
	for i := range rounds {
		if err := ctx.Err(); err != nil {
			return err
		}
		probes, closer, err := open()
		if err != nil {
			return err
		}
		for _, p := range probes {
			c, err := p.m(target, p.f)
			if err != nil {
				if closer != nil {
					_ = closer()
				}
				return err
			}
			if i == 0 || c.Lat < p.dst.Lat {
				*p.dst = c
			}
		}
		if closer != nil {
			if err := closer(); err != nil {
				return err
			}
		}
	}
	return nil
}

func noErr(f func(n int)) func(int) error { return func(n int) error { f(n); return nil } }

// measureFloors measures every primitive, rounds times for about target
// each, with W workers for the common/proc round trips.
func measureFloors(ctx context.Context, rounds int, target time.Duration, workers int) (fl floors, err error) {
	fl.Cores, fl.Workers = runtime.NumCPU(), workers
	err = bestOf(ctx, rounds, target, func() ([]probe, func() error, error) {
		p, err := startPipePeer()
		if err != nil {
			return nil, nil, err
		}
		return []probe{{&fl.Pipe, measure, p.roundTrips}, {&fl.PipeCold, measureCold, p.roundTrips}}, p.close, nil
	})
	if err != nil {
		return fl, fmt.Errorf("pipe round trip: %w", err)
	}
	for i, c := range []*cost{&fl.PipeOneCPU, &fl.PipeTwoCPUs} {
		if i >= fl.Cores {
			break // one CPU: nothing to cross
		}
		err = bestOf(ctx, rounds, target, func() ([]probe, func() error, error) {
			rp, err := startRawPipePeer(i)
			if err != nil {
				return nil, nil, err
			}
			f := func(n int) error { return pinned(0, func() error { return rp.roundTrips(n) }) }
			return []probe{{c, measure, f}}, rp.close, nil
		})
		if err != nil {
			return fl, fmt.Errorf("raw pipe round trip: %w", err)
		}
	}
	err = bestOf(ctx, rounds, target, func() ([]probe, func() error, error) {
		pp, err := startProcPool(workers, false)
		if err != nil {
			return nil, nil, err
		}
		return []probe{{&fl.ProcReq, measure, pp.requests}, {&fl.ProcReqCold, measureCold, pp.requests},
			{&fl.ProcReqLoaded, measure, pp.loadedRequests},
			{&fl.ProcChunk, measure, pp.chunks}}, func() error { pp.close(); return nil }, nil
	})
	if err != nil {
		return fl, fmt.Errorf("proc round trip: %w", err)
	}
	err = bestOf(ctx, rounds, target, func() ([]probe, func() error, error) {
		// One client's pattern: the client's TCP round trip, then the
		// dispatcher's round trip with a worker.
		t, err := startTCPPeer()
		if err != nil {
			return nil, nil, err
		}
		pp, err := startProcPool(workers, false)
		if err != nil {
			_ = t.close()
			return nil, nil, err
		}
		fp, err := startFdPeers(workers)
		if err != nil {
			pp.close()
			_ = t.close()
			return nil, nil, err
		}
		after := measureAfter(t.roundTrips)
		return []probe{{&fl.ProcReqAfterT, after, pp.requests}, {&fl.FdPassAfterT, after, fp.roundTrips}},
			func() error { pp.close(); return errors.Join(fp.close(), t.close()) }, nil
	})
	if err != nil {
		return fl, fmt.Errorf("round trips after a TCP round trip: %w", err)
	}
	err = bestOf(ctx, rounds, target, func() ([]probe, func() error, error) {
		pp, err := startProcPool(workers, true)
		if err != nil {
			return nil, nil, err
		}
		return []probe{{&fl.ProcReqLIFO, measure, pp.requests}}, func() error { pp.close(); return nil }, nil
	})
	if err != nil {
		return fl, fmt.Errorf("proc round trip, --lifo: %w", err)
	}
	err = bestOf(ctx, rounds, target, func() ([]probe, func() error, error) {
		fp, err := startFdPeers(workers)
		if err != nil {
			return nil, nil, err
		}
		return []probe{{&fl.FdPass, measure, fp.roundTrips}, {&fl.FdPassCold, measureCold, fp.roundTrips},
			{&fl.FdPassLoaded, measure, fp.loaded}}, fp.close, nil
	})
	if err != nil {
		return fl, fmt.Errorf("descriptor passing: %w", err)
	}
	err = bestOf(ctx, rounds, target, func() ([]probe, func() error, error) {
		t, err := startTCPPeer()
		if err != nil {
			return nil, nil, err
		}
		return []probe{{&fl.TCP, measure, t.roundTrips}, {&fl.TCPCold, measureCold, t.roundTrips},
			{&fl.Connect, measure, t.connects}, {&fl.ConnectCold, measureCold, t.connects},
			{&fl.Stream, measure, t.stream}}, t.close, nil
	})
	if err != nil {
		return fl, fmt.Errorf("tcp: %w", err)
	}
	err = bestOf(ctx, rounds, target, func() ([]probe, func() error, error) {
		s, err := newSlotCopier()
		if err != nil {
			return nil, nil, err
		}
		return []probe{{&fl.ShmIn, measure, noErr(s.copyIn)}, {&fl.ShmOut, measure, noErr(s.copyOut)}}, s.close, nil
	})
	if err != nil {
		return fl, fmt.Errorf("shm copy: %w", err)
	}
	fillBuf, checkBuf := make([]byte, chunkSize), make([]byte, chunkSize)
	fillChunks(checkBuf, 1) // chunk 0, which checkChunks expects
	err = bestOf(ctx, rounds, target, func() ([]probe, func() error, error) {
		return []probe{{&fl.Fill, measure, noErr(func(n int) { fillChunks(fillBuf, n) })},
			{&fl.Check, measure, func(n int) error { return checkChunks(checkBuf, n) }}}, nil, nil
	})
	if err != nil {
		return fl, fmt.Errorf("pattern: %w", err)
	}
	return fl, nil
}

// chunks is how many 64 KiB pieces a payload of n bytes travels in.
func chunks(n int64) int64 { return max(1, (n+chunkSize-1)/chunkSize) }

// floorModel is the floor server's own request from the primitives: one
// TCP round trip, then the payload through a pipeline of two stages on
// two processors, the server (produce, write) and the client (read,
// check); the first chunk crosses both, each further one costs the
// slower stage.
func floorModel(fl floors, r rowSpec) (cost, string) {
	k := chunks(r.N)
	// DOC: model-floor: one round trip, then a two-stage pipeline.
	first := fl.Fill.Lat + 2*fl.Stream.Lat + fl.Check.Lat
	stage := fl.Stream.Lat + max(fl.Fill.Lat, fl.Check.Lat)
	lat := fl.TCP.Lat + first + time.Duration(k-1)*stage
	cpu := fl.TCP.CPU + time.Duration(k)*(fl.Fill.CPU+fl.Stream.CPU+fl.Check.CPU)
	f := fmt.Sprintf("T + fill + 2 stream + check + (%d-1)(stream + max(fill, check))", k)
	if r.N == 0 {
		lat, cpu = fl.TCP.Lat, fl.TCP.CPU
		f = "T"
	}
	return cost{lat, cpu}, f
}

// extra is what design v adds to the floor for one request of row r
// (docs/comparison.md has the count of each design).
//
// With one client, every process of a design sleeps between the steps
// of a request: the dispatcher, whenever it waits for its client's next
// line, the workers between requests, the client while the dispatcher
// and the worker talk. A round trip with a worker is charged as the
// dispatcher of one client pays it, right after a TCP round trip
// (P_req and F "after T"); v2's and v3's TCP exchanges and connection
// with a peer asleep are charged cold, v3's proof right after its
// connection hot.
//
// With more clients, the CPU bound counts the loaded CPU of a round trip
// with a worker (P_req, F: measured with W in flight at once), not the
// CPU of a lone round trip, which includes the Go runtime spinning on
// idle processors while it waits for the pong.
func extra(v string, fl floors, r rowSpec) (cost, string) {
	k := chunks(r.N)
	if r.Clients == 1 {
		// The latency of the one-client pattern, the CPU of the hot one.
		lat := func(hot, one cost) cost { return cost{Lat: one.Lat, CPU: hot.CPU} }
		req := lat(fl.ProcReq, fl.ProcReqAfterT)
		tc, cc := lat(fl.TCP, fl.TCPCold), lat(fl.Connect, fl.ConnectCold)
		// DOC: model-extra-one: what each design adds, with one client.
		switch v {
		case "prefork":
			return cost{}, "0"
		case "fdpass":
			return lat(fl.FdPass, fl.FdPassAfterT), "F (after T)"
		case "v1":
			return req.plus(fl.ProcChunk.times(k - 1)), fmt.Sprintf("P_req (after T) + %d P_chunk", k-1)
		case "v2":
			return tc.plus(req).plus(cc), "T (cold) + P_req (after T) + C (cold)"
		case "v3":
			return tc.plus(fl.TCP).plus(req).plus(cc), "T (cold) + T + P_req (after T) + C (cold)"
		}
		return cost{}, ""
	}
	loaded := func(hot, l cost) cost { return cost{Lat: hot.Lat, CPU: l.CPU} }
	// DOC: model-extra: what each design adds to the floor.
	switch v {
	case "prefork":
		// The worker that accepted the connection is a floor server.
		return cost{}, "0"
	case "fdpass":
		// The line and the descriptor to a worker, its "done" back.
		return loaded(fl.FdPass, fl.FdPassLoaded), "F"
	case "v1":
		// The request's first chunk rides on the request's round trip
		// with a worker; each further chunk costs one more.
		return loaded(fl.ProcReq, fl.ProcReqLoaded).plus(fl.ProcChunk.times(k - 1)),
			fmt.Sprintf("P_req + %d P_chunk", k-1)
	case "v2":
		// WAIT and DONE on the session, a ping, the worker's connection
		// to the client, the pong.
		return fl.TCP.plus(fl.ProcReq).plus(fl.Connect), "T + P_req + C"
	case "v3":
		// GOTO on the session, ping and pong "ready", the client's
		// connection to the worker, and the worker's proof (PROVE, PROOF).
		return fl.TCP.times(2).plus(fl.ProcReq).plus(fl.Connect), "2 T + P_req + C"
	}
	return cost{}, ""
}

// bound is max(latency, C × CPU / K).
func bound(c cost, clients, cores int) time.Duration {
	// DOC: model-bound: one client waits for latencies, many for everyone's CPU.
	return max(c.Lat, time.Duration(int64(c.CPU)*int64(clients)/int64(max(cores, 1))))
}

// predict fills in the model's p50 of each result.
func predict(results []result, fl floors) {
	p50, mean := map[rowSpec]time.Duration{}, map[rowSpec]time.Duration{}
	for _, r := range results {
		if r.V == "floor" && r.Err == nil && r.Sum != nil {
			p50[r.Row] = r.Sum.P50
			if rps := r.Sum.RPS(); rps > 0 {
				mean[r.Row] = time.Duration(float64(r.Row.Clients) / rps * float64(time.Second))
			}
		}
	}
	for i := range results {
		r := &results[i]
		if strings.HasPrefix(r.V, "c-") {
			continue // the C rows are references: the model prices the Go primitives
		}
		if r.V == "floor" {
			c, f := floorModel(fl, r.Row)
			r.Model = bound(c, r.Row.Clients, fl.Cores)
			r.Formula = fmt.Sprintf("max(%s, C·CPU/K) = max(%s, %d×%s/%d)", f, dur(c.Lat), r.Row.Clients, dur(c.CPU), fl.Cores)
			continue
		}
		b, ok := p50[r.Row]
		if !ok {
			continue
		}
		c, f := extra(r.V, fl, r.Row)
		if c == (cost{}) {
			r.Model, r.Formula = b, "floor p50, nothing added"
			continue
		}
		// DOC: model-base: with many clients, a design that wakes a
		// worker for each request answers one request per wake-up: its
		// p50 sits near its mean. The floor answers in batches, its p50
		// far below its mean. So the base is the floor's mean, C ÷ its
		// throughput (Little's law), which is the floor's CPU per request
		// × C / K when the processors are the bottleneck.
		what := "floor p50"
		if m, ok := mean[r.Row]; ok && r.Row.Clients > 1 {
			b, what = m, "floor mean"
		}
		r.Model = b + bound(c, r.Row.Clients, fl.Cores)
		r.Formula = fmt.Sprintf("%s + max(%s, C·CPU/K) = %s + max(%s, %d×%s/%d)",
			what, f, dur(b), dur(c.Lat), r.Row.Clients, dur(c.CPU), fl.Cores)
	}
}
