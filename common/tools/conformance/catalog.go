// catalog.go is the list of the checks of Run and RunFaults, grouped for a
// person: one list with two front ends. `go test` runs every check; the
// grader (common/tools/osps-grade, `./run.sh check`) runs the groups a
// student asks for and, when a check fails, names the page of docs/ that
// explains it. A check without an entry here fails TestCatalog.

package conformance

import "slices"

// Entry says where a check belongs and which section of docs/ explains it.
type Entry struct {
	Suite string // "Run", "RunFaults" or "RunStructure": the list that holds the check
	Group string // one of Groups
	Doc   string // a page of docs/ and a heading's anchor, e.g. "docs/protocol.md#requests"
	// Workers: the check needs worker processes (it kills one, reads
	// STATS per worker, ...). The grader skips it, with the reason, for
	// a server that has none.
	Workers bool
}

// Groups are the check groups, in the order a course meets them.
var Groups = []struct{ Name, What string }{
	{"structure", "the architecture from /proc: workers, one segment, pipes, the answer's route"},
	{"protocol", "request lines, answers, errors, framing, QUIT: docs/protocol.md"},
	{"sessions", "STATS, many sessions at once, ERR busy, strangers that hold or flood sessions"},
	{"large", "large answers: every size, SIGTERM in the middle of 64 MiB, slow and paced readers"},
	{"cli", "the command line as docs/protocol.md's tables say: --help, bad flags, the client role"},
	{"faults", "a worker killed, hung or stopped; the dispatcher killed"},
	{"watchdog", "--watchdog: respawn, hang detection, the start-rate limit"},
}

