// decoy.go gives the fake server the look of the real architecture and
// none of its substance, for the structure checks to reject piece by
// piece. Built with flaw "decoy", serve starts --workers children, each
// with a ping and a pong pipe (fds 3 and 4) and the dispatcher's System V
// segment attached, and then answers every request itself: no request
// crosses a pipe. "decoy-noshm" has no segment; "decoy-nopipes" gives the
// children no pipes; "decoy-leak" leaves in each child the dispatcher's
// ends of the earlier children's pipes, as a fork that closes nothing;
// "decoy-bothends" leaves each child both ends of its own pipes;
// "decoy-signal" hands each request to a worker with signals, not pipes.
package main

import (
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// decoyWorkers starts n children; they end when the dispatcher does.
func decoyWorkers(n int) error {
	shmid := -1
	if !strings.Contains(flaw, "noshm") {
		id, err := unix.SysvShmGet(unix.IPC_PRIVATE, 4096, unix.IPC_CREAT|0o600)
		if err != nil {
			return fmt.Errorf("shmget: %w", err)
		}
		if _, err := unix.SysvShmAttach(id, 0, 0); err != nil {
			return fmt.Errorf("shmat: %w", err)
		}
		shmid = id
	}
	var keep []*os.File // the dispatcher's ends: a worker sees EOF when it exits
	for range n {
		pingR, pingW, err := os.Pipe()
		if err != nil {
			return err
		}
		pongR, pongW, err := os.Pipe()
		if err != nil {
			return err
		}
		cmd := exec.Command(os.Args[0], "decoy-worker", strconv.Itoa(shmid))
		if !strings.Contains(flaw, "nopipes") {
			cmd.ExtraFiles = []*os.File{pingR, pongW}
		}
		if strings.Contains(flaw, "bothends") {
			// As a fork that closes nothing: the worker keeps the ends it
			// does not use of its own pipes.
			cmd.ExtraFiles = append(cmd.ExtraFiles, pingW, pongR)
		}
		if strings.Contains(flaw, "leak") {
			// As a fork would: the dispatcher's ends of the earlier
			// workers' pipes, left open in this one.
			cmd.ExtraFiles = append(cmd.ExtraFiles, keep...)
		}
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			return err
		}
		pingR.Close()
		pongW.Close()
		decoyPids = append(decoyPids, cmd.Process.Pid)
		keep = append(keep, pingW, pongR)
	}
	if shmid >= 0 {
		_, _ = unix.SysvShmCtl(shmid, unix.IPC_RMID, nil) // freed when the last one detaches
	}
	signal.Notify(decoyBack, unix.SIGUSR2)
	decoyKeep = keep
	return nil
}

var decoyKeep []*os.File // pingW, pongR of each worker, in turn

// decoyPing, with flaw "decoy-signal", hands each request to the next
// worker with a signal (SIGUSR1) and waits for its answer, a signal back
// (SIGUSR2): a request crosses a worker, but no pipe. Other decoys answer
// at once, by themselves.
func decoyPing() {
	if !strings.Contains(flaw, "signal") || len(decoyPids) == 0 {
		return
	}
	decoyMu.Lock()
	defer decoyMu.Unlock()
	pid := decoyPids[decoyNext%len(decoyPids)]
	decoyNext++
	_ = unix.Kill(pid, unix.SIGUSR1)
	<-decoyBack
}

var (
	decoyMu   sync.Mutex
	decoyNext int
	decoyPids []int
	decoyBack = make(chan os.Signal, 1)
)

// decoyWorker attaches the segment, then waits for end of file on its
// ping pipe (fd 3); with no pipes, it waits for its parent's death.
func decoyWorker(shmid string) {
	if id, err := strconv.Atoi(shmid); err == nil && id >= 0 {
		if _, err := unix.SysvShmAttach(id, 0, 0); err != nil {
			fmt.Fprintln(os.Stderr, "decoy worker: shmat:", err)
		}
	}
	if strings.Contains(flaw, "nopipes") {
		_ = unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(unix.SIGKILL), 0, 0, 0)
		select {}
	}
	if strings.Contains(flaw, "signal") {
		usr1 := make(chan os.Signal, 1)
		signal.Notify(usr1, unix.SIGUSR1)
		go func() {
			for range usr1 {
				_ = unix.Kill(os.Getppid(), unix.SIGUSR2)
			}
		}()
		// Its pipes stay open and unread (a read interrupted by the
		// signals would count again); it ends with its parent.
		_ = unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(unix.SIGKILL), 0, 0, 0)
		select {}
	}
	ping := os.NewFile(3, "ping")
	var b [16]byte
	for {
		if _, err := ping.Read(b[:]); err != nil {
			os.Exit(0)
		}
	}
}
