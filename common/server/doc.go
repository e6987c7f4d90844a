// Package server holds the dispatcher's half that does not depend on
// the variant: listen, accept one goroutine per client session, read request
// lines, answer QUIT and STATS, check each request before any worker sees
// it, wait a bounded time for an idle worker, and shut down cleanly on
// SIGINT/SIGTERM. What happens once a request has a worker is the
// variant's Handler: relay (v1), introducer (v2), referrer (v3).
package server
