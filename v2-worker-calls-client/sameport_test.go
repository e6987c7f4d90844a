// sameport_test.go checks the platform facts of the same-port trick, and
// that the call-back address is the session's peer.

package main

import (
	"context"
	"errors"
	"flag"
	"net"
	"net/netip"
	"syscall"
	"testing"

	"osps/common/tools/conformance"
)

var listeners = flag.Int("listeners", 1000, "TestPortZeroIsPrivate: listeners to open on port 0 (0: until the open-file limit)")

// TestSamePortTrick checks the platform facts docs/v2 relies on: without
// SO_REUSEPORT a socket cannot bind the port of a listener (EADDRINUSE);
// with it on both, the client dials from its listening port; a second
// connection with the same four-tuple fails with EADDRNOTAVAIL.
func TestSamePortTrick(t *testing.T) {
	srv, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), conformance.IOTimeout)
	defer cancel()

	plain, err := net.Listen("tcp4", "127.0.0.1:0") // Go sets SO_REUSEADDR, not SO_REUSEPORT
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	d := net.Dialer{LocalAddr: plain.Addr(), Control: reuse}
	if c, err := d.DialContext(ctx, "tcp4", srv.Addr().String()); !errors.Is(err, syscall.EADDRINUSE) {
		if c != nil {
			c.Close()
		}
		t.Errorf("dial from the port of a listener without SO_REUSEPORT: got %v, want EADDRINUSE", err)
	}

	ln, conn, err := listenAndDial(ctx, netip.MustParseAddr("127.0.0.1"), srv.Addr().String())
	if err != nil {
		t.Fatalf("with SO_REUSEPORT on both: %v", err)
	}
	defer ln.Close()
	defer conn.Close()
	if got, want := conn.LocalAddr().String(), ln.Addr().String(); got != want {
		t.Errorf("session from %s, listener on %s: want the same", got, want)
	}
	d = net.Dialer{LocalAddr: ln.Addr(), Control: reuse}
	if c, err := d.DialContext(ctx, "tcp4", srv.Addr().String()); !errors.Is(err, syscall.EADDRNOTAVAIL) {
		if c != nil {
			c.Close()
		}
		t.Errorf("a second connection with the same four-tuple: got %v, want EADDRNOTAVAIL", err)
	}
}

// TestPortZeroIsPrivate: with SO_REUSEPORT set, a listener on port 0
// still gets a port that no other socket holds, so two clients never
// share a call-back port by chance. -listeners 0 opens listeners until
// the open-file limit.
func TestPortZeroIsPrivate(t *testing.T) {
	n := *listeners
	ports := map[int]bool{}
	lc := net.ListenConfig{Control: reuse}
	var lns []net.Listener
	defer func() {
		for _, ln := range lns {
			ln.Close()
		}
	}()
	for n == 0 || len(lns) < n {
		ln, err := lc.Listen(context.Background(), "tcp4", "127.0.0.1:0")
		if n == 0 && errors.Is(err, syscall.EMFILE) {
			break
		}
		if err != nil {
			t.Fatalf("listener %d: %v", len(lns)+1, err)
		}
		lns = append(lns, ln)
		p := ln.Addr().(*net.TCPAddr).Port
		if ports[p] {
			t.Fatalf("listener %d got port %d, which another listener holds", len(lns), p)
		}
		ports[p] = true
	}
	t.Logf("%d listeners on port 0 with SO_REUSEPORT: %d different ports", len(lns), len(ports))
}

// peerConn is a connection whose peer address a test chooses.
type peerConn struct {
	net.Conn
	peer net.Addr
}

func (c peerConn) RemoteAddr() net.Addr { return c.peer }

// TestPeerAddr: the call-back address is the session's peer, unmapped,
// and never a privileged port (RFC 2577's advice to FTP servers).
func TestPeerAddr(t *testing.T) {
	for _, tc := range []struct {
		peer net.Addr
		want string // "" for refused
	}{
		{&net.TCPAddr{IP: net.ParseIP("127.0.0.7"), Port: 40000}, "127.0.0.7:40000"},
		{&net.TCPAddr{IP: net.ParseIP("::ffff:10.1.2.3"), Port: 1024}, "10.1.2.3:1024"},
		{&net.TCPAddr{IP: net.ParseIP("::1"), Port: 50000}, "[::1]:50000"},
		{&net.TCPAddr{IP: net.ParseIP("127.0.0.1"), Port: 25}, ""},
		{&net.TCPAddr{IP: net.ParseIP("127.0.0.1"), Port: 1023}, ""},
		{&net.UnixAddr{Name: "/tmp/x", Net: "unix"}, ""},
	} {
		got, err := peerAddr(peerConn{peer: tc.peer})
		switch {
		case tc.want == "" && err == nil:
			t.Errorf("peer %v: got %v, want refused", tc.peer, got)
		case tc.want != "" && (err != nil || got.String() != tc.want):
			t.Errorf("peer %v: got %v, %v; want %s", tc.peer, got, err, tc.want)
		}
	}
}
