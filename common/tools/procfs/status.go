// status.go reads the "Key: value" files of /proc: /proc/PID/status
// (VmRSS, VmHWM, TracerPid, ...) and /proc/PID/io (syscr, ...), one key
// at a time, for the tools that measure a process (the bench's meter,
// the conformance checks of memory and of reads across the pipes).

package procfs

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Field returns the value of the line "key: value" of the file at path
// (a /proc/PID/status or /proc/PID/io, or a thread's
// /proc/PID/task/TID/status), spaces trimmed.
func Field(path, key string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && k == key {
			return strings.TrimSpace(v), nil
		}
	}
	if err := sc.Err(); err != nil {
		return "", fmt.Errorf("read %s: %w", path, err)
	}
	return "", fmt.Errorf("%s has no %s line", path, key)
}

// Count is Field read as a number: syscr in /proc/PID/io.
func Count(path, key string) (int64, error) {
	v, err := Field(path, key)
	if err != nil {
		return 0, err
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s in %s: %q is not a number", key, path, v)
	}
	return n, nil
}

// StatusBytes is a size of /proc/PID/status ("VmRSS:  1234 kB"), in bytes.
func StatusBytes(pid int, key string) (int64, error) {
	path := fmt.Sprintf("/proc/%d/status", pid)
	v, err := Field(path, key)
	if err != nil {
		return 0, err
	}
	kb, ok := strings.CutSuffix(v, " kB")
	n, err := strconv.ParseInt(strings.TrimSpace(kb), 10, 64)
	if !ok || err != nil {
		return 0, fmt.Errorf("%s in %s: %q is not a size in kB", key, path, v)
	}
	return n << 10, nil
}
