// abuse_v2.go checks v2's call-back against a process of the same user on
// the client's machine: one that takes call-backs on the client's port
// (SO_REUSEPORT) and relays them, rewriting the answer, and strangers that
// send half a HELLO line to the client's listener. The real client binary
// is the one attacked. It also computes the client's bound proof, as the
// harness's own code (it shares none with the servers).

package conformance

import (
	"bufio"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"osps/common/tools/procfs"
)

// V2BoundProof is a v2 client's HELLO on call-back c: HMAC-SHA256 under
// the proof of "<ticket> <caller> <callee>", the two ends of c as the
// client sees them (docs/protocol.md, "What differs between the variants").
func V2BoundProof(c net.Conn, proof, ticket string) string {
	caller, callee := addrPort(c.RemoteAddr()), addrPort(c.LocalAddr())
	m := hmac.New(sha256.New, []byte(proof))
	m.Write([]byte(ticket + " " + caller.String() + " " + callee.String()))
	return hex.EncodeToString(m.Sum(nil))
}

func addrPort(a net.Addr) netip.AddrPort {
	ta, ok := a.(*net.TCPAddr)
	if !ok {
		return netip.AddrPort{}
	}
	ap := ta.AddrPort()
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}

// listeningAddr finds the address a process listens on (the v2
// client's call-back listener), from /proc, within IOTimeout.
func listeningAddr(pid int) (netip.AddrPort, error) {
	deadline := time.Now().Add(IOTimeout)
	for time.Now().Before(deadline) {
		fds, _ := procfs.FDs(pid)
		socks, _ := procfs.TCPSockets()
		for _, fd := range fds {
			if s, ok := socks[fd.Inode]; ok && fd.Kind == "socket" && s.State == "LISTEN" {
				return s.Local, nil
			}
		}
		time.Sleep(time.Millisecond)
	}
	return netip.AddrPort{}, fmt.Errorf("process %d listens nowhere", pid)
}

// heldClient starts a one-worker server whose worker is held (Hold), and
// the real client binary with n requetetype1 lines: its first request
// waits for the worker, its listener open. release lets it go on.
func heldClient(t *testing.T, bin string, d Driver, n int, args ...string) (cmd *exec.Cmd, out *strings.Builder, p netip.AddrPort, release func()) {
	t.Helper()
	srv := Start(t, bin, append([]string{"--workers", "1", "--queue-timeout", "15s"}, args...)...)
	holder := d.Open(t, srv.Addr)
	if err := d.Hold(holder); err != nil {
		t.Fatal(err)
	}
	reqs := make([]string, n)
	for i := range reqs {
		reqs[i] = "requetetype1"
	}
	cmd, out = startClient(t, bin, srv.Addr, reqs...)
	p, err := listeningAddr(cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	return cmd, out, p, func() {
		holder.Close()
		if d.Close != nil {
			d.Close(holder)
		}
	}
}

// startClient runs the real client binary with requests, and returns
// its command (started) and its output, complete once Wait returns.
func startClient(t *testing.T, bin, addr string, requests ...string) (*exec.Cmd, *strings.Builder) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*IOTimeout)
	t.Cleanup(cancel)
	cmd := exec.CommandContext(ctx, bin, append([]string{"client", "--server", addr}, requests...)...)
	out := &strings.Builder{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd, out
}

// reuseListen listens on ap with SO_REUSEPORT, beside the client.
func reuseListen(ap netip.AddrPort) (net.Listener, error) {
	lc := net.ListenConfig{Control: v2Reuse}
	return lc.Listen(context.Background(), "tcp4", ap.String())
}

// forgedType1 is the answer the relay substitutes.
const forgedType1 = "worker=0 pid=666 served=1\n"

