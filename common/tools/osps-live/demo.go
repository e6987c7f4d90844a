// The narrated runs, ./run.sh v1|v2|v3 and ./run.sh chaos: start a
// dispatcher, show what the kernel shows of it, run a client session (or
// kill a worker, stop another), stop it with SIGTERM, and check that
// nothing is left. The server's segment and workers are found by the
// dispatcher's pid (the segment's creator in /proc/sysvipc/shm, its
// children in /proc), never by comparing what existed before and after:
// on a machine many people share, another server may start at the same
// moment.

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"golang.org/x/sys/unix"

	"osps/common/cli"
	"osps/common/shm"
	"osps/common/tools/freeport"
	"osps/common/tools/procfs"
)

// demoPort is the demos' dispatcher port when PORT is not set.
const demoPort = 2222

// demoFlags parses the flags common to demo and chaos; the words after
// VARIANT are the dispatcher's own flags, except a --help right after it
// (./run.sh v1 --help asks for this usage). Without VARIANT, it is
// defVariant, or a usage error when that is "".
func demoFlags(name, synopsis, defVariant string, args []string, stdout, stderr io.Writer) (binDir, variant string, port int, serveArgs []string, status int, done bool) {
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	fs.SetInterspersed(false) // what follows VARIANT is for serve
	bin := fs.String("bin", "bin", "directory of the variants' binaries")
	def := demoPort
	if p, err := strconv.Atoi(os.Getenv("PORT")); err == nil {
		def = p
	}
	fs.IntVar(&port, "port", def, "the dispatcher's port on 127.0.0.1 (default: $PORT, else 2222)")
	if status, done = parseFlags(fs, args, synopsis, stdout, stderr); done {
		return
	}
	rest := fs.Args()
	if len(rest) == 0 && defVariant != "" {
		rest = []string{defVariant}
	}
	if len(rest) < 1 {
		usageError(stderr, fs, synopsis, "missing VARIANT")
		return "", "", 0, nil, 2, true
	}
	if err := variantArg(rest[0]); err != nil {
		usageError(stderr, fs, synopsis, err.Error())
		return "", "", 0, nil, 2, true
	}
	if len(rest) > 1 && (rest[1] == "-h" || rest[1] == "--help") {
		cli.PrintUsage(stdout, fs, synopsis)
		return "", "", 0, nil, 0, true
	}
	return *bin, rest[0], port, rest[1:], 0, false
}

// narrator prints the demo's headings and remarks.
type narrator struct{ w io.Writer }

func (n narrator) say(format string, a ...any) {
	if isTerminal(n.w) {
		fmt.Fprintf(n.w, "\n\033[1m== %s\033[0m\n", fmt.Sprintf(format, a...)) // bold
		return
	}
	fmt.Fprintf(n.w, "\n== %s\n", fmt.Sprintf(format, a...))
}

func (n narrator) line(format string, a ...any) {
	fmt.Fprintf(n.w, "   %s\n", fmt.Sprintf(format, a...))
}

// demoServer is a dispatcher a demo started, and what it found of it.
type demoServer struct {
	*server
	Shmid   int
	Workers []int
}

// startDemo starts the dispatcher and finds its segment and its workers
// by its pid. A serve that exits before it is ready has said why on
// stderr; when one of its ports is taken (PORT, and for v3 the 4 above
// it), the error names it and a free port to use instead. again is the
// command to suggest with another PORT.
func startDemo(n narrator, bin string, port int, again string, stderr io.Writer, args ...string) (*demoServer, error) {
	s, err := startServerOn(bin, strconv.Itoa(port), stderr, args...)
	if errors.Is(err, cli.ErrExitedBeforeReady) {
		span := 1
		if filepath.Base(bin) == variantDirs["v3"] {
			span = 5
		}
		if taken := freeport.Check(port, span); taken != nil {
			return nil, fmt.Errorf("%w: %v (%s); stop it, or use a port that is free just now: PORT=%s %s",
				err, taken, freeport.Hint, freePortHint(), again)
		}
	}
	if err != nil {
		return nil, err
	}
	d := &demoServer{server: s, Shmid: -1}
	ids, err := shm.CreatedBy(s.Pid())
	if err != nil || len(ids) != 1 {
		_ = s.Stop()
		return nil, fmt.Errorf("dispatcher %d created segments %v (%v); want exactly one", s.Pid(), ids, err)
	}
	d.Shmid = ids[0]
	d.Workers = procfs.ChildPids(s.Pid())
	n.line("serve printed on stdout: ready %s", s.Addr)
	return d, nil
}

