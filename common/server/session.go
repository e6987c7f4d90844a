// One client session on the dispatcher: read a line, answer it, back to
// reading (step 6 of the assignment: "back to step 2"), until QUIT, end
// of file, a line too long, or a client that stays silent too long; and
// every answer written under the min-rate rule, so that a client that
// stops reading holds nothing for long.

package server

import (
	"bufio"
	"bytes"
	"container/list"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"time"

	"osps/common/proc"
	"osps/common/service"
	"osps/common/wire"
)

// Session is one client connection to the dispatcher.
type Session struct {
	ID   int
	srv  *Server
	conn net.Conn
	r    *bufio.Reader
	rw   *service.RateWriter // under w: the min-rate rule on everything the client must read
	w    *bufio.Writer
	Log  *slog.Logger
	// State is the variant's own record of the session (v3: its
	// tickets that expired unclaimed).
	State any

	refused int // lines in a row that were not requests

	// Guarded by srv.mu (sessions.go).
	peer      netip.Addr
	idleSince time.Time     // when its last request ended (or it opened)
	elem      *list.Element // in srv.idle while no request is in flight
	evicted   bool          // pushed out to make room
}

// sessionBuffer is the size of a session's write buffer: small, since
// a session mostly writes one line at a time, and a large write (v1's
// relay) goes past the buffer straight to the socket.
const sessionBuffer = 4 << 10

func newSession(s *Server, conn net.Conn, id int) *Session {
	sess := &Session{ID: id, srv: s, conn: conn, r: wire.NewReader(conn),
		Log: s.Log.With("session", id, "peer", conn.RemoteAddr().String())}
	sess.rw = s.Cfg.Rate.Writer(conn, nil)
	sess.w = bufio.NewWriterSize(sess.rw, sessionBuffer)
	return sess
}

// Conn is the session's connection (v2 reads the peer's address on it,
// v3 its own local address).
func (s *Session) Conn() net.Conn { return s.conn }

// Server is the dispatcher the session belongs to.
func (s *Session) Server() *Server { return s.srv }

// Writer is the buffered writer to the client; Flush sends it.
func (s *Session) Writer() *bufio.Writer { return s.w }

// StartAnswer begins a new answer on the session: a fresh RateWriter,
// its credit bucket full (one quota, --min-rate × --rate-window bytes).
// Whatever the session writes until the next StartAnswer is one answer,
// judged by one rule: it is cut once its client falls more than one
// --rate-window behind the schedule of --min-rate (service.RateWriter).
//
// DOC: session-answer
func (s *Session) StartAnswer() {
	*s.rw = *s.srv.Cfg.Rate.Writer(s.conn, nil) // in place: the session's bufio.Writer writes into *s.rw
}

// Flush sends what was written, under the current answer's min-rate rule.
func (s *Session) Flush() error {
	if err := s.w.Flush(); err != nil {
		return fmt.Errorf("session %d: write to client: %w", s.ID, err)
	}
	return nil
}

// Reply writes one reply line (wire.Reply: BYE, WAIT, DONE, GOTO, or an
// ERR line a worker left in its slot) to the client as an answer of its
// own, and flushes it.
func (s *Session) Reply(line string) error {
	s.StartAnswer()
	if _, err := s.w.WriteString(line + "\n"); err != nil {
		return fmt.Errorf("session %d: write to client: %w", s.ID, err)
	}
	return s.Flush()
}

// Error writes an error line as an answer of its own, and flushes it.
func (s *Session) Error(err error) error {
	s.StartAnswer()
	if err := wire.WriteErr(s.w, err); err != nil {
		return fmt.Errorf("session %d: write to client: %w", s.ID, err)
	}
	return s.Flush()
}

// Release gives the worker back to the pool (its request is over).
func (s *Session) Release(w *proc.Handle) { s.srv.Pool.Release(w) }

// Go runs f in the background; shutdown waits for it.
func (s *Session) Go(f func()) {
	s.srv.wg.Add(1)
	go func() {
		defer s.srv.wg.Done()
		f()
	}()
}

func (s *Session) run() {
	s.Log.Debug("session opened")
	defer s.Log.Debug("session closed")
	for {
		line, err := s.readLine()
		last := false
		switch {
		case err == nil:
		case s.srv.isEvicted(s):
			return // dropSession says goodbye
		case errors.Is(err, os.ErrDeadlineExceeded):
			s.Log.Info("session closed: idle or unfinished line for too long",
				"idle_timeout", s.srv.Cfg.IdleTimeout, "line_timeout", s.srv.Cfg.LineTimeout)
			return
		case errors.Is(err, wire.ErrLineTooLong):
			_ = s.Error(wire.LineError(err, "line")) // best effort: the session closes anyway
			// DOC: session-linger-close: the peer may still be sending; a
			// plain close would answer with a reset that can destroy our reply.
			wire.LingerClose(s.conn)
			return
		case errors.Is(err, io.ErrUnexpectedEOF):
			last = true // a last line without LF: answer it, then close
		default:
			return // EOF, or the connection was closed
		}
		if !s.handle(line) || last {
			return
		}
	}
}

