// How v2's client takes the worker's call-back at its listener, as a v3
// worker's door takes clients: it accepts every visitor at once, each on
// its own goroutine, gives each helloTimeout for its HELLO line, and
// holds at most maxVisitors at a time (past it the oldest stranger is
// pushed out, common/wire's Table). Strangers that send half a line,
// or nothing, cannot keep the real caller, the worker, waiting behind
// them.

package main

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"osps/common/client"
	"osps/common/wire"
)

// helloTimeout bounds how long the client waits for the HELLO line of a
// connection it accepted: the worker sends it as soon as it connects.
const helloTimeout = time.Second

// maxVisitors bounds the connections the listener holds at once.
const maxVisitors = 64

// callback is the worker's call-back: the visitor that said HELLO
// <ticket> with our ticket, and its reader.
type callback struct {
	conn net.Conn
	r    *bufio.Reader
}

// takeCallback accepts visitors on ln until one says HELLO <ticket> with
// our ticket, or until the listener's deadline. Every visitor is read on
// its own goroutine; one with any other first line, or none within
// helloTimeout, is closed, and the wait goes on.
// DOC: v2-ticket-check
func takeCallback(c *client.Client, ln *net.TCPListener, ticket string, deadline time.Time) (callback, error) {
	var table wire.Table
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
			v, dropped := table.Admit(conn, maxVisitors)
			if dropped != nil {
				c.Tr.Step(3, "%d visitors at once: the oldest stranger, %s, is dropped", maxVisitors, dropped.RemoteAddr())
			}
			wg.Go(func() { checkVisitor(c, &table, v, ticket, deadline, found) })
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
	if err == nil {
		return cb, nil
	}
	select { // the call-back may have come as the wait ended
	case cb = <-found:
		return cb, nil
	default:
		return callback{}, err
	}
}

// checkVisitor reads the first line of visitor v: HELLO with our ticket
// makes it the call-back, handed over once; anything else, or nothing in
// time, closes it.
func checkVisitor(c *client.Client, table *wire.Table, v *wire.Visitor, ticket string, deadline time.Time, found chan<- callback) {
	conn := v.Conn
	hd := time.Now().Add(helloTimeout)
	if !deadline.IsZero() && deadline.Before(hd) {
		hd = deadline
	}
	_ = conn.SetReadDeadline(hd)
	r := wire.NewReader(conn)
	l, err := wire.ReadLine(r)
	if err == nil {
		// STEP v2.3: is this the worker calling back? Its HELLO must carry our ticket.
		err = wire.CheckHello(l, ticket)
	}
	if err == nil && !table.Hold(v) {
		err = errors.New("no longer in the table: dropped as the oldest stranger, or the wait is over")
	}
	if err == nil {
		table.Leave(v) // handed over: the call-back is no visitor any more
		select {
		case found <- callback{conn, r}:
			c.Tr.Step(3, "call-back from %s: HELLO %s", conn.RemoteAddr(), ticket)
			return
		default:
			err = errors.New("a second right HELLO: the ticket is used up")
		}
	}
	c.Tr.Step(3, "call-back from %s refused (%v): closed, still waiting", conn.RemoteAddr(), err)
	table.Leave(v)
	conn.Close()
}
