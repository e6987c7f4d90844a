// worker.go demonstrates v3's worker: a process with its own TCP port.
// It publishes its address in its slot, then accepts connections all the
// time; a ping tells it which single-use ticket to expect next. The one
// connection that presents that ticket gets the answer, streamed straight
// from this process; any other gets "ERR bad-ticket" and is closed at once,
// without disturbing the ticket still pending (port stealing, RFC 2577).
// A ticket nobody presents expires after --ticket-ttl
// (docs/v3-client-calls-worker.md, steps 0, 2, 4 and 5).

package main

import (
	"bufio"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"os"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/pflag"

	"osps/common/cli"
	"osps/common/pingpong"
	"osps/common/proc"
	"osps/common/service"
	"osps/common/trace"
	"osps/common/wire"
)

// maxConns bounds the connections a worker handles at once (the ticket
// holder and strangers): beyond, a connection gets ERR busy at once.
const maxConns = 64

// workerFlags are the worker role's own flags, set by the dispatcher
// (runServe's WorkerArgs).
type workerFlags struct {
	listen         string
	dispatcherPort int
	anyPort        bool
	ttl            time.Duration
	ioTimeout      time.Duration
}

func (f *workerFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.listen, "listen", "127.0.0.1", "address to listen on (the dispatcher's)")
	fs.IntVar(&f.dispatcherPort, "dispatcher-port", 2222, "the dispatcher's port: this worker listens on it + 1 + its slot number")
	fs.BoolVar(&f.anyPort, "any-port", false, "listen on any free port above --dispatcher-port instead (serve --port 0)")
	fs.DurationVar(&f.ttl, "ticket-ttl", defaultTicketTTL, "how long a ticket waits for its client")
	fs.DurationVar(&f.ioTimeout, "io-timeout", 10*time.Second, "bound on each read and write with a client")
}

func runWorker(args []string) int {
	f := &workerFlags{}
	return proc.RunChild(args, proc.ChildRole{
		Variant: "v3",
		Flags:   f.register,
		Open: func(c *proc.Self, tr *trace.Tracer) (func(pingpong.Msg) error, func(), error) {
			return open(c, tr, *f)
		},
	})
}

// desk is the ticket desk of one v3 worker process: the port where its
// clients come, and the one ticket it expects now.
type desk struct {
	c     *proc.Self
	tr    *trace.Tracer
	log   *slog.Logger
	f     workerFlags
	ln    net.Listener
	conns chan struct{} // a token per connection being handled (at most maxConns)

	mu      sync.Mutex
	pending *pending // the ticket expected now, nil when none
}

// pending is one request whose client has not come yet.
type pending struct {
	ticket  string
	req     wire.Request
	expires time.Time
	done    chan bool // once claimed: true once the client got its whole answer
}

func open(c *proc.Self, tr *trace.Tracer, f workerFlags) (func(pingpong.Msg) error, func(), error) {
	if f.ttl <= 0 || f.ioTimeout <= 0 {
		return nil, nil, fmt.Errorf("--ticket-ttl %v and --io-timeout %v must be positive", f.ttl, f.ioTimeout)
	}
	// STEP v3.0: listen on our own port, above the dispatcher's, and publish it in the slot.
	ln, err := listen(f, c.ID)
	if err != nil {
		return nil, nil, err
	}
	addr := ln.Addr().(*net.TCPAddr).AddrPort()
	c.Slot.SetWorkerAddr(addr)
	tr.Step(0, "attached segment %d, slot %d; listening on %s, published in slot %d", c.Seg.ID(), c.ID, addr, c.ID)
	w := &desk{
		c: c, tr: tr, f: f, ln: ln, conns: make(chan struct{}, maxConns),
		log: cli.NewLogger(false).With("role", "worker", "slot", c.ID, "pid", os.Getpid()),
	}
	accepting := make(chan struct{})
	go func() {
		defer close(accepting)
		w.acceptLoop()
	}()
	closer := func() {
		ln.Close()
		<-accepting
	}
	return w.serve, closer, nil
}

