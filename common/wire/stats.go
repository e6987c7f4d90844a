// stats.go reads the answer to STATS (docs/protocol.md, "The session"):
// one line per worker slot, key=value pairs, parsed by key so that pairs
// added later are skipped, never mistaken for the ones named here.

package wire

import (
	"fmt"
	"strconv"
	"strings"
)

// Slot is one line of a STATS answer.
type Slot struct {
	ID, Pid          int
	State            string // starting, idle, busy or dead
	Served, Restarts int    // served: by the slot's current process
	Total            int    // by the slot, every process included
}

// statsKeys are the keys every STATS line carries.
var statsKeys = []string{"worker", "pid", "state", "served", "restarts", "total"}

// ParseStats parses the payload of a STATS answer. A line without one of
// the keys above, or with a count that is not a number, is an error.
func ParseStats(payload []byte) ([]Slot, error) {
	var slots []Slot
	for _, line := range strings.Split(strings.TrimRight(string(payload), "\n"), "\n") {
		kv := map[string]string{}
		for _, f := range strings.Fields(line) {
			if k, v, ok := strings.Cut(f, "="); ok {
				if _, seen := kv[k]; !seen {
					kv[k] = v
				}
			}
		}
		var s Slot
		n := map[string]*int{"worker": &s.ID, "pid": &s.Pid, "served": &s.Served, "restarts": &s.Restarts, "total": &s.Total}
		for _, k := range statsKeys {
			v, ok := kv[k]
			if !ok {
				return nil, fmt.Errorf("STATS line %q has no %s=", Printable([]byte(line), 120), k)
			}
			if p := n[k]; p != nil {
				i, err := strconv.Atoi(v)
				if err != nil || i < 0 {
					return nil, fmt.Errorf("STATS line %q: %s=%q is not a count", Printable([]byte(line), 120), k, Printable([]byte(v), 20))
				}
				*p = i
			}
		}
		s.State = kv["state"]
		slots = append(slots, s)
	}
	return slots, nil
}
