// structure.go checks what the protocol cannot show: the architecture,
// as the kernel sees it in /proc (read with common/tools/procfs), for
// any program in any language. serve has its --workers worker processes
// before the first request; one System V segment is attached by the
// dispatcher and by every worker; each worker is joined to the
// dispatcher by its own pipes (matched by inode); requests cross them;
// and the answer takes its variant's route. A one-process server fails
// the first check with one line, and every check that needs workers is
// skipped with that reason (WorkersMissing), not failed in a cascade.

package conformance

import (
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"osps/common/shm"
	"osps/common/tools/procfs"
)

// StructureWorkers is the --workers of the structure checks' server: not
// the default (4), so that a program that ignores the flag is seen.
const StructureWorkers = 3

// Layout is a running server's processes, from /proc: the dispatcher
// (the process of the server's group nearest to its root that holds the
// listening socket: a wrapper script may stand above it) and its live
// children, the workers.
type Layout struct {
	Dispatcher int
	Workers    []int
}

// ReadLayout finds srv's dispatcher and workers.
func ReadLayout(srv *Server) (Layout, error) {
	ap, err := netip.ParseAddrPort(srv.Addr)
	if err != nil {
		return Layout{}, fmt.Errorf("the ready line's address %q: %w", srv.Addr, err)
	}
	socks, err := procfs.TCPSockets()
	if err != nil {
		return Layout{}, err
	}
	listening := map[uint64]bool{}
	for ino, s := range socks {
		if s.State == "LISTEN" && s.Local.Port() == ap.Port() {
			listening[ino] = true
		}
	}
	group := GroupProcesses(srv.pgid)
	var holders []int
	for _, pid := range group {
		fds, err := procfs.FDs(pid)
		if err != nil {
			continue
		}
		if slices.ContainsFunc(fds, func(fd procfs.FD) bool { return fd.Kind == "socket" && listening[fd.Inode] }) {
			holders = append(holders, pid)
		}
	}
	l := Layout{Dispatcher: srv.Pid()}
	for _, pid := range holders {
		if p, ok := procfs.Read(pid); ok && !slices.Contains(holders, p.Ppid) {
			l.Dispatcher = pid
			break
		}
	}
	for _, p := range procfs.Children(l.Dispatcher) {
		if p.Live() {
			l.Workers = append(l.Workers, p.Pid)
		}
	}
	return l, nil
}

// Why the structure checks fail, and where docs/ explains it; the
// report adds the catalog's link, the messages say what was seen.
const noWorkers = "serve has no worker processes"

// structure is what the structure checks share: one server, its layout,
// and what the earlier checks found.
type structure struct {
	srv    *Server
	layout Layout
	seg    int              // the shared segment, -1 if none
	ping   map[int][]uint64 // worker -> the inodes of its own ping pipes
	broken map[string]string
}

// RunStructure runs the structure checks against bin, driven by d: one
// server, looked at before its first request, then during one.
func RunStructure(t *testing.T, bin string, d Driver) {
	srv := Start(t, bin, "--workers", strconv.Itoa(StructureWorkers))
	st := &structure{srv: srv, seg: -1, ping: map[int][]uint64{}, broken: map[string]string{}}
	checks := []struct {
		name string
		f    func(t *testing.T, st *structure, d Driver)
	}{
		{"Workers", checkWorkers},
		{"Segment", checkSegment},
		{"Pipes", checkPipes},
		{"RequestCrossesPipes", checkCrossing},
		{"AnswerRoute", checkRoute},
	}
	needs := map[string][]string{ // what each check needs from the ones before
		"Segment": {"Workers"}, "Pipes": {"Workers"}, "RequestCrossesPipes": {"Workers", "Pipes"}, "AnswerRoute": {"Workers"},
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			for _, n := range needs[c.name] {
				if why := st.broken[n]; why != "" {
					t.Skipf("skipped: %s", why)
				}
			}
			c.f(t, st, d)
			if t.Failed() && st.broken[c.name] == "" {
				st.broken[c.name] = "it needs check " + c.name + ", which failed"
			}
		})
	}
}

// checkWorkers: after its ready line, before any request, the
// dispatcher has --workers live children.
func checkWorkers(t *testing.T, st *structure, _ Driver) {
	var err error
	if st.layout, err = waitLayout(st.srv, StructureWorkers); err != nil {
		t.Fatalf("read the server's processes from /proc: %v", err)
	}
	switch n := len(st.layout.Workers); {
	case n == 0:
		st.broken["Workers"] = noWorkers + " (check Workers)"
		t.Fatalf("%s: serve --workers %d printed ready, yet its dispatcher (pid %d) has no child process; want %d worker processes started before the first request",
			noWorkers, StructureWorkers, st.layout.Dispatcher, StructureWorkers)
	case n != StructureWorkers:
		t.Errorf("serve --workers %d: the dispatcher (pid %d) has %d child processes %v; want %d worker processes",
			StructureWorkers, st.layout.Dispatcher, n, st.layout.Workers, StructureWorkers)
	}
}