// listen opens the worker's port: dispatcher port + 1 + id, or with
// --any-port a port the kernel picks, as long as it is above the
// dispatcher's (docs/protocol.md: port > dispatcher port).
func listen(f workerFlags, id int) (net.Listener, error) {
	want := f.dispatcherPort + 1 + id
	at := func(port int) (net.Listener, error) {
		return net.Listen("tcp", net.JoinHostPort(f.listen, strconv.Itoa(port)))
	}
	if !f.anyPort {
		if want > 65535 {
			return nil, fmt.Errorf("listen: port %d (dispatcher port %d + 1 + worker %d) is not a TCP port", want, f.dispatcherPort, id)
		}
		ln, err := at(want)
		if err != nil {
			return nil, fmt.Errorf("listen on the worker's port: %w", err)
		}
		return ln, nil
	}
	var below []net.Listener // kept open while we ask again, so the kernel picks another
	defer func() {
		for _, l := range below {
			l.Close()
		}
	}()
	for range 8 {
		ln, err := at(0)
		if err != nil {
			return nil, fmt.Errorf("listen on a free port: %w", err)
		}
		if ln.Addr().(*net.TCPAddr).Port > f.dispatcherPort {
			return ln, nil
		}
		below = append(below, ln)
	}
	// The kernel keeps picking ports below the dispatcher's: walk upwards.
	for port := want; port <= 65535; port++ {
		ln, err := at(port)
		if err == nil {
			return ln, nil
		}
		if !errors.Is(err, syscall.EADDRINUSE) {
			return nil, fmt.Errorf("listen on port %d: %w", port, err)
		}
	}
	return nil, fmt.Errorf("listen: no free port above %d on %s", f.dispatcherPort, f.listen)
}

// serve handles one ping: the main loop's part of a request. It returns
// once the client was served or the ticket expired, after the pong.
func (w *desk) serve(m pingpong.Msg) error {
	if m.Op != pingpong.PingRequest {
		return nil // nothing else is sent to a v3 worker
	}
	// STEP v3.2: the ping: a ticket and a request wait in our slot.
	p := &pending{ticket: w.c.Slot.Ticket(), expires: time.Now().Add(w.f.ttl), done: make(chan bool, 1)}
	line := w.c.Slot.Request()
	req, err := wire.ParseRequest(line, math.MaxInt64)
	if err != nil || !wire.ValidTicket(p.ticket) {
		w.log.Error("slot holds no valid ticket and request", "request", wire.Printable(line, 60))
		return w.c.Pong(pingpong.Msg{Op: pingpong.PongDone, Seq: m.Seq, Arg: 1})
	}
	p.req = req
	w.mu.Lock()
	w.pending = p
	w.mu.Unlock()
	w.tr.Step(2, "ping: expect ticket %s for %q within %v; pong ready", p.ticket, req.String(), w.f.ttl)
	// The dispatcher sends GOTO only after this pong (DOC: v3-ready-before-goto).
	if err := w.c.Pong(pingpong.Msg{Op: pingpong.PongReady, Seq: m.Seq}); err != nil {
		return err
	}

	expire := time.NewTimer(w.f.ttl)
	defer expire.Stop()
	beat := time.NewTicker(100 * time.Millisecond) // alive while we wait for the client
	defer beat.Stop()
	for {
		select {
		case ok := <-p.done:
			// STEP v3.5: the client has its answer (or the transfer failed): pong, idle again.
			if ok {
				w.tr.Step(5, "connection closed, pong done: idle again")
			} else {
				w.tr.Step(5, "request failed, pong done: idle again")
			}
			return w.c.Pong(pingpong.Msg{Op: pingpong.PongDone, Seq: m.Seq, Arg: pongArg(ok)})
		case <-expire.C:
			w.mu.Lock()
			expired := w.pending == p
			if expired {
				w.pending = nil
			}
			w.mu.Unlock()
			if expired {
				// STEP v3.5: nobody came: the ticket expires, pong, idle again.
				w.tr.Step(5, "ticket %s expired, no client within %v: pong, idle again", p.ticket, w.f.ttl)
				return w.c.Pong(pingpong.Msg{Op: pingpong.PongDone, Seq: m.Seq, Arg: 1})
			}
			// Claimed just in time: its transfer is bounded by --io-timeout per write.
		case <-beat.C:
			w.c.Slot.Beat()
		}
	}
}

func pongArg(ok bool) uint64 {
	if ok {
		return 0
	}
	return 1
}

// LAB v3-ticket: begin

// claim takes the pending request if ticket is its ticket and it has not
// expired. A ticket is claimed at most once: single use.
// DOC: v3-ticket-claim
func (w *desk) claim(ticket string) *pending {
	w.mu.Lock()
	defer w.mu.Unlock()
	p := w.pending
	if p == nil || time.Now().After(p.expires) ||
		subtle.ConstantTimeCompare([]byte(p.ticket), []byte(ticket)) != 1 {
		return nil
	}
	w.pending = nil
	return p
}

