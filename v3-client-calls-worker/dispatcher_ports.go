// ports.go demonstrates where a v3 worker listens, and who holds the
// port: the dispatcher opens each worker's listening socket itself (its
// own port + 1 + the slot, or with --port 0 any free port above its own)
// and hands it to the worker as an inherited descriptor, like the pipes.
// It keeps its copy across respawns, so a worker's port is never free for
// another process. Also the worker role's own flags.

package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"syscall"
	"time"

	"github.com/spf13/pflag"

	"osps/common/cli"
	"osps/common/proc"
	"osps/common/service"
)

// workerFlags are the worker role's own flags, set by the dispatcher
// (runServe's WorkerArgs).
type workerFlags struct {
	ttl       time.Duration
	ioTimeout time.Duration
	rate      service.Rate
}

func (f *workerFlags) register(fs *pflag.FlagSet) {
	f.ttl, f.ioTimeout = defaultTicketTTL, 10*time.Second
	fs.Var((*cli.PositiveDuration)(&f.ttl), "ticket-ttl", "how long a ticket waits for its client")
	fs.Var((*cli.PositiveDuration)(&f.ioTimeout), "io-timeout", "bound on reading a client's request line")
	f.rate.Register(fs)
}

// openPorts is serve's WorkerFiles: one listening socket per worker slot,
// opened by the dispatcher, which keeps it for the whole run.
// DOC: v3-dispatcher-holds-ports
func openPorts(d *net.TCPAddr, workers int, anyPort bool) ([][]*os.File, error) {
	files := make([][]*os.File, 0, workers)
	fail := func(err error) ([][]*os.File, error) {
		for _, f := range files {
			f[0].Close()
		}
		return nil, err
	}
	for i := range workers {
		ln, err := listen(d.IP.String(), d.Port, anyPort, i)
		if err != nil {
			return fail(fmt.Errorf("worker %d: %w", i, err))
		}
		f, err := ln.(*net.TCPListener).File() // a copy of the socket, for the worker to inherit
		ln.Close()                             // the copy keeps the socket open
		if err != nil {
			return fail(fmt.Errorf("worker %d: listening socket: %w", i, err))
		}
		files = append(files, []*os.File{f})
	}
	return files, nil
}

// inheritedListener is the worker's side of openPorts: its listening
// socket, inherited as fd 5.
func inheritedListener(c *proc.Self) (net.Listener, error) {
	f := c.ExtraFile(0, "listener")
	if f == nil {
		return nil, errors.New("no listening socket as fd 5 (is this worker started by serve?)")
	}
	defer f.Close() // FileListener made its own copy
	ln, err := net.FileListener(f)
	if err != nil {
		return nil, fmt.Errorf("fd 5 is not a listening socket: %w", err)
	}
	return ln, nil
}

// listen opens worker id's port: dispatcher port + 1 + id, or with
// anyPort a port the kernel picks, as long as it is above the
// dispatcher's (docs/protocol.md: port > dispatcher port).
func listen(host string, dispatcherPort int, anyPort bool, id int) (net.Listener, error) {
	want := dispatcherPort + 1 + id
	if !anyPort {
		if want > 65535 {
			return nil, fmt.Errorf("listen: port %d (dispatcher port %d + 1 + worker %d) is not a TCP port", want, dispatcherPort, id)
		}
		ln, err := listenAt(host, want)
		if err != nil {
			return nil, fmt.Errorf("listen on the worker's port: %w", err)
		}
		return ln, nil
	}
	return listenAbove(host, dispatcherPort, want)
}

// listenAbove opens any free port above floor: first as the kernel picks
// it, then, if the kernel keeps picking ports below, walking upwards
// from want.
func listenAbove(host string, floor, want int) (net.Listener, error) {
	var below []net.Listener // kept open while we ask again, so the kernel picks another
	defer func() {
		for _, l := range below {
			l.Close()
		}
	}()
	for range 8 {
		ln, err := listenAt(host, 0)
		if err != nil {
			return nil, fmt.Errorf("listen on a free port: %w", err)
		}
		if ln.Addr().(*net.TCPAddr).Port > floor {
			return ln, nil
		}
		below = append(below, ln)
	}
	for port := want; port <= 65535; port++ {
		ln, err := listenAt(host, port)
		if err == nil {
			return ln, nil
		}
		if !errors.Is(err, syscall.EADDRINUSE) {
			return nil, fmt.Errorf("listen on port %d: %w", port, err)
		}
	}
	return nil, fmt.Errorf("listen: no free port above %d on %s", floor, host)
}

func listenAt(host string, port int) (net.Listener, error) {
	return net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
}
