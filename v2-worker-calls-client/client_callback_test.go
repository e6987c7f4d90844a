// The client's listener refuses a call-back without our ticket: checked
// against a fake dispatcher and a fake worker.

package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"osps/common/client"
	"osps/common/tools/conformance"
	"osps/common/wire"
)

// TestClientRefusesWrongTicket: call-backs with a wrong or malformed
// HELLO are closed without a word, and the client keeps waiting for the
// right one.
func TestClientRefusesWrongTicket(t *testing.T) {
	const ticket = "0123456789abcdef0123456789abcdef"
	refused := make(chan string, 2)
	addr := conformance.FakeDispatcher(t, func(sess net.Conn, r *bufio.Reader, peer string) {
		if l, _ := r.ReadString('\n'); l != "requetetype2 5\n" {
			refused <- fmt.Sprintf("session line %q", l)
			return
		}
		_, _ = io.WriteString(sess, "WAIT "+ticket+" "+proof+"\n")
		for _, hello := range []string{"HELLO ffffffffffffffffffffffffffffffff\n", "hello " + ticket + "\n"} {
			c, err := net.Dial("tcp", peer)
			if err != nil {
				refused <- err.Error()
				return
			}
			_, _ = io.WriteString(c, hello)
			_ = c.SetReadDeadline(time.Now().Add(conformance.IOTimeout))
			b, err := io.ReadAll(c) // the client closes it, saying nothing
			c.Close()
			refused <- fmt.Sprintf("%q %v", b, err)
		}
		c, err := net.Dial("tcp", peer)
		if err != nil {
			return
		}
		defer c.Close()
		_, _ = io.WriteString(c, "HELLO "+ticket+"\n")
		cr := bufio.NewReader(c)
		if l, _ := cr.ReadString('\n'); l != "HELLO "+conformance.V2BoundProof(swap{c}, proof, ticket)+"\n" {
			refused <- fmt.Sprintf("the client's proof: %q", l)
			return
		}
		if l, _ := cr.ReadString('\n'); l == "requetetype2 5\n" {
			payload := make([]byte, 5)
			wire.FillPattern(payload, 0)
			_, _ = c.Write(append([]byte("OK 5\n"), payload...))
		}
		c.Close()
		_, _ = io.WriteString(sess, "DONE "+ticket+"\n")
		_, _ = r.ReadString('\n') // QUIT
	})
	c := &client.Client{Server: addr, Timeout: conformance.IOTimeout, V: variant(netip.Addr{})}
	var out strings.Builder
	failed, err := c.Session(&out, []string{"requetetype2 5"})
	if err != nil || failed != 0 {
		t.Fatalf("client: %d failed, %v\n%s", failed, err, out.String())
	}
	var got []string
	for range 2 {
		got = append(got, <-refused)
	}
	if diff := cmp.Diff([]string{`"" <nil>`, `"" <nil>`}, got); diff != "" {
		t.Errorf("the wrong call-backs should be closed without a word (-want +got):\n%s", diff)
	}
}

// swap is a connection seen from its other end: the client's view of
// the fake worker's call-back (its caller is our local end).
type swap struct{ net.Conn }

func (s swap) LocalAddr() net.Addr  { return s.Conn.RemoteAddr() }
func (s swap) RemoteAddr() net.Addr { return s.Conn.LocalAddr() }
