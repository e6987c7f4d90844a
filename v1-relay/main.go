// Command v1-relay is the first design of the OSPS lab: the dispatcher
// relays every request through shared memory and every answer back to
// the client (docs/v1-relay.md).
//
//	v1-relay serve  [--port 2222] [--workers 4] [--trace]
//	v1-relay client [--server 127.0.0.1:2222] requetetype1 'requetetype2 200000'
package main

import (
	"osps/common/cli"
)

func main() {
	cli.Main("v1-relay", "the dispatcher relays each request through shared memory (docs/v1-relay.md)",
		cli.Role{Name: "serve", Summary: "run the dispatcher and its workers", Run: runServe},
		cli.Role{Name: "client", Summary: "run one session: send each REQUEST, print and check each answer", Run: runClient},
		cli.Role{Name: "worker", Internal: true, Run: runWorker},
	)
}