// checkSegment: one System V segment, created by the dispatcher, is
// attached by the dispatcher and by every worker (/proc/PID/maps).
func checkSegment(t *testing.T, st *structure, _ Driver) {
	l := st.layout
	common, err := procfs.Attached(l.Dispatcher)
	if err != nil {
		t.Fatalf("read the dispatcher's mappings: %v", err)
	}
	if len(common) == 0 {
		t.Fatalf("the dispatcher (pid %d) has no System V segment attached (no /SYSV mapping in /proc/%d/maps); want one segment, attached by the dispatcher and by every worker",
			l.Dispatcher, l.Dispatcher)
	}
	for _, w := range l.Workers {
		att, err := procfs.Attached(w)
		if err != nil {
			t.Fatalf("read worker %d's mappings: %v", w, err)
		}
		common = slices.DeleteFunc(common, func(id int) bool { return !slices.Contains(att, id) })
		if len(common) == 0 {
			t.Fatalf("worker pid %d has not attached the dispatcher's segment (its /SYSV mappings: %v); want one segment attached by the dispatcher and by every worker", w, att)
		}
	}
	segs, err := shm.Table()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range segs {
		if s.ID == common[0] {
			st.seg = s.ID
			if s.Cpid != l.Dispatcher {
				t.Errorf("segment %d is attached by all, but was created by pid %d; want the dispatcher (pid %d) to create it", s.ID, s.Cpid, l.Dispatcher)
			}
			if s.Nattch < 1+len(l.Workers) {
				t.Errorf("segment %d: nattch %d; want at least %d (the dispatcher and %d workers)", s.ID, s.Nattch, 1+len(l.Workers), len(l.Workers))
			}
			return
		}
	}
	t.Errorf("segment %d is mapped but not in /proc/sysvipc/shm", common[0])
}

// pipeEnds maps a pipe's inode to the ends a process holds: 'r', 'w'.
func pipeEnds(pid int) (map[uint64]string, error) {
	fds, err := procfs.FDs(pid)
	if err != nil {
		return nil, err
	}
	ends := map[uint64]string{}
	for _, fd := range fds {
		if fd.Kind != "pipe" {
			continue
		}
		e := "r"
		if fd.Write {
			e = "w"
		}
		if !strings.Contains(ends[fd.Inode], e) {
			ends[fd.Inode] += e
		}
	}
	return ends, nil
}

// checkPipes: each worker reads a pipe that the dispatcher writes (its
// ping pipe) and writes a pipe that the dispatcher reads (its pong
// pipe), matched by inode in /proc/PID/fd, and no other worker holds them.
func checkPipes(t *testing.T, st *structure, _ Driver) {
	l := st.layout
	disp, err := pipeEnds(l.Dispatcher)
	if err != nil {
		t.Fatalf("read the dispatcher's descriptors: %v", err)
	}
	all := map[int]map[uint64]string{}
	for _, w := range l.Workers {
		if all[w], err = pipeEnds(w); err != nil {
			t.Fatalf("read worker %d's descriptors: %v", w, err)
		}
	}
	// sharer is another worker that holds pipe ino too (0 if none).
	sharer := func(w int, ino uint64) int {
		for o, ends := range all {
			if o != w && ends[ino] != "" {
				return o
			}
		}
		return 0
	}
	for _, w := range l.Workers {
		var ping, pong []uint64
		shared := map[string]string{}
		for ino, ends := range all[w] {
			kind := ""
			switch {
			case ends == "r" && strings.Contains(disp[ino], "w"):
				kind = "ping"
			case ends == "w" && strings.Contains(disp[ino], "r"):
				kind = "pong"
			case len(ends) == 2 && disp[ino] != "":
				// Both ends: the worker kept the end it does not use, and
				// will never read end of file on that pipe.
				k := map[bool]string{true: "ping", false: "pong"}[strings.Contains(disp[ino], "w")]
				shared[k] = fmt.Sprintf(": it holds both ends of a pipe it shares with the dispatcher (inode %d); after fork, a worker must close the end it does not use, or end of file never comes", ino)
				continue
			default:
				continue
			}
			if o := sharer(w, ino); o != 0 {
				shared[kind] = fmt.Sprintf(": its %s pipe (inode %d) is also held by worker pid %d, and a pipe two workers hold is neither's own (close the other workers' ends after fork)", kind, ino, o)
				continue
			}
			if kind == "ping" {
				ping = append(ping, ino)
			} else {
				pong = append(pong, ino)
			}
		}
		st.ping[w] = ping
		if len(ping) == 0 {
			t.Errorf("worker pid %d reads no pipe of its own that the dispatcher writes (a ping pipe, matched by inode in /proc/PID/fd)%s", w, shared["ping"])
		}
		if len(pong) == 0 {
			t.Errorf("worker pid %d writes no pipe of its own that the dispatcher reads (a pong pipe, matched by inode in /proc/PID/fd)%s", w, shared["pong"])
		}
	}
}

