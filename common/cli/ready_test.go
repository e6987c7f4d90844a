// ready_test.go checks the ready line both ways, with real processes
// (sh): the address read back, a process that exits first, one that
// never says ready, and the reap reported once it exits.

package cli

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// startSh starts sh -c script with its stdout on a pipe.
func startSh(t *testing.T, script string) (*exec.Cmd, io.Reader) {
	t.Helper()
	cmd := exec.Command("sh", "-c", script)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd, out
}

func TestWaitReady(t *testing.T) {
	var line bytes.Buffer
	if err := PrintReady(&line, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40123}); err != nil {
		t.Fatal(err)
	}
	if line.String() != "ready 127.0.0.1:40123\n" {
		t.Fatalf("PrintReady wrote %q", line.String())
	}

	cases := []struct {
		name, script string
		addr         string
		exited       bool // WaitReady says it exited first
	}{
		{"ready", "echo starting; printf '" + strings.TrimSuffix(line.String(), "\n") + "\\n'; echo more; exec sleep 0.2", "127.0.0.1:40123", false},
		{"exits first", "echo starting; exit 3", "", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cmd, out := startSh(t, tc.script)
			reaped := make(chan error, 1)
			addr, err := WaitReady(cmd, out, 10*time.Second, func(err error) { reaped <- err })
			if addr != tc.addr || errors.Is(err, ErrExitedBeforeReady) != tc.exited || (err != nil) != tc.exited {
				t.Errorf("WaitReady = %q, %v; want %q (exited first: %v)", addr, err, tc.addr, tc.exited)
			}
			if err := <-reaped; (err == nil) == tc.exited {
				t.Errorf("reaped with %v", err)
			}
		})
	}

	// Silent: the deadline ends the wait, the process is left to us.
	cmd, out := startSh(t, "exec sleep 60")
	reaped := make(chan error, 1)
	if addr, err := WaitReady(cmd, out, 50*time.Millisecond, func(err error) { reaped <- err }); addr != "" || err == nil || errors.Is(err, ErrExitedBeforeReady) {
		t.Errorf("WaitReady on a silent process = %q, %v; want a timeout", addr, err)
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	if err := <-reaped; err == nil {
		t.Error("a killed process reaped with no error")
	}
}
