// A v3 worker's listening socket: the dispatcher opened it for this
// worker's slot (dispatcher_ports.go says on which port) and hands it over
// as fd 5; the worker listens on it, and never opens a port of its own.

package main

import (
	"errors"
	"fmt"
	"net"

	"osps/common/proc"
)

// inheritedListener is the worker's listening socket, inherited as fd 5.
func inheritedListener(self *proc.Self) (net.Listener, error) {
	f := self.ExtraFile(0, "listener")
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