// readCalls is the read(2)-like calls process pid made so far (syscr
// in /proc/PID/io).
func readCalls(pid int) (int64, error) {
	return procfs.Count(fmt.Sprintf("/proc/%d/io", pid), "syscr")
}

// checkCrossing: requests cross the pipes. With every worker stopped, a
// request gets no answer (only a worker answers); and over R requests,
// the workers make at least R reads (each takes its ping from its pipe),
// counted by the kernel in /proc/PID/io.
func checkCrossing(t *testing.T, st *structure, d Driver) {
	stoppedWorkersAnswerNothing(t, st, d)
	if t.Failed() {
		return
	}
	const requests = 8
	before := map[int]int64{}
	for _, w := range st.layout.Workers {
		n, err := readCalls(w)
		if err != nil {
			t.Skipf("skipped: cannot read the workers' I/O counters: %v", err)
		}
		before[w] = n
	}
	s := d.Open(t, st.srv.Addr)
	for range requests {
		o := d.Do(s, "requetetype1")
		if o.Err != nil || o.Code != "" {
			t.Fatalf("requetetype1: want OK; got %v", o)
		}
	}
	var reads int64
	for _, w := range st.layout.Workers {
		n, err := readCalls(w)
		if err != nil {
			t.Fatalf("worker pid %d is gone during %d requests: %v", w, requests, err)
		}
		reads += n - before[w]
	}
	if reads < requests {
		t.Errorf("over %d requests, the workers made %d reads (syscr of /proc/PID/io); want at least one per request: a worker reads each request's ping from its pipe", requests, reads)
	}
}

// stoppedWorkersAnswerNothing: with every worker stopped (kill -STOP),
// a request gets no answer (v2: only its WAIT) within a second: only a
// worker can answer it, the dispatcher cannot on its own.
func stoppedWorkersAnswerNothing(t *testing.T, st *structure, d Driver) {
	for _, w := range st.layout.Workers {
		_ = syscall.Kill(w, syscall.SIGSTOP)
	}
	defer func() {
		for _, w := range st.layout.Workers {
			_ = syscall.Kill(w, syscall.SIGCONT)
		}
	}()
	// A stop takes effect a moment later: wait until /proc says "T".
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		stopped := 0
		for _, w := range st.layout.Workers {
			if p, ok := procfs.Read(w); !ok || p.State == "T" || p.State == "t" {
				stopped++
			}
		}
		if stopped == len(st.layout.Workers) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("kill -STOP: the workers %v did not all stop within 5s", st.layout.Workers)
		}
	}
	s, err := PlainDial(t, st.srv.Addr)
	if err != nil {
		t.Fatalf("dial %s: %v", st.srv.Addr, err)
	}
	defer s.Close()
	if err := s.Send("requetetype1"); err != nil {
		t.Fatalf("send requetetype1: want it written; got %v", err)
	}
	_ = s.Conn.SetReadDeadline(time.Now().Add(time.Second))
	for {
		l, err := s.R.ReadString('\n')
		if err != nil {
			return // nothing (more) within the second: it waits for a worker
		}
		if d.Name == "v2" && strings.HasPrefix(l, "WAIT ") {
			continue // the dispatcher's own line; the answer is the worker's
		}
		t.Errorf("with every worker stopped (kill -STOP), requetetype1 got %q within a second; want no answer: only a worker answers a request, after its ping", strings.TrimSpace(l))
		return
	}
}

// checkRoute: the connection that carries an answer is where the
// variant says: v1, the client's session, held by the dispatcher alone;
// v2, a connection held by a worker, not the dispatcher, which dialled
// the client; v3, a connection held by the worker that listens on the
// port of the GOTO.
func checkRoute(t *testing.T, st *structure, d Driver) {
	s := d.Open(t, st.srv.Addr)
	var once sync.Once
	var verdict error
	seen := false
	s.OnAnswer = func(c net.Conn) {
		once.Do(func() { seen, verdict = true, st.route(d.Name, c) })
	}
	const n = 64 << 20 // more than the socket buffers: the server is still writing
	line := "requetetype2 " + strconv.Itoa(n)
	o := d.Do(s, line)
	switch {
	case !seen:
		t.Fatalf("%s: want an answer to look at; got %v", line, o)
	case verdict != nil:
		t.Fatal(verdict)
	case o.Err != nil || o.Code != "":
		t.Errorf("%s: want OK and %d bytes; got %v", line, n, o)
	}
}

