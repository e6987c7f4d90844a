// table.go reads the kernel's table of System V segments,
// /proc/sysvipc/shm, one line per segment: what ipcs -m prints. A test
// or an instrument finds the segments a process made by their creator's
// pid (CreatedBy), never by comparing the table before and after, since
// other people's segments come and go on a shared machine.

package shm

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// Entry is one line of /proc/sysvipc/shm.
type Entry struct {
	Key    int64
	ID     int
	Perms  uint64 // mode bits in octal as printed, with the kernel's flags
	Size   int64
	Cpid   int // the creator
	Lpid   int // the last process to attach or detach
	Nattch int // processes attached now
}

// shmDest is SHM_DEST of <linux/shm.h>, the flag the kernel adds to the
// mode of a segment marked for removal (IPC_RMID); ipcs -m shows it as
// status "dest".
const shmDest = 0o1000

// Dest reports whether the segment is marked for removal: the kernel
// frees it when Nattch drops to zero.
func (e Entry) Dest() bool { return e.Perms&shmDest != 0 }

// Table lists the System V segments that exist now.
func Table() ([]Entry, error) {
	f, err := os.Open("/proc/sysvipc/shm")
	if err != nil {
		return nil, fmt.Errorf("open /proc/sysvipc/shm: %w", err)
	}
	defer f.Close()
	es, err := ParseTable(f)
	if err != nil {
		return nil, fmt.Errorf("/proc/sysvipc/shm: %w", err)
	}
	return es, nil
}

// ParseTable parses the text of /proc/sysvipc/shm.
func ParseTable(r io.Reader) ([]Entry, error) {
	sc := bufio.NewScanner(r)
	sc.Scan() // key shmid perms size cpid lpid nattch ...
	var out []Entry
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 7 {
			return nil, fmt.Errorf("short line %q", sc.Text())
		}
		var e Entry
		var errs [7]error
		e.Key, errs[0] = strconv.ParseInt(f[0], 10, 64)
		e.ID, errs[1] = strconv.Atoi(f[1])
		e.Perms, errs[2] = strconv.ParseUint(f[2], 8, 32)
		e.Size, errs[3] = strconv.ParseInt(f[3], 10, 64)
		e.Cpid, errs[4] = strconv.Atoi(f[4])
		e.Lpid, errs[5] = strconv.Atoi(f[5])
		e.Nattch, errs[6] = strconv.Atoi(f[6])
		for _, err := range errs {
			if err != nil {
				return nil, fmt.Errorf("bad line %q: %w", sc.Text(), err)
			}
		}
		out = append(out, e)
	}
	return out, sc.Err()
}

// CreatedBy lists the ids of the segments that process pid created and
// that still exist: what a test checks it left none of.
func CreatedBy(pid int) ([]int, error) {
	es, err := Table()
	if err != nil {
		return nil, err
	}
	var ids []int
	for _, e := range es {
		if e.Cpid == pid {
			ids = append(ids, e.ID)
		}
	}
	return ids, nil
}
