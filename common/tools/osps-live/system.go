// A running server as the kernel shows it: the process tree from
// /proc/<pid>/stat, every descriptor from /proc/<pid>/fd, sockets from
// /proc/net/tcp, segments from /proc/sysvipc/shm and /proc/<pid>/maps.
// Two descriptors are joined only when their inodes match, two sockets
// only when one's local address is the other's remote one: nothing is
// guessed.

package main

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	"osps/common/shm"
	"osps/common/tools/procfs"
)

// Proc is one process of the server.
type Proc struct {
	Name  string // "dispatcher", "worker#2" (from its --slot argument)
	Pid   int
	State string // as ps shows it: S sleeping, R running, T stopped, Z zombie
	FDs   []procfs.FD
	Shm   []int // shmids attached (from its maps)
}

// End is one end of a pipe or socket: a process and a descriptor.
type End struct {
	Name string // a Proc's name, or "pid N (comm)" outside the server
	Pid  int
	FD   int
}

func (e End) String() string { return fmt.Sprintf("%s fd %d", e.Name, e.FD) }

// Pipe is one pipe with the ends found for it.
type Pipe struct {
	Inode   uint64
	Label   string // "ping", "pong" or "pipe"
	Writers []End
	Readers []End
	Outside bool // an end is held by a process outside the server: inherited from whoever started it (its stdin, stdout or stderr), not the lab's
}

// Socket is one TCP socket of the server, and its peer if it has one.
type Socket struct {
	At    End
	Also  []End // the server's other descriptors for the same socket (one inode: inherited, e.g. v3's worker ports, which the dispatcher holds too)
	TCP   procfs.TCPSocket
	Peers []End // the processes holding the other end (found by address, then inode)
}

// Seg is one System V segment attached by the server.
type Seg struct {
	shm.Entry
	By       []string // names of the server's processes attaching it
	NSlots   int
	DataSize int
	SlotPids []int // the pid each slot records
}

// Snapshot is the whole picture at one moment.
type Snapshot struct {
	Procs    []Proc
	Pipes    []Pipe
	Sockets  []Socket
	Segments []Seg
}

// take reads the server whose dispatcher is pid.
func take(pid int) (*Snapshot, error) {
	segs, err := shm.Table() // before this program attaches anything
	if err != nil {
		return nil, err
	}
	d, ok := procfs.Read(pid)
	if !ok {
		return nil, fmt.Errorf("no process %d", pid)
	}
	procs := []Proc{{Name: "dispatcher", Pid: pid, State: d.State}}
	for _, k := range procfs.Children(pid) {
		procs = append(procs, Proc{Name: childName(k.Pid), Pid: k.Pid, State: k.State})
	}
	slices.SortStableFunc(procs[1:], func(a, b Proc) int { return strings.Compare(a.Name, b.Name) })
	for i := range procs {
		p := &procs[i]
		if p.FDs, err = procfs.FDs(p.Pid); err != nil {
			return nil, err
		}
		if p.Shm, err = procfs.Attached(p.Pid); err != nil {
			return nil, err
		}
	}
	s := &Snapshot{Procs: procs}
	owners := ownersOfAll(procs)
	s.Pipes = pipes(procs, owners)
	if s.Sockets, err = sockets(procs, owners); err != nil {
		return nil, err
	}
	s.Segments = segments(procs, segs)
	return s, nil
}

// childName names a child by its --slot argument: "worker#K".
func childName(pid int) string {
	args, _ := procfs.Cmdline(pid)
	for i, a := range args {
		if a == "--slot" && i+1 < len(args) {
			return "worker#" + args[i+1]
		}
	}
	return fmt.Sprintf("child %d", pid)
}

