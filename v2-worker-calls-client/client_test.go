// The checks of v2's client against a fake dispatcher: it believes the
// session's last word on a request.

package main

import (
	"bufio"
	"io"
	"net"
	"net/netip"
	"strings"
	"testing"

	"osps/common/client"
	"osps/common/tools/conformance"
)

// proof is the second secret of every WAIT a fake dispatcher sends.
const proof = "fedcba9876543210fedcba9876543210"

// TestClientTakesTheSessionsWord: the client believes the dispatcher's
// last word: ERR before any call-back ends the request at once (it does
// not wait for a call-back until its deadline), and a DONE with another
// ticket is an error.
func TestClientTakesTheSessionsWord(t *testing.T) {
	const ticket = "0123456789abcdef0123456789abcdef"
	t.Run("ERR before the call-back", func(t *testing.T) {
		addr := conformance.FakeDispatcher(t, func(sess net.Conn, r *bufio.Reader, _ string) {
			_, _ = r.ReadString('\n')
			_, _ = io.WriteString(sess, "WAIT "+ticket+" "+proof+"\nERR timeout no call-back\n")
			_, _ = r.ReadString('\n')
		})
		// A client that waited for a call-back until its deadline would
		// fail with "wait for the call-back", not report ERR timeout.
		c := &client.Client{Server: addr, Timeout: conformance.IOTimeout, V: variant(netip.Addr{})}
		var out strings.Builder
		failed, err := c.Session(&out, []string{"requetetype1"})
		if err != nil || failed != 1 || !strings.Contains(out.String(), "requetetype1: ERR timeout") {
			t.Fatalf("got %d failed, %v:\n%s", failed, err, out.String())
		}
	})
	t.Run("DONE with another ticket", func(t *testing.T) {
		addr := conformance.FakeDispatcher(t, func(sess net.Conn, r *bufio.Reader, peer string) {
			_, _ = r.ReadString('\n')
			_, _ = io.WriteString(sess, "WAIT "+ticket+" "+proof+"\n")
			c, err := net.Dial("tcp", peer)
			if err != nil {
				return
			}
			_, _ = io.WriteString(c, "HELLO "+ticket+"\n")
			cr := bufio.NewReader(c)
			_, _ = cr.ReadString('\n') // HELLO <proof>
			_, _ = cr.ReadString('\n') // the request line
			_, _ = io.WriteString(c, "OK 0\n")
			c.Close()
			_, _ = io.WriteString(sess, "DONE ffffffffffffffffffffffffffffffff\n")
		})
		c := &client.Client{Server: addr, Timeout: conformance.IOTimeout, V: variant(netip.Addr{})}
		var out strings.Builder
		if failed, err := c.Session(&out, []string{"requetetype2 0"}); err != nil || failed != 1 || !strings.Contains(out.String(), "FAILED: DONE for ticket ffff") {
			t.Fatalf("got %d failed, %v:\n%s", failed, err, out.String())
		}
	})
}
