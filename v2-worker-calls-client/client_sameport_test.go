// reuse_test.go checks the Control hook of the same-port trick (the lab
// v2-sameport) on its own: both options set on the socket, at the socket
// level, and every error returned, whether Control's own or setsockopt's.

package main

import (
	"errors"
	"os"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

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
