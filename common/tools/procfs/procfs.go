// Package procfs reads the system the way ps, ls -l /proc/PID/fd and ss
// do: from /proc. This file reads the process table (/proc/<pid>/stat);
// fd.go the descriptors, net.go the TCP sockets, sysvshm.go the System V
// segments a process has attached (the kernel's table of segments is
// read by the lab itself, shm.Table). It is an instrument's package: the
// tools' tests use it to prove that nothing was left behind, the bench to
// find a dispatcher's workers, and the live instruments (xray, top) to
// draw a running server; the lab and its tests never import it.
package procfs

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Proc is one line of /proc/<pid>/stat, the fields we need.
type Proc struct {
	Pid   int
	State string // R, S, D, Z (zombie), T (stopped), ...
	Ppid  int
	Pgrp  int
}

// Live reports whether the process is running or able to run (not a
// zombie or dead: a zombie only waits to be reaped).
func (p Proc) Live() bool { return p.State != "Z" && p.State != "X" }

// All lists every process that /proc shows now.
func All() []Proc {
	var ps []Proc
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if p, ok := Read(pid); ok {
			ps = append(ps, p)
		}
	}
	return ps
}

// Read parses /proc/<pid>/stat; ok is false if the process is gone.
func Read(pid int) (Proc, bool) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return Proc{}, false
	}
	// pid (comm) state ppid pgrp ...: comm may hold spaces and ')': cut
	// after the last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return Proc{}, false
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 3 {
		return Proc{}, false
	}
	ppid, _ := strconv.Atoi(f[1])
	pgrp, _ := strconv.Atoi(f[2])
	return Proc{Pid: pid, State: f[0], Ppid: ppid, Pgrp: pgrp}, true
}

// Children lists the processes whose parent is pid, by pid.
func Children(pid int) []Proc {
	var kids []Proc
	for _, p := range All() {
		if p.Ppid == pid {
			kids = append(kids, p)
		}
	}
	sort.Slice(kids, func(i, j int) bool { return kids[i].Pid < kids[j].Pid })
	return kids
}

// ChildPids is Children's pids, in order.
func ChildPids(pid int) []int {
	var pids []int
	for _, k := range Children(pid) {
		pids = append(pids, k.Pid)
	}
	return pids
}

// Cmdline returns the arguments process pid was started with.
func Cmdline(pid int) ([]string, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return nil, fmt.Errorf("read cmdline of %d: %w", pid, err)
	}
	return strings.Split(strings.TrimSuffix(string(b), "\x00"), "\x00"), nil
}