// readLine reads the session's next line. Between requests the client
// may think for --idle-timeout, counted from the end of its last
// request (or from the session's start): lines that are not requests,
// empty or refused, do not reset that clock. Once a line has begun, it
// must be finished within --line-timeout. Past either, the session is
// closed: an idle or half-sent connection holds no descriptor forever.
//
// DOC: session-timeouts
func (s *Session) readLine() ([]byte, error) {
	if s.r.Buffered() == 0 {
		if err := s.readDeadline(idleDeadline); err != nil {
			return nil, err
		}
		if _, err := s.r.Peek(1); err != nil {
			return nil, err
		}
	}
	if err := s.readDeadline(lineDeadline); err != nil {
		return nil, err
	}
	line, err := wire.ReadLine(s.r)
	if err == nil {
		// The clock stops while the request is answered: a handler that
		// reads the session sets its own deadline.
		err = s.readDeadline(noDeadline)
	}
	return line, err
}

// A read deadline of readLine's.
type deadline int

const (
	idleDeadline deadline = iota // --idle-timeout after the last request
	lineDeadline                 // --line-timeout from now
	noDeadline                   // none: a request is being answered
)

// readDeadline sets the session's read deadline, under srv.mu, unless
// the session was pushed out: evictLocked cuts its read with a deadline
// in the past, which a deadline set here must never undo (the session
// would live on, out of the table, holding a refusal token). A session
// pushed out gets os.ErrDeadlineExceeded, as its cut read would.
func (s *Session) readDeadline(d deadline) error {
	cfg := s.srv.Cfg
	s.srv.mu.Lock()
	defer s.srv.mu.Unlock()
	if s.evicted {
		return fmt.Errorf("session %d: pushed out: %w", s.ID, os.ErrDeadlineExceeded)
	}
	var t time.Time
	switch d {
	case idleDeadline:
		t = s.idleSince.Add(cfg.IdleTimeout)
	case lineDeadline:
		t = time.Now().Add(cfg.LineTimeout)
	}
	if err := s.conn.SetReadDeadline(t); err != nil {
		return fmt.Errorf("session %d: read deadline: %w", s.ID, err)
	}
	return nil
}

// maxRefused is the line, in a run of lines that are not requests
// (empty, malformed, unknown, too large), that closes the session: the
// first maxRefused-1 are answered with an error, the maxRefused-th gets
// its error and the close.
const maxRefused = 8

// handle answers one line; it returns false when the session must close.
func (s *Session) handle(line []byte) bool {
	f := wire.Fields(line)
	if len(f) == 1 {
		switch f[0] {
		case wire.Quit:
			_ = s.Reply(wire.BYE) // best effort: the session closes anyway
			return false
		case wire.Stats:
			return s.request(func() bool { return s.stats() == nil })
		}
	}
	v := s.srv.V
	// DOC: dispatcher-check: the request is checked before any worker sees it.
	req, err := wire.ParseRequest(line, s.srv.Cfg.MaxBytes)
	if err != nil {
		s.srv.Tr.Step(v.RequestStep, "session %d: refused %q: %v", s.ID, wire.Printable(line, 60), err)
		return s.refuse(err)
	}
	return s.request(func() bool { return s.serve(req) })
}

// refuse answers a line that is not a request. It does not reset the
// idle clock, and a run of maxRefused such lines closes the session: a
// stranger cannot hold a session by sending empty or bad lines.
//
// DOC: session-refused-run
func (s *Session) refuse(err error) bool {
	s.refused++
	if s.refused < maxRefused {
		return s.Error(err) == nil
	}
	s.Log.Info("session closed: too many lines in a row that are not requests", "lines", s.refused)
	e := wire.AsError(err)
	if e == nil {
		e = wire.Errorf(wire.CodeBadRequest, "%v", err)
	}
	_ = s.Error(wire.Errorf(e.Code, "%s; %d lines in a row that are not requests: closing", e.Text, s.refused))
	wire.LingerClose(s.conn)
	return false
}

// request runs do as a request in flight: the session cannot be pushed
// out meanwhile, and its idle clock starts again once do returns.
func (s *Session) request(do func() bool) bool {
	s.refused = 0
	if !s.srv.busy(s) {
		return false // pushed out just now
	}
	defer s.srv.idleAgain(s)
	return do()
}

