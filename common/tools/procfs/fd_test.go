// fd_test.go checks the descriptors of a process: the two ends of a pipe
// share one inode.

package procfs

import (
	"os"
	"testing"
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
