// v2's client: it listens on a port P and dials the dispatcher from P;
// for each request it reads WAIT <ticket> <proof> on the session, takes
// the call-back of the worker that says that ticket, proves itself and
// sends its request line there and checks the answer, then reads DONE
// <ticket> on the session (docs/v2-worker-calls-client.md).

package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"time"

	"osps/common/client"
	"osps/common/wire"
)

func runClient(args []string) int {
	return client.Run(args, variant(netip.Addr{}))
}

// variant is v2's client. bind is the local address of both the
// listener and the session (invalid: the address the kernel routes
// from to reach the dispatcher).
func variant(bind netip.Addr) client.Variant {
	return client.Variant{
		Name: "v2", RequestStep: 1,
		Dial: func(ctx context.Context, c *client.Client) (net.Conn, error) { return dialFromListener(ctx, c, bind) },
		Do:   afterWait,
	}
}

// session is the dispatcher connection; closing it also closes the
// call-back listener, so the listener lives exactly as long as the session.
type session struct {
	*net.TCPConn
	ln *net.TCPListener
}

func (s *session) Close() error {
	return errors.Join(s.TCPConn.Close(), s.ln.Close())
}

// dialFromListener is the client's step 1, before any request line.
func dialFromListener(ctx context.Context, c *client.Client, bind netip.Addr) (net.Conn, error) {
	// STEP v2.1: listen on a port P, then dial the dispatcher from that same port P.
	ln, conn, err := listenAndDial(ctx, bind, c.Server)
	if err != nil {
		return nil, err
	}
	c.Tr.Step(1, "listening on %s; dialed the dispatcher %s from that same port (%s)", ln.Addr(), conn.RemoteAddr(), conn.LocalAddr())
	return &session{TCPConn: conn, ln: ln}, nil
}

// afterWait carries out one request whose first reply line is r, WAIT
// <ticket> <proof>: the call-back, then the session's last word.
func afterWait(ctx context.Context, c *client.Client, line string, r wire.Reply) (client.Result, error) {
	sess, ok := c.Conn.(*session) // the session holds its call-back listener
	if !ok {
		return client.Result{}, errors.New("v2 client: the session has no call-back listener")
	}
	ln := sess.ln
	if r.Word != wire.WAIT {
		return client.Result{}, fmt.Errorf("expected WAIT <ticket> <proof> or ERR, got %s", r.Word)
	}
	// STEP v2.2: the dispatcher answered WAIT <ticket> <proof>: a worker
	// will call back with the ticket, and wants the proof back.
	ticket, proof := r.Args[0], r.Args[1]
	c.Tr.Step(2, "dispatcher answered WAIT %s <proof>; waiting for the call-back on %s", ticket, ln.Addr())
	last := readLastWord(c)
	res, err := callbackThenLastWord(ctx, c, ln, line, ticket, proof, last)
	if err != nil {
		// Give up on this request; leave no reader behind on the session.
		_ = c.Conn.SetReadDeadline(time.Now())
		last.wait()
	}
	return res, err
}

// callbackThenLastWord takes the worker's call-back with the right
// ticket, sends the request line and checks the answer (steps 3 to 5),
// then reads DONE <ticket> or ERR on the session (step 6).
func callbackThenLastWord(ctx context.Context, c *client.Client, ln *net.TCPListener, line, ticket, proof string, last *lastWord) (client.Result, error) {
	deadline, _ := ctx.Deadline()
	conn, r, early, err := callbackOrLastWord(c, ln, line, ticket, deadline, last)
	if conn == nil {
		return early, err
	}
	defer conn.Close()
	res, resErr := exchange(c, conn, r, line, ticket, proof, deadline)
	conn.Close()
	return endRequest(c, last, line, ticket, res, resErr)
}

