// Package client is the client's half that does not depend on the
// variant: the command line, the dispatcher session (one connection, one
// request line after another, then QUIT), reading a reply and checking a
// requetetype2 payload byte for byte as it streams in. How a request is
// carried out after its line is sent is the variant's Variant.Do.
package client

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"osps/common/cli"
	"osps/common/trace"
	"osps/common/wire"
)

// Variant is what differs between the variants' clients.
type Variant struct {
	Name        string // "v1", "v2", "v3"
	RequestStep int    // the doc's step number of "the client sends a request line"
	// Dial opens the dispatcher session (v2 dials from its listening
	// port); nil means a plain TCP dial (Client.DialDispatcher).
	Dial func(ctx context.Context, c *Client) (net.Conn, error)
	// Do carries out one request line whose first reply line is r.
	Do func(ctx context.Context, c *Client, line string, r wire.Reply) (Result, error)
}

// Client is one client session with the dispatcher.
type Client struct {
	Server  string
	Timeout time.Duration
	Tr      *trace.Tracer
	Conn    net.Conn
	R       *bufio.Reader
	V       Variant
}

// Result is what a request produced.
type Result struct {
	Line string      // the request line
	N    int64       // payload bytes received and checked
	Text string      // payload of requetetype1 and STATS
	Err  *wire.Error // the server's error reply, if any
}

// Run is the body of the `client` role. It exits non-zero if any request
// failed.
func Run(args []string, v Variant) int {
	fs := pflag.NewFlagSet("client", pflag.ContinueOnError)
	server := fs.String("server", "127.0.0.1:2222", "the dispatcher's host:port")
	timeout := fs.Duration("timeout", 30*time.Second, "give up a request after this long")
	tr := fs.Bool("trace", false, "print one line per protocol step on stderr")
	load := registerLoadFlags(fs) // load.go
	if st, done := cli.Parse(fs, args, v.Name+" client [--server host:port] REQUEST...\n  e.g. client requetetype1 'requetetype2 200000' STATS\n  load: client --clients 4 --duration 5s --mix 'requetetype1:3,requetetype2 65536:1'"); done {
		return st
	}
	if load.on(fs) {
		return load.run(&Client{Server: *server, Timeout: *timeout, V: v, Tr: trace.New(*tr, v.Name, "client")}, fs.Args())
	}
	if fs.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "client: give at least one REQUEST, e.g. requetetype1")
		return 2
	}
	c := &Client{Server: *server, Timeout: *timeout, V: v, Tr: trace.New(*tr, v.Name, "client")}
	failed, err := c.Session(os.Stdout, fs.Args())
	if err != nil {
		fmt.Fprintf(os.Stderr, "client: %v\n", err)
		return 1
	}
	if failed > 0 {
		return 1
	}
	return 0
}

// Session dials the dispatcher, runs every line in order, prints each
// result on out, and says QUIT. It returns how many requests failed; an
// error means the session itself broke.
func (c *Client) Session(out io.Writer, lines []string) (failed int, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), c.Timeout)
	conn, err := c.dial(ctx)
	cancel()
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	c.Conn, c.R = conn, wire.NewReader(conn)
	for i, line := range lines {
		res, err := c.Request(line)
		if err != nil {
			fmt.Fprintf(out, "%s: FAILED: %v\n", line, err)
			return failed + len(lines) - i, nil
		}
		if res.Err != nil {
			failed++
		}
		fmt.Fprintln(out, res.Summary())
	}
	_ = c.send(wire.Quit)
	return failed, nil
}

func (c *Client) dial(ctx context.Context) (net.Conn, error) {
	if c.V.Dial != nil {
		return c.V.Dial(ctx, c)
	}
	return c.DialDispatcher(ctx)
}

// DialDispatcher is the plain TCP dial to the dispatcher: the session's
// connection when Variant.Dial is nil, and what a Variant.Dial that only
// adds to it (v3's trace) calls.
func (c *Client) DialDispatcher(ctx context.Context) (net.Conn, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", c.Server)
	if err != nil {
		return nil, fmt.Errorf("dial dispatcher %s: %w", c.Server, err)
	}
	return conn, nil
}

func (c *Client) send(line string) error {
	_ = c.Conn.SetWriteDeadline(time.Now().Add(c.Timeout))
	_, err := io.WriteString(c.Conn, line+"\n")
	return err
}

// Request sends one line on the session and carries it out.
func (c *Client) Request(line string) (Result, error) {
	ctx, cancel := context.WithTimeout(context.Background(), c.Timeout)
	defer cancel()
	// DOC: client-send: one request line on the dispatcher session.
	c.Tr.Step(c.V.RequestStep, "send %q to the dispatcher", line)
	if err := c.send(line); err != nil {
		return Result{}, fmt.Errorf("send %q: %w", line, err)
	}
	_ = c.Conn.SetReadDeadline(time.Now().Add(c.Timeout))
	r, err := ReadReply(c.R)
	if err != nil {
		return Result{}, err
	}
	if r.Word == wire.ERR {
		return Result{Line: line, Err: r.Err}, nil
	}
	if strings.TrimSpace(line) == wire.Stats {
		return ReadResult(c.R, line, r)
	}
	return c.V.Do(ctx, c, line, r)
}

// ReadReply reads and parses one reply line.
func ReadReply(r *bufio.Reader) (wire.Reply, error) {
	l, err := wire.ReadLine(r)
	if err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return wire.Reply{}, fmt.Errorf("read reply: %w", err)
	}
	return wire.ParseReply(l)
}

// ReadResult reads the payload announced by reply (OK <n>) for the
// request line, checking a requetetype2 payload byte for byte as it
// arrives: nothing is held but one buffer. A short payload is an error.
func ReadResult(r io.Reader, line string, reply wire.Reply) (Result, error) {
	res := Result{Line: line}
	switch reply.Word {
	case wire.ERR:
		res.Err = reply.Err
		return res, nil
	case wire.OK:
	default:
		return res, fmt.Errorf("expected OK or ERR, got %s", reply.Word)
	}
	pattern := strings.HasPrefix(strings.TrimSpace(line), wire.Type2)
	if !pattern {
		if reply.N > 1<<20 {
			return res, fmt.Errorf("text payload of %d bytes is implausible", reply.N)
		}
		b := make([]byte, reply.N)
		if _, err := io.ReadFull(r, b); err != nil {
			return res, fmt.Errorf("short payload: %w", err)
		}
		res.Text, res.N = string(b), reply.N
		return res, nil
	}
	buf := make([]byte, 64<<10)
	for res.N < reply.N {
		k := int(min(int64(len(buf)), reply.N-res.N))
		got, err := io.ReadAtLeast(r, buf[:k], 1)
		if err := wire.CheckPattern(buf[:got], res.N); err != nil {
			return res, err
		}
		res.N += int64(got)
		if err != nil {
			return res, fmt.Errorf("short payload: %d of %d bytes: %w", res.N, reply.N, err)
		}
	}
	return res, nil
}

// Summary is the line the client prints for a result.
func (r Result) Summary() string {
	switch {
	case r.Err != nil:
		return fmt.Sprintf("%s: %s", r.Line, r.Err.Error())
	case r.Text != "":
		return fmt.Sprintf("%s: OK %d bytes\n%s", r.Line, r.N, strings.TrimSuffix(r.Text, "\n"))
	default:
		return fmt.Sprintf("%s: OK %d bytes, every byte checked", r.Line, r.N)
	}
}
