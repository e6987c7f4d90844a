// Tests of the min-rate rule: a reader above the rate gets
// every byte, a reader that stops is cut within about one window.

package service

import (
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"
)

// TestRateWriterSteadyReader: a reader well above the rate gets it all,
// and Progress counts every byte.
func TestRateWriterSteadyReader(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	const n = 1 << 20
	got := make(chan int64, 1)
	go func() {
		k, _ := io.Copy(io.Discard, b)
		got <- k
	}()
	var progressed int
	w := &RateWriter{Conn: a, Rate: Rate{MinRate: 1 << 10, Window: 2 * time.Second}, Progress: func(k int) { progressed += k }}
	k, err := w.Write(make([]byte, n))
	if err != nil {
		t.Fatalf("Write: %v", err)
	}
	a.Close()
	if diff := cmp.Diff([]int64{n, n, n}, []int64{int64(k), <-got, int64(progressed)}); diff != "" {
		t.Errorf("written, read, progressed (-want +got):\n%s", diff)
	}
}

// TestRateWriterStalledReader: a reader that takes a little then stops is
// cut with ErrTooSlow (the deadline of its window), not left hanging.
func TestRateWriterStalledReader(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	go func() { _, _ = io.ReadFull(b, make([]byte, 100)) }() // then silence
	w := &RateWriter{Conn: a, Rate: Rate{MinRate: 1 << 20, Window: 200 * time.Millisecond}}
	k, err := w.Write(make([]byte, 1<<20))
	if !errors.Is(err, ErrTooSlow) {
		t.Fatalf("Write = %d, %v; want ErrTooSlow", k, err)
	}
	if k != 100 {
		t.Errorf("written before the cut = %d, want 100", k)
	}
}

// tcpPair is a loopback TCP connection: the server's end and the
// client's, whose receive buffer is kept small (as a client may), so
// that the kernel's buffers cannot hide the client's pace.
func tcpPair(t *testing.T) (srv, cli *net.TCPConn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	d := net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) { serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF, 32<<10) })
		return errors.Join(err, serr)
	}}
	c, err := d.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	s, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(); s.Close() })
	return s.(*net.TCPConn), c.(*net.TCPConn)
}

// pacedRead reads from c at rate bytes per second until end of file or
// an error, and returns what it read and the error.
func pacedRead(c net.Conn, rate float64) (int64, error) {
	buf := make([]byte, 4<<10)
	start := time.Now()
	var got int64
	for {
		_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
		n, err := c.Read(buf)
		got += int64(n)
		if err != nil {
			return got, err
		}
		time.Sleep(time.Until(start.Add(time.Duration(float64(got) / rate * float64(time.Second)))))
	}
}

// TestRateWriterPacedReaders: over TCP, readers at 1.1 and 2 times the
// rate get every byte, however full the kernel's buffers; a reader at
// half the rate is cut, and learns it from a reset, not from an end of
// file minutes later. (A rule that counted the bytes the kernel
// accepted cut the 1.1 reader: the writer stays blocked on a full
// buffer longer than a window while the reader keeps reading.)
func TestRateWriterPacedReaders(t *testing.T) {
	const rate, n = 128 << 10, 1 << 20
	for _, tc := range []struct {
		factor float64
		cut    bool
	}{{1.1, false}, {2, false}, {0.5, true}} {
		t.Run(fmt.Sprint(tc.factor), func(t *testing.T) {
			t.Parallel()
			srv, cli := tcpPair(t)
			got := make(chan error, 1)
			var read int64
			go func() {
				var err error
				read, err = pacedRead(cli, tc.factor*rate)
				got <- err
			}()
			w := Rate{MinRate: rate, Window: 500 * time.Millisecond}.Writer(srv, nil)
			_, werr := w.Write(make([]byte, n))
			if werr == nil {
				srv.Close()
			}
			rerr := <-got
			switch {
			case !tc.cut && (werr != nil || read != n):
				t.Errorf("reader at %.1f× the rate: write %v; read %d of %d bytes (%v)", tc.factor, werr, read, n, rerr)
			case tc.cut && !errors.Is(werr, ErrTooSlow):
				t.Errorf("reader at %.1f× the rate: write %v, want ErrTooSlow", tc.factor, werr)
			case tc.cut && !errors.Is(rerr, syscall.ECONNRESET):
				t.Errorf("reader at %.1f× the rate: it read %d bytes then %v; want a reset (the cut, at once)", tc.factor, read, rerr)
			}
		})
	}
}
