// ./run.sh wait PORT (wait.go): its usage, through run.sh; and, driving
// the osps-live binary against small servers on loopback, that it
// returns once a STATS gets its OK, and otherwise says what it sees (a
// refused port at once, a server that answers something else, one that
// does not answer) and gives up after --within.

package main

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

func TestRunShWaitUsage(t *testing.T) {
	if code, out, errb := runSh(t, "wait", "--help"); code != 0 || !strings.Contains(out, "Usage: ./run.sh wait PORT") || errb != "" {
		t.Errorf("run.sh wait --help: exit %d, stdout %q, stderr %q", code, out, errb)
	}
	for _, args := range [][]string{{"wait"}, {"wait", "x"}, {"wait", "0"}, {"wait", "65536"}, {"wait", "1", "2"}, {"wait", "--within", "0s", "1"}} {
		if code, out, errb := runSh(t, args...); code != 2 || out != "" || !strings.Contains(errb, "run.sh wait:") || !strings.Contains(errb, "Usage: ") {
			t.Errorf("run.sh %v: exit %d, stdout %q, stderr %q; want 2, the error and the usage on stderr", args, code, out, errb)
		}
	}
}

// firstLine starts ./run.sh wait PORT and returns the first line it
// prints on stderr; the wait is stopped then.
func firstLine(t *testing.T, port int) string {
	t.Helper()
	cmd := exec.Command("bash", "../../../run.sh", "wait", strconv.Itoa(port))
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
	}()
	line := make(chan string, 1)
	go func() {
		l, _ := bufio.NewReader(stderr).ReadString('\n')
		line <- l
		_, _ = io.Copy(io.Discard, stderr)
	}()
	select {
	case l := <-line:
		return l
	case <-time.After(60 * time.Second):
		t.Fatalf("run.sh wait %d printed nothing in 60 s", port)
		return ""
	}
}

// wait says what it sees from its first try: a refused port, or a
// server that accepts and does not answer.
func TestRunShWaitSaysWhatItSees(t *testing.T) {
	if got := firstLine(t, closedPort(t)); !strings.Contains(got, "connection refused") {
		t.Errorf("run.sh wait on a closed port first said %q; want connection refused", got)
	}
	silent := fakeServer(t, func(int, *bufio.ReadWriter) bool { return false })
	if got := firstLine(t, silent); !strings.Contains(got, "does not answer") {
		t.Errorf("run.sh wait on a silent server first said %q; want that it does not answer", got)
	}
}

// closedPort returns a loopback port nothing listens on: one just freed
// (on a shared machine someone may take it: any word of refusal will do).
func closedPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return port
}

// fakeServer listens on a loopback port of its own; for the n-th session
// (from 0) it reads the request lines up to QUIT, then calls answer,
// which writes what it wants and says whether to close the session
// (false: hold it open, saying nothing, until the test ends).
func fakeServer(t *testing.T, answer func(n int, rw *bufio.ReadWriter) (close bool)) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var open []net.Conn
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		for _, c := range open {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for n := 0; ; n++ {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			open = append(open, c)
			mu.Unlock()
			wg.Add(1)
			go func(n int) {
				defer wg.Done()
				rw := bufio.NewReadWriter(bufio.NewReader(c), bufio.NewWriter(c))
				for {
					l, err := rw.ReadString('\n')
					if err != nil || l == "QUIT\n" {
						break
					}
				}
				if answer(n, rw) {
					_ = rw.Flush()
					c.Close()
				}
			}(n)
		}
	}()
	return l.Addr().(*net.TCPAddr).Port
}

// waitTool runs osps-live wait --within 1s PORT; it returns the exit
// status and the lines of stderr.
func waitTool(t *testing.T, port int) (int, []string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(binDir, "osps-live"), "wait", "--within", "1s", strconv.Itoa(port))
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatal(err)
	}
	if out.Len() > 0 {
		t.Errorf("osps-live wait %d wrote on stdout: %q", port, out.String())
	}
	return cmd.ProcessState.ExitCode(), strings.Split(strings.TrimSuffix(errb.String(), "\n"), "\n")
}

func TestWait(t *testing.T) {
	say := func(s string) func(int, *bufio.ReadWriter) bool {
		return func(_ int, rw *bufio.ReadWriter) bool { _, _ = rw.WriteString(s); return true }
	}
	for _, tc := range []struct {
		name  string
		port  func(t *testing.T) int
		code  int
		first string // in the first line on stderr ("": stderr is empty)
		last  string // in the last line
	}{
		{"answers", func(t *testing.T) int { return fakeServer(t, say("OK 5\nhello")) }, 0, "", ""},
		{"answers on the second try", func(t *testing.T) int {
			return fakeServer(t, func(n int, rw *bufio.ReadWriter) bool {
				if n == 0 {
					_, _ = rw.WriteString("ERR busy all workers are busy\n")
				} else {
					_, _ = rw.WriteString("OK 0\n")
				}
				return true
			})
		}, 0, `does not answer STATS with OK ("ERR busy all workers are busy")`, "answers after 0s"},
		{"refused", closedPort, 1, "nothing listens on 127.0.0.1:", "after 1s: nothing listens on 127.0.0.1:"},
		{"another answer", func(t *testing.T) int { return fakeServer(t, say("ERR unknown-type STATS\n")) }, 1,
			`does not answer STATS with OK ("ERR unknown-type STATS")`, `after 1s: 127.0.0.1:`},
		{"an OK without a length", func(t *testing.T) int { return fakeServer(t, say("OK\n")) }, 1, `("OK")`, `("OK")`},
		{"closes at once", func(t *testing.T) int { return fakeServer(t, say("")) }, 1,
			"it closed the connection without a word", "it closed the connection without a word"},
		{"silent", func(t *testing.T) int { return fakeServer(t, func(int, *bufio.ReadWriter) bool { return false }) }, 1,
			"(no answer within 2s)", "(did serve fail to start? was it given --port "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			port := tc.port(t)
			code, lines := waitTool(t, port)
			first, last := lines[0], lines[len(lines)-1]
			if code != tc.code || !strings.Contains(first, tc.first) || !strings.Contains(last, tc.last) ||
				(tc.first == "") != (first == "") || first != "" && !strings.HasPrefix(first, "run.sh wait: ") {
				t.Errorf("osps-live wait %d: exit %d, stderr:\n%s\nwant exit %d, a first line with %q, a last with %q",
					port, code, strings.Join(lines, "\n"), tc.code, tc.first, tc.last)
			}
		})
	}
}
