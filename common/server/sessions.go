// The dispatcher's table of sessions, which no stranger can fill for
// good: past --max-sessions a newcomer pushes out the session idle the
// longest (never one with a request in flight), as a v3 worker's door
// drops its oldest stranger; a peer may be held to
// --max-sessions-per-peer; and once a flood of sessions has gone, the
// memory it took is given back to the system.

package server

import (
	"fmt"
	"net"
	"net/netip"
	"runtime/debug"
	"time"

	"osps/common/wire"
)

// Memory is given back to the system once the open sessions fall below
// a quarter of their peak, if the peak was at least floodSessions.
const floodSessions = 1024

// newSession registers a session for conn. It returns nil when the
// server is draining, and a reason to refuse past the caps.
func (s *Server) newSession(conn net.Conn) (sess *Session, refuse string) {
	peer := peerIP(conn)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.draining.Load() {
		return nil, ""
	}
	if max := s.Cfg.MaxPerPeer; max > 0 && s.peers[peer] >= max {
		return nil, fmt.Sprintf("too many sessions from %s (%d)", peer, max)
	}
	if len(s.sessions) >= s.Cfg.MaxSessions && !s.evictLocked() {
		return nil, fmt.Sprintf("too many sessions open (%d), every one with a request in flight", s.Cfg.MaxSessions)
	}
	s.nextID++
	sess = newSession(s, conn, s.nextID)
	sess.peer = peer
	s.sessions[sess] = struct{}{}
	s.peers[peer]++
	s.peak = max(s.peak, len(s.sessions))
	sess.idleSince = time.Now()
	sess.elem = s.idle.PushBack(sess)
	s.wg.Add(1)
	return sess, ""
}

// evictLocked pushes out the session idle the longest, if any session
// has no request in flight, and reports whether it did. Its goroutine
// tells the client why and closes the connection; until then it counts
// as a refusal in flight (refuseMax bounds both).
//
// DOC: session-evict
func (s *Server) evictLocked() bool {
	front := s.idle.Front()
	if front == nil {
		return false
	}
	select {
	case s.refusing <- struct{}{}: // released by dropSession
	default:
		return false // too many goodbyes in flight already: refuse this one
	}
	old := front.Value.(*Session)
	s.idle.Remove(front)
	old.elem = nil
	old.evicted = true
	s.forgetLocked(old)
	s.Log.Warn("session pushed out to make room: idle the longest", "session", old.ID,
		"peer", old.conn.RemoteAddr().String(), "idle", time.Since(old.idleSince).Round(time.Millisecond), "max_sessions", s.Cfg.MaxSessions)
	_ = old.conn.SetReadDeadline(time.Unix(1, 0)) // its read ends now; dropSession says goodbye
	return true
}

// forgetLocked removes sess from the counts (once).
func (s *Server) forgetLocked(sess *Session) {
	if _, ok := s.sessions[sess]; !ok {
		return
	}
	delete(s.sessions, sess)
	if s.peers[sess.peer]--; s.peers[sess.peer] <= 0 {
		delete(s.peers, sess.peer)
	}
}

// dropSession ends a session: removed from the table, its connection
// closed (with a word to the client if it was pushed out), and, once a
// flood has gone, the memory given back.
func (s *Server) dropSession(sess *Session) {
	s.mu.Lock()
	if sess.elem != nil {
		s.idle.Remove(sess.elem)
		sess.elem = nil
	}
	s.forgetLocked(sess)
	evicted := sess.evicted
	flood := s.peak >= floodSessions && len(s.sessions) < s.peak/4
	if flood {
		s.peak = len(s.sessions)
	}
	s.mu.Unlock()
	if evicted {
		goodbye(sess.conn, wire.Errorf(wire.CodeBusy, "session closed to make room for a new one: it was idle the longest (%d sessions open at most)", s.Cfg.MaxSessions))
		<-s.refusing
	} else {
		closeConn(sess.conn, s.Log)
	}
	if flood {
		// DOC: session-flood-memory: the goroutines, buffers and stacks
		// of a flood are garbage now; return them to the system at once
		// rather than as the runtime's scavenger gets round to it.
		s.Log.Info("a flood of sessions has gone: giving memory back to the system")
		debug.FreeOSMemory()
	}
}

// busy marks sess as having a request in flight: it cannot be pushed
// out until idle is called. It reports false if the session was pushed
// out already (its request must not start).
func (s *Server) busy(sess *Session) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sess.evicted {
		return false
	}
	if sess.elem != nil {
		s.idle.Remove(sess.elem)
		sess.elem = nil
	}
	return true
}

// idleAgain marks the end of sess's request: its idle clock starts now.
func (s *Server) idleAgain(sess *Session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sess.idleSince = time.Now()
	if !sess.evicted && sess.elem == nil {
		sess.elem = s.idle.PushBack(sess)
	}
}

// isEvicted reports whether sess was pushed out.
func (s *Server) isEvicted(sess *Session) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return sess.evicted
}

// peerIP is the address a connection comes from (the zero Addr if it is
// not TCP).
func peerIP(conn net.Conn) netip.Addr {
	if ta, ok := conn.RemoteAddr().(*net.TCPAddr); ok {
		return ta.AddrPort().Addr().Unmap()
	}
	return netip.Addr{}
}
