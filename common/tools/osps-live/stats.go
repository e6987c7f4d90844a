// The chaos run's view of the slots: STATS asked again and again on one
// raw session (as ./run.sh wait asks it, wait.go), the answer read by
// wire.ParseStats, rather than a client process per question.

package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"time"

	"osps/common/wire"
)

// maxStats bounds a STATS payload read here: a line per slot is far less.
const maxStats = 1 << 20

// statsSession is one session kept open to ask STATS on.
type statsSession struct {
	addr string
	c    net.Conn
	r    *bufio.Reader
}

// slots asks STATS once, opening the session first if it is not open
// (or was closed after an error); each question has tryTimeout.
func (s *statsSession) slots() ([]wire.Slot, error) {
	if s.c == nil {
		c, err := net.DialTimeout("tcp", s.addr, tryTimeout)
		if err != nil {
			return nil, fmt.Errorf("STATS: %w", err)
		}
		s.c, s.r = c, wire.NewReader(c)
	}
	slots, err := s.ask()
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("STATS on %s: %w", s.addr, err)
	}
	return slots, nil
}

func (s *statsSession) ask() ([]wire.Slot, error) {
	if err := s.c.SetDeadline(time.Now().Add(tryTimeout)); err != nil {
		return nil, err
	}
	if _, err := io.WriteString(s.c, "STATS\n"); err != nil {
		return nil, err
	}
	line, err := wire.ReadLine(s.r)
	if err != nil {
		return nil, err
	}
	rep, err := wire.ParseReply(line)
	if err != nil {
		return nil, err
	}
	if rep.Word != wire.OK || rep.N > maxStats {
		return nil, fmt.Errorf("answer %q", wire.Printable(line, 80))
	}
	payload := make([]byte, rep.N)
	if _, err := io.ReadFull(s.r, payload); err != nil {
		return nil, fmt.Errorf("payload: %w", err)
	}
	return wire.ParseStats(payload)
}

// Close ends the session, if open.
func (s *statsSession) Close() {
	if s.c != nil {
		s.c.Close()
		s.c = nil
	}
}

// awaitRestart asks STATS until slot's restarts reach 1 (at most 10 s).
func awaitRestart(s *statsSession, slot int) bool {
	for range 100 {
		sl, err := s.slots()
		if w, ok := slotNumbered(sl, slot); err == nil && ok && w.Restarts >= 1 {
			return true
		}
		time.Sleep(100 * time.Millisecond)
	}
	return false
}

// slotNumbered is the slot worker=id of a STATS answer.
func slotNumbered(slots []wire.Slot, id int) (wire.Slot, bool) {
	for _, s := range slots {
		if s.ID == id {
			return s, true
		}
	}
	return wire.Slot{}, false
}
