// primitives.go demonstrates measuring the floors that a request is made
// of, each between two real processes where the real thing crosses two:
// a pipe ping/pong round trip (bare, and as common/proc pays it), a
// descriptor passed over a Unix socket and its "done", a loopback TCP
// round trip on an open connection, a TCP
// connect+accept+close, loopback TCP bandwidth, the copy into and out of
// a shared-memory slot, and the cost of producing and checking the
// requetetype2 pattern. The same functions run under
// `go test -bench . ./common/tools/osps-bench` (primitives_test.go) and inside the
// bench runner (model.go), so the table's predictions and the Go
// benchmarks are one measurement.
//
// The peer process is this same binary re-executed (the helper-process
// pattern of Go's os/exec tests): with OSPS_BENCH_HELPER set for the bare
// peers, or as the internal role "proc-worker" for common/proc's workers,
// which their pool starts itself.

package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"osps/common/pingpong"
	"osps/common/proc"
	"osps/common/service"
	"osps/common/shm"
	"osps/common/trace"
	"osps/common/wire"
)

// helperEnv names the peer to run when this binary is re-executed.
const helperEnv = "OSPS_BENCH_HELPER"

// Sizes used by the primitives.
const (
	msgSize   = 32                // a request or reply line, about
	chunkSize = service.ChunkSize // a slot's data area, a worker's write
)

// helperMain runs the peer named kind; it is main's body in the child.
func helperMain(kind string) int {
	var err error
	switch kind {
	case "pipe":
		err = pipeEcho()
	case "rawpipe":
		err = rawPipeEcho()
	case "tcp":
		err = tcpPeer()
	case "fdpass":
		err = fdPassEcho()
	default:
		err = fmt.Errorf("unknown helper %q", kind)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench helper %s: %v\n", kind, err)
		return 1
	}
	return 0
}

// startHelper re-executes this binary as the peer kind. Its stdin is a
// pipe: closing it tells the peer to exit.
func startHelper(kind string, extra ...*os.File) (*exec.Cmd, io.WriteCloser, *bufio.Reader, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, nil, nil, fmt.Errorf("find own binary: %w", err)
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), helperEnv+"="+kind)
	cmd.Stderr = os.Stderr
	cmd.ExtraFiles = extra
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, nil, nil, fmt.Errorf("helper %s stdin: %w", kind, err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, nil, nil, fmt.Errorf("helper %s stdout: %w", kind, err)
	}
	if err := cmd.Start(); err != nil {
		return nil, nil, nil, fmt.Errorf("start helper %s: %w", kind, err)
	}
	return cmd, stdin, bufio.NewReader(stdout), nil
}

// stopHelper closes the peer's stdin and reaps it.
func stopHelper(kind string, cmd *exec.Cmd, stdin io.Closer) error {
	stdin.Close()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("helper %s: %w", kind, err)
		}
		return nil
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		return fmt.Errorf("helper %s did not exit 10s after its stdin closed: killed", kind)
	}
}

// ---- pipe ping/pong between two processes ----

// pipePeer is a child process that answers every ping record on fd 3
// with the same record on fd 4, as a worker pongs its dispatcher.
type pipePeer struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	ping  *os.File // write end, to the child's fd 3
	pong  *os.File // read end, from the child's fd 4
}

func startPipePeer() (*pipePeer, error) {
	pingR, pingW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("ping pipe: %w", err)
	}
	pongR, pongW, err := os.Pipe()
	if err != nil {
		pingR.Close()
		pingW.Close()
		return nil, fmt.Errorf("pong pipe: %w", err)
	}
	cmd, stdin, _, err := startHelper("pipe", pingR, pongW)
	pingR.Close() // the child's ends: close ours, or EOF never comes
	pongW.Close()
	if err != nil {
		pingW.Close()
		pongR.Close()
		return nil, err
	}
	p := &pipePeer{cmd: cmd, stdin: stdin, ping: pingW, pong: pongR}
	if err := p.roundTrips(1); err != nil { // the peer is up: its start-up is not measured
		_ = p.close()
		return nil, fmt.Errorf("first round trip: %w", err)
	}
	return p, nil
}

// roundTrips sends n pings and reads n pongs, one after the other.
func (p *pipePeer) roundTrips(n int) error {
	for i := range n {
		if err := pingpong.Send(p.ping, pingpong.Msg{Op: pingpong.PingRequest, Seq: uint32(i)}); err != nil {
			return err
		}
		m, err := pingpong.Recv(p.pong)
		if err != nil {
			return fmt.Errorf("pong %d: %w", i, err)
		}
		if m.Seq != uint32(i) {
			return fmt.Errorf("pong %d carries seq %d", i, m.Seq)
		}
	}
	return nil
}