// serve has a checked request answered by a worker.
func (s *Session) serve(req wire.Request) bool {
	v := s.srv.V
	if s.srv.draining.Load() {
		return s.Error(wire.Errorf(wire.CodeShuttingDown, "the server is shutting down")) == nil
	}
	if v.Admit != nil {
		if err := v.Admit(s); err != nil {
			return s.Error(err) == nil
		}
	}
	s.srv.Tr.Step(v.RequestStep, "session %d sent %q", s.ID, req.String())
	qctx, cancel := context.WithTimeout(context.Background(), s.srv.Cfg.QueueTimeout)
	defer cancel()
	if s.srv.Cfg.long(req) {
		// DOC: long-lane: a long answer must leave a worker for short ones.
		select {
		case s.srv.long <- struct{}{}:
			defer func() { <-s.srv.long }()
		case <-qctx.Done():
			return s.Error(wire.Errorf(wire.CodeBusy, "%d long answers in flight already, the most at once: a worker is kept for short ones (try again later)", cap(s.srv.long))) == nil
		}
	}
	w, err := s.acquire(qctx)
	switch {
	case errors.Is(err, proc.ErrClosing):
		return s.Error(wire.Errorf(wire.CodeShuttingDown, "the server is shutting down")) == nil
	case err != nil:
		return s.Error(wire.Errorf(wire.CodeBusy, "no idle worker within %v", s.srv.Cfg.QueueTimeout)) == nil
	}
	// DOC: dispatcher-acquire: a bounded wait for an idle worker (ERR busy).
	s.srv.Tr.Step(v.RequestStep, "session %d: worker#%d is idle, it takes the request", s.ID, w.ID)
	if err := v.Handler.Serve(s, w, req); err != nil {
		s.Log.Info("session ends", "err", err)
		return false
	}
	return true
}

// starvedEvery is how often a request that waits for a worker calls the
// variant's Starved hook.
const starvedEvery = 100 * time.Millisecond

// acquire waits for an idle worker until ctx is done; while it waits,
// the variant's Starved hook may free one.
func (s *Session) acquire(ctx context.Context) (*proc.Handle, error) {
	starved := s.srv.V.Starved
	if starved == nil {
		return s.srv.Pool.Acquire(ctx)
	}
	for {
		step, cancel := context.WithTimeout(ctx, starvedEvery)
		w, err := s.srv.Pool.Acquire(step)
		cancel()
		if err == nil || errors.Is(err, proc.ErrClosing) || ctx.Err() != nil {
			return w, err
		}
		starved()
	}
}

// stats answers STATS: OK <n> and one line per slot.
func (s *Session) stats() error {
	stats := s.srv.Pool.Stats()
	s.StartAnswer()
	if err := wire.WriteOK(s.w, int64(len(stats))); err != nil {
		return fmt.Errorf("session %d: write to client: %w", s.ID, err)
	}
	if _, err := s.w.Write(stats); err != nil {
		return fmt.Errorf("session %d: write to client: %w", s.ID, err)
	}
	return s.Flush()
}

// WatchQuit watches the session while its request waits on something
// else than the session (v3: a GOTO the client has to follow): quit is
// closed if the client's next line is QUIT, or if it closes its side
// (end of file). The line stays unread, for the session loop to answer
// once the request is over. stop ends the watch; call it before the
// session reads again.
//
// DOC: session-watch-quit
func (s *Session) WatchQuit() (quit <-chan struct{}, stop func()) {
	q, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		for {
			b, _ := s.r.Peek(s.r.Buffered()) // what is buffered already, without waiting
			if i := bytes.IndexByte(b, '\n'); i >= 0 {
				if isQuit(b[:i]) {
					close(q)
				}
				return // another line: the session loop answers it after this request
			}
			if len(b) >= wire.MaxLine+1 {
				return // a line too long: the session loop's business
			}
			if _, err := s.r.Peek(len(b) + 1); err != nil {
				if errors.Is(err, io.EOF) {
					close(q) // the client closed its side: nobody will follow the GOTO
				}
				return // or stop was called (a deadline), or the connection broke
			}
		}
	}()
	return q, func() {
		_ = s.conn.SetReadDeadline(time.Unix(1, 0))
		<-done
		_ = s.conn.SetReadDeadline(time.Time{})
	}
}

// isQuit reports whether line (without its LF) is QUIT.
func isQuit(line []byte) bool {
	f := wire.Fields(bytes.TrimSuffix(line, []byte("\r")))
	return len(f) == 1 && f[0] == wire.Quit
}
