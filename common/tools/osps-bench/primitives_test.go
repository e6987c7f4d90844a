// primitives_test.go is the Go benchmark face of the primitives
// (primitives.go and its peer_*.go files): the floors that the cost
// model adds up (docs/comparison.md). Run them with
//
//	go test -run '^$' -bench . ./common/tools/osps-bench
//
// Without -bench, the tests below run each primitive a few times, so a
// broken primitive fails `go test` instead of silently skewing the model.

package main

import (
	"os"
	"runtime"
	"testing"
	"time"

	"osps/common/tools/conformance"
	"osps/common/tools/procfs"
	"osps/common/wire"
)

// withPeer starts a peer, runs f(peer, b.N) on the clock, and closes the
// peer: the shape of every round-trip benchmark below.
func withPeer[P any](b *testing.B, start func() (P, error), close func(P) error, f func(P, int) error) {
	p, err := start()
	if err != nil {
		b.Fatal(err)
	}
	defer func() {
		if err := close(p); err != nil {
			b.Error(err)
		}
	}()
	b.ResetTimer()
	if err := f(p, b.N); err != nil {
		b.Fatal(err)
	}
}

func BenchmarkPipeRoundTrip(b *testing.B) {
	withPeer(b, startPipePeer, (*pipePeer).close, (*pipePeer).roundTrips)
}

func withProcPool(b *testing.B, lifo bool, f func(*procPool, int) error) {
	start := func() (*procPool, error) { return startProcPool(4, lifo) }
	withPeer(b, start, func(p *procPool) error { p.close(); return nil }, f)
}

// BenchmarkProcRequest is a dispatcher's round trip with a worker for a
// new request, through common/proc, 4 workers taking turns.
func BenchmarkProcRequest(b *testing.B) { withProcPool(b, false, (*procPool).requests) }

// BenchmarkProcRequestLIFO is the same with serve --lifo: the worker idle
// the shortest takes it, the same one each time.
func BenchmarkProcRequestLIFO(b *testing.B) { withProcPool(b, true, (*procPool).requests) }

// BenchmarkProcChunk is a further round trip with the same worker.
func BenchmarkProcChunk(b *testing.B) { withProcPool(b, false, (*procPool).chunks) }

// BenchmarkFdPassRoundTrip is a descriptor and a line passed to a peer
// over a Unix socket, and its "done", 4 peers taking turns.
func BenchmarkFdPassRoundTrip(b *testing.B) {
	start := func() (*fdPeers, error) { return startFdPeers(4) }
	withPeer(b, start, (*fdPeers).close, (*fdPeers).roundTrips)
}

func withTCPPeer(b *testing.B, f func(*tcpClient, int) error) {
	withPeer(b, startTCPPeer, (*tcpClient).close, f)
}

func BenchmarkTCPRoundTrip(b *testing.B) { withTCPPeer(b, (*tcpClient).roundTrips) }

func BenchmarkTCPConnect(b *testing.B) { withTCPPeer(b, (*tcpClient).connects) }

func BenchmarkTCPStream(b *testing.B) {
	b.SetBytes(chunkSize)
	withTCPPeer(b, (*tcpClient).stream)
}

func withSlot(b *testing.B, f func(*slotCopier, int)) {
	s, err := newSlotCopier()
	if err != nil {
		b.Fatal(err)
	}
	defer func() {
		if err := s.close(); err != nil {
			b.Error(err)
		}
	}()
	b.SetBytes(chunkSize)
	b.ResetTimer()
	f(s, b.N)
}

func BenchmarkShmCopyIn(b *testing.B) { withSlot(b, (*slotCopier).copyIn) }

func BenchmarkShmCopyOut(b *testing.B) { withSlot(b, (*slotCopier).copyOut) }

func BenchmarkPatternFill(b *testing.B) {
	buf := make([]byte, chunkSize)
	b.SetBytes(chunkSize)
	fillChunks(buf, b.N)
}

func BenchmarkPatternCheck(b *testing.B) {
	buf := make([]byte, chunkSize)
	fillChunks(buf, 1)
	b.SetBytes(chunkSize)
	if err := checkChunks(buf, b.N); err != nil {
		b.Fatal(err)
	}
}

