// sysvshm.go demonstrates what ipcs -m reads: /proc/sysvipc/shm, one line
// per System V segment, and /proc/<pid>/maps, where an attached segment
// appears as "/SYSV<key> (deleted)" with its shmid in the inode column.

package procfs

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// Segment is one line of /proc/sysvipc/shm.
type Segment struct {
	Key    int64
	ID     int
	Perms  uint64 // mode bits in octal as printed, with the kernel's flags
	Size   int64
	Cpid   int // the creator
	Lpid   int // the last process to attach or detach
	Nattch int // processes attached now
}

// shmDest is the flag the kernel adds to the mode of a segment marked
// for removal (IPC_RMID); ipcs -m shows it as status "dest".
const shmDest = 0o1000

// Dest reports whether the segment is marked for removal: the kernel
// frees it when Nattch drops to zero.
func (s Segment) Dest() bool { return s.Perms&shmDest != 0 }

// Segments lists the System V segments that exist now.
func Segments() ([]Segment, error) {
	f, err := os.Open("/proc/sysvipc/shm")
	if err != nil {
		return nil, fmt.Errorf("open /proc/sysvipc/shm: %w", err)
	}
	defer f.Close()
	segs, err := ParseSegments(f)
	if err != nil {
		return nil, fmt.Errorf("/proc/sysvipc/shm: %w", err)
	}
	return segs, nil
}

// ParseSegments parses the text of /proc/sysvipc/shm.
func ParseSegments(r io.Reader) ([]Segment, error) {
	sc := bufio.NewScanner(r)
	sc.Scan() // key shmid perms size cpid lpid nattch ...
	var out []Segment
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 7 {
			return nil, fmt.Errorf("short line %q", sc.Text())
		}
		var s Segment
		var errs [7]error
		s.Key, errs[0] = strconv.ParseInt(f[0], 10, 64)
		s.ID, errs[1] = strconv.Atoi(f[1])
		s.Perms, errs[2] = strconv.ParseUint(f[2], 8, 32)
		s.Size, errs[3] = strconv.ParseInt(f[3], 10, 64)
		s.Cpid, errs[4] = strconv.Atoi(f[4])
		s.Lpid, errs[5] = strconv.Atoi(f[5])
		s.Nattch, errs[6] = strconv.Atoi(f[6])
		for _, err := range errs {
			if err != nil {
				return nil, fmt.Errorf("bad line %q: %w", sc.Text(), err)
			}
		}
		out = append(out, s)
	}
	return out, sc.Err()
}

// SegmentsCreatedBy lists the ids of the segments that process pid
// created and that still exist: what a test checks it left none of.
func SegmentsCreatedBy(pid int) ([]int, error) {
	segs, err := Segments()
	if err != nil {
		return nil, err
	}
	var ids []int
	for _, s := range segs {
		if s.Cpid == pid {
			ids = append(ids, s.ID)
		}
	}
	return ids, nil
}

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
