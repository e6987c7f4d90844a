// callers.go demonstrates v2's client taking call-backs as a v3 worker's
// door takes clients: it accepts every connection at once, each on its
// own goroutine, gives each helloTimeout for its HELLO line, and holds
// at most maxCallers at a time (past it the oldest stranger is pushed
// out, common/server's Table). Strangers that send half a line, or
// nothing, cannot keep the real worker waiting behind them.

package main

import (
	"bufio"
	"fmt"
	"net"
	"sync"
	"time"

	"osps/common/client"
	"osps/common/server"
	"osps/common/wire"
)

// helloTimeout bounds how long the client waits for the HELLO line of a
// connection it accepted: the worker sends it as soon as it connects.
const helloTimeout = time.Second

// maxCallers bounds the connections the listener holds at once.
const maxCallers = 64

// callback is a caller that said HELLO <ticket> with our ticket.
type callback struct {
	conn net.Conn
	r    *bufio.Reader
}

// awaitCallBack accepts connections on ln until one says HELLO <ticket>
// with our ticket, or until the listener's deadline. Every connection is
// read on its own goroutine; one with any other first line, or none
// within helloTimeout, is closed, and the wait goes on.
// DOC: v2-ticket-check
func awaitCallBack(c *client.Client, ln *net.TCPListener, ticket string, deadline time.Time) (net.Conn, *bufio.Reader, error) {
	var table server.Table
	var wg sync.WaitGroup
	found := make(chan callback, 1)
	acceptErr := make(chan error, 1)
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				acceptErr <- err
				return
			}
			v, dropped := table.Admit(conn, maxCallers)
			if dropped != nil {
				c.Tr.Step(3, "%d callers at once: the oldest stranger, %s, is dropped", maxCallers, dropped.RemoteAddr())
			}
			wg.Go(func() { checkCaller(c, &table, v, ticket, deadline, found) })
		}
	}()
	var cb callback
	var err error
	select {
	case cb = <-found:
		_ = ln.SetDeadline(time.Unix(1, 0)) // stop accepting...
		<-acceptErr                         // ...now
	case e := <-acceptErr:
		err = fmt.Errorf("wait for the call-back on %s: %w", ln.Addr(), e)
	}
	table.CloseOthers(nil) // strangers still talking; the holder left the table
	wg.Wait()
	if err == nil || cb.conn != nil {
		return cb.conn, cb.r, nil
	}
	select { // the right caller may have come as the wait ended
	case cb = <-found:
		return cb.conn, cb.r, nil
	default:
		return nil, nil, err
	}
}

// checkCaller reads the first line of visitor v: HELLO with our ticket
// hands the connection over (once); anything else, or nothing in time,
// closes it.
func checkCaller(c *client.Client, table *server.Table, v *server.Visitor, ticket string, deadline time.Time, found chan<- callback) {
	conn := v.Conn
	hd := time.Now().Add(helloTimeout)
	if !deadline.IsZero() && deadline.Before(hd) {
		hd = deadline
	}
	_ = conn.SetReadDeadline(hd)
	r := wire.NewReader(conn)
	l, err := wire.ReadLine(r)
	if err == nil {
		err = wire.CheckHello(l, ticket)
	}
	// STEP v2.3: a worker called back; check its ticket.
	if err == nil && table.Hold(v) {
		table.Leave(v) // handed over: the caller owns it now
		select {
		case found <- callback{conn, r}:
			c.Tr.Step(3, "call-back from %s: HELLO %s", conn.RemoteAddr(), ticket)
			return
		default: // a second right HELLO: the ticket is used up
		}
	}
	c.Tr.Step(3, "call-back from %s refused (%v): closed, still waiting", conn.RemoteAddr(), err)
	table.Leave(v)
	conn.Close()
}
