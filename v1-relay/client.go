// client.go demonstrates v1's client: the simplest one, since the answer
// comes back on the dispatcher session itself (docs/v1-relay.md).

package main

import (
	"context"

	"osps/common/client"
	"osps/common/wire"
)

func runClient(args []string) int {
	return client.Run(args, client.Variant{Name: "v1", RequestStep: 1, Do: relayed})
}

// relayed reads the answer that the dispatcher relays on the session.
func relayed(_ context.Context, c *client.Client, line string, r wire.Reply) (client.Result, error) {
	// STEP v1.1: the line went out on the session (client.Request, DOC: client-send).
	// STEP v1.4: the answer comes back on that same session, relayed.
	c.Tr.Step(4, "dispatcher answered %s %d", r.Word, r.N)
	return client.ReadResult(c.R, line, r)
}