// freePortHint is a port free on 127.0.0.1 now, with the 4 above it
// (v3's workers), as text; "PORT" if none was found.
func freePortHint() string {
	p, err := freeport.Find(5)
	if err != nil {
		return "PORT"
	}
	return strconv.Itoa(p)
}

// showSegment prints ipcs -m's lines for the header and this segment
// only (other users' segments are theirs), found by its creator's pid.
func showSegment(n narrator, d *demoServer) {
	out, err := exec.Command("ipcs", "-m").Output()
	if err != nil {
		n.line("(ipcs -m: %v)", err)
		return
	}
	for _, l := range strings.Split(strings.TrimRight(string(out), "\n"), "\n") {
		f := strings.Fields(l)
		if len(f) >= 2 && (f[0] == "key" || f[1] == strconv.Itoa(d.Shmid)) {
			fmt.Fprintln(n.w, l)
		}
	}
	n.line("our segment: shmid %d, the one whose creator (cpid in /proc/sysvipc/shm, ipcs -m -p) is the dispatcher, pid %d", d.Shmid, d.Pid())
	n.line("worker pids (the dispatcher's children): %s", pids(d.Workers))
}

func pids(ps []int) string {
	var s []string
	for _, p := range ps {
		s = append(s, strconv.Itoa(p))
	}
	return strings.Join(s, " ")
}

// stopDemo sends SIGTERM and checks that every worker was reaped and
// the segment is gone.
func stopDemo(n narrator, d *demoServer) error {
	workers := procfs.ChildPids(d.Pid()) // the workers of now (some may be respawned ones)
	var problems []string
	serr := d.Stop()
	status := 0
	var ee *exec.ExitError
	if errors.As(serr, &ee) {
		status = ee.ExitCode()
	} else if serr != nil {
		problems = append(problems, serr.Error())
	}
	n.line("serve exited with status %d", status)
	if status != 0 {
		problems = append(problems, fmt.Sprintf("serve exited with status %d", status))
	}
	var left []int
	for _, w := range workers {
		if p, ok := procfs.Read(w); ok && p.Live() {
			left = append(left, w)
		}
	}
	if len(left) == 0 {
		n.line("workers reaped: none of the pids %s is left", pids(workers))
	} else {
		n.line("workers still alive: %s", pids(left))
		problems = append(problems, "workers left")
	}
	ids, err := shm.CreatedBy(d.Pid())
	switch {
	case err != nil:
		problems = append(problems, err.Error())
	case len(ids) == 0:
		n.line("ipcs -m no longer lists shmid %d: the kernel freed it when the last process detached", d.Shmid)
	default:
		n.line("ipcs -m still lists shmid %v", ids)
		problems = append(problems, "segment left")
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "; "))
	}
	return nil
}

// clientRun runs one client session, its output on w.
func clientRun(w io.Writer, bin, addr string, args ...string) error {
	ctx, cancel := context.WithTimeout(context.Background(), sessionTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append([]string{"client", "--server", addr}, args...)...)
	cmd.Stdout, cmd.Stderr = w, w
	return cmd.Run()
}