func (p *pipePeer) close() error {
	p.ping.Close() // the child reads end of file and exits
	p.pong.Close()
	return stopHelper("pipe", p.cmd, p.stdin)
}

// pipeEcho is the child: pong every ping until end of file.
func pipeEcho() error {
	// As a worker does (proc.Attach): non-blocking before os.NewFile, so
	// the Go runtime polls the pipes.
	for _, fd := range []int{3, 4} {
		if err := unix.SetNonblock(fd, true); err != nil {
			return fmt.Errorf("fd %d is not an inherited pipe end: %w", fd, err)
		}
	}
	in, out := os.NewFile(3, "ping"), os.NewFile(4, "pong")
	for {
		m, err := pingpong.Recv(in)
		if errors.Is(err, pingpong.ErrPeerGone) {
			return nil
		}
		if err != nil {
			return err
		}
		m.Op = pingpong.PongDone
		if err := pingpong.Send(out, m); err != nil {
			return err
		}
	}
}

// ---- the kernel's pipe round trip, on one CPU or across two ----

// cpuEnv names the CPU the rawpipe peer pins itself to.
const cpuEnv = "OSPS_BENCH_CPU"

// pinned runs f on a locked OS thread bound to cpu, then restores the
// thread's CPU set. With blocking system calls on that thread, the
// kernel wakes that very thread: no Go scheduler in the way.
func pinned(cpu int, f func() error) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var old, one unix.CPUSet
	if err := unix.SchedGetaffinity(0, &old); err != nil {
		return fmt.Errorf("sched_getaffinity: %w", err)
	}
	one.Set(cpu)
	// DOC: prim-pinned: this thread, and only it, runs on cpu from now on.
	if err := unix.SchedSetaffinity(0, &one); err != nil {
		return fmt.Errorf("pin to cpu %d: %w", cpu, err)
	}
	defer func() { _ = unix.SchedSetaffinity(0, &old) }()
	return f()
}

// rawPipePeer is a child that answers each record on fd 3 with the same
// record on fd 4, with blocking read(2) and write(2) on a thread pinned
// to one CPU.
type rawPipePeer struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	ping  int // write end, raw and blocking
	pong  int // read end, raw and blocking
}

func startRawPipePeer(cpu int) (*rawPipePeer, error) {
	var ping, pong [2]int
	if err := unix.Pipe2(ping[:], unix.O_CLOEXEC); err != nil {
		return nil, fmt.Errorf("ping pipe: %w", err)
	}
	if err := unix.Pipe2(pong[:], unix.O_CLOEXEC); err != nil {
		unix.Close(ping[0])
		unix.Close(ping[1])
		return nil, fmt.Errorf("pong pipe: %w", err)
	}
	childPing, childPong := os.NewFile(uintptr(ping[0]), "ping"), os.NewFile(uintptr(pong[1]), "pong")
	os.Setenv(cpuEnv, strconv.Itoa(cpu)) // read by the child only
	cmd, stdin, _, err := startHelper("rawpipe", childPing, childPong)
	os.Unsetenv(cpuEnv)
	childPing.Close()
	childPong.Close()
	if err != nil {
		unix.Close(ping[1])
		unix.Close(pong[0])
		return nil, err
	}
	p := &rawPipePeer{cmd: cmd, stdin: stdin, ping: ping[1], pong: pong[0]}
	if err := p.roundTrips(1); err != nil { // the peer is up: its start-up is not measured
		_ = p.close()
		return nil, fmt.Errorf("first round trip: %w", err)
	}
	return p, nil
}

// roundTrips makes n round trips from the calling thread (see pinned).
func (p *rawPipePeer) roundTrips(n int) error {
	var b [pingpong.RecordSize]byte
	for i := range n {
		if _, err := rawIO(unix.Write, p.ping, b[:]); err != nil {
			return fmt.Errorf("ping %d: %w", i, err)
		}
		if k, err := rawIO(unix.Read, p.pong, b[:]); err != nil || k != len(b) {
			return fmt.Errorf("pong %d: %d bytes, %v", i, k, err)
		}
	}
	return nil
}

func (p *rawPipePeer) close() error {
	unix.Close(p.ping) // the child reads end of file and exits
	unix.Close(p.pong)
	return stopHelper("rawpipe", p.cmd, p.stdin)
}

