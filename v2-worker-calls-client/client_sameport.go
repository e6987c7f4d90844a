// The client's two sockets on one local port: its call-back listener on
// port P, and its connection to the dispatcher dialed *from* P, so that
// the port the dispatcher sees is the one the worker must call. Linux
// allows the second bind only because both sockets set SO_REUSEPORT
// before bind (docs/v2-worker-calls-client.md, "The same-port trick").

package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// reuse is the Control hook of both sockets: it runs after socket(2) and
// before bind(2), the only moment these options can take effect.
// DOC: v2-sameport-options
func reuse(network, address string, c syscall.RawConn) error {
	// LAB v2-sameport: begin
	var serr error
	err := c.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEADDR, 1)
		if serr != nil {
			serr = fmt.Errorf("setsockopt SO_REUSEADDR: %w", serr)
			return
		}
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
		if serr != nil {
			serr = fmt.Errorf("setsockopt SO_REUSEPORT: %w", serr)
		}
	})
	if err != nil {
		return fmt.Errorf("%s socket for %s: %w", network, address, err)
	}
	return serr
	// LAB v2-sameport: end
}

// listenAndDial opens the call-back listener on (bind, a free port P),
// then dials server from (bind, P). An invalid bind means the local
// address the kernel would use to reach the server (see sourceFor):
// never the wildcard address, so the listener takes call-backs on the
// session's own address only, and no more specific socket elsewhere can
// take them first.
// On success both sockets are open; on error neither is.
// DOC: v2-sameport
func listenAndDial(ctx context.Context, bind netip.Addr, server string) (*net.TCPListener, *net.TCPConn, error) {
	host, portStr, err := net.SplitHostPort(server)
	if err != nil {
		return nil, nil, fmt.Errorf("server address %q: %w", server, err)
	}
	port, err := strconv.ParseUint(portStr, 10, 16)
	if err != nil || port == 0 {
		return nil, nil, fmt.Errorf("server address %q: bad port", server)
	}
	ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return nil, nil, fmt.Errorf("resolve %s: %w", host, err)
	}
	var errs []error
	for _, ip := range ips {
		ip = ip.Unmap()
		local := bind
		if !local.IsValid() {
			if local, err = sourceFor(ip); err != nil {
				errs = append(errs, err)
				continue
			}
		}
		if local.Is4() != ip.Is4() {
			errs = append(errs, fmt.Errorf("%s: not the family of %s", ip, local))
			continue
		}
		ln, conn, err := listenAndDialOne(ctx, local, netip.AddrPortFrom(ip, uint16(port)))
		if err == nil {
			return ln, conn, nil
		}
		errs = append(errs, err)
	}
	return nil, nil, fmt.Errorf("dial dispatcher %s from a listening port: %w", server, errors.Join(errs...))
}

func listenAndDialOne(ctx context.Context, local netip.Addr, server netip.AddrPort) (*net.TCPListener, *net.TCPConn, error) {
	network := "tcp4"
	if local.Is6() {
		network = "tcp6"
	}
	lc := net.ListenConfig{Control: reuse}
	ln, err := lc.Listen(ctx, network, netip.AddrPortFrom(local, 0).String())
	if err != nil {
		return nil, nil, fmt.Errorf("listen for the call-back: %w", err)
	}
	p := ln.Addr().(*net.TCPAddr).Port
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: local.AsSlice(), Port: p}, Control: reuse}
	conn, err := d.DialContext(ctx, network, server.String())
	if err != nil {
		ln.Close()
		return nil, nil, fmt.Errorf("dial %s from port %d: %w", server, p, err)
	}
	return ln.(*net.TCPListener), conn.(*net.TCPConn), nil
}

// sourceFor is the local address the kernel picks to reach ip: a UDP
// socket "connected" to ip is routed, but sends nothing.
// DOC: v2-session-address
func sourceFor(ip netip.Addr) (netip.Addr, error) {
	c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(netip.AddrPortFrom(ip, 9)))
	if err != nil {
		return netip.Addr{}, fmt.Errorf("route to %s: %w", ip, err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).AddrPort().Addr().Unmap(), nil
}
