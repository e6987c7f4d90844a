// exec.go runs a program under test with a deadline: in a process group of
// its own, killed as a group past the deadline (a program that ignores
// --help and starts serving, or forks a child that keeps its output open,
// costs seconds, never the whole run), its stdout and stderr kept apart,
// as docs/protocol.md's tables name them.

package conformance

import (
	"bytes"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// CommandTimeout bounds a short command of a program under test (--help,
// a bad flag, a client session): past it, its process group is killed.
const CommandTimeout = 5 * time.Second

// Result is what a bounded run of a program gave.
type Result struct {
	Bin      string
	Args     []string
	Within   time.Duration
	Stdout   string
	Stderr   string
	Exit     int  // the exit status; -1 if killed by a signal or not started
	TimedOut bool // still running at the deadline: killed
	Err      error
}

// RunBounded runs bin with args, waits at most within, and kills the
// program's whole process group if it is still running then.
func RunBounded(within time.Duration, bin string, args ...string) Result {
	r := Result{Bin: bin, Args: args, Within: within, Exit: -1}
	cmd := exec.Command(bin, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	// A child that keeps the output pipes open must not hold Wait up.
	cmd.WaitDelay = time.Second
	if err := cmd.Start(); err != nil {
		r.Err = fmt.Errorf("start %s: %w", bin, err)
		return r
	}
	pgid := cmd.Process.Pid
	register(pgid)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(within):
		r.TimedOut = true
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		err = <-done
	}
	_ = syscall.Kill(-pgid, syscall.SIGKILL) // what it left in its group, on every path
	r.Stdout, r.Stderr = out.String(), errOut.String()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		r.Exit = ee.ExitCode()
	case err == nil:
		r.Exit = 0
	case !r.TimedOut:
		r.Err = err
	}
	return r
}

// RunAllBounded runs bin once per argument list, all at once (a program
// that ignores them all costs one deadline, not one each), and returns
// the results in order.
func RunAllBounded(within time.Duration, bin string, argss ...[]string) []Result {
	rs := make([]Result, len(argss))
	var wg sync.WaitGroup
	for i, args := range argss {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rs[i] = RunBounded(within, bin, args...)
		}()
	}
	wg.Wait()
	return rs
}

// String says what came, for a message: the exit, then the ends of
// stdout and stderr.
func (r Result) String() string {
	var b strings.Builder
	switch {
	case r.TimedOut:
		fmt.Fprintf(&b, "still running after %v (killed with its process group)", r.Within)
	case r.Err != nil:
		fmt.Fprintf(&b, "%v", r.Err)
	case r.Exit < 0:
		b.WriteString("killed by a signal")
	default:
		fmt.Fprintf(&b, "exit %d", r.Exit)
	}
	fmt.Fprintf(&b, ", stdout %s, stderr %s", Tail(r.Stdout, 2), Tail(r.Stderr, 2))
	return b.String()
}

// Command is the command line that ran, for a message: the program's
// base name and its arguments, quoted where they hold a space.
func (r Result) Command() string {
	parts := []string{filepath.Base(r.Bin)}
	for _, a := range r.Args {
		if a == "" || strings.ContainsAny(a, " \t'") {
			a = strconv.Quote(a)
		}
		parts = append(parts, a)
	}
	if len(r.Args) == 0 {
		parts = append(parts, "(no argument)")
	}
	return strings.Join(parts, " ")
}

// Tail quotes the last n non-empty lines of s, or says it was empty.
func Tail(s string, n int) string {
	var lines []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	if len(lines) == 0 {
		return "empty"
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	for i, l := range lines {
		lines[i] = clip(l, 160)
	}
	return fmt.Sprintf("%q", strings.Join(lines, " | "))
}

// clip keeps a line of at most max runes: its head and its tail (a log
// line ends with its error), with "…" between.
func clip(l string, max int) string {
	r := []rune(l)
	if len(r) <= max {
		return l
	}
	head := max / 3
	return string(r[:head]) + "…" + string(r[len(r)-(max-head-1):])
}
