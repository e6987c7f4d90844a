// prefork.go is the reference design "preforked, each child calls accept"
// (UNP ch. 30): the parent makes the listening socket and starts N workers
// that inherit it; each worker accepts connections and serves their
// sessions itself (here each worker is a floor server, floor.go, a
// goroutine per session). No dispatcher is on the path: the kernel decides
// which worker a connection goes to, and nobody can pick a worker, queue a
// request or refuse one. It speaks v1's wire format, so v1's client drives
// it (docs/comparison.md, "The reference designs").
//
//	osps-bench prefork [--listen 127.0.0.1] [--port 2222] [--workers 4]    prints "ready host:port"

package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/spf13/pflag"

	"osps/common/cli"
	"osps/common/wire"
)

// preforkWorkerRole is the internal role of this binary that runs one
// prefork worker.
const preforkWorkerRole = "prefork-worker"

func runPrefork(args []string) int {
	fs := pflag.NewFlagSet("prefork", pflag.ContinueOnError)
	var c refConfig
	c.register(fs)
	ln, st := c.open("prefork", fs, args)
	if ln == nil {
		return st
	}
	// DOC: prefork-inherit: a copy of the listening socket for the
	// workers; the parent itself never accepts.
	lf, err := ln.(*net.TCPListener).File()
	ln.Close()
	if err != nil {
		fmt.Fprintf(os.Stderr, "prefork: listening socket: %v\n", err)
		return 1
	}
	var ws []*refWorker
	stopAll := func() {
		for _, w := range ws {
			_ = w.cmd.Process.Signal(syscall.SIGTERM) // each closes its sessions and exits
		}
		for _, w := range ws {
			w.stop(10 * time.Second)
		}
	}
	for i := range c.workers {
		w, err := startRefWorker(preforkWorkerRole, i, []string{"--max-bytes", strconv.FormatInt(c.maxBytes, 10),
			"--idle-timeout", c.idle.String()}, []*os.File{lf}, 5*time.Second)
		if err != nil {
			lf.Close()
			stopAll()
			fmt.Fprintf(os.Stderr, "prefork: %v\n", err)
			return 1
		}
		ws = append(ws, w)
	}
	lf.Close() // only the workers hold the listening socket now
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	_ = cli.PrintReady(os.Stdout, ln.Addr())
	<-ctx.Done()
	stopAll()
	return 0
}

// runPreforkWorker is a worker: a floor server on the listening socket
// inherited as fd 3, until SIGTERM.
func runPreforkWorker(args []string) int {
	fs := pflag.NewFlagSet(preforkWorkerRole, pflag.ContinueOnError)
	id := fs.Int("id", 0, "this worker's number")
	maxBytes := fs.Int64("max-bytes", wire.DefaultMaxBytes, "largest requetetype2 payload served")
	idle := fs.Duration("idle-timeout", 10*time.Minute, "close a session that sends nothing for this long")
	if st, done := cli.Parse(fs, args, "osps-bench prefork-worker --id N  (internal: started by prefork)"); done {
		return st
	}
	signal.Ignore(os.Interrupt) // the parent decides when workers stop
	log := cli.NewLogger(false).With("role", preforkWorkerRole, "worker", *id)
	f := os.NewFile(3, "listener")
	ln, err := net.FileListener(f)
	f.Close()
	if err != nil {
		log.Error("fd 3 is not a listening socket (is this worker started by prefork?)", "err", err)
		return 1
	}
	fl := newFloor(ln, *maxBytes, *idle, log)
	fl.id = *id
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	fmt.Println("ready")
	// DOC: prefork-accept: every worker calls accept on the same socket; the kernel picks.
	fl.serve(ctx)
	return 0
}
