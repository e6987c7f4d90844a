// The end-to-end check that a process sharing the client's call-back
// port gets no answer: it cannot prove it is the client.

package main

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"osps/common/client"
	"osps/common/tools/conformance"
	"osps/common/wire"
)

// thief is another process of the same user on the client's call-back
// port: it binds the very address of the client's listener with
// SO_REUSEADDR and SO_REUSEPORT, as the client does, so the kernel
// shares the worker's call-backs between the two listeners. On each
// call-back it takes, it hears HELLO <ticket>, then tries what a thief
// can: the request line at once, or the ticket back as a proof. It
// records every byte the worker sends it after the HELLO line.
type thief struct {
	ln    net.Listener
	done  chan struct{}
	calls int
	leak  []byte
}

func stealFrom(t *testing.T, addr net.Addr, req string) *thief {
	t.Helper()
	lc := net.ListenConfig{Control: reuse}
	ln, err := lc.Listen(context.Background(), "tcp4", addr.String())
	if err != nil {
		t.Fatalf("thief cannot bind %s: %v", addr, err)
	}
	th := &thief{ln: ln, done: make(chan struct{})}
	go func() {
		defer close(th.done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_ = c.SetDeadline(time.Now().Add(conformance.IOTimeout))
			r := bufio.NewReader(c)
			hello, _ := r.ReadString('\n')
			ticket, _ := strings.CutPrefix(strings.TrimSpace(hello), "HELLO ")
			attack := req + "\n" // the line the client sends, which a thief may guess
			if th.calls%2 == 1 {
				attack = "HELLO " + ticket + "\n" + attack
			}
			th.calls++
			_, _ = io.WriteString(c, attack)
			b, _ := io.ReadAll(r) // until the worker closes
			th.leak = append(th.leak, b...)
			c.Close()
		}
	}()
	t.Cleanup(th.stop)
	return th
}

// stop closes the thief's listener and waits for it; then its fields
// may be read.
func (th *thief) stop() {
	th.ln.Close()
	<-th.done
}

// TestCallbackThief: a thief shares the client's call-back port. Every
// call-back it takes ends with no byte of answer for it (it cannot send
// HELLO <proof>), and the honest client's request then fails at once
// with a clear ERR on its session; every other request is served. For
// v2's own client and for the raw driver.
func TestCallbackThief(t *testing.T) {
	srv := conformance.Start(t, bin, "--workers", "2")
	const n = 24 // the kernel picks one of two listeners per call-back: 2^-24 that the thief never gets one
	lines := make([]string, n)
	for i := range lines {
		lines[i] = "requetetype2 1000"
	}
	check := func(t *testing.T, th *thief, failed int) {
		t.Helper()
		th.stop()
		if th.calls == 0 {
			t.Fatalf("the thief got none of %d call-backs: the theft was not reproduced", n)
		}
		if len(th.leak) != 0 {
			t.Errorf("the thief got %q after its %d stolen call-backs, want nothing", wire.Printable(th.leak, 80), th.calls)
		}
		if failed != th.calls {
			t.Errorf("%d requests failed, want one per stolen call-back (%d)", failed, th.calls)
		}
		t.Logf("%d of %d call-backs stolen, each refused", th.calls, n)
	}

	t.Run("v2 client", func(t *testing.T) {
		v := variant(netip.Addr{})
		dial := v.Dial
		var th *thief
		v.Dial = func(ctx context.Context, c *client.Client) (net.Conn, error) {
			conn, err := dial(ctx, c)
			if err == nil {
				th = stealFrom(t, conn.LocalAddr(), lines[0]) // the listener's address too
			}
			return conn, err
		}
		c := &client.Client{Server: srv.Addr, Timeout: conformance.IOTimeout, V: v}
		var out strings.Builder
		failed, err := c.Session(&out, lines)
		if err != nil {
			t.Fatalf("session: %v\n%s", err, out.String())
		}
		for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
			if !strings.HasPrefix(l, "requetetype2 1000: OK 1000 bytes") && !strings.HasPrefix(l, "requetetype2 1000: ERR worker-failed the call-back at 127.0.0.1:") {
				t.Errorf("client printed %q, want OK or ERR worker-failed naming the call-back", l)
			}
		}
		check(t, th, failed)
	})

	t.Run("raw driver", func(t *testing.T) {
		s := conformance.V2.Open(t, srv.Addr)
		th := stealFrom(t, s.Conn.LocalAddr(), lines[0])
		failed := 0
		for range n {
			switch o := conformance.V2.Do(s, lines[0]); {
			case o.Err == nil && o.Code == "":
			case o.Err == nil && o.Code == "worker-failed":
				failed++
			default:
				t.Fatalf("with a thief on the port: got %v, want OK or ERR worker-failed", o)
			}
		}
		check(t, th, failed)
	})
}