// ownersOfAll maps every pipe and socket inode open anywhere on the
// machine to its ends, the server's ends named after its processes.
func ownersOfAll(procs []Proc) map[uint64][]endFD {
	names := map[int]string{}
	for _, p := range procs {
		names[p.Pid] = p.Name
	}
	owners := map[uint64][]endFD{}
	for _, p := range procfs.All() {
		fds, err := procfs.FDs(p.Pid)
		if err != nil {
			continue // gone, or not ours to read
		}
		name, ok := names[p.Pid]
		if !ok {
			name = fmt.Sprintf("pid %d (%s)", p.Pid, comm(p.Pid))
		}
		for _, fd := range fds {
			if fd.Inode != 0 {
				owners[fd.Inode] = append(owners[fd.Inode], endFD{End{name, p.Pid, fd.Num}, fd})
			}
		}
	}
	for _, es := range owners { // the server's own ends first
		slices.SortStableFunc(es, func(a, b endFD) int { return boolInt(names[b.Pid] != "") - boolInt(names[a.Pid] != "") })
	}
	return owners
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

type endFD struct {
	End
	fd procfs.FD
}

func comm(pid int) string {
	b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/comm")
	return strings.TrimSpace(string(b))
}

// pipes lists each pipe the server holds, with every end of it found on
// the machine. A worker reads pings on fd 3 and writes pongs on fd 4
// (docs/pipes.md): that names the pipe.
func pipes(procs []Proc, owners map[uint64][]endFD) []Pipe {
	var out []Pipe
	seen := map[uint64]bool{}
	for _, p := range procs {
		for _, fd := range p.FDs {
			if fd.Kind != "pipe" || seen[fd.Inode] {
				continue
			}
			seen[fd.Inode] = true
			pp := Pipe{Inode: fd.Inode, Label: "pipe"}
			for _, e := range owners[fd.Inode] {
				if !slices.ContainsFunc(procs, func(p Proc) bool { return p.Pid == e.Pid }) {
					pp.Outside = true
				}
				if e.fd.Write {
					pp.Writers = append(pp.Writers, e.End)
				} else {
					pp.Readers = append(pp.Readers, e.End)
				}
				if strings.HasPrefix(e.Name, "worker#") && e.FD == 3 && !e.fd.Write {
					pp.Label = "ping"
				}
				if strings.HasPrefix(e.Name, "worker#") && e.FD == 4 && e.fd.Write {
					pp.Label = "pong"
				}
			}
			out = append(out, pp)
		}
	}
	return out
}

// sockets lists the server's TCP sockets; a connected one is joined to
// the socket whose addresses are its own, reversed.
func sockets(procs []Proc, owners map[uint64][]endFD) ([]Socket, error) {
	tcp, err := procfs.TCPSockets()
	if err != nil {
		return nil, err
	}
	byAddrs := map[[2]string]uint64{}
	for ino, t := range tcp {
		byAddrs[[2]string{t.Local.String(), t.Remote.String()}] = ino
	}
	var out []Socket
	at := map[uint64]int{} // inode -> index in out
	for _, p := range procs {
		for _, fd := range p.FDs {
			t, ok := tcp[fd.Inode]
			if fd.Kind != "socket" || !ok {
				continue
			}
			here := End{p.Name, p.Pid, fd.Num}
			if i, seen := at[fd.Inode]; seen {
				// One socket, several descriptors: the later process (a
				// worker, after its dispatcher) is the one that uses it.
				out[i].Also = append(out[i].Also, out[i].At)
				out[i].At = here
				continue
			}
			s := Socket{At: here, TCP: t}
			if peer, ok := byAddrs[[2]string{t.Remote.String(), t.Local.String()}]; ok && t.State != "LISTEN" {
				for _, e := range owners[peer] {
					s.Peers = append(s.Peers, e.End)
				}
			}
			at[fd.Inode] = len(out)
			out = append(out, s)
		}
	}
	return out, nil
}

// segments describes each segment the server attaches, its header read
// through a read-only attachment of this program's own.
func segments(procs []Proc, all []shm.Entry) []Seg {
	var out []Seg
	for _, ps := range all {
		var by []string
		for _, p := range procs {
			if slices.Contains(p.Shm, ps.ID) {
				by = append(by, p.Name)
			}
		}
		if len(by) == 0 {
			continue
		}
		sg := Seg{Entry: ps, By: by}
		if ro, err := shm.AttachReadOnly(ps.ID); err == nil {
			sg.NSlots, sg.DataSize = ro.NSlots(), ro.DataSize()
			for i := range ro.NSlots() {
				sg.SlotPids = append(sg.SlotPids, ro.Slot(i).Pid())
			}
			_ = ro.Detach()
		}
		out = append(out, sg)
	}
	return out
}
