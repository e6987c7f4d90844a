// main_test.go checks, after every test of the package has run, that the
// tests left no System V segment behind: the one promise of package shm.

package shm

import (
	"fmt"
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

func TestMain(m *testing.M) {
	code := m.Run()
	left, err := CreatedBy(os.Getpid())
	if err != nil {
		fmt.Fprintln(os.Stderr, "shm tests: cannot list segments:", err)
		code = 1
	}
	for _, id := range left {
		fmt.Fprintf(os.Stderr, "shm tests: segment %d left behind (removing it now)\n", id)
		_, _ = unix.SysvShmCtl(id, unix.IPC_RMID, nil)
		code = 1
	}
	os.Exit(code)
}
