// net_test.go checks that a socket's inode leads to its addresses, on
// a real loopback connection, and the parser of /proc/net/tcp.

package procfs

import (
	"encoding/binary"
	"net"
	"net/netip"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestSocketInodeToAddress(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	f, err := ln.(*net.TCPListener).File() // a duplicate: same socket, same inode
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fds, err := FDs(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	fd := fdOf(t, fds, f.Fd())
	socks, err := TCPSockets()
	if err != nil {
		t.Fatal(err)
	}
	got, ok := socks[fd.Inode]
	if fd.Kind != "socket" || !ok {
		t.Fatalf("fd %+v: no line of /proc/net/tcp has its inode", fd)
	}
	want := TCPSocket{Inode: fd.Inode, Local: netip.MustParseAddrPort(ln.Addr().String()), Remote: netip.MustParseAddrPort("0.0.0.0:0"), State: "LISTEN"}
	if d := cmp.Diff(want, got, addrEq); d != "" {
		t.Errorf("listening socket (-want +got):\n%s", d)
	}
}

// addrEq compares addresses by value (netip hides its fields).
var addrEq = cmp.Comparer(func(a, b netip.AddrPort) bool { return a == b })

func TestParseTCP(t *testing.T) {
	text := `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:A36F 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 54623 1 0 100 0 0 10 0
   1: 0100007F:8B0C 0100007F:A36F 01 00000000:00000000 00:00000000 00000000     0        0 54700 1 0 20 4 30 10 -1
`
	if !nativeLittle() {
		t.Skip("the sample is from a little-endian machine")
	}
	got, err := ParseTCP(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	want := []TCPSocket{
		{Inode: 54623, Local: netip.MustParseAddrPort("127.0.0.1:41839"), Remote: netip.MustParseAddrPort("0.0.0.0:0"), State: "LISTEN"},
		{Inode: 54700, Local: netip.MustParseAddrPort("127.0.0.1:35596"), Remote: netip.MustParseAddrPort("127.0.0.1:41839"), State: "ESTABLISHED"},
	}
	if d := cmp.Diff(want, got, addrEq); d != "" {
		t.Errorf("ParseTCP (-want +got):\n%s", d)
	}
	if _, err := ParseTCP(strings.NewReader("header\n 0: zz:1 00000000:0000 0A a b c d e 1\n")); err == nil {
		t.Errorf("ParseTCP accepted a bad address")
	}
}

func nativeLittle() bool {
	x := uint16(1)
	var b [2]byte
	binary.NativeEndian.PutUint16(b[:], x)
	return b[0] == 1
}
