// floor.go is the floor server: one process, no workers, no shared memory,
// no pipes, answering v1's wire format on a persistent connection.
// Whatever the three designs add to it (a pipe round trip, a new
// connection, a copy) is their price; the floor is the best any design
// could do for this wire format on this machine (docs/comparison.md).
//
//	osps-bench floor [--listen 127.0.0.1] [--port 2222]    prints "ready host:port"
//	v1-relay client --server host:port requetetype1        the v1 client drives it

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
	"os/signal"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/spf13/pflag"

	"osps/common/cli"
	"osps/common/service"
	"osps/common/wire"
)

// floor is one running floor server. The reference servers reuse it:
// a prefork worker is a floor on an inherited listener (prefork.go), the
// fdpass dispatcher a floor whose lines go to a worker (fdpass.go).
type floor struct {
	ln       net.Listener
	id       int // the worker number its requetetype1 answers give
	maxBytes int64
	idle     time.Duration // a session silent this long is closed
	ioWait   time.Duration // bound on each write to a client
	log      *slog.Logger
	served   atomic.Uint64
	// handoff, if set, answers each request line instead of answer:
	// fdpass's dispatcher hands the line and the connection to a worker.
	handoff func(conn net.Conn, line []byte) error

	mu    sync.Mutex
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
}

func runFloor(args []string) int {
	fs := pflag.NewFlagSet("floor", pflag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1", "address to listen on")
	port := fs.Int("port", 2222, "TCP port (0: pick a free port)")
	maxBytes := fs.Int64("max-bytes", wire.DefaultMaxBytes, "largest requetetype2 payload served")
	idle := fs.Duration("idle-timeout", 10*time.Minute, "close a session that sends nothing for this long")
	if st, done := cli.Parse(fs, args, "osps-bench floor [--listen 127.0.0.1] [--port 2222]"); done {
		return st
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "floor: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	addr := net.JoinHostPort(*listen, strconv.Itoa(*port))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "floor: listen on %s: %v\n", addr, err)
		return 1
	}
	f := newFloor(ln, *maxBytes, *idle, cli.NewLogger(false).With("role", "floor"))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	f.log.Info("listening", "addr", ln.Addr().String())
	_ = cli.PrintReady(os.Stdout, ln.Addr())
	f.serve(ctx)
	f.log.Info("stopped", "served", f.served.Load())
	return 0
}

func newFloor(ln net.Listener, maxBytes int64, idle time.Duration, log *slog.Logger) *floor {
	return &floor{ln: ln, maxBytes: maxBytes, idle: idle, ioWait: 30 * time.Second, log: log, conns: map[net.Conn]struct{}{}}
}

// serve accepts sessions until ctx is done, then closes them all.
func (f *floor) serve(ctx context.Context) {
	go func() {
		<-ctx.Done()
		f.ln.Close()
	}()
	wire.AcceptLoop(f.ln, f.log, func(conn net.Conn) {
		f.mu.Lock()
		f.conns[conn] = struct{}{}
		f.mu.Unlock()
		f.wg.Go(func() {
			defer func() {
				f.mu.Lock()
				delete(f.conns, conn)
				f.mu.Unlock()
				conn.Close()
			}()
			if err := f.session(conn); err != nil {
				f.log.Debug("session ends", "err", err)
			}
		})
	})
	f.mu.Lock()
	for c := range f.conns {
		c.Close()
	}
	f.mu.Unlock()
	f.wg.Wait()
}

// session answers request lines on one connection, one after another,
// exactly as a v1 dispatcher session looks from the client.
func (f *floor) session(conn net.Conn) error {
	s := &floorSession{f: f, conn: conn, r: wire.NewReader(conn),
		w: bufio.NewWriterSize(conn, service.ChunkSize), buf: make([]byte, service.ChunkSize)}
	for {
		_ = conn.SetReadDeadline(time.Now().Add(f.idle))
		line, err := wire.ReadLine(s.r)
		last := false
		switch {
		case err == nil:
		case errors.Is(err, wire.ErrLineTooLong):
			_ = wire.WriteErr(s.w, wire.LineError(err, "line"))
			err := s.flush()
			lingerClose(conn)
			return err
		case errors.Is(err, io.ErrUnexpectedEOF):
			last = true // a last line without LF: answer it, then close
		default:
			return err // EOF, idle timeout, reset
		}
		if fl := wire.Fields(line); len(fl) == 1 && fl[0] == wire.Quit {
			_, _ = s.w.WriteString(wire.BYE + "\n")
			return s.flush()
		}
		if f.handoff != nil {
			err = f.handoff(conn, line)
		} else {
			err = s.answer(line)
		}
		if err != nil || last {
			return err
		}
	}
}

// lingerClose ends a connection whose peer may still be sending: FIN
// first, then read and drop its input briefly, so that closing with
// unread input does not reset the connection and destroy our last reply
// before the peer reads it.
func lingerClose(conn net.Conn) {
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.CloseWrite()
		_ = tc.SetReadDeadline(time.Now().Add(time.Second))
		_, _ = io.Copy(io.Discard, io.LimitReader(tc, 1<<20))
	}
}

// clientConn is what an answer is written to: a net.Conn, or in an
// fdpass worker the passed descriptor as an *os.File.
type clientConn interface {
	io.Writer
	SetWriteDeadline(time.Time) error
}

// floorSession is one connection of the floor server.
type floorSession struct {
	f    *floor
	conn clientConn
	r    *bufio.Reader
	w    *bufio.Writer
	buf  []byte // one chunk of payload
}

// flush sends what is buffered, within a bounded time.
func (s *floorSession) flush() error {
	_ = s.conn.SetWriteDeadline(time.Now().Add(s.f.ioWait))
	if err := s.w.Flush(); err != nil {
		return fmt.Errorf("write to client: %w", err)
	}
	return nil
}

// answer writes the reply to one line: STATS, an error, or OK <n> and the
// payload, produced a chunk at a time into buf and written from there.
func (s *floorSession) answer(line []byte) error {
	if fl := wire.Fields(line); len(fl) == 1 && fl[0] == wire.Stats {
		stats := fmt.Sprintf("worker=%d pid=%d state=idle served=%d restarts=0\n", s.f.id, os.Getpid(), s.f.served.Load())
		_ = wire.WriteOK(s.w, int64(len(stats)))
		_, _ = s.w.WriteString(stats)
		return s.flush()
	}
	req, err := wire.ParseRequest(line, s.f.maxBytes)
	if err != nil {
		_ = wire.WriteErr(s.w, err)
		return s.flush()
	}
	// DOC: floor-answer: the same service as the workers, no process in between.
	src := service.PayloadFor(req, s.f.id, os.Getpid(), s.f.served.Add(1))
	_ = wire.WriteOK(s.w, src.Len())
	for src.Left() > 0 {
		sent := src.Len() - src.Left()
		k := src.Fill(s.buf)
		// A small payload joins its header in the buffer (one write(2));
		// a 64 KiB chunk, once the buffer is empty, goes straight from buf.
		_ = s.conn.SetWriteDeadline(time.Now().Add(s.f.ioWait))
		if _, err := s.w.Write(s.buf[:k]); err != nil {
			return fmt.Errorf("write payload at byte %d of %d: %w", sent, src.Len(), err)
		}
	}
	return s.flush()
}