// checkRelayedCallback (v2): a process of the same user listens on the
// real client's port with SO_REUSEPORT, takes the call-backs the kernel
// hands it, reflects the worker's HELLO to the client, relays the
// client's answer to the worker, and rewrites the worker's answer. No
// forged byte may be accepted: every relayed request ends as ERR.
// (Before, the client's proof went through the relay unchanged: 6 of 10
// call-backs taken, 6 forged answers accepted, exit 0.)
func checkRelayedCallback(t *testing.T, bin string, d Driver) {
	cmd, out, p, release := heldClient(t, bin, d, 30)
	ln, err := reuseListen(p)
	if err != nil {
		t.Fatalf("listen beside the client on %s: %v", p, err)
	}
	var taken, relayed atomic.Int32
	var wg sync.WaitGroup
	go func() {
		for {
			w, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer w.Close()
				if relay(w, p) {
					relayed.Add(1)
				}
				taken.Add(1)
			})
		}
	}()
	release()
	_ = cmd.Wait()
	ln.Close()
	wg.Wait()
	t.Logf("call-backs taken by the relay: %d, relayed to the client: %d; client output:\n%s", taken.Load(), relayed.Load(), out)
	if strings.Contains(out.String(), "pid=666") {
		t.Errorf("the client accepted a forged answer:\n%s", out)
	}
	if relayed.Load() > 0 && !strings.Contains(out.String(), "ERR ") {
		t.Errorf("%d call-backs were relayed, and no request ended as ERR", relayed.Load())
	}
}

// relay is one relayed call-back: w is the worker's connection, p the
// client's listener. It reports whether the client took the relay's
// connection and sent its HELLO through it.
func relay(w net.Conn, p netip.AddrPort) bool {
	_ = w.SetDeadline(time.Now().Add(IOTimeout))
	wr := bufio.NewReader(w)
	hello, err := wr.ReadString('\n') // HELLO <ticket>
	if err != nil {
		return false
	}
	c, err := net.DialTimeout("tcp4", p.String(), IOTimeout)
	if err != nil {
		return false
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(IOTimeout))
	if _, err := io.WriteString(c, hello); err != nil {
		return false
	}
	cr := bufio.NewReader(c)
	proof, err := cr.ReadString('\n')
	if err != nil {
		return false // our own listener took it, or the client refused
	}
	req, err := cr.ReadString('\n')
	if err != nil {
		return false
	}
	_, _ = io.WriteString(w, proof+req)
	// Whatever the worker answers (or nothing: it refused the proof),
	// the client gets a forged answer.
	_ = w.SetReadDeadline(time.Now().Add(2 * time.Second))
	_, _ = wr.ReadString('\n')
	_, _ = fmt.Fprintf(c, "OK %d\n%s", len(forgedType1), forgedType1)
	return true
}

// checkHalfLinesAtListener (v2): four strangers connect to the real
// client's call-back listener and send "HELLO " without a newline, again
// and again; the worker's call-backs still get through: at least 90% of
// the client's requests are served. (Before, the client took call-backs
// one at a time, 2 s each: 4 of 10 failed.)
func checkHalfLinesAtListener(t *testing.T, bin string, d Driver) {
	const n, strangers = 10, 4
	cmd, out, p, release := heldClient(t, bin, d, n, "--callback-timeout", "2s")
	var stop atomic.Bool
	var wg sync.WaitGroup
	for range strangers {
		wg.Go(func() {
			for !stop.Load() {
				c, err := net.DialTimeout("tcp4", p.String(), time.Second)
				if err != nil {
					time.Sleep(10 * time.Millisecond)
					continue
				}
				_ = c.SetDeadline(time.Now().Add(5 * time.Second))
				_, _ = io.WriteString(c, "HELLO ")
				_, _ = c.Read(make([]byte, 1)) // until the client closes it
				c.Close()
			}
		})
	}
	time.Sleep(200 * time.Millisecond) // the strangers are at the door
	release()
	_ = cmd.Wait()
	stop.Store(true)
	wg.Wait()
	ok := strings.Count(out.String(), "requetetype1: OK ")
	atLeast(t, fmt.Sprintf("beside %d strangers sending half a HELLO to the client's listener", strangers), ok, n, 0.9, []string{out.String()})
}
