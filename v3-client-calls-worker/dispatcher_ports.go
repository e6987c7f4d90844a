// The dispatcher's plan of its workers' ports. It opens every worker's
// listening socket itself, before it starts the workers, and hands each
// its socket as an inherited descriptor, like its pipes (the worker's
// side is worker_listen.go). It keeps its own copy for the whole run, so
// a worker's port is never free for another process to take, not even
// between a worker's death and its respawn.

package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"syscall"
)

// openPorts is serve's WorkerFiles: one listening socket per worker slot,
// opened by the dispatcher, which keeps it for the whole run.
// DOC: v3-dispatcher-holds-ports
func openPorts(dispatcher *net.TCPAddr, workers int, anyPort bool) ([][]*os.File, error) {
	files := make([][]*os.File, 0, workers)
	fail := func(err error) ([][]*os.File, error) {
		closeAll(files)
		return nil, err
	}
	for i := range workers {
		ln, err := listen(dispatcher.IP.String(), dispatcher.Port, anyPort, i)
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

// closeAll closes the dispatcher's copies of the workers' sockets.
func closeAll(files [][]*os.File) {
	for _, f := range files {
		f[0].Close()
	}
}

// listen opens worker id's port. The rule is decided here: the
// dispatcher's port + 1 + id, so the workers 0 to 3 of a dispatcher on
// 2222 listen on 2223 to 2226. With anyPort (serve --port 0, the tests),
// any port the kernel picks, as long as it is above the dispatcher's
// (docs/protocol.md: a worker's port is above the dispatcher's).
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
