// registry.go records the process group of each server a test starts, so
// that nothing is left behind when a test cannot clean up after itself: a
// test binary killed by its -timeout, or by a Ctrl-C, runs no t.Cleanup.
// Every server the harness starts is in a process group of its own (out of
// reach of the terminal's Ctrl-C), so the harness also writes each group's
// id to a file the grader names; the grader, which outlives the test
// binary, kills those groups and removes the segments their dispatchers
// created (Reap).

package conformance

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"osps/common/shm"
)

// EnvRegistry names the file the harness appends each server's process
// group id to (one per line); unset, nothing is written.
const EnvRegistry = "OSPS_CONFORMANCE_REGISTRY"

var registryMu sync.Mutex

// register appends pgid to the registry file, if there is one.
func register(pgid int) {
	path := os.Getenv(EnvRegistry)
	if path == "" {
		return
	}
	registryMu.Lock()
	defer registryMu.Unlock()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		fmt.Fprintf(os.Stderr, "conformance: registry %s: %v\n", path, err)
		return
	}
	defer f.Close()
	fmt.Fprintf(f, "%d\n", pgid)
}

// Reap kills every process group listed in the registry file at path
// and removes the System V segments their leaders created. It returns
// what it found still there (none, when the tests cleaned up).
func Reap(path string) (procs, segs []int, err error) {
	f, err := os.Open(path)
	if err != nil {
		if os.IsNotExist(err) {
			return nil, nil, nil
		}
		return nil, nil, fmt.Errorf("open the registry: %w", err)
	}
	var pgids []int
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if n, err := strconv.Atoi(strings.TrimSpace(sc.Text())); err == nil && n > 1 {
			pgids = append(pgids, n)
		}
	}
	f.Close()
	for _, g := range pgids {
		if left := GroupProcesses(g); len(left) > 0 {
			procs = append(procs, left...)
			_ = syscall.Kill(-g, syscall.SIGKILL)
		}
	}
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		alive := false
		for _, g := range pgids {
			alive = alive || len(GroupProcesses(g)) > 0
		}
		if !alive {
			break
		}
	}
	for _, g := range pgids {
		ids, _ := shm.CreatedBy(g)
		for _, id := range ids {
			_, _ = unix.SysvShmCtl(id, unix.IPC_RMID, nil)
			segs = append(segs, id)
		}
	}
	return procs, segs, sc.Err()
}
