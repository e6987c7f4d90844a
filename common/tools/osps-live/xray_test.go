// ./run.sh xray checked against /proc and STATS on a v3 server, and its
// flowchart (--mermaid).

package main

import (
	"bufio"
	"fmt"
	"net"
	"net/netip"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"osps/common/tools/conformance"
	"osps/common/tools/procfs"
)

// The x-ray of a v3 server, checked against what /proc and STATS say:
// every worker's fds 3 and 4 are pipes whose other ends the dispatcher
// holds (same inodes), the workers listen, the segment is attached by all.
func TestXrayMatchesProcAndStats(t *testing.T) {
	tg := serve(t, "v3", "--workers", "2")
	stats := conformance.Stats(t, tg.Addr)
	// A session of this test's own, open while the x-ray is taken: one
	// STATS round trip proves the dispatcher accepted it.
	conn, err := net.DialTimeout("tcp", tg.Addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := conn.Write([]byte("STATS\n")); err != nil {
		t.Fatal(err)
	}
	if line, err := bufio.NewReader(conn).ReadString('\n'); err != nil || !strings.HasPrefix(line, "OK ") {
		t.Fatalf("STATS on a raw session: %q, %v", line, err)
	}
	snap, err := take(tg.Pid)
	if err != nil {
		t.Fatal(err)
	}
	kids := procfs.Children(tg.Pid)
	if len(snap.Procs) != 1+len(kids) || len(kids) != len(stats) {
		t.Fatalf("x-ray shows %d processes; /proc shows the dispatcher and %d children, STATS %d workers", len(snap.Procs), len(kids), len(stats))
	}
	dispatcherFDs, err := procfs.FDs(tg.Pid)
	if err != nil {
		t.Fatal(err)
	}
	text := runTool(t, "xray", "--pid", strconv.Itoa(tg.Pid))
	chart := runTool(t, "xray", "--mermaid", "--pid", strconv.Itoa(tg.Pid))
	for _, s := range stats {
		name := fmt.Sprintf("worker#%d", s.ID)
		fds, err := procfs.FDs(s.Pid)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			label  string
			fd     int
			writer bool // the worker writes (pong) or reads (ping)
		}{{"ping", 3, false}, {"pong", 4, true}} {
			i := slices.IndexFunc(fds, func(f procfs.FD) bool { return f.Num == c.fd })
			if i < 0 || fds[i].Kind != "pipe" {
				t.Fatalf("%s fd %d is not a pipe: %+v", name, c.fd, fds)
			}
			ino := fds[i].Inode
			j := slices.IndexFunc(dispatcherFDs, func(f procfs.FD) bool { return f.Inode == ino })
			if j < 0 {
				t.Fatalf("the dispatcher holds no end of %s's pipe:[%d]", name, ino)
			}
			from, to := fmt.Sprintf("dispatcher fd %d", dispatcherFDs[j].Num), fmt.Sprintf("%s fd %d", name, c.fd)
			if c.writer {
				from, to = to, from
			}
			want := fmt.Sprintf("%s pipe:[%d]  %s → %s", c.label, ino, from, to)
			if !strings.Contains(text, want) {
				t.Errorf("x-ray text lacks %q:\n%s", want, text)
			}
			if !strings.Contains(chart, fmt.Sprintf("%s pipe:[%d]", c.label, ino)) {
				t.Errorf("flowchart lacks the %s pipe:[%d]:\n%s", c.label, ino, chart)
			}
		}
		if !regexp.MustCompile(name + ` +pid ` + strconv.Itoa(s.Pid) + ` `).MatchString(text) {
			t.Errorf("x-ray text does not show %s as pid %d:\n%s", name, s.Pid, text)
		}
	}
	// The dispatcher's stdout is a pipe to this test (startServer reads
	// its ready line there): a pipe from outside, marked so, and the
	// lab's pipes are not.
	i := strings.Index(text, "inherited from outside")
	if i < 0 {
		t.Fatalf("x-ray text marks no pipe as inherited from outside (the dispatcher's stdout is a pipe to this test):\n%s", text)
	}
	inherited := text[i:]
	if !regexp.MustCompile(`dispatcher fd 1 → pid ` + strconv.Itoa(os.Getpid()) + ` \(`).MatchString(inherited) {
		t.Errorf("x-ray text does not mark the dispatcher's stdout, a pipe to this test (pid %d), as inherited from outside:\n%s", os.Getpid(), text)
	}
	if strings.Contains(inherited, "ping pipe") || strings.Contains(inherited, "pong pipe") {
		t.Errorf("x-ray marks the lab's own ping or pong pipes as inherited from outside:\n%s", text)
	}
	for _, p := range snap.Pipes {
		if p.Outside != slices.ContainsFunc(append(slices.Clone(p.Writers), p.Readers...), func(e End) bool {
			return !strings.HasPrefix(e.Name, "dispatcher") && !strings.HasPrefix(e.Name, "worker#")
		}) {
			t.Errorf("pipe:[%d] outside=%v, ends %v %v", p.Inode, p.Outside, p.Writers, p.Readers)
		}
	}
	listening, mine := 0, 0
	for _, k := range snap.Sockets {
		if k.At.Name == "dispatcher" && k.TCP.State == "ESTABLISHED" && k.TCP.Remote.String() == conn.LocalAddr().String() {
			mine++
			if !slices.ContainsFunc(k.Peers, func(e End) bool { return e.Pid == os.Getpid() }) {
				t.Errorf("the dispatcher's end of this test's session %v: peers %v; want this process (%d)", k.TCP, k.Peers, os.Getpid())
			}
		}
		if k.TCP.State == "LISTEN" {
			listening++
			if k.At.Name == "dispatcher" && k.TCP.Local != netip.MustParseAddrPort(tg.Addr) {
				t.Errorf("dispatcher listens on %v; its ready line said %s", k.TCP.Local, tg.Addr)
			}
			// v3: the dispatcher opened each worker's port and keeps it
			// across respawns: the worker's socket is the dispatcher's too.
			if strings.HasPrefix(k.At.Name, "worker#") && !slices.ContainsFunc(k.Also, func(e End) bool { return e.Name == "dispatcher" }) {
				t.Errorf("%s listens on %v, a socket the dispatcher does not hold (also: %v)", k.At, k.TCP.Local, k.Also)
			}
		}
	}
	if mine != 1 {
		t.Errorf("%d of the dispatcher's sockets are connected to this test's %v; want 1", mine, conn.LocalAddr())
	}
	if listening != 1+len(stats) {
		t.Errorf("%d listening sockets (one per inode); want the dispatcher's and one per v3 worker (%d)", listening, 1+len(stats))
	}
	if len(snap.Segments) != 1 {
		t.Fatalf("x-ray shows %d segments; want 1", len(snap.Segments))
	}
	g := snap.Segments[0]
	var statsPids []int
	for _, s := range stats {
		statsPids = append(statsPids, s.Pid)
	}
	if !g.Dest() || g.Nattch != 1+len(stats) || len(g.By) != 1+len(stats) || !slices.Equal(g.SlotPids, statsPids) {
		t.Errorf("segment %+v: want dest, attached by the dispatcher and %d workers, slot pids %v", g, len(stats), statsPids)
	}
}