// callbackOrLastWord waits for whichever comes first: the worker's
// call-back with ticket, or the dispatcher's last word on the session (an
// ERR: no call-back will come). It returns the call-back's connection, or
// nil and the request's result.
func callbackOrLastWord(c *client.Client, ln *net.TCPListener, line, ticket string, deadline time.Time, last *lastWord) (net.Conn, *bufio.Reader, client.Result, error) {
	type taken struct {
		callback
		err error
	}
	_ = ln.SetDeadline(deadline)
	got := make(chan taken, 1)
	go func() {
		cb, err := takeCallback(c, ln, ticket, deadline)
		got <- taken{cb, err}
	}()

	select {
	case t := <-got:
		return t.conn, t.r, client.Result{}, t.err
	case f := <-last.ch:
		last.got = &f
		// The dispatcher spoke first: stop waiting for a call-back.
		_ = ln.SetDeadline(time.Unix(1, 0))
		if t := <-got; t.conn != nil {
			t.conn.Close()
		}
		if f.err != nil {
			return nil, nil, client.Result{}, f.err
		}
		if f.r.Word != wire.ERR {
			return nil, nil, client.Result{}, fmt.Errorf("dispatcher answered %s before any call-back", f.r.Word)
		}
		c.Tr.Step(6, "dispatcher answered %s: no call-back", f.r.Err.Error())
		return nil, nil, client.Result{Line: line, Err: f.r.Err}, nil
	}
}

// exchange is the call-back itself, once its ticket matched: the client
// proves itself, sends its request line, and reads the answer.
func exchange(c *client.Client, conn net.Conn, r *bufio.Reader, line, ticket, proof string, deadline time.Time) (client.Result, error) {
	// STEP v2.4: the ticket matches: prove ourselves with HELLO <mac>,
	// then send the request line to the worker.
	c.Tr.Step(4, "the ticket matches: send HELLO <mac> (the proof bound to this connection) and %q to the worker", line)
	_ = conn.SetWriteDeadline(deadline)
	if _, err := io.WriteString(conn, wire.Hello+" "+boundProof(conn, proof, ticket)+"\n"+line+"\n"); err != nil {
		return client.Result{}, fmt.Errorf("send %q to the worker: %w", line, err)
	}
	// STEP v2.5: the worker answers OK <n> and the payload (or ERR), and closes.
	_ = conn.SetReadDeadline(deadline)
	res, err := readAnswer(r, line)
	switch {
	case err != nil:
	case res.Err != nil:
		c.Tr.Step(5, "worker answered %s", res.Err.Error())
	default:
		c.Tr.Step(5, "worker answered OK %d: every byte received and checked; it closes", res.N)
	}
	return res, err
}

// endRequest reads the dispatcher's last word on the request: DONE
// <ticket> confirms what the call-back gave, ERR replaces it.
func endRequest(c *client.Client, last *lastWord, line, ticket string, res client.Result, resErr error) (client.Result, error) {
	// STEP v2.6: the dispatcher ends the request on the session.
	f := last.wait()
	switch {
	case f.err != nil:
		return res, f.err
	case f.r.Word == wire.DONE && f.r.Args[0] == ticket && resErr == nil:
		c.Tr.Step(6, "dispatcher answered DONE %s", ticket)
	case f.r.Word == wire.DONE:
		if resErr != nil {
			return res, fmt.Errorf("dispatcher said DONE, but: %w", resErr)
		}
		return res, fmt.Errorf("DONE for ticket %s, expected %s", f.r.Args[0], ticket)
	case f.r.Word == wire.ERR:
		// The request failed (e.g. the worker died mid-payload): the
		// dispatcher's word is the result, the session goes on.
		c.Tr.Step(6, "dispatcher answered %s", f.r.Err.Error())
		return client.Result{Line: line, Err: f.r.Err}, nil
	default:
		return res, fmt.Errorf("expected DONE or ERR on the session, got %s", f.r.Word)
	}
	// STEP v2.7: the session stays open: client.Session sends the next
	// request line on it, or QUIT.
	c.Tr.Step(7, "the session stays open for the next request (or QUIT)")
	return res, resErr
}

// readAnswer reads the worker's answer: OK <n> and the payload, checked
// byte for byte, or an ERR line.
func readAnswer(r *bufio.Reader, line string) (client.Result, error) {
	reply, err := client.ReadReply(r)
	if err != nil {
		return client.Result{}, fmt.Errorf("worker's answer: %w", err)
	}
	return client.ReadResult(r, line, reply)
}

// boundProof is the client's HELLO: the proof bound to this call-back,
// as the client sees its two ends (the caller, then its own listening
// end). The proof itself is never sent.
// DOC: v2-bound-proof
func boundProof(conn net.Conn, proof, ticket string) string {
	caller, _ := conn.RemoteAddr().(*net.TCPAddr)
	callee, _ := conn.LocalAddr().(*net.TCPAddr)
	if caller == nil || callee == nil {
		return wire.CallbackProof(proof, ticket, netip.AddrPort{}, netip.AddrPort{})
	}
	return wire.CallbackProof(proof, ticket, caller.AddrPort(), callee.AddrPort())
}
