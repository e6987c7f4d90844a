// The checks of dispatcher.go's own rule: where to call back is the
// session's peer, never a privileged port.

package main

import (
	"net"
	"testing"
)

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