// Catalog maps each check's name (its subtest name) to its entry.
var Catalog = map[string]Entry{
	// RunStructure: the architecture, read from /proc.
	"Workers":             {"RunStructure", "structure", "docs/v1-relay.md#step-0-start-up", false},
	"Segment":             {"RunStructure", "structure", "docs/shm.md#the-segments-life", false},
	"Pipes":               {"RunStructure", "structure", "docs/pipes.md#two-pipes-per-worker", false},
	"RequestCrossesPipes": {"RunStructure", "structure", "docs/pipes.md#records-16-bytes-one-write-each", false},
	"AnswerRoute":         {"RunStructure", "structure", "docs/README.md#the-assignment", false},

	// Run: the protocol, on one shared server.
	"Type1Shape":             {"Run", "protocol", "docs/protocol.md#requests", false},
	"Type2Sizes":             {"Run", "large", "docs/protocol.md#the-requetetype2-pattern", false},
	"FiveInOneSession":       {"Run", "protocol", "docs/protocol.md#the-session", false},
	"Stats":                  {"Run", "sessions", "docs/protocol.md#the-session", true},
	"Errors":                 {"Run", "protocol", "docs/protocol.md#checking-a-request-before-any-worker-sees-it", false},
	"LineTooLong":            {"Run", "protocol", "docs/protocol.md#errors-a-closed-set-of-codes", false},
	"QuitAndEOF":             {"Run", "protocol", "docs/protocol.md#the-session", false},
	"IdleConnection":         {"Run", "protocol", "docs/protocol.md#the-session", false},
	"Concurrent16x20":        {"Run", "sessions", "docs/protocol.md#the-session", false},
	"Client":                 {"Run", "cli", "docs/protocol.md#client", false},
	"Busy":                   {"Run", "sessions", "docs/protocol.md#errors-a-closed-set-of-codes", true},
	"TermDuringLargeRequest": {"Run", "large", "docs/protocol.md#the-command-line", false},
	"Help":                   {"Run", "cli", "docs/protocol.md#the-binary", false},
	"CommandLine":            {"Run", "cli", "docs/protocol.md#the-command-line", false},
	"Burst":                  {"Run", "sessions", "docs/protocol.md#the-session", false},

	// RunFaults: each starts its own server.
	"KillIdleWorkerBare":     {"RunFaults", "faults", "docs/watchdog.md#what-is-detected-and-how", true},
	"KillIdleWorkerWatchdog": {"RunFaults", "watchdog", "docs/watchdog.md#a-crash-in-sequence", true},
	"KillWorkerMidPayload":   {"RunFaults", "faults", "docs/protocol.md#after-ok-only-a-close-can-tell", true},
	"HangWatchdog":           {"RunFaults", "watchdog", "docs/watchdog.md#a-hang-in-sequence", true},
	"HangBare":               {"RunFaults", "faults", "docs/watchdog.md#what-happens-to-the-request-in-flight", true},
	"StopThenContinue":       {"RunFaults", "faults", "docs/watchdog.md#what-happens-to-the-request-in-flight", true},
	"KillDispatcher":         {"RunFaults", "faults", "docs/pipes.md#end-of-file-the-death-notice-both-ways", true},
	"StartRateLimit":         {"RunFaults", "watchdog", "docs/watchdog.md#fault-injection---chaos", true},
	"ServedAfterRespawn":     {"RunFaults", "watchdog", "docs/protocol.md#the-session", true},
	"SessionCap":             {"RunFaults", "sessions", "docs/watchdog.md#descriptors-for-a-respawn", true},
	"SessionTimeouts":        {"RunFaults", "sessions", "docs/protocol.md#the-session", false},
	"SteadySlowReader":       {"RunFaults", "large", "docs/protocol.md#slow-readers", false},
	"TrickleReaders":         {"RunFaults", "large", "docs/protocol.md#slow-readers", false},
	"StrangersHoldNoSession": {"RunFaults", "sessions", "docs/protocol.md#the-session", false},
	"RefusedLinesClose":      {"RunFaults", "protocol", "docs/protocol.md#the-session", false},
	"FloodMemoryReturned":    {"RunFaults", "sessions", "docs/protocol.md#the-session", false},
	"PacedReaders":           {"RunFaults", "large", "docs/protocol.md#slow-readers", false},
	"SlowReadersBesideFast":  {"RunFaults", "large", "docs/protocol.md#long-answers-leave-a-worker-for-short-ones", true},
	"HoardersBesideHonest":   {"RunFaults", "sessions", "docs/protocol.md#v3-the-session-while-a-goto-is-pending", true},
	"QuitCancelsGoto":        {"RunFaults", "protocol", "docs/protocol.md#v3-the-session-while-a-goto-is-pending", false},
	"DeadPortAnswers":        {"RunFaults", "faults", "docs/protocol.md#v3-the-session-while-a-goto-is-pending", true},
	"RelayedCallback":        {"RunFaults", "sessions", "docs/v2-worker-calls-client.md#port-stealing-by-a-process-of-the-same-user", false},
	"HalfLinesAtListener":    {"RunFaults", "sessions", "docs/v2-worker-calls-client.md#port-stealing-by-a-process-of-the-same-user", false},
	"DispatcherStopped":      {"RunFaults", "faults", "docs/protocol.md#slow-readers", true},
	"SessionsPerPeer":        {"RunFaults", "sessions", "docs/protocol.md#the-session", false},
	"EmptyLinesDoNotHold":    {"RunFaults", "sessions", "docs/protocol.md#the-session", false},
}

// VariantOnly names the checks of one variant's own protocol (v2's
// call-back, v3's GOTO and worker ports); every other check applies to
// all three. The grader neither runs nor counts a check for a variant it
// does not apply to, so that no variant loses points for another's
// protocol.
var VariantOnly = map[string]string{
	"HoardersBesideHonest": "v3",
	"QuitCancelsGoto":      "v3",
	"DeadPortAnswers":      "v3",
	"RelayedCallback":      "v2",
	"HalfLinesAtListener":  "v2",
}

// Checks lists, sorted, the catalogued checks of groups that apply to
// variant ("" means any): what the grader runs and counts.
func Checks(groups []string, variant string) []string {
	var names []string
	for name, e := range Catalog {
		if slices.Contains(groups, e.Group) && Applies(name, variant) {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names
}

// Applies reports whether check applies to variant ("" means any).
func Applies(check, variant string) bool {
	v, only := VariantOnly[check]
	return !only || variant == "" || v == variant
}