// rawIO is read(2) or write(2), again after a signal interrupts it (the
// Go runtime preempts threads with signals).
func rawIO(op func(int, []byte) (int, error), fd int, b []byte) (int, error) {
	for {
		n, err := op(fd, b)
		if !errors.Is(err, unix.EINTR) {
			return n, err
		}
	}
}

// rawPipeEcho is the child: pinned to the CPU named in its environment,
// it pongs every ping until end of file, with blocking system calls.
func rawPipeEcho() error {
	cpu, err := strconv.Atoi(os.Getenv(cpuEnv))
	if err != nil {
		return fmt.Errorf("%s=%q: %w", cpuEnv, os.Getenv(cpuEnv), err)
	}
	return pinned(cpu, func() error {
		for _, fd := range []int{3, 4} {
			if err := unix.SetNonblock(fd, false); err != nil {
				return fmt.Errorf("fd %d is not an inherited pipe end: %w", fd, err)
			}
		}
		var b [pingpong.RecordSize]byte
		for {
			n, err := rawIO(unix.Read, 3, b[:])
			if err != nil {
				return err
			}
			if n == 0 {
				return nil
			}
			if _, err := rawIO(unix.Write, 4, b[:n]); err != nil {
				return err
			}
		}
	})
}

// ---- loopback TCP with a peer process ----

// tcpPeerAddrs are the peer's three listeners.
type tcpPeerAddrs struct {
	echo  string // answers each msgSize message with one of the same size
	close string // accepts and closes at once
	sink  string // reads until end of file, then answers one byte
}

// tcpPeer is the child: three listeners until its stdin closes.
func tcpPeer() error {
	var lns [3]net.Listener
	for i := range lns {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return fmt.Errorf("listen: %w", err)
		}
		defer ln.Close()
		lns[i] = ln
	}
	go acceptEach(lns[0], func(c net.Conn) {
		buf := make([]byte, msgSize)
		for {
			if _, err := io.ReadFull(c, buf); err != nil {
				return
			}
			if _, err := c.Write(buf); err != nil {
				return
			}
		}
	})
	go acceptEach(lns[1], func(net.Conn) {})
	go acceptEach(lns[2], func(c net.Conn) {
		if _, err := io.Copy(io.Discard, c); err == nil {
			_, _ = c.Write([]byte{1})
		}
	})
	fmt.Printf("%s %s %s\n", lns[0].Addr(), lns[1].Addr(), lns[2].Addr())
	_, _ = io.Copy(io.Discard, os.Stdin) // until the parent closes it
	return nil
}

// acceptEach serves each connection of ln with f, then closes it. The
// peer lives only as long as its parent's benchmark: its connections get
// no deadline of their own, the parent's side has them.
func acceptEach(ln net.Listener, f func(net.Conn)) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			f(c)
		}()
	}
}

// tcpClient is the parent's side of the TCP primitives.
type tcpClient struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	addrs tcpPeerAddrs
	echo  net.Conn // one open connection for the round trips
}

func startTCPPeer() (*tcpClient, error) {
	cmd, stdin, out, err := startHelper("tcp")
	if err != nil {
		return nil, err
	}
	line, err := out.ReadString('\n')
	f := strings.Fields(line)
	if err != nil || len(f) != 3 {
		_ = stopHelper("tcp", cmd, stdin)
		return nil, fmt.Errorf("tcp helper said %q: %v", line, err)
	}
	t := &tcpClient{cmd: cmd, stdin: stdin, addrs: tcpPeerAddrs{echo: f[0], close: f[1], sink: f[2]}}
	if t.echo, err = net.DialTimeout("tcp", t.addrs.echo, ioTimeout); err != nil {
		_ = stopHelper("tcp", cmd, stdin)
		return nil, fmt.Errorf("dial echo: %w", err)
	}
	return t, nil
}

func (t *tcpClient) close() error {
	t.echo.Close()
	return stopHelper("tcp", t.cmd, t.stdin)
}

const ioTimeout = 30 * time.Second

// roundTrips sends n messages on the open connection, each after the
// answer to the previous one came back.
func (t *tcpClient) roundTrips(n int) error {
	buf := make([]byte, msgSize)
	for i := range n {
		_ = t.echo.SetDeadline(time.Now().Add(ioTimeout))
		if _, err := t.echo.Write(buf); err != nil {
			return fmt.Errorf("round trip %d: %w", i, err)
		}
		if _, err := io.ReadFull(t.echo, buf); err != nil {
			return fmt.Errorf("round trip %d: %w", i, err)
		}
	}
	return nil
}

