// ./run.sh wait PORT: return once the server on 127.0.0.1:PORT answers,
// for a script that started serve in the background and does not read
// its ready line (a tool that starts a server itself awaits that line
// instead: start.go). "Answers" means a STATS on a fresh session gets its
// OK: the listening socket accepts connections a little before the
// dispatcher has started its workers and printed ready. While it waits it
// says what it sees, at once, then when that changes or every 10 s, so
// that a server that never started is not mistaken for a slow one.

package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/pflag"

	"osps/common/cli"
)

// Bounds of ./run.sh wait: the whole wait, one try's answer, the pause
// between tries, and how often an unchanged state is said again.
const (
	waitWithin = 120 * time.Second
	tryTimeout = 2 * time.Second
	tryPause   = 100 * time.Millisecond
	sayEvery   = 10 * time.Second
)

func runWait(args []string, stdout, stderr io.Writer) int {
	const synopsis = "./run.sh wait PORT [--within D]    wait until the server on 127.0.0.1:PORT answers STATS (at most D, 120 s by default)"
	fs := pflag.NewFlagSet("run.sh wait", pflag.ContinueOnError)
	within := waitWithin
	fs.Var((*cli.PositiveDuration)(&within), "within", "give up after this long")
	if status, done := parseFlags(fs, args, synopsis, stdout, stderr); done {
		return status
	}
	switch {
	case fs.NArg() == 0:
		return usageError(stderr, fs, synopsis, "missing PORT")
	case fs.NArg() > 1:
		return usageError(stderr, fs, synopsis, "one PORT only")
	}
	port, err := strconv.Atoi(fs.Arg(0))
	if err != nil || port < 1 || port > 65535 {
		return usageError(stderr, fs, synopsis, fs.Arg(0)+" is not a TCP port")
	}
	if err := waitAnswer(net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), within, stderr); err != nil {
		fmt.Fprintln(stderr, "run.sh wait:", err)
		return 1
	}
	return 0
}

// waitAnswer tries addr until it answers or within has passed, saying
// on w what it sees.
func waitAnswer(addr string, within time.Duration, w io.Writer) error {
	start := time.Now()
	var last string
	var said time.Time
	for {
		state, ok := try(addr)
		elapsed := time.Since(start)
		if ok {
			if last != "" {
				fmt.Fprintf(w, "run.sh wait: %s answers after %v\n", addr, elapsed.Truncate(time.Second))
			}
			return nil
		}
		if elapsed >= within {
			_, port, _ := net.SplitHostPort(addr)
			return fmt.Errorf("nothing answers on %s after %v: %s (did serve fail to start? was it given --port %s?)", addr, within, state, port)
		}
		if state != last || time.Since(said) >= sayEvery {
			fmt.Fprintf(w, "run.sh wait: %v: %s; waiting, at most %v\n", elapsed.Truncate(time.Second), state, within)
			last, said = state, time.Now()
		}
		time.Sleep(tryPause)
	}
}

// try opens one session on addr and sends STATS: ok when the first line
// back is "OK ...", else what it saw instead. Each try has tryTimeout,
// so the last one may end that much past the whole wait's bound.
func try(addr string) (state string, ok bool) {
	c, err := net.DialTimeout("tcp", addr, tryTimeout)
	if errors.Is(err, syscall.ECONNREFUSED) {
		return "nothing listens on " + addr + " yet (connection refused)", false
	}
	if err != nil {
		return fmt.Sprintf("cannot connect to %s: %v", addr, err), false
	}
	defer c.Close()
	if err := c.SetDeadline(time.Now().Add(tryTimeout)); err != nil {
		return fmt.Sprintf("set a deadline on %s: %v", addr, err), false
	}
	var line string
	if _, err = io.WriteString(c, "STATS\nQUIT\n"); err == nil {
		line, err = bufio.NewReader(c).ReadString('\n')
	}
	line = strings.TrimRight(line, "\r\n")
	if strings.HasPrefix(line, "OK ") {
		return "", true
	}
	answer := strconv.Quote(line)
	var ne net.Error
	switch {
	case line != "":
	case errors.Is(err, io.EOF):
		answer = "it closed the connection without a word"
	case errors.As(err, &ne) && ne.Timeout():
		answer = "no answer within " + tryTimeout.String()
	case err != nil:
		answer = err.Error()
	}
	return addr + " accepts connections but does not answer STATS with OK (" + answer + ")", false
}
