// fdpass.go is the reference design "descriptor passing" (UNP ch. 30, the
// server whose parent passes each connection to a pre-started child over a
// Unix socket): the dispatcher accepts each connection and, for each
// request line, hands an idle worker the connection itself, as a
// descriptor in an SCM_RIGHTS message on a Unix socket; the worker writes
// the answer straight on the client's connection, closes its copy of the
// descriptor and says "done".
//
// The dispatcher keeps the session: it reads each request line (the
// worker only writes), so a persistent session of many requests works
// with fewer workers than sessions, and a worker is held for one request
// only, as in v1, v2 and v3. The payload never crosses the dispatcher,
// and no second connection is made. It speaks v1's wire format, so v1's
// client drives it (docs/comparison.md, "The reference designs").
//
//	osps-bench fdpass [--listen 127.0.0.1] [--port 2222] [--workers 4]    prints "ready host:port"

package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/spf13/pflag"
	"golang.org/x/sys/unix"

	"osps/common/cli"
	"osps/common/service"
	"osps/common/wire"
)

// fdpassWorkerRole is the internal role of this binary that runs one
// fdpass worker.
const fdpassWorkerRole = "fdpass-worker"

// fdpass is the dispatcher: the floor's session loop, whose request
// lines go to a worker (floor.handoff).
type fdpass struct {
	*floor
	idle      chan *fdWorker // idle workers, oldest first
	queueWait time.Duration  // how long a request waits for an idle worker
	doneWait  time.Duration  // how long a worker may take to answer
}

// fdWorker is the dispatcher's handle on one worker.
type fdWorker struct {
	*refWorker
	sock *net.UnixConn // our end of the socket pair; the worker's is its fd 3
}

func runFdpass(args []string) int {
	fs := pflag.NewFlagSet("fdpass", pflag.ContinueOnError)
	var c refConfig
	c.register(fs)
	queue := fs.Duration("queue-timeout", 5*time.Second, "answer ERR busy when no worker is idle within this time")
	answer := fs.Duration("answer-timeout", 2*time.Minute, "kill a worker that has not answered within this time")
	ln, st := c.open("fdpass", fs, args)
	if ln == nil {
		return st
	}
	d := &fdpass{floor: newFloor(ln, c.maxBytes, c.idle, cli.NewLogger(false).With("role", "fdpass")),
		idle: make(chan *fdWorker, c.workers), queueWait: *queue, doneWait: *answer}
	d.handoff = d.pass
	var ws []*fdWorker
	defer func() { stopFdWorkers(ws) }()
	for i := range c.workers {
		w, err := startFdWorker(i, c.maxBytes)
		if err != nil {
			ln.Close()
			fmt.Fprintf(os.Stderr, "fdpass: %v\n", err)
			return 1
		}
		ws = append(ws, w)
		d.idle <- w
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	_ = cli.PrintReady(os.Stdout, ln.Addr())
	d.serve(ctx)
	return 0
}

// startFdWorker makes a socket pair that keeps message boundaries
// (SOCK_SEQPACKET) and starts worker id with one end as its fd 3.
func startFdWorker(id int, maxBytes int64) (*fdWorker, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("worker %d: socketpair: %w", id, err)
	}
	ours, theirs := os.NewFile(uintptr(fds[0]), "fdpass-dispatcher"), os.NewFile(uintptr(fds[1]), "fdpass-worker")
	defer theirs.Close() // the worker has its copy once started
	c, err := net.FileConn(ours)
	ours.Close()
	if err != nil {
		return nil, fmt.Errorf("worker %d: socket: %w", id, err)
	}
	rw, err := startRefWorker(fdpassWorkerRole, id, []string{"--max-bytes", strconv.FormatInt(maxBytes, 10)},
		[]*os.File{theirs}, 5*time.Second)
	if err != nil {
		c.Close()
		return nil, err
	}
	return &fdWorker{refWorker: rw, sock: c.(*net.UnixConn)}, nil
}

// stopFdWorkers closes each worker's socket (it reads end of file and
// exits), and reaps them all.
func stopFdWorkers(ws []*fdWorker) {
	for _, w := range ws {
		w.sock.Close()
	}
	for _, w := range ws {
		w.stop(5 * time.Second)
	}
}

