// primitives.go holds what the primitive benchmarks share: the peer
// process (this same binary re-executed, the helper-process pattern of
// Go's os/exec tests, chosen by OSPS_BENCH_HELPER), the load of k round
// trips at once, and the service's own work, which needs no peer:
// producing and checking the requetetype2 pattern.
//
// Each primitive is a floor that a request is made of, measured between
// two real processes where the real thing crosses two; one file per peer:
// peer_pipe.go, peer_rawpipe.go, peer_tcp.go, peer_proc.go (common/proc's
// workers, which their pool starts itself), peer_fdpass.go, and
// slotcopy.go. The same functions run under
// `go test -bench . ./common/tools/osps-bench` (primitives_test.go) and
// inside the bench runner (model.go), so the table's predictions and the
// Go benchmarks are one measurement.

package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"time"

	"osps/common/service"
	"osps/common/wire"
)

// helperEnv names the peer to run when this binary is re-executed.
const helperEnv = "OSPS_BENCH_HELPER"

// Sizes used by the primitives.
const (
	msgSize   = 32                // a request or reply line, about
	chunkSize = service.ChunkSize // a slot's data area, a worker's write
)

// helperMain runs the peer named kind; it is main's body in the child.
func helperMain(kind string) int {
	var err error
	switch kind {
	case "pipe":
		err = pipeEcho()
	case "rawpipe":
		err = rawPipeEcho()
	case "tcp":
		err = tcpPeer()
	case "fdpass":
		err = fdPassEcho()
	default:
		err = fmt.Errorf("unknown helper %q", kind)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench helper %s: %v\n", kind, err)
		return 1
	}
	return 0
}

// startHelper re-executes this binary as the peer kind. Its stdin is a
// pipe: closing it tells the peer to exit.
func startHelper(kind string, extra ...*os.File) (*exec.Cmd, io.WriteCloser, *bufio.Reader, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, nil, nil, fmt.Errorf("find own binary: %w", err)
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), helperEnv+"="+kind)
	cmd.Stderr = os.Stderr
	cmd.ExtraFiles = extra
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, nil, nil, fmt.Errorf("helper %s stdin: %w", kind, err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, nil, nil, fmt.Errorf("helper %s stdout: %w", kind, err)
	}
	if err := cmd.Start(); err != nil {
		return nil, nil, nil, fmt.Errorf("start helper %s: %w", kind, err)
	}
	return cmd, stdin, bufio.NewReader(stdout), nil
}

// stopHelper closes the peer's stdin and reaps it.
func stopHelper(kind string, cmd *exec.Cmd, stdin io.Closer) error {
	stdin.Close()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("helper %s: %w", kind, err)
		}
		return nil
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		return fmt.Errorf("helper %s did not exit 10s after its stdin closed: killed", kind)
	}
}

// ioTimeout bounds every wait on a peer: its start, a read, an idle worker.
const ioTimeout = 30 * time.Second

// concurrently runs f(i, n/k) for i in 0..k-1 at once: k round trips in
// flight, as a busy dispatcher has, so that the CPU per round trip is
// what it costs under load (no processor idle, none spinning for work).
func concurrently(k, n int, f func(i, n int) error) error {
	errs := make(chan error, k)
	for i := range k {
		go func() { errs <- f(i, max(1, n/k)) }()
	}
	var err error
	for range k {
		err = errors.Join(err, <-errs)
	}
	return err
}

// fillChunks produces n chunks of the requetetype2 pattern (the worker's
// work), into buf.
func fillChunks(buf []byte, n int) {
	for i := range n {
		wire.FillPattern(buf, int64(i)*int64(len(buf)))
	}
}

// checkChunks checks buf as chunk 0 of the pattern n times (the client's
// work).
func checkChunks(buf []byte, n int) error {
	for range n {
		if err := wire.CheckPattern(buf, 0); err != nil {
			return err
		}
	}
	return nil
}
