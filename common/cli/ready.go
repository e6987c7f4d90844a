// ready.go is the one line a server prints on its standard output, once it
// accepts connections: "ready host:port" (docs/protocol.md, the command
// line). A script or a tool that started the server waits for that line,
// with a deadline, rather than guessing with a sleep; it learns the port
// that --port 0 picked from it.

package cli

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os/exec"
	"strings"
	"time"
)

const readyPrefix = "ready "

// PrintReady prints the ready line for addr on w.
func PrintReady(w io.Writer, addr net.Addr) error {
	_, err := fmt.Fprintf(w, "%s%s\n", readyPrefix, addr)
	return err
}

// ErrExitedBeforeReady is WaitReady's error for a server that exited
// without printing its ready line.
var ErrExitedBeforeReady = errors.New("it exited before it said ready")

// WaitReady waits up to within for the ready line of cmd, already
// started, whose standard output is stdout (cmd.StdoutPipe), and returns
// its address. From then on it reads stdout to its end, so that the
// server never blocks on a full pipe, then reaps cmd (cmd.Wait) and calls
// reaped, if not nil, with Wait's result. On a timeout the server is left
// running: the caller stops it, and is told of the reap through reaped.
func WaitReady(cmd *exec.Cmd, stdout io.Reader, within time.Duration, reaped func(error)) (string, error) {
	ready := make(chan string, 1)
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if a, ok := strings.CutPrefix(sc.Text(), readyPrefix); ok {
				select {
				case ready <- a: // the first one counts
				default:
				}
			}
		}
		_, _ = io.Copy(io.Discard, stdout) // past a line too long for the scanner
		err := cmd.Wait()
		if reaped != nil {
			reaped(err)
		}
	}()
	t := time.NewTimer(within)
	defer t.Stop()
	select {
	case a := <-ready:
		return a, nil
	case <-exited:
		return "", ErrExitedBeforeReady
	case <-t.C:
		return "", fmt.Errorf("no ready line within %v", within)
	}
}