func runDemo(args []string, stdout, stderr io.Writer) int {
	const synopsis = "osps-live demo [--bin DIR] [--port N] VARIANT [serve flags...]"
	binDir, variant, port, serveArgs, status, done := demoFlags("demo", synopsis, "", args, stdout, stderr)
	if done {
		return status
	}
	bin, _ := binary(binDir, variant)
	dir := variantDirs[variant]
	n := narrator{stdout}
	n.say("0. start the dispatcher: %s serve --port %d --trace %s", dir, port, strings.Join(serveArgs, " "))
	n.line("It creates one System V shared-memory segment, marks it for removal at once,")
	n.line("and re-executes itself once per worker. Lines 'vN step K' are the steps of docs/%s.md.", dir)
	d, err := startDemo(n, bin, port, "./run.sh "+variant, stderr, append([]string{"--trace"}, serveArgs...)...)
	if err != nil {
		fmt.Fprintln(stderr, "osps-live demo:", err)
		return 1
	}
	time.Sleep(200 * time.Millisecond) // the workers' start-up lines first
	n.say("what the kernel shows while it runs (ipcs -m): status 'dest' = already marked for removal")
	showSegment(n, d)

	n.say("1. a client session: requetetype1, requetetype2 200000, STATS (client --trace)")
	failed := false
	if err := clientRun(stdout, bin, d.Addr, "--trace", "requetetype1", "requetetype2 200000", "STATS"); err != nil {
		n.line("client: %v", err)
		failed = true
	}
	time.Sleep(200 * time.Millisecond) // the server's last trace lines
	n.say("2. SIGTERM: the dispatcher drains, stops its workers, and exits")
	return finish(n, d, failed, "every answer checked, nothing left behind")
}

func runChaos(args []string, stdout, stderr io.Writer) int {
	const synopsis = "osps-live chaos [--bin DIR] [--port N] [VARIANT [serve flags...]]   (VARIANT: v3 if none)"
	binDir, variant, port, serveArgs, status, done := demoFlags("chaos", synopsis, "v3", args, stdout, stderr)
	if done {
		return status
	}
	bin, _ := binary(binDir, variant)
	dir := variantDirs[variant]
	n := narrator{stdout}
	flags := append([]string{"--workers", "2", "--watchdog", "--hang-timeout", "2s"}, serveArgs...)
	n.say("0. start the dispatcher with its watchdog: %s serve --port %d %s", dir, port, strings.Join(flags, " "))
	d, err := startDemo(n, bin, port, "./run.sh chaos "+variant, stderr, flags...)
	if err != nil {
		fmt.Fprintln(stderr, "osps-live chaos:", err)
		return 1
	}
	_ = clientRun(stdout, bin, d.Addr, "STATS")
	st := &statsSession{addr: d.Addr}
	defer st.Close()
	slots, err := st.slots()
	s0, ok0 := slotNumbered(slots, 0)
	s1, ok1 := slotNumbered(slots, 1)
	if err != nil || !ok0 || !ok1 {
		n.line("STATS did not list worker=0 and worker=1 (%v)", err)
		st.Close()
		_ = stopDemo(n, d)
		return 1
	}
	failed := false
	w0, w1 := s0.Pid, s1.Pid

	n.say("1. a crash: kill -9 worker#0 (pid %d)", w0)
	n.line("The dispatcher reads end of file on its pong pipe and Wait reaps it at once;")
	n.line("the watchdog starts a new worker in slot 0 (see the log lines above STATS).")
	_ = unix.Kill(w0, unix.SIGKILL)
	if !awaitRestart(st, 0) {
		n.line("worker#0 was not replaced")
		failed = true
	}
	if err := clientRun(stdout, bin, d.Addr, "STATS", "requetetype1"); err != nil {
		failed = true
	}

	n.say("2. a hang: kill -STOP worker#1 (pid %d): alive, but it makes no progress", w1)
	n.line("Its heartbeat word in the slot stops moving. After --hang-timeout (2s) the watchdog")
	n.line("sends SIGTERM, then SIGKILL (a stopped process only dies of SIGKILL), and respawns it.")
	_ = unix.Kill(w1, unix.SIGSTOP)
	if !awaitRestart(st, 1) {
		n.line("worker#1 was not replaced")
		failed = true
	}
	if err := clientRun(stdout, bin, d.Addr, "STATS", "requetetype1", "requetetype2 100000"); err != nil {
		failed = true
	}

	st.Close() // a session left open would hold the drain
	n.say("3. SIGTERM: drain, stop the workers, exit")
	return finish(n, d, failed, "both faults healed, every answer checked, nothing left behind")
}

// finish stops the demo's server (stopDemo checks that nothing is left)
// and says how the run went: its exit status.
func finish(n narrator, d *demoServer, failed bool, done string) int {
	if err := stopDemo(n, d); err != nil {
		failed = true
	}
	if failed {
		n.say("something failed (see above)")
		return 1
	}
	n.say("done: %s", done)
	return 0
}
