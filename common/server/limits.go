// The dispatcher's cap on sessions, sized from its open-file limit, as
// nginx (worker_connections), PostgreSQL (max_connections) and memcached
// (-c) cap theirs: each session holds one descriptor, and a reserve is
// kept for what the dispatcher itself needs, so that a respawn never
// fails for lack of a descriptor however many clients connect.

package server

import (
	"fmt"
	"time"

	"golang.org/x/sys/unix"

	"osps/common/wire"
)

// Descriptors kept in reserve, out of the sessions' reach.
const (
	// fdBase: stdin, stdout, stderr, the listener, the Go runtime's own
	// (epoll, its wake-up pipe, signals), with room to spare.
	fdBase = 32
	// fdPerWorker: a worker's ping and pong pipe ends and its process
	// handle (pidfd), a listening socket handed to it if its variant has
	// one; twice that, for the moment its replacement is being started.
	fdPerWorker = 8
	// refuseMax: connections past the cap that are being told ERR busy
	// at one time, each for at most refuseLinger.
	refuseMax = 16
)

// refuseLinger bounds the refusal of one connection past the cap.
const refuseLinger = 100 * time.Millisecond

// fdReserve is how many descriptors the dispatcher keeps for itself
// with workers workers.
func fdReserve(workers int) int { return fdBase + refuseMax + fdPerWorker*workers }

// openFileLimit is the process's open-file limit (RLIMIT_NOFILE; the Go
// runtime has already raised the soft limit to the hard one).
func openFileLimit() (int, error) {
	var r unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &r); err != nil {
		return 0, fmt.Errorf("getrlimit RLIMIT_NOFILE: %w", err)
	}
	return int(min(r.Cur, 1<<30)), nil
}

// sessionRoom is how many sessions fit under the open-file limit once
// the reserve is set aside.
func sessionRoom(workers int) (room, limit int, err error) {
	limit, err = openFileLimit()
	if err != nil {
		return 0, 0, err
	}
	return limit - fdReserve(workers), limit, nil
}

// longLane is how many long answers may be in flight at once:
// --long-answers, or by default all workers but a quarter (one at
// least), so that a few readers just above --min-rate, each holding a
// worker for minutes with a large answer, never hold them all. With one
// worker there is no worker to keep: the lane is that worker.
func longLane(workers, set int) int {
	if set > 0 {
		return set
	}
	if workers < 2 {
		return 1
	}
	return workers - max(workers/4, 1)
}

// long reports whether req's answer is long: one its client may take
// more than a --rate-window to read at --min-rate (more than one quota).
func (c *Config) long(req wire.Request) bool {
	return float64(req.N) > c.Rate.Quota()
}
