// v1's client: the simplest of the three, since the answer comes back on
// the dispatcher session itself (docs/v1-relay.md). Its step 1, the
// request line on the session, is common/client's (DOC: client-send).

package main

import (
	"context"

	"osps/common/client"
	"osps/common/wire"
)

func runClient(args []string) int {
	return client.Run(args, client.Variant{Name: "v1", RequestStep: 1, Do: readRelayedAnswer})
}

// readRelayedAnswer reads the answer that the dispatcher relays on the
// session, after its first line r (OK <n>).
func readRelayedAnswer(_ context.Context, c *client.Client, line string, r wire.Reply) (client.Result, error) {
	c.Tr.Step(4, "dispatcher answered %s %d", r.Word, r.N)
	// STEP v1.4: the answer comes back on that same session, relayed.
	return client.ReadResult(c.R, line, r)
}
