// Server-side fault injection for labs and tests, on both sides: the
// dispatcher checks --chaos crash=P,hang=P,lie=P,seed=S and hands it to
// its workers, and a worker then kills itself, stops making progress, or
// breaks the pipe protocol, on that fraction of its requests,
// reproducibly. Nothing on the wire reaches it.

package proc

import (
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Chaos is a parsed --chaos spec.
type Chaos struct {
	Crash float64 // probability that a request makes the worker die (SIGKILL to itself)
	Hang  float64 // probability that a request makes the worker hang (no progress, no heartbeat)
	Lie   float64 // probability that a request makes the worker break the protocol (a pong no dispatcher may trust)
	Seed  uint64
	rng   *rand.Rand
}

// ParseChaos parses "crash=P,hang=P,lie=P,seed=S" (any subset; "" is no chaos).
func ParseChaos(spec string) (Chaos, error) {
	var c Chaos
	if spec == "" {
		return c, nil
	}
	for _, kv := range strings.Split(spec, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(kv), "=")
		if !ok {
			return c, fmt.Errorf("--chaos %q: %q is not key=value", spec, kv)
		}
		switch k {
		case "crash", "hang", "lie":
			p, err := strconv.ParseFloat(v, 64)
			if err != nil || p < 0 || p > 1 {
				return c, fmt.Errorf("--chaos %q: %s must be a probability between 0 and 1", spec, k)
			}
			switch k {
			case "crash":
				c.Crash = p
			case "hang":
				c.Hang = p
			default:
				c.Lie = p
			}
		case "seed":
			s, err := strconv.ParseUint(v, 10, 64)
			if err != nil {
				return c, fmt.Errorf("--chaos %q: seed must be a non-negative integer", spec)
			}
			c.Seed = s
		default:
			return c, fmt.Errorf("--chaos %q: unknown key %q (crash, hang, lie, seed)", spec, k)
		}
	}
	if c.Crash+c.Hang+c.Lie > 1 {
		return c, fmt.Errorf("--chaos %q: crash + hang + lie must not exceed 1", spec)
	}
	return c, nil
}

// On reports whether any fault is injected.
func (c *Chaos) On() bool { return c.Crash > 0 || c.Hang > 0 || c.Lie > 0 }

// strike is called by a worker when a request arrives: it may crash the
// process or hang it forever, or report that the worker must lie about
// this request (the caller then sends a pong that breaks the protocol).
// The draw depends on the seed, the slot and the slot's restart count,
// so a run can be replayed.
func (c *Chaos) strike(slot int, restarts uint64, log *slog.Logger) (lie bool) {
	if !c.On() {
		return false
	}
	if c.rng == nil {
		c.rng = rand.New(rand.NewPCG(c.Seed, uint64(slot)<<32|restarts))
	}
	x := c.rng.Float64()
	switch {
	case x < c.Crash:
		log.Warn("chaos: this worker crashes now (SIGKILL to itself)")
		_ = syscall.Kill(os.Getpid(), syscall.SIGKILL) // cannot fail on our own pid
	case x < c.Crash+c.Hang:
		log.Warn("chaos: this worker hangs now (no progress, no heartbeat)")
		for {
			time.Sleep(time.Hour) // a sleep, not select{}: the runtime would call that a deadlock
		}
	case x < c.Crash+c.Hang+c.Lie:
		log.Warn("chaos: this worker breaks the protocol now (a pong announcing more than its slot holds)")
		return true
	}
	return false
}
