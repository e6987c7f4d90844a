// Package freeport finds ports free on 127.0.0.1 for the instruments
// that start servers on a machine many people share (osps-live's demos,
// osps-lab's exercises): a run of consecutive free ports (a dispatcher's
// port and the ones above it that v3's workers take), and which of a
// user's ports is taken, with the same hint to find the server holding it.
package freeport

import (
	"fmt"
	"net"
	"strconv"
	"time"
)

// Hint is what to try when a port of one's own is taken.
const Hint = "a server of yours still running? pgrep -af 'serve --port' finds it"

// Find returns the first of n consecutive ports free on 127.0.0.1 now,
// in 20000-29999: below the kernel's ephemeral range, so that no
// outgoing connection takes one of them meanwhile.
func Find(n int) (int, error) {
	base := 20000 + int(time.Now().UnixNano()%9000)
	for try := range 200 {
		p := base + (try*37)%9000
		if Check(p, n) == nil {
			return p, nil
		}
	}
	return 0, fmt.Errorf("no %d free ports in a row on 127.0.0.1", n)
}

// Check returns nil when the n ports from first can be listened on now,
// else an error naming the first one taken.
func Check(first, n int) error {
	for p := first; p < first+n; p++ {
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
		if err != nil {
			return fmt.Errorf("port %d on 127.0.0.1 is taken: %w", p, err)
		}
		l.Close()
	}
	return nil
}
