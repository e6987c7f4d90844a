// sysvshm.go finds the System V segments a process has attached, in
// /proc/<pid>/maps, where an attached segment appears as
// "/SYSV<key> (deleted)" with its shmid in the inode column. The kernel's
// table of segments (/proc/sysvipc/shm, ipcs -m) is read by the lab
// itself: shm.Table, shm.CreatedBy.

package procfs

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Attached lists the shmids of the System V segments process pid has
// attached, from /proc/<pid>/maps (a segment attached twice is listed
// twice).
func Attached(pid int) ([]int, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/maps", pid))
	if err != nil {
		return nil, fmt.Errorf("open maps of %d: %w", pid, err)
	}
	defer f.Close()
	var ids []int
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// address perms offset dev inode path: the inode of a /SYSV
		// mapping is the segment's shmid.
		fs := strings.Fields(sc.Text())
		if len(fs) >= 6 && strings.HasPrefix(fs[5], "/SYSV") {
			if id, err := strconv.Atoi(fs[4]); err == nil {
				ids = append(ids, id)
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read maps of %d: %w", pid, err)
	}
	return ids, nil
}
