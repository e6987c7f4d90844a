// Command v2-worker-calls-client is the second design of the OSPS lab:
// the client listens on a port P and dials the dispatcher from that same
// port; the dispatcher answers WAIT <ticket> <proof> and hands the
// client's address, as its socket sees it, to an idle worker, which calls
// the client back and answers there (docs/v2-worker-calls-client.md).
//
//	v2-worker-calls-client serve  [--port 2222] [--workers 4] [--callback-timeout 5s] [--trace]
//	v2-worker-calls-client client [--server 127.0.0.1:2222] requetetype1 'requetetype2 200000'
package main

import (
	"osps/common/cli"
)

func main() {
	cli.Main("v2-worker-calls-client", "the worker calls the client back at the address the dispatcher saw (docs/v2-worker-calls-client.md)",
		cli.Role{Name: "serve", Summary: "run the dispatcher and its workers", Run: runServe},
		cli.Role{Name: "client", Summary: "run one session: send each REQUEST, take each call-back, print and check each answer", Run: runClient},
		cli.Role{Name: "worker", Internal: true, Run: runWorker},
	)
}
