package procfs

import (
	"encoding/binary"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"
)

// fdOf finds descriptor n among fds.
func fdOf(t *testing.T, fds []FD, n uintptr) FD {
	t.Helper()
	for _, fd := range fds {
		if fd.Num == int(n) {
			return fd
		}
	}
	t.Fatalf("fd %d not listed in %+v", n, fds)
	return FD{}
}

func TestPipeEndsShareAnInode(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	fds, err := FDs(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	rd, wr := fdOf(t, fds, r.Fd()), fdOf(t, fds, w.Fd())
	if rd.Kind != "pipe" || wr.Kind != "pipe" || rd.Inode == 0 || rd.Inode != wr.Inode {
		t.Fatalf("pipe ends %+v and %+v: want kind pipe and one inode", rd, wr)
	}
	if rd.Write || !wr.Write {
		t.Errorf("write flags: read end %v, write end %v; want false, true", rd.Write, wr.Write)
	}
}

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

// Attached finds a segment this process has attached, by its shmid.
func TestAttached(t *testing.T) {
	id, err := unix.SysvShmGet(unix.IPC_PRIVATE, 4096, unix.IPC_CREAT|unix.IPC_EXCL|0o600)
	if err != nil {
		t.Fatal(err)
	}
	mem, err := unix.SysvShmAttach(id, 0, 0)
	_, rerr := unix.SysvShmCtl(id, unix.IPC_RMID, nil) // freed at the last detach, even if we fail
	if err != nil || rerr != nil {
		t.Fatalf("attach: %v; IPC_RMID: %v", err, rerr)
	}
	defer func() { _ = unix.SysvShmDetach(mem) }()
	att, err := Attached(os.Getpid())
	if err != nil || !slices.Contains(att, id) {
		t.Errorf("Attached(self) = %v, %v; want it to hold %d", att, err, id)
	}
}

func TestChildrenAndCmdline(t *testing.T) {
	cmd := exec.Command("sleep", "5")
	if err := cmd.Start(); err != nil {
		t.Skip("no sleep binary:", err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	kids := Children(os.Getpid())
	if !slices.ContainsFunc(kids, func(p Proc) bool { return p.Pid == cmd.Process.Pid }) {
		t.Errorf("Children(self) = %+v; want the child %d", kids, cmd.Process.Pid)
	}
	args, err := Cmdline(cmd.Process.Pid)
	if err != nil || len(args) != 2 || args[1] != "5" {
		t.Errorf("Cmdline(child) = %q, %v; want [sleep 5]", args, err)
	}
}
