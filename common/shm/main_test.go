// main_test.go checks, after every test of the package has run, that the
// tests left no System V segment behind: the one promise of package shm.

package shm

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestMain(m *testing.M) {
	code := m.Run()
	left, err := segmentsCreatedBy(os.Getpid())
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

// segmentsCreatedBy lists the ids of the segments that process pid
// created and that still exist (/proc/sysvipc/shm, what ipcs -m reads).
func segmentsCreatedBy(pid int) ([]int, error) {
	f, err := os.Open("/proc/sysvipc/shm")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Scan() // the column names
	var ids []int
	for sc.Scan() {
		// key shmid perms size cpid lpid nattch ...
		fs := strings.Fields(sc.Text())
		if len(fs) < 5 {
			return nil, fmt.Errorf("/proc/sysvipc/shm: short line %q", sc.Text())
		}
		id, err1 := strconv.Atoi(fs[1])
		cpid, err2 := strconv.Atoi(fs[4])
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("/proc/sysvipc/shm: bad line %q", sc.Text())
		}
		if cpid == pid {
			ids = append(ids, id)
		}
	}
	return ids, sc.Err()
}
