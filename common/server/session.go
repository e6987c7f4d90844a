// session.go demonstrates one client session on the dispatcher: read a
// line, answer it, back to reading (step 6 of the assignment: "back to
// step 2"), until QUIT, end of file, or a line too long.

package server

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"time"

	"osps/common/proc"
	"osps/common/wire"
)

// Session is one client connection to the dispatcher.
type Session struct {
	ID   int
	srv  *Server
	conn net.Conn
	r    *bufio.Reader
	w    *bufio.Writer
	Log  *slog.Logger
}

func newSession(s *Server, conn net.Conn, id int) *Session {
	return &Session{
		ID: id, srv: s, conn: conn,
		r:   wire.NewReader(conn),
		w:   bufio.NewWriterSize(conn, 64<<10),
		Log: s.Log.With("session", id, "peer", conn.RemoteAddr().String()),
	}
}

// Conn is the session's connection (v2 reads the peer's address on it,
// v3 its own local address).
func (s *Session) Conn() net.Conn { return s.conn }

// Server is the dispatcher the session belongs to.
func (s *Session) Server() *Server { return s.srv }

// Writer is the buffered writer to the client; Flush sends it.
func (s *Session) Writer() *bufio.Writer { return s.w }

// Flush sends what was written, within --request-timeout.
func (s *Session) Flush() error {
	_ = s.conn.SetWriteDeadline(time.Now().Add(s.srv.Cfg.RequestTimeout))
	if err := s.w.Flush(); err != nil {
		return fmt.Errorf("session %d: write to client: %w", s.ID, err)
	}
	return nil
}

// Reply writes one line to the client and flushes it.
func (s *Session) Reply(line string) error {
	_, _ = s.w.WriteString(line + "\n")
	return s.Flush()
}

// Error writes an error line and flushes it.
func (s *Session) Error(err error) error {
	_ = wire.WriteErr(s.w, err)
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
		line, err := wire.ReadLine(s.r)
		last := false
		switch {
		case err == nil:
		case errors.Is(err, wire.ErrLineTooLong):
			_ = s.Error(wire.LineError(err, "line"))
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

// handle answers one line; it returns false when the session must close.
func (s *Session) handle(line []byte) bool {
	f := wire.Fields(line)
	if len(f) == 1 {
		switch f[0] {
		case wire.Quit:
			_ = s.Reply(wire.BYE)
			return false
		case wire.Stats:
			stats := s.srv.Pool.Stats()
			_ = wire.WriteOK(s.w, int64(len(stats)))
			_, _ = s.w.Write(stats)
			return s.Flush() == nil
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
