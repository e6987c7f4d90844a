// The checks of client_sameport.go: its Control hook on its own (the lab
// v2-sameport: both options set on the socket, at the socket level, and
// every error returned, whether Control's own or setsockopt's), and the
// platform facts of the same-port trick.

package main

import (
	"context"
	"errors"
	"flag"
	"net"
	"net/netip"
	"os"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

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

// rawConn is a syscall.RawConn whose Control runs f on fd, or fails.
type rawConn struct {
	fd  uintptr
	err error
}

func (c rawConn) Control(f func(fd uintptr)) error {
	if c.err != nil {
		return c.err
	}
	f(c.fd)
	return nil
}
func (rawConn) Read(func(uintptr) bool) error  { return errors.New("not used") }
func (rawConn) Write(func(uintptr) bool) error { return errors.New("not used") }

// TestReuseOptions runs reuse on a fresh socket and reads both options back.
func TestReuseOptions(t *testing.T) {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if err := reuse("tcp4", "127.0.0.1:0", rawConn{fd: uintptr(fd)}); err != nil {
		t.Fatalf("reuse on a fresh socket: %v", err)
	}
	for _, o := range []struct {
		name string
		opt  int
	}{{"SO_REUSEADDR", unix.SO_REUSEADDR}, {"SO_REUSEPORT", unix.SO_REUSEPORT}} {
		if v, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, o.opt); err != nil || v != 1 {
			t.Errorf("after reuse, %s at level SOL_SOCKET is %d (%v); want 1: both sockets of the trick need it before bind", o.name, v, err)
		}
	}
}

// TestReuseReportsErrors: a hook that loses an error lets the client go
// on with a socket that cannot share its port.
func TestReuseReportsErrors(t *testing.T) {
	controlErr := errors.New("control failed")
	if err := reuse("tcp4", "127.0.0.1:0", rawConn{err: controlErr}); !errors.Is(err, controlErr) {
		t.Errorf("Control itself fails: reuse returned %v; want that error, wrapped (%%w)", err)
	}
	// A descriptor that is not a socket (a pipe): setsockopt fails with ENOTSOCK.
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	if err := reuse("tcp4", "127.0.0.1:0", rawConn{fd: r.Fd()}); !errors.Is(err, syscall.ENOTSOCK) {
		t.Errorf("setsockopt fails (not a socket): reuse returned %v; want the setsockopt error, wrapped (%%w)", err)
	}
}
