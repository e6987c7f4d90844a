// fd.go reads /proc/<pid>/fd: one symbolic link per open descriptor,
// "pipe:[inode]" or "socket:[inode]" for the kernel's objects. Two
// descriptors name the same pipe exactly when their inodes match: that is
// how ls -l /proc/*/fd, matched by hand, draws the pipes.

package procfs

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// FD is one open descriptor of a process.
type FD struct {
	Num    int
	Target string // the link: "pipe:[54601]", "/dev/null", ...
	Kind   string // "pipe", "socket", "anon" (anon_inode:...) or "file"
	Inode  uint64 // for a pipe or a socket, its inode number
	Write  bool   // opened for writing (the write end of a pipe)
}

// FDs lists the open descriptors of process pid, by number.
func FDs(pid int) ([]FD, error) {
	dir := filepath.Join("/proc", strconv.Itoa(pid), "fd")
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", dir, err)
	}
	var fds []FD
	for _, e := range ents {
		n, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		target, err := os.Readlink(filepath.Join(dir, e.Name()))
		if err != nil {
			continue // closed since ReadDir
		}
		fd := ParseFD(n, target)
		fd.Write = writable(pid, n)
		fds = append(fds, fd)
	}
	sort.Slice(fds, func(i, j int) bool { return fds[i].Num < fds[j].Num })
	return fds, nil
}

// ParseFD reads a /proc/<pid>/fd link target.
func ParseFD(num int, target string) FD {
	fd := FD{Num: num, Target: target, Kind: "file"}
	for _, kind := range []string{"pipe", "socket"} {
		if rest, ok := strings.CutPrefix(target, kind+":["); ok {
			if ino, err := strconv.ParseUint(strings.TrimSuffix(rest, "]"), 10, 64); err == nil {
				fd.Kind, fd.Inode = kind, ino
			}
		}
	}
	if strings.HasPrefix(target, "anon_inode:") {
		fd.Kind = "anon"
	}
	return fd
}

// writable reads the access mode from /proc/<pid>/fdinfo/<fd> ("flags:"
// in octal; O_WRONLY is 1, O_RDWR 2).
func writable(pid, fd int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/fdinfo/%d", pid, fd))
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "flags:"); ok {
			flags, err := strconv.ParseUint(strings.TrimSpace(v), 8, 64)
			return err == nil && flags&3 != 0
		}
	}
	return false
}