// holders lists which of the server's processes hold socket inode ino.
func (st *structure) holders(ino uint64) []int {
	var pids []int
	for _, pid := range append([]int{st.layout.Dispatcher}, st.layout.Workers...) {
		fds, err := procfs.FDs(pid)
		if err != nil {
			continue
		}
		if slices.ContainsFunc(fds, func(fd procfs.FD) bool { return fd.Kind == "socket" && fd.Inode == ino }) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// route checks who holds the server's end of c, the connection that
// carries an answer, for variant v.
func (st *structure) route(v string, c net.Conn) error {
	server, err1 := netip.ParseAddrPort(c.RemoteAddr().String())
	client, err2 := netip.ParseAddrPort(c.LocalAddr().String())
	if err1 != nil || err2 != nil {
		return fmt.Errorf("the answer's connection %v -> %v: not TCP/IP addresses", c.LocalAddr(), c.RemoteAddr())
	}
	server, client = netip.AddrPortFrom(server.Addr().Unmap(), server.Port()), netip.AddrPortFrom(client.Addr().Unmap(), client.Port())
	socks, err := procfs.TCPSockets()
	if err != nil {
		return err
	}
	var ino uint64
	for i, s := range socks {
		if s.Local == server && s.Remote == client {
			ino = i
		}
	}
	if ino == 0 {
		return fmt.Errorf("the server's end %v of the answer's connection is not in /proc/net/tcp: was it closed before the answer was read?", server)
	}
	who := st.holders(ino)
	d := st.layout.Dispatcher
	byDispatcher := slices.Contains(who, d)
	var byWorkers []int
	for _, p := range who {
		if p != d {
			byWorkers = append(byWorkers, p)
		}
	}
	switch v {
	case "v1":
		if !byDispatcher || len(byWorkers) > 0 {
			return fmt.Errorf("v1: the answer's connection (the session, %v) is held by %s; want the dispatcher (pid %d) alone: it relays the answer", server, describe(who, d), d)
		}
	case "v2":
		if byDispatcher || len(byWorkers) != 1 {
			return fmt.Errorf("v2: the connection that carries the answer (%v -> %v) is held by %s; want one worker, which dialled the client back, and not the dispatcher (pid %d)", server, client, describe(who, d), d)
		}
	case "v3":
		if byDispatcher || len(byWorkers) != 1 {
			return fmt.Errorf("v3: the connection to the GOTO port %v is held by %s; want the one worker that listens there, not the dispatcher (pid %d)", server, describe(who, d), d)
		}
		fds, _ := procfs.FDs(byWorkers[0])
		for _, fd := range fds {
			if s, ok := socks[fd.Inode]; ok && fd.Kind == "socket" && s.State == "LISTEN" && s.Local.Port() == server.Port() {
				return nil
			}
		}
		return fmt.Errorf("v3: worker pid %d answers on %v, but holds no listening socket on port %d, the port of the GOTO", byWorkers[0], server, server.Port())
	}
	return nil
}

// describe names a list of holders for a message.
func describe(who []int, dispatcher int) string {
	if len(who) == 0 {
		return "no process of the server"
	}
	var names []string
	for _, p := range who {
		if p == dispatcher {
			names = append(names, fmt.Sprintf("the dispatcher (pid %d)", p))
		} else {
			names = append(names, fmt.Sprintf("worker pid %d", p))
		}
	}
	return strings.Join(names, " and ")
}

// WorkersMissing starts bin as serve --workers 2 and returns why the
// checks that need worker processes cannot run ("" if it has workers).
func WorkersMissing(t *testing.T, bin string) string {
	srv := Start(t, bin, "--workers", "2")
	l, err := waitLayout(srv, 1)
	switch {
	case err != nil:
		return fmt.Sprintf("cannot read the server's processes: %v", err)
	case len(l.Workers) == 0:
		return fmt.Sprintf("%s (the dispatcher, pid %d, has no child): see the structure group", noWorkers, l.Dispatcher)
	}
	return ""
}

// waitLayout reads srv's processes until the dispatcher has at least
// workers children, or for 2 s (a child may still be exec'ing), and
// returns the last reading.
func waitLayout(srv *Server, workers int) (Layout, error) {
	deadline := time.Now().Add(2 * time.Second)
	for {
		l, err := ReadLayout(srv)
		if err != nil || len(l.Workers) >= workers || time.Now().After(deadline) {
			return l, err
		}
		time.Sleep(20 * time.Millisecond)
	}
}
