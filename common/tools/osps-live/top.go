// ./run.sh top: the slots, live. Shared memory is shared with anyone
// allowed to attach it: this program attaches the server's segment by its
// shmid, read-only (even though it is marked for removal), and shows each
// slot as the dispatcher and the workers write it, a few times a second.

package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/pflag"
	"golang.org/x/sys/unix"

	"osps/common/shm"
	"osps/common/tools/procfs"
	"osps/common/wire"
)

func runTop(args []string, stdout, stderr io.Writer) int {
	const synopsis = "./run.sh top [--frames N] [--workers N] VARIANT | ./run.sh top --pid PID | ./run.sh top --shmid N"
	fs := pflag.NewFlagSet("top", pflag.ContinueOnError)
	binDir := fs.String("bin", "bin", "directory of the variants' binaries")
	pid := fs.Int("pid", 0, "look at this running dispatcher instead of starting one")
	shmid := fs.Int("shmid", -1, "look at this segment (ipcs -m) instead of starting a dispatcher")
	workers := fs.Int("workers", 4, "workers of the dispatcher started here (it runs with --watchdog)")
	load := fs.Duration("load", 200*time.Millisecond, "with a dispatcher started here: one client session (requetetype1, requetetype2 100000) this often; 0: none")
	frames := fs.Int("frames", 0, "print this many frames and exit (0: until Ctrl-C)")
	every := fs.Duration("interval", 250*time.Millisecond, "time between frames")
	if status, done := parseFlags(fs, args, synopsis, stdout, stderr); done {
		return status
	}
	switch {
	case fs.NArg() > 1:
		return usageError(stderr, fs, synopsis, "one VARIANT only")
	case fs.NArg() == 0 && *pid == 0 && *shmid < 0:
		return usageError(stderr, fs, synopsis, "missing VARIANT (v1, v2 or v3), or --pid PID, or --shmid N")
	case fs.NArg() == 1 && variantArg(fs.Arg(0)) != nil:
		return usageError(stderr, fs, synopsis, variantArg(fs.Arg(0)).Error())
	case *every <= 0:
		return usageError(stderr, fs, synopsis, "--interval must be positive")
	}
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	id, dispatcher := *shmid, *pid
	if id < 0 {
		t, err := startOrAttach(*binDir, fs.Arg(0), *pid, io.Discard, "--workers", fmt.Sprint(*workers), "--watchdog", "--hang-timeout", "3s")
		if err != nil {
			fmt.Fprintln(stderr, "osps-live top:", err)
			return 1
		}
		defer t.Close()
		dispatcher = t.Pid
		if t.Addr != "" && *load > 0 {
			bin, _ := binary(*binDir, fs.Arg(0))
			lctx, stopLoad := context.WithCancel(ctx)
			var wg sync.WaitGroup
			wg.Go(func() { steadyLoad(lctx, bin, t.Addr, *load) })
			defer wg.Wait() // before t.Close: no client outlives its server
			defer stopLoad()
		}
		if id, err = segmentOf(t.Pid); err != nil {
			fmt.Fprintln(stderr, "osps-live top:", err)
			return 1
		}
	}
	seg, err := shm.AttachReadOnly(id)
	if err != nil {
		fmt.Fprintln(stderr, "osps-live top:", err)
		return 1
	}
	defer seg.Detach()
	clear := *frames == 0 && isTerminal(stdout)
	tick := time.NewTicker(*every)
	defer tick.Stop()
	var prev sample
	var log []string // the latest events, oldest first
	for n := 0; *frames == 0 || n < *frames; n++ {
		if n > 0 {
			select {
			case <-ctx.Done():
				return 0
			case <-tick.C:
			}
		}
		cur := read(seg)
		if clear {
			fmt.Fprint(stdout, "\033[H\033[2J") // cursor home, clear screen
		} else if n > 0 {
			fmt.Fprintln(stdout)
		}
		log = append(log, events(prev, cur)...)
		if len(log) > maxEvents {
			log = log[len(log)-maxEvents:]
		}
		fmt.Fprint(stdout, frame(id, dispatcher, prev, cur, log))
		prev = cur
		if gone(id, dispatcher) {
			fmt.Fprintln(stdout, "the server is gone: only this program still attaches the segment")
			return 0
		}
	}
	return 0
}

// segmentOf finds the segment a dispatcher attaches, in its maps.
func segmentOf(pid int) (int, error) {
	ids, err := procfs.Attached(pid)
	if err != nil {
		return 0, err
	}
	if len(ids) != 1 {
		return 0, fmt.Errorf("dispatcher %d attaches %d segments (%v); name one with --shmid", pid, len(ids), ids)
	}
	return ids[0], nil
}

// gone reports whether the server left: its dispatcher exited, or no
// process but this one attaches the segment.
func gone(id, dispatcher int) bool {
	if dispatcher > 0 {
		p, ok := procfs.Read(dispatcher)
		return !ok || !p.Live()
	}
	segs, err := shm.Table()
	if err != nil {
		return true
	}
	for _, s := range segs {
		if s.ID == id {
			return s.Nattch <= 1
		}
	}
	return true
}

// row is one slot at one moment.
type row struct {
	State              shm.State
	Pid                int
	Restarts, Served   uint64
	Total              uint64 // the slot's lifetime count (Served: this process's)
	Heartbeat          time.Time
	Request            string
	AnswerN            int64
	AnswerErr, Process string
}

// sample is every slot at one moment.
type sample struct {
	at   time.Time
	rows []row
}

