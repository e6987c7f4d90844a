// ./run.sh xray: a running server drawn from /proc alone: its process
// tree, each pipe from one end to the other, its sockets with their
// addresses, and the segment with its layout, as text for the terminal or
// as a Mermaid flowchart (--mermaid).

package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/pflag"

	"osps/common/shm"
)

func runXray(args []string, stdout, stderr io.Writer) int {
	const synopsis = "./run.sh xray [--mermaid] [--workers N] VARIANT | ./run.sh xray --pid PID"
	fs := pflag.NewFlagSet("xray", pflag.ContinueOnError)
	binDir := fs.String("bin", "bin", "directory of the variants' binaries")
	pid := fs.Int("pid", 0, "look at this running dispatcher instead of starting one")
	workers := fs.Int("workers", 2, "workers of the dispatcher started here")
	mermaid := fs.Bool("mermaid", false, "print a Mermaid flowchart instead of text")
	if status, done := parseFlags(fs, args, synopsis, stdout, stderr); done {
		return status
	}
	switch {
	case fs.NArg() > 1:
		return usageError(stderr, fs, synopsis, "one VARIANT only")
	case fs.NArg() == 0 && *pid == 0:
		return usageError(stderr, fs, synopsis, "missing VARIANT (v1, v2 or v3), or --pid PID")
	case fs.NArg() == 1 && variantArg(fs.Arg(0)) != nil:
		return usageError(stderr, fs, synopsis, variantArg(fs.Arg(0)).Error())
	}
	t, err := startOrAttach(*binDir, fs.Arg(0), *pid, io.Discard, "--workers", fmt.Sprint(*workers))
	if err != nil {
		fmt.Fprintln(stderr, "osps-live xray:", err)
		return 1
	}
	snap, err := take(t.Pid)
	if cerr := t.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		fmt.Fprintln(stderr, "osps-live xray:", err)
		return 1
	}
	if *mermaid {
		writeFlowchart(stdout, snap)
	} else {
		writeText(stdout, snap)
	}
	return 0
}

// ends prints at most four ends, then how many more.
func ends(es []End) string {
	if len(es) == 0 {
		return "(none found)"
	}
	var s []string
	for i, e := range es {
		if i == 4 {
			s = append(s, fmt.Sprintf("and %d more", len(es)-4))
			break
		}
		s = append(s, e.String())
	}
	return strings.Join(s, ", ")
}

func writeText(w io.Writer, s *Snapshot) {
	fmt.Fprintln(w, "processes (/proc/PID/stat; a worker is named by its --slot argument)")
	for i, p := range s.Procs {
		branch := ""
		switch {
		case i == 0:
		case i == len(s.Procs)-1:
			branch = "└─ "
		default:
			branch = "├─ "
		}
		fmt.Fprintf(w, "  %-16s pid %-7d state %s\n", branch+p.Name, p.Pid, p.State)
	}
	fmt.Fprintln(w, "\npipes (the ends of each pipe: same inode in /proc/PID/fd; write end → read end)")
	outside := 0
	for _, p := range s.Pipes {
		if p.Outside {
			outside++
			continue
		}
		fmt.Fprintf(w, "  %-4s pipe:[%d]  %s → %s\n", p.Label, p.Inode, ends(p.Writers), ends(p.Readers))
	}
	if outside > 0 {
		fmt.Fprintln(w, "  inherited from outside, not the lab's (the stdin, stdout or stderr of whoever started the dispatcher):")
		for _, p := range s.Pipes {
			if p.Outside {
				fmt.Fprintf(w, "  %-4s pipe:[%d]  %s → %s  (inherited)\n", p.Label, p.Inode, ends(p.Writers), ends(p.Readers))
			}
		}
	}
	fmt.Fprintln(w, "\nsockets (inode in /proc/PID/fd, addresses in /proc/net/tcp)")
	for _, k := range s.Sockets {
		if k.TCP.State == "LISTEN" {
			also := ""
			if len(k.Also) > 0 {
				also = "  one socket, also held by " + ends(k.Also) + " (inherited)"
			}
			fmt.Fprintf(w, "  %-18s LISTEN       %s%s\n", k.At, k.TCP.Local, also)
			continue
		}
		fmt.Fprintf(w, "  %-18s %-12s %s ↔ %s  %s\n", k.At, k.TCP.State, k.TCP.Local, k.TCP.Remote, ends(k.Peers))
	}
	fmt.Fprintln(w, "\nsegment (/proc/sysvipc/shm, and /SYSV lines of /proc/PID/maps)")
	for _, g := range s.Segments {
		dest := "not marked for removal"
		if g.Dest() {
			dest = "marked for removal (dest): freed at the last detach"
		}
		fmt.Fprintf(w, "  shmid %d: %d bytes, nattch %d, %s; created by pid %d\n", g.ID, g.Size, g.Nattch, dest, g.Cpid)
		fmt.Fprintf(w, "  attached by %s\n", strings.Join(g.By, ", "))
		if g.NSlots == 0 {
			continue
		}
		stride := shm.Size(1, g.DataSize) - shm.HeaderSize
		fmt.Fprintf(w, "  layout: header [0, %d): magic, version, nslots %d, data size %d, stride %d\n", shm.HeaderSize, g.NSlots, g.DataSize, stride)
		for i := range g.NSlots {
			off := shm.HeaderSize + i*stride
			fmt.Fprintf(w, "    slot %d [%d, %d): fields [%d, %d), data [%d, %d)  slot's pid %d\n",
				i, off, off+stride, off, off+shm.SlotHeader, off+shm.SlotHeader, off+shm.SlotHeader+g.DataSize, g.SlotPids[i])
		}
	}
}

// writeFlowchart draws the server's processes, the pipes between them,
// their listening sockets and the segment. Ends outside the server (the
// terminal, this program) are left to the text form.
func writeFlowchart(w io.Writer, s *Snapshot) {
	fmt.Fprintln(w, "flowchart LR")
	in := map[int]bool{}
	for _, p := range s.Procs {
		in[p.Pid] = true
		fmt.Fprintf(w, "  P%d[\"%s<br/>pid %d\"]\n", p.Pid, mermaidText(p.Name), p.Pid)
	}
	for _, p := range s.Pipes {
		for _, a := range p.Writers {
			for _, b := range p.Readers {
				if in[a.Pid] && in[b.Pid] && a.Pid != b.Pid {
					fmt.Fprintf(w, "  P%d -- \"%s pipe:[%d]<br/>fd %d → fd %d\" --> P%d\n", a.Pid, p.Label, p.Inode, a.FD, b.FD, b.Pid)
				}
			}
		}
	}
	for i, k := range s.Sockets {
		if k.TCP.State == "LISTEN" {
			fmt.Fprintf(w, "  L%d([\"listening %s\"])\n  P%d -- \"fd %d\" --- L%d\n", i, k.TCP.Local, k.At.Pid, k.At.FD, i)
			for _, e := range k.Also {
				fmt.Fprintf(w, "  P%d -. \"fd %d (held)\" .- L%d\n", e.Pid, e.FD, i)
			}
		}
	}
	for _, g := range s.Segments {
		fmt.Fprintf(w, "  S%d[(\"segment shmid %d<br/>%d bytes, %d slots\")]\n", g.ID, g.ID, g.Size, g.NSlots)
		for _, p := range s.Procs {
			for _, id := range p.Shm {
				if id == g.ID {
					fmt.Fprintf(w, "  P%d -. \"shmat\" .- S%d\n", p.Pid, g.ID)
				}
			}
		}
	}
}
