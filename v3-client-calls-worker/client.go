// v3's client: it asks the dispatcher, which answers where to go
// ("GOTO <host> <port> <ticket> <key>"); it then dials that worker
// itself, makes it prove that it is the worker the dispatcher chose, and
// only then presents the ticket, repeats its request line, and reads the
// answer there, while its dispatcher session stays open for the next
// request (docs/v3-client-calls-worker.md).

package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"osps/common/client"
	"osps/common/wire"
)

func runClient(args []string) int {
	return client.Run(args, client.Variant{Name: "v3", RequestStep: 2, Dial: dialDispatcher, Do: followGoto})
}

// dialDispatcher opens the session that every request of this run uses.
func dialDispatcher(ctx context.Context, c *client.Client) (net.Conn, error) {
	c.Tr.Step(1, "connect to the dispatcher at %s (one session for every request)", c.Server)
	// STEP v3.1: connect to the dispatcher, once for the whole session.
	return c.DialDispatcher(ctx)
}

// followGoto carries out one request whose line went out on the session
// (client.Request) and whose first reply line is r: the GOTO it follows.
func followGoto(ctx context.Context, c *client.Client, line string, r wire.Reply) (client.Result, error) {
	// STEP v3.3: read where the answer waits: the dispatcher's GOTO.
	if r.Word != wire.GOTO {
		return client.Result{Line: line}, fmt.Errorf("expected GOTO or ERR from the dispatcher, got %s", r.Word)
	}
	host, port, ticket, key := r.Args[0], r.Args[1], r.Args[2], r.Args[3]
	addr := net.JoinHostPort(host, port)
	c.Tr.Step(3, "dispatcher answered GOTO %s %s %s %s", host, port, ticket, key)

	var dialer net.Dialer
	// STEP v3.4: dial the worker; it proves itself before it learns the ticket.
	conn, err := dialer.DialContext(ctx, "tcp", addr)
	if err != nil {
		return failed(line, "cannot reach the worker at %s: %v", addr, err), nil
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	wr := wire.NewReader(conn)
	if err := demandProof(ctx, c, conn, wr, addr, key); err != nil {
		return failed(line, "%v: ticket not sent", err), nil
	}
	c.Tr.Step(4, "the worker at %s proved itself; send HELLO %s, then %q", addr, ticket, line)
	if _, err := io.WriteString(conn, wire.Hello+" "+ticket+"\n"+line+"\n"); err != nil {
		return client.Result{Line: line}, fmt.Errorf("send to worker %s: %w", addr, err)
	}
	return readAnswer(c, wr, addr, line)
}

// demandProof sends a fresh nonce and checks the worker's answer: the
// HMAC of the nonce under the GOTO's key, compared in constant time. A
// process squatting the worker's port cannot compute it, and one that
// heard an earlier proof cannot reuse it (the nonce is new each time).
// DOC: v3-demand-proof
func demandProof(ctx context.Context, c *client.Client, conn net.Conn, wr *bufio.Reader, addr, key string) error {
	// A dead worker's port still accepts (the dispatcher holds it), and
	// nobody answers there: wait proofTimeout, not the whole --timeout.
	end, ok := ctx.Deadline()
	if wait := time.Now().Add(proofTimeout); !ok || wait.Before(end) {
		_ = conn.SetReadDeadline(wait)
		defer func() { _ = conn.SetReadDeadline(end) }() // the zero time if ctx has none
	}
	nonce := wire.NewTicket()
	c.Tr.Step(4, "connected to the worker at %s; send PROVE %s (the ticket waits)", addr, nonce)
	if _, err := io.WriteString(conn, wire.Prove+" "+nonce+"\n"); err != nil {
		return fmt.Errorf("send PROVE to %s: %w", addr, err)
	}
	reply, err := client.ReadReply(wr)
	switch {
	case err != nil:
		return fmt.Errorf("the worker at %s gave no proof: %v", addr, err)
	case reply.Word == wire.ERR:
		return fmt.Errorf("the worker at %s gave no proof: it answered %v", addr, reply.Err)
	case reply.Word != wire.PROOF:
		return fmt.Errorf("the worker at %s gave no proof: it answered %s", addr, reply.Word)
	case !wire.CheckProof(key, nonce, reply.Args[0]):
		return fmt.Errorf("the worker at %s gave a wrong proof: it is not the worker the dispatcher chose", addr)
	}
	return nil
}

// readAnswer reads the worker's answer, then its close.
func readAnswer(c *client.Client, wr *bufio.Reader, addr, line string) (client.Result, error) {
	// STEP v3.5: read the worker's answer, then its close.
	reply, err := client.ReadReply(wr)
	if err != nil {
		return client.Result{Line: line}, fmt.Errorf("worker %s: %w", addr, err)
	}
	res, err := client.ReadResult(wr, line, reply)
	if err != nil {
		return res, fmt.Errorf("worker %s: %w", addr, err)
	}
	if reply.Word == wire.OK {
		// Nothing may follow the payload: the next thing is the worker's close.
		if _, err := wr.ReadByte(); !errors.Is(err, io.EOF) {
			return res, fmt.Errorf("worker %s: expected its close after %d payload bytes, got %v", addr, reply.N, err)
		}
		c.Tr.Step(5, "worker answered OK %d, every byte checked; the worker closed the connection", reply.N)
	} else {
		c.Tr.Step(5, "worker answered %s", reply.Err.Error())
	}
	c.Tr.Step(6, "back to the dispatcher session: next request, or QUIT")
	// STEP v3.6: back to the dispatcher session (client.Session sends the next line, or QUIT).
	return res, nil
}

// proofTimeout bounds the wait for a worker's proof.
const proofTimeout = 5 * time.Second

// failed is the result of a request whose worker could not be trusted
// or reached: ERR worker-failed, and the session goes on.
func failed(line, format string, a ...any) client.Result {
	return client.Result{Line: line, Err: wire.Errorf(wire.CodeWorkerFailed, format, a...)}
}