func read(seg *shm.Segment) sample {
	s := sample{at: time.Now()}
	for i := range seg.NSlots() {
		sl := seg.Slot(i)
		r := row{State: sl.State(), Pid: sl.Pid(), Restarts: sl.Restarts(), Served: sl.Served(), Total: sl.Total(),
			Heartbeat: sl.Heartbeat(), Request: wire.Printable(sl.Request(), 24), Process: "-"}
		r.AnswerN, r.AnswerErr = sl.Reply()
		if p, ok := procfs.Read(r.Pid); ok && r.Pid > 0 {
			r.Process = p.State
		}
		s.rows = append(s.rows, r)
	}
	return s
}

// served is the requests served by every slot since it started: the
// slots' totals, which a respawn does not reset.
func served(s sample) (n uint64) {
	for _, r := range s.rows {
		n += r.Total
	}
	return n
}

// width is a frame's widest line: a terminal of 80 columns.
const width = 80

// frame prints one screen of at most width columns: a header with the
// request rate since the previous frame, one line per slot, then the
// latest events.
func frame(id, dispatcher int, prev, cur sample, log []string) string {
	var b strings.Builder
	rate := "-"
	if !prev.at.IsZero() {
		rate = fmt.Sprintf("%.1f", float64(served(cur)-served(prev))/cur.at.Sub(prev.at).Seconds())
	}
	fmt.Fprintf(&b, "osps top  shmid %d  dispatcher %d  %d slots  %s\n", id, dispatcher, len(cur.rows), cur.at.Format("15:04:05.0"))
	fmt.Fprintf(&b, "served %d  %s req/s  (RST: restarts; PS: the process's state, T stopped)\n", served(cur), rate)
	fmt.Fprintf(&b, "%-4s %-8s %7s %-2s %3s %6s %6s %5s %-19s %s\n", "SLOT", "STATE", "PID", "PS", "RST", "SERVED", "TOTAL", "BEAT", "REQUEST", "ANSWER")
	for i, r := range cur.rows {
		beat := "-"
		if r.Heartbeat.UnixNano() > 0 {
			if age := cur.at.Sub(r.Heartbeat).Seconds(); age < 100 {
				beat = fmt.Sprintf("%.1fs", age)
			} else {
				beat = fmt.Sprintf("%.0fs", min(age, 9999))
			}
		}
		answer := "-" // v2 and v3 record only errors in the slot
		switch {
		case r.AnswerN > 0:
			answer = fmt.Sprintf("OK %d", r.AnswerN)
		case r.AnswerN < 0:
			answer = wire.Printable([]byte(r.AnswerErr), 11)
		}
		fmt.Fprintf(&b, "%-4d %-8s %7d %-2s %3d %6d %6d %5s %-19s %s\n", i, r.State, r.Pid, r.Process, r.Restarts, r.Served, r.Total, beat, wire.Printable([]byte(r.Request), 19), answer)
	}
	if len(log) > 0 {
		b.WriteString("events:\n")
		for _, e := range log {
			fmt.Fprintf(&b, "  %s\n", e)
		}
	}
	return b.String()
}

// maxEvents is how many events a frame keeps on screen.
const maxEvents = 6

// events says what happened to the workers between two samples: a
// death, a worker stopped (kill -STOP: it hangs), a hung worker killed
// by the watchdog, a respawn. Each line starts with the time of cur.
func events(prev, cur sample) []string {
	if prev.at.IsZero() {
		return nil
	}
	var out []string
	add := func(format string, a ...any) {
		out = append(out, cur.at.Format("15:04:05.0")+" "+fmt.Sprintf(format, a...))
	}
	for i, c := range cur.rows {
		if i >= len(prev.rows) {
			break
		}
		p := prev.rows[i]
		replaced := p.Pid > 0 && c.Pid > 0 && c.Pid != p.Pid
		// died: gone since the previous frame (replaced, or marked dead),
		// unless that frame had already seen it dead.
		died := p.State != shm.Dead && (replaced || c.State == shm.Dead)
		switch {
		case died && p.Process == "T":
			add("slot %d: pid %d, stopped (hung), killed by the watchdog", i, p.Pid)
		case died && replaced:
			add("slot %d: pid %d died", i, p.Pid)
		case died:
			add("slot %d: pid %d died (state dead)", i, p.Pid)
		case c.Process == "T" && p.Process != "T" && c.Pid == p.Pid:
			add("slot %d: pid %d stopped (SIGSTOP): its heartbeat stops", i, c.Pid)
		}
		if replaced || c.Restarts > p.Restarts {
			add("slot %d: respawned, pid %d (restarts %d)", i, c.Pid, c.Restarts)
		}
	}
	return out
}

// maxSessions caps the load's sessions in flight: a stopped worker
// holds one session until its timeout, and the others go on.
const maxSessions = 4

// steadyLoad starts one client session every period (if fewer than
// maxSessions are in flight) until ctx ends, then waits for them.
func steadyLoad(ctx context.Context, bin, addr string, period time.Duration) {
	tick := time.NewTicker(period)
	defer tick.Stop()
	var wg sync.WaitGroup
	defer wg.Wait()
	slots := make(chan struct{}, maxSessions)
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		select {
		case slots <- struct{}{}:
		default:
			continue // all busy: skip this tick
		}
		wg.Go(func() {
			defer func() { <-slots }()
			c, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			_ = exec.CommandContext(c, bin, "client", "--server", addr, "requetetype1", "requetetype2 100000").Run()
		})
	}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}