func benchRawPipe(b *testing.B, peerCPU int) {
	if runtime.NumCPU() <= peerCPU {
		b.Skip("needs a second CPU")
	}
	p, err := startRawPipePeer(peerCPU)
	if err != nil {
		b.Fatal(err)
	}
	defer func() {
		if err := p.close(); err != nil {
			b.Error(err)
		}
	}()
	b.ResetTimer()
	if err := pinned(0, func() error { return p.roundTrips(b.N) }); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkRawPipeOneCPU is the kernel's pipe round trip, both
// processes on CPU 0.
func BenchmarkRawPipeOneCPU(b *testing.B) { benchRawPipe(b, 0) }

// BenchmarkRawPipeTwoCPUs is the same, the peer on CPU 1.
func BenchmarkRawPipeTwoCPUs(b *testing.B) { benchRawPipe(b, 1) }

// TestPrimitivesWork runs each primitive a few times: a primitive that
// breaks fails here, instead of skewing the model in silence. Nothing is
// timed. Every peer process is reaped and every segment gone after.
func TestPrimitivesWork(t *testing.T) {
	p, err := startPipePeer()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.roundTrips(20); err != nil {
		t.Error(err)
	}
	if err := p.close(); err != nil {
		t.Error(err)
	}

	for cpu := range min(runtime.NumCPU(), 2) {
		rp, err := startRawPipePeer(cpu)
		if err != nil {
			t.Fatal(err)
		}
		if err := pinned(0, func() error { return rp.roundTrips(20) }); err != nil {
			t.Errorf("raw pipe, peer on cpu %d: %v", cpu, err)
		}
		if err := rp.close(); err != nil {
			t.Error(err)
		}
	}

	pp, err := startProcPool(2, false)
	if err != nil {
		t.Fatal(err)
	}
	shmid := pp.pool.Seg.ID()
	if err := pp.requests(10); err != nil {
		t.Error(err)
	}
	if err := pp.chunks(10); err != nil {
		t.Error(err)
	}
	if err := pp.loadedRequests(10); err != nil {
		t.Error(err)
	}
	pp.close()
	if conformance.SegmentExists(shmid) {
		t.Errorf("segment %d of the pong pool still exists", shmid)
	}

	fp, err := startFdPeers(2)
	if err != nil {
		t.Fatal(err)
	}
	if err := fp.roundTrips(10); err != nil {
		t.Error(err)
	}
	if err := fp.loaded(10); err != nil {
		t.Error(err)
	}
	if err := fp.close(); err != nil {
		t.Error(err)
	}

	tc, err := startTCPPeer()
	if err != nil {
		t.Fatal(err)
	}
	for name, f := range map[string]func(int) error{"round trips": tc.roundTrips, "connects": tc.connects, "stream": tc.stream} {
		if err := f(10); err != nil {
			t.Errorf("tcp %s: %v", name, err)
		}
	}
	if err := tc.close(); err != nil {
		t.Error(err)
	}

	s, err := newSlotCopier()
	if err != nil {
		t.Fatal(err)
	}
	s.copyIn(3)
	s.copyOut(3)
	if err := wire.CheckPattern(s.priv, 0); err != nil {
		t.Errorf("copy out of the slot: %v", err)
	}
	if err := s.close(); err != nil {
		t.Error(err)
	}
	if conformance.SegmentExists(s.seg.ID()) {
		t.Errorf("segment %d of the slot copier still exists", s.seg.ID())
	}

	buf := make([]byte, chunkSize)
	fillChunks(buf, 1)
	if err := checkChunks(buf, 2); err != nil {
		t.Error(err)
	}
	buf[77]++
	if err := checkChunks(buf, 1); err == nil {
		t.Error("checkChunks accepted a wrong byte")
	}
	if kids := procfs.ChildPids(os.Getpid()); len(kids) > 0 {
		t.Errorf("peer processes left: %v", kids)
	}
}

// TestMeasure checks the two measuring loops on a cheap operation.
func TestMeasure(t *testing.T) {
	// A loaded machine may oversleep the first call past the target, so
	// the check is on the last batch: it lasted at least the target.
	calls, last := 0, 0
	c, err := measure(2*time.Millisecond, func(n int) error {
		last = n
		for range n {
			calls++
			time.Sleep(50 * time.Microsecond)
		}
		return nil
	})
	if err != nil || c.Lat < 50*time.Microsecond || time.Duration(last)*(c.Lat+1) < 2*time.Millisecond {
		t.Errorf("measure: %+v, last batch of %d calls (%d in all), %v", c, last, calls, err)
	}
	calls = 0
	c, err = measureCold(5*time.Millisecond, func(n int) error { calls += n; return nil })
	if err != nil || calls < 1 || calls > 10 {
		t.Errorf("measureCold: %+v after %d calls (each after %v asleep), %v", c, calls, idlePause, err)
	}
	if _, err := measure(time.Millisecond, func(int) error { return os.ErrClosed }); err == nil {
		t.Error("measure hid the operation's error")
	}
}