// connects opens n connections one after the other: connect, the peer
// accepts and closes, we see end of file and close too.
func (t *tcpClient) connects(n int) error {
	var one [1]byte
	for i := range n {
		c, err := net.DialTimeout("tcp", t.addrs.close, ioTimeout)
		if err != nil {
			return fmt.Errorf("connect %d: %w", i, err)
		}
		_ = c.SetReadDeadline(time.Now().Add(ioTimeout))
		_, err = c.Read(one[:])
		c.Close()
		if !errors.Is(err, io.EOF) {
			return fmt.Errorf("connect %d: expected end of file, got %v", i, err)
		}
	}
	return nil
}

// stream writes n chunks of chunkSize bytes on one connection and waits
// until the peer has read them all.
func (t *tcpClient) stream(n int) error {
	c, err := net.DialTimeout("tcp", t.addrs.sink, ioTimeout)
	if err != nil {
		return fmt.Errorf("dial sink: %w", err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(ioTimeout + time.Duration(n)*time.Millisecond))
	buf := make([]byte, chunkSize)
	wire.FillPattern(buf, 0)
	for i := range n {
		if _, err := c.Write(buf); err != nil {
			return fmt.Errorf("chunk %d: %w", i, err)
		}
	}
	if err := c.(*net.TCPConn).CloseWrite(); err != nil {
		return fmt.Errorf("shutdown write: %w", err)
	}
	var ack [1]byte
	if _, err := io.ReadFull(c, ack[:]); err != nil {
		return fmt.Errorf("sink's acknowledgement: %w", err)
	}
	return nil
}

// ---- a ping/pong round trip through common/proc ----

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
// payload: ping the same worker again and await its pong, n times.
func (p *procPool) chunks(n int) error {
	ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
	w, err := p.pool.Acquire(ctx)
	cancel()
	if err != nil {
		return fmt.Errorf("no idle worker: %w", err)
	}
	defer p.pool.Release(w)
	for i := range n {
		if err := p.roundTrip(w, pingpong.PingNext); err != nil {
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

// concurrently runs f(i, n/k) for i in 0..k-1 at once: k round trips in
// flight, as a busy dispatcher has, so that the CPU per round trip is
// what it costs under load (no processor idle, none spinning for work).
func concurrently(k, n int, f func(i, n int) error) error {
	errs := make(chan error, k)
	for i := range k {
		go func() { errs <- f(i, max(1, n/k)) }()
	}
	var err error
	for range k {
		err = errors.Join(err, <-errs)
	}
	return err
}

// loadedRequests is requests with W round trips in flight at once.
func (p *procPool) loadedRequests(n int) error {
	return concurrently(p.pool.Seg.NSlots(), n, func(_, n int) error { return p.requests(n) })
}

// ---- a descriptor passed to a peer process, and its "done" ----

// fdPeers are W peer processes, each on a Unix socket pair that keeps
// message boundaries, as the fdpass reference server's workers are
// (fdpass.go); one end of a stream socket pair stands for the client's
// connection that each message carries.
type fdPeers struct {
	cmds   []*exec.Cmd
	stdins []io.WriteCloser
	socks  []*net.UnixConn
	conn   [2]int // the socket pair whose first end is passed
	next   int
}

func startFdPeers(workers int) (*fdPeers, error) {
	p := &fdPeers{conn: [2]int{-1, -1}}
	if err := unixSocketpair(unix.SOCK_STREAM, &p.conn); err != nil {
		return nil, err
	}
	for range workers {
		var pair [2]int
		if err := unixSocketpair(unix.SOCK_SEQPACKET, &pair); err != nil {
			_ = p.close()
			return nil, err
		}
		theirs := os.NewFile(uintptr(pair[1]), "fdpass-peer")
		cmd, stdin, _, err := startHelper("fdpass", theirs)
		theirs.Close()
		ours := os.NewFile(uintptr(pair[0]), "fdpass")
		c, cerr := net.FileConn(ours)
		ours.Close()
		if err = errors.Join(err, cerr); err != nil {
			if cmd != nil {
				_ = stopHelper("fdpass", cmd, stdin)
			}
			_ = p.close()
			return nil, err
		}
		p.cmds, p.stdins, p.socks = append(p.cmds, cmd), append(p.stdins, stdin), append(p.socks, c.(*net.UnixConn))
		// One pass first: the peer has started (its start-up is not
		// the measurement's).
		if err := p.roundTrip(p.socks[len(p.socks)-1]); err != nil {
			_ = p.close()
			return nil, fmt.Errorf("first pass: %w", err)
		}
	}
	return p, nil
}

func unixSocketpair(typ int, fds *[2]int) error {
	pair, err := unix.Socketpair(unix.AF_UNIX, typ|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("socketpair: %w", err)
	}
	*fds = pair
	return nil
}

// roundTrips passes the descriptor n times, to the W peers in turn (as
// the fdpass dispatcher hands out the worker idle the longest), each
// time with a request line, and waits for the peer's "done".
func (p *fdPeers) roundTrips(n int) error {
	for i := range n {
		p.next = (p.next + 1) % len(p.socks)
		if err := p.roundTrip(p.socks[p.next]); err != nil {
			return fmt.Errorf("pass %d: %w", i, err)
		}
	}
	return nil
}

func (p *fdPeers) roundTrip(s *net.UnixConn) error {
	_ = s.SetDeadline(time.Now().Add(ioTimeout))
	if _, _, err := s.WriteMsgUnix([]byte("requetetype1\n"), unix.UnixRights(p.conn[0]), nil); err != nil {
		return err
	}
	var b [1]byte
	if _, err := s.Read(b[:]); err != nil {
		return fmt.Errorf("done: %w", err)
	}
	return nil
}

// loaded is roundTrips with W passes in flight at once, one per peer.
func (p *fdPeers) loaded(n int) error {
	return concurrently(len(p.socks), n, func(i, n int) error {
		for range n {
			if err := p.roundTrip(p.socks[i]); err != nil {
				return err
			}
		}
		return nil
	})
}

func (p *fdPeers) close() error {
	var err error
	for i := range p.cmds {
		p.socks[i].Close() // the peer reads end of file and exits
		err = errors.Join(err, stopHelper("fdpass", p.cmds[i], p.stdins[i]))
	}
	for _, fd := range p.conn {
		if fd >= 0 {
			unix.Close(fd)
		}
	}
	return err
}

// fdPassEcho is the peer: for each message on fd 3, make the descriptor
// it carries a connection (receivedConn, as the fdpass worker does),
// close it, and answer "d".
func fdPassEcho() error {
	f := os.NewFile(3, "dispatcher")
	c, err := net.FileConn(f)
	f.Close()
	uc, ok := c.(*net.UnixConn)
	if err != nil || !ok {
		return fmt.Errorf("fd 3 is not a Unix socket: %v", err)
	}
	defer uc.Close()
	msg, oob := make([]byte, wire.MaxLine+2), make([]byte, unix.CmsgSpace(4))
	for {
		n, oobn, _, _, err := uc.ReadMsgUnix(msg, oob)
		if n == 0 || errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		conn, err := receivedFile(oob[:oobn])
		if err != nil {
			return err
		}
		conn.Close()
		if _, err := uc.Write([]byte("d")); err != nil {
			return err
		}
	}
}

// ---- copies into and out of a real shared-memory slot ----

// slotCopier holds a real System V segment of one slot (marked IPC_RMID
// at once by shm.Create) and a private buffer of the same size.
type slotCopier struct {
	seg  *shm.Segment
	data []byte
	priv []byte
}

func newSlotCopier() (*slotCopier, error) {
	seg, err := shm.Create(1, chunkSize)
	if err != nil {
		return nil, err
	}
	s := &slotCopier{seg: seg, data: seg.Slot(0).Data()[:chunkSize], priv: make([]byte, chunkSize)}
	wire.FillPattern(s.priv, 0)
	copy(s.data, s.priv) // touch every page once: no page fault is measured
	return s, nil
}

// copyIn copies a chunk from private memory into the slot n times (what
// a worker's answer costs when it is built elsewhere and then copied).
func (s *slotCopier) copyIn(n int) {
	for range n {
		copy(s.data, s.priv)
	}
}

// copyOut copies the slot's chunk into private memory n times.
func (s *slotCopier) copyOut(n int) {
	for range n {
		copy(s.priv, s.data)
	}
}

func (s *slotCopier) close() error { return s.seg.Detach() }

// ---- the service's own work: producing and checking the pattern ----

// fillChunks produces n chunks of the requetetype2 pattern (the worker's
// work), into buf.
func fillChunks(buf []byte, n int) {
	for i := range n {
		wire.FillPattern(buf, int64(i)*int64(len(buf)))
	}
}

// checkChunks checks buf as chunk 0 of the pattern n times (the client's
// work).
func checkChunks(buf []byte, n int) error {
	for range n {
		if err := wire.CheckPattern(buf, 0); err != nil {
			return err
		}
	}
	return nil
}