// pass is one request: take the idle worker that waited longest, send it
// the line with the connection's descriptor, and await its "done".
func (d *fdpass) pass(conn net.Conn, line []byte) error {
	var w *fdWorker
	select {
	case w = <-d.idle:
	default: // none idle now: wait, a bounded time
		t := time.NewTimer(d.queueWait)
		select {
		case w = <-d.idle:
			t.Stop()
		case <-t.C:
			_ = conn.SetWriteDeadline(time.Now().Add(d.ioWait))
			return wire.WriteErr(conn, wire.Errorf(wire.CodeBusy, "no idle worker within %v", d.queueWait))
		}
	}
	sc, ok := conn.(syscall.Conn)
	if !ok {
		d.idle <- w
		return errors.New("not a socket connection")
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		d.idle <- w
		return fmt.Errorf("raw connection: %w", err)
	}
	var sendErr error
	err = rc.Control(func(fd uintptr) {
		// DOC: fdpass-send: the line, and a copy of the client's descriptor, in one message.
		_, _, sendErr = w.sock.WriteMsgUnix(append(line, '\n'), unix.UnixRights(int(fd)), nil)
	})
	if err = errors.Join(err, sendErr); err == nil {
		// DOC: fdpass-done: the worker has written the answer and closed its copy.
		_ = w.sock.SetReadDeadline(time.Now().Add(d.doneWait))
		var b [1]byte
		if _, err = w.sock.Read(b[:]); err == nil {
			d.idle <- w
			if b[0] != 'd' {
				return fmt.Errorf("worker %d could not answer on the connection", w.id)
			}
			return nil
		}
	}
	// The worker is lost (dead, or too slow): it is not given back, and
	// this session ends, since its answer may be half written.
	w.kill()
	d.log.Error("worker lost", "worker", w.id, "err", err)
	return fmt.Errorf("worker %d: %w", w.id, err)
}

// runFdpassWorker is a worker: for each message on fd 3, the connection
// it carries gets the answer to the line it carries, then "d" (done) or
// "x" (the answer could not be written) goes back.
func runFdpassWorker(args []string) int {
	fs := pflag.NewFlagSet(fdpassWorkerRole, pflag.ContinueOnError)
	id := fs.Int("id", 0, "this worker's number")
	maxBytes := fs.Int64("max-bytes", wire.DefaultMaxBytes, "largest requetetype2 payload served")
	if st, done := cli.Parse(fs, args, "osps-bench fdpass-worker --id N  (internal: started by fdpass)"); done {
		return st
	}
	signal.Ignore(os.Interrupt) // the dispatcher decides when workers stop
	log := cli.NewLogger(false).With("role", fdpassWorkerRole, "worker", *id)
	f := os.NewFile(3, "dispatcher")
	c, err := net.FileConn(f)
	f.Close()
	uc, ok := c.(*net.UnixConn)
	if err != nil || !ok {
		log.Error("fd 3 is not the dispatcher's Unix socket (is this worker started by fdpass?)", "err", err)
		return 1
	}
	defer uc.Close()
	fl := newFloor(nil, *maxBytes, 0, log)
	fl.id = *id
	s := &floorSession{f: fl, w: bufio.NewWriterSize(nil, service.ChunkSize), buf: make([]byte, service.ChunkSize)}
	msg, oob := make([]byte, wire.MaxLine+2), make([]byte, unix.CmsgSpace(4))
	fmt.Println("ready")
	for {
		n, oobn, _, _, err := uc.ReadMsgUnix(msg, oob)
		if n == 0 || err != nil {
			if err != nil && !errors.Is(err, io.EOF) {
				log.Error("read from dispatcher", "err", err)
				return 1
			}
			return 0 // DOC: fdpass-worker-eof: the dispatcher closed our socket: stop
		}
		reply := []byte("d")
		conn, err := receivedFile(oob[:oobn])
		if err == nil {
			s.conn = conn
			s.w.Reset(conn)
			err = s.answer(bytes.TrimSuffix(msg[:n], []byte("\n")))
			conn.Close()
		}
		if err != nil {
			log.Debug("answer", "err", err)
			reply[0] = 'x'
		}
		if _, err := uc.Write(reply); err != nil {
			log.Error("tell the dispatcher", "err", err)
			return 1
		}
	}
}

// receivedFile returns the one descriptor that an SCM_RIGHTS message
// carried (the kernel installed it in this process, close-on-exec: Go's
// ReadMsgUnix asks for MSG_CMSG_CLOEXEC), as a file. It shares its open
// file description with the dispatcher's copy, which Go made
// non-blocking: os.NewFile sees that and polls it, so write deadlines
// work on it as on a net.Conn.
func receivedFile(oob []byte) (*os.File, error) {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return nil, fmt.Errorf("control message: %w", err)
	}
	var fds []int
	for i := range msgs {
		got, err := unix.ParseUnixRights(&msgs[i])
		if err == nil {
			fds = append(fds, got...)
		}
	}
	if len(fds) != 1 {
		for _, fd := range fds {
			unix.Close(fd)
		}
		return nil, fmt.Errorf("expected one descriptor, got %d", len(fds))
	}
	return os.NewFile(uintptr(fds[0]), "client"), nil
}
