// Tests of a session's reads against its eviction: a session pushed out
// to make room must not read again, whatever deadline it meant to set.

package server

import (
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"testing"
	"time"

	"osps/common/service"
)

// loopbackPair is a connected TCP pair on loopback: the server's end and
// the client's.
func loopbackPair(t *testing.T) (srv, cli net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	cli, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	if err := ln.(*net.TCPListener).SetDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	srv, err = ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv, cli
}

// An eviction that lands just before the session sets its idle deadline
// (between its look at idleSince and the set, in the old code) must not
// be undone: the session's next read fails at once, even with a whole
// line waiting, instead of reading on outside the table.
func TestEvictedSessionReadsNoMore(t *testing.T) {
	srv := &Server{
		Cfg: Config{IdleTimeout: time.Minute, LineTimeout: time.Minute, MaxSessions: 1,
			Rate: service.Rate{MinRate: service.DefaultMinRate, Window: service.DefaultRateWindow}},
		Log:      slog.New(slog.DiscardHandler),
		sessions: map[*Session]struct{}{},
		peers:    map[netip.Addr]int{},
		refusing: make(chan struct{}, refuseMax),
	}
	conn, cli := loopbackPair(t)
	sess, why := srv.newSession(conn)
	if sess == nil {
		t.Fatalf("session refused: %s", why)
	}
	defer srv.wg.Done()

	srv.mu.Lock()
	evicted := srv.evictLocked()
	srv.mu.Unlock()
	if !evicted {
		t.Fatal("the only session, idle, was not pushed out")
	}
	defer func() { <-srv.refusing }() // dropSession's, which this test does not run

	if _, err := cli.Write([]byte("STATS\n")); err != nil {
		t.Fatal(err)
	}
	line, err := sess.readLine()
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("readLine after eviction = %q, %v; want os.ErrDeadlineExceeded", line, err)
	}
}
