// session.go demonstrates one client session on the dispatcher: read a
// line, answer it, back to reading (step 6 of the assignment: "back to
// step 2"), until QUIT, end of file, a line too long, or a client that
// stays silent too long; and every answer written under the min-rate
// rule, so that a client that stops reading holds nothing for long.

package server

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
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
}

func newSession(s *Server, conn net.Conn, id int) *Session {
	sess := &Session{ID: id, srv: s, conn: conn, r: wire.NewReader(conn),
		Log: s.Log.With("session", id, "peer", conn.RemoteAddr().String())}
	sess.rw = s.Cfg.Rate.Writer(conn, nil)
	sess.w = bufio.NewWriterSize(sess.rw, 64<<10)
	return sess
}

// Conn is the session's connection (v2 reads the peer's address on it,
// v3 its own local address).
func (s *Session) Conn() net.Conn { return s.conn }

// Server is the dispatcher the session belongs to.
func (s *Session) Server() *Server { return s.srv }

// Writer is the buffered writer to the client; Flush sends it.
func (s *Session) Writer() *bufio.Writer { return s.w }

// StartAnswer begins a new answer on the session: its first min-rate
// window starts now. Whatever the session writes until the next
// StartAnswer is one answer, judged by one rule: at least --min-rate
// bytes per second over each --rate-window, or it is cut.
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

// Reply writes one line to the client as an answer of its own, and
// flushes it.
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

// readLine reads the session's next line. Between lines the client may
// think for --idle-timeout; once a line has begun, it must be finished
// within --line-timeout. Past either, the session is closed: an idle or
// half-sent connection holds no descriptor forever.
//
// DOC: session-timeouts
func (s *Session) readLine() ([]byte, error) {
	cfg := s.srv.Cfg
	if s.r.Buffered() == 0 {
		if err := s.conn.SetReadDeadline(time.Now().Add(cfg.IdleTimeout)); err != nil {
			return nil, fmt.Errorf("session %d: idle deadline: %w", s.ID, err)
		}
		if _, err := s.r.Peek(1); err != nil {
			return nil, err
		}
	}
	if err := s.conn.SetReadDeadline(time.Now().Add(cfg.LineTimeout)); err != nil {
		return nil, fmt.Errorf("session %d: line deadline: %w", s.ID, err)
	}
	line, err := wire.ReadLine(s.r)
	if err == nil {
		// The clock stops while the request is answered: a handler that
		// reads the session sets its own deadline.
		err = s.conn.SetReadDeadline(time.Time{})
	}
	return line, err
}

// handle answers one line; it returns false when the session must close.
func (s *Session) handle(line []byte) bool {
	f := wire.Fields(line)
	if len(f) == 1 {
		switch f[0] {
		case wire.Quit:
			_ = s.Reply(wire.BYE) // best effort: the session closes anyway
			return false
		case wire.Stats:
			return s.stats() == nil
		}
	}
	v := s.srv.V
	// DOC: dispatcher-check: the request is checked before any worker sees it.
	req, err := wire.ParseRequest(line, s.srv.Cfg.MaxBytes)
	if err != nil {
		s.srv.Tr.Step(v.RequestStep, "session %d: refused %q: %v", s.ID, wire.Printable(line, 60), err)
		return s.Error(err) == nil
	}
	if s.srv.draining.Load() {
		return s.Error(wire.Errorf(wire.CodeShuttingDown, "the server is shutting down")) == nil
	}
	s.srv.Tr.Step(v.RequestStep, "session %d sent %q", s.ID, req.String())
	qctx, cancel := context.WithTimeout(context.Background(), s.srv.Cfg.QueueTimeout)
	w, err := s.srv.Pool.Acquire(qctx)
	cancel()
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