// LAB v3-ticket: end

// acceptLoop accepts connections until the listener is closed, whether a
// ticket is pending or not: a stranger is refused at once, never queued
// behind the client that holds the ticket.
// DOC: v3-accept-always
func (w *desk) acceptLoop() {
	for {
		conn, err := w.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			w.log.Error("accept", "err", err)
			time.Sleep(50 * time.Millisecond) // e.g. EMFILE: do not spin
			continue
		}
		select {
		case w.conns <- struct{}{}:
			go func() {
				defer func() { <-w.conns }()
				w.handle(conn)
			}()
		default:
			_ = conn.SetWriteDeadline(time.Now().Add(time.Second))
			_ = wire.WriteErr(conn, wire.Errorf(wire.CodeBusy, "worker has %d connections already", maxConns))
			conn.Close()
		}
	}
}

// handle is one connection to the worker's port.
func (w *desk) handle(conn net.Conn) {
	defer wire.LingerClose(conn)
	peer := conn.RemoteAddr().String()
	r := wire.NewReader(conn)

	// STEP v3.4: the first line must be HELLO with the ticket we expect.
	_ = conn.SetDeadline(time.Now().Add(w.f.ttl)) // a silent stranger is bounded too
	line, err := readLine(r)
	if err != nil {
		w.tr.Step(4, "connection from %s: no HELLO line (%v): closed", peer, err)
		w.reply(conn, lineError(err, "HELLO <ticket>"))
		return
	}
	var p *pending
	if ticket, err := wire.ParseHello(line); err == nil {
		p = w.claim(ticket)
	}
	if p == nil {
		w.tr.Step(4, "connection from %s: %q is not the expected ticket: ERR bad-ticket, closed (the pending ticket, if any, stays valid)", peer, wire.Printable(line, 50))
		w.reply(conn, wire.Errorf(wire.CodeBadTicket, "unknown, used or expired ticket"))
		return
	}
	w.tr.Step(4, "client %s presented ticket %s: accepted, ticket used up", peer, p.ticket)
	ok := w.answer(conn, r, p, peer)
	if tc, isTCP := conn.(*net.TCPConn); isTCP {
		_ = tc.CloseWrite() // the answer is complete: FIN, before the pong
	}
	p.done <- ok
}

// answer reads the request line that follows HELLO and streams the
// answer onto the connection. It reports whether the client got it all.
func (w *desk) answer(conn net.Conn, r *bufio.Reader, p *pending, peer string) bool {
	_ = conn.SetDeadline(time.Now().Add(w.f.ioTimeout))
	req, err := service.ReadRequest(r, p.req)
	if err != nil {
		w.tr.Step(5, "client %s: %v", peer, err)
		if e := wire.AsError(err); e != nil {
			w.reply(conn, e)
		}
		return false
	}
	// STEP v3.5: the answer goes straight from this process to the client, 64 KiB at a time.
	_ = conn.SetDeadline(time.Time{}) // from now on, a deadline per write
	src := service.Reply(req, w.c.ID, os.Getpid(), w.c.Slot.AddServed())
	w.tr.Step(5, "answer OK %d straight to the client %s, then close", src.Len(), peer)
	if err := service.Answer(service.DeadlineWriter{Conn: conn, D: w.f.ioTimeout}, src, func(int64) { w.c.Slot.Beat() }); err != nil {
		w.log.Warn("answer cut", "client", peer, "err", err)
		return false
	}
	return true
}

// readLine reads one protocol line; a last line without LF still counts.
func readLine(r *bufio.Reader) ([]byte, error) {
	line, err := wire.ReadLine(r)
	if errors.Is(err, io.ErrUnexpectedEOF) {
		err = nil
	}
	return line, err
}

// lineError is the reply to a line that could not be read.
func lineError(err error, what string) error {
	switch {
	case errors.Is(err, wire.ErrLineTooLong):
		return wire.Errorf(wire.CodeLineTooLong, "a line may hold at most %d bytes", wire.MaxLine)
	case errors.Is(err, os.ErrDeadlineExceeded):
		return wire.Errorf(wire.CodeTimeout, "no %s in time", what)
	default:
		return nil // the peer is gone: nothing to say
	}
}

// reply writes one error line, bounded in time; err nil writes nothing.
func (w *desk) reply(conn net.Conn, err error) {
	if err == nil {
		return
	}
	_ = conn.SetWriteDeadline(time.Now().Add(w.f.ioTimeout))
	_ = wire.WriteErr(conn, err)
}
