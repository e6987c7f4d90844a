// Tests of the raw pipe reads and writes against a real pipe: records
// through, waiting while empty, a read deadline, and end of file once
// the write end is closed.

package proc

import (
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"osps/common/pingpong"
)

func TestRawPipe(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()

	// A record through, then one written while the reader already waits.
	want := []pingpong.Msg{{Op: pingpong.PingRequest, Seq: 1, Arg: 7}, {Op: pingpong.PongDone, Seq: 2, Arg: 1 << 40}}
	if err := pingpong.Send(rawPipe{w}, want[0]); err != nil {
		t.Fatal(err)
	}
	go func() {
		time.Sleep(20 * time.Millisecond)
		_ = pingpong.Send(rawPipe{w}, want[1])
	}()
	var got []pingpong.Msg
	for range want {
		m, err := pingpong.Recv(rawPipe{r})
		if err != nil {
			t.Fatalf("Recv: %v", err)
		}
		got = append(got, m)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("records (-want +got):\n%s", diff)
	}

	// Nothing written: the read deadline ends the wait.
	if err := r.SetReadDeadline(time.Now().Add(20 * time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	if _, err := pingpong.Recv(rawPipe{r}); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("Recv on an empty pipe past its deadline = %v, want os.ErrDeadlineExceeded", err)
	}
	_ = r.SetReadDeadline(time.Time{})

	// The write end closed: end of file, which Recv reports as the peer gone.
	w.Close()
	var b [4]byte
	if n, err := (rawPipe{r}).Read(b[:]); n != 0 || err != io.EOF {
		t.Errorf("Read after the write end closed = %d, %v; want 0, io.EOF", n, err)
	}
	if _, err := pingpong.Recv(rawPipe{r}); !errors.Is(err, pingpong.ErrPeerGone) {
		t.Errorf("Recv after the write end closed = %v, want pingpong.ErrPeerGone", err)
	}
	// Our own end closed: an error, not a hang.
	r.Close()
	if _, err := (rawPipe{r}).Read(b[:]); !errors.Is(err, os.ErrClosed) {
		t.Errorf("Read on a closed file = %v, want os.ErrClosed", err)
	}
	r2, w2, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	r2.Close()
	w2.Close()
	if err := pingpong.Send(rawPipe{w2}, want[0]); !errors.Is(err, os.ErrClosed) || !strings.Contains(err.Error(), "write |") {
		t.Errorf("Send on a closed file = %v, want os.ErrClosed as \"write |N: file already closed\"", err)
	}
}

// TestPollIn checks the raw ppoll a v1 worker waits in: a timeout on an
// empty pipe, readable once a record is written (and the read then
// finds it), readable at end of file.
func TestPollIn(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	rc, err := r.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var fd int
	_ = rc.Control(func(f uintptr) { fd = int(f) })
	if ready, err := pollIn(fd, 10*time.Millisecond); ready || err != nil {
		t.Errorf("empty pipe: pollIn = %v, %v; want false after the timeout", ready, err)
	}
	want := pingpong.Msg{Op: pingpong.PingRequest, Seq: 3, Arg: 9}
	go func() {
		time.Sleep(20 * time.Millisecond)
		_ = pingpong.Send(rawPipe{w}, want)
	}()
	ready, err := false, error(nil)
	for deadline := time.Now().Add(5 * time.Second); !ready && err == nil && time.Now().Before(deadline); {
		ready, err = pollIn(fd, time.Second) // false on EINTR: the caller loops, as here
	}
	if !ready || err != nil {
		t.Fatalf("a record written: pollIn = %v, %v; want readable", ready, err)
	}
	if got, err := pingpong.Recv(rawPipe{r}); err != nil || got != want {
		t.Errorf("the record after pollIn: %+v, %v", got, err)
	}
	w.Close()
	if ready, err := pollIn(fd, time.Second); !ready || err != nil {
		t.Errorf("end of file: pollIn = %v, %v; want readable", ready, err)
	}
}
