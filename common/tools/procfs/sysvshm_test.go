// sysvshm_test.go checks that a segment this process attached is found
// in its memory map.

package procfs

import (
	"os"
	"slices"
	"testing"

	"golang.org/x/sys/unix"
)

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
