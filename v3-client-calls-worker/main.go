// Command v3-client-calls-worker is the third design of the OSPS lab, the
// one the assignment calls ideal: the dispatcher only hands out a worker's
// address and a single-use ticket, and the client fetches its answer from
// that worker directly (docs/v3-client-calls-worker.md).
//
//	v3-client-calls-worker serve  [--port 2222] [--workers 4] [--ticket-ttl 5s] [--trace]
//	v3-client-calls-worker client [--server 127.0.0.1:2222] requetetype1 'requetetype2 200000'
package main

import (
	"osps/common/cli"
)

func main() {
	cli.Main("v3-client-calls-worker", "the client calls the worker whose address and ticket the dispatcher hands out (docs/v3-client-calls-worker.md)",
		cli.Role{Name: "serve", Summary: "run the dispatcher and its workers (each listens on its own port)", Run: runServe},
		cli.Role{Name: "client", Summary: "run one session: send each REQUEST, follow each GOTO, print and check each answer", Run: runClient},
		cli.Role{Name: "worker", Internal: true, Run: runWorker},
	)
}
