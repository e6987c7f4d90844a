// ports.go demonstrates where a v3 worker listens: the worker role's
// flags, set by the dispatcher, and the port rule of the protocol (the
// dispatcher's port + 1 + the worker's slot, or with --port 0 any free
// port above the dispatcher's).

package main

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"syscall"
	"time"

	"github.com/spf13/pflag"

	"osps/common/cli"
	"osps/common/service"
)

// workerFlags are the worker role's own flags, set by the dispatcher
// (runServe's WorkerArgs).
type workerFlags struct {
	listen         string
	dispatcherPort int
	anyPort        bool
	ttl            time.Duration
	ioTimeout      time.Duration
	minRate        int64
	rateWindow     time.Duration
}

func (f *workerFlags) register(fs *pflag.FlagSet) {
	f.ttl, f.ioTimeout, f.rateWindow = defaultTicketTTL, 10*time.Second, service.DefaultRateWindow
	fs.StringVar(&f.listen, "listen", "127.0.0.1", "address to listen on (the dispatcher's)")
	fs.IntVar(&f.dispatcherPort, "dispatcher-port", 2222, "the dispatcher's port: this worker listens on it + 1 + its slot number")
	fs.BoolVar(&f.anyPort, "any-port", false, "listen on any free port above --dispatcher-port instead (serve --port 0)")
	fs.Var((*cli.PositiveDuration)(&f.ttl), "ticket-ttl", "how long a ticket waits for its client")
	fs.Var((*cli.PositiveDuration)(&f.ioTimeout), "io-timeout", "bound on reading a client's request line")
	fs.Int64Var(&f.minRate, "min-rate", service.DefaultMinRate, "an answer is cut when its client reads fewer bytes per second than this, over --rate-window")
	fs.Var((*cli.PositiveDuration)(&f.rateWindow), "rate-window", "the window over which --min-rate is measured")
}

// listen opens the worker's port: dispatcher port + 1 + id, or with
// --any-port a port the kernel picks, as long as it is above the
// dispatcher's (docs/protocol.md: port > dispatcher port).
func listen(f workerFlags, id int) (net.Listener, error) {
	want := f.dispatcherPort + 1 + id
	if !f.anyPort {
		if want > 65535 {
			return nil, fmt.Errorf("listen: port %d (dispatcher port %d + 1 + worker %d) is not a TCP port", want, f.dispatcherPort, id)
		}
		ln, err := listenAt(f.listen, want)
		if err != nil {
			return nil, fmt.Errorf("listen on the worker's port: %w", err)
		}
		return ln, nil
	}
	return listenAbove(f.listen, f.dispatcherPort, want)
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
