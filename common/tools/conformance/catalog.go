// catalog.go demonstrates one list with two front ends: the checks of
// Run and RunFaults, grouped for a person. `go test` runs every check;
// the grader (common/tools/grader, `./run.sh check`) runs the groups a
// student asks for and, when a check fails, names the page of docs/ that
// explains it. A check without an entry here fails TestCatalog.

package conformance

// Entry says where a check belongs and which section of docs/ explains it.
type Entry struct {
	Suite string // "Run" or "RunFaults": the list that holds the check
	Group string // one of Groups
	Doc   string // a page of docs/ and a heading's anchor, e.g. "docs/protocol.md#requests"
}

// Groups are the check groups, in the order a course meets them.
var Groups = []struct{ Name, What string }{
	{"protocol", "request lines, answers, errors, framing, QUIT: docs/protocol.md"},
	{"sessions", "STATS, many sessions at once, ERR busy"},
	{"large", "large answers: every size, SIGTERM in the middle of 64 MiB"},
	{"cli", "the command line: the client role, --help, bad flags"},
	{"faults", "a worker killed, hung or stopped; the dispatcher killed"},
	{"watchdog", "--watchdog: respawn, hang detection, the start-rate limit"},
}

// Catalog maps each check's name (its subtest name) to its entry.
var Catalog = map[string]Entry{
	// Run: the protocol, on one shared server.
	"Type1Shape":             {"Run", "protocol", "docs/protocol.md#requests"},
	"Type2Sizes":             {"Run", "large", "docs/protocol.md#the-requetetype2-pattern"},
	"FiveInOneSession":       {"Run", "protocol", "docs/protocol.md#the-session"},
	"Stats":                  {"Run", "sessions", "docs/protocol.md#the-session"},
	"Errors":                 {"Run", "protocol", "docs/protocol.md#checking-a-request-before-any-worker-sees-it"},
	"LineTooLong":            {"Run", "protocol", "docs/protocol.md#errors-a-closed-set-of-codes"},
	"QuitAndEOF":             {"Run", "protocol", "docs/protocol.md#the-session"},
	"IdleConnection":         {"Run", "protocol", "docs/protocol.md#the-session"},
	"Concurrent16x20":        {"Run", "sessions", "docs/protocol.md#the-session"},
	"Client":                 {"Run", "cli", "docs/protocol.md#the-command-line"},
	"Busy":                   {"Run", "sessions", "docs/protocol.md#errors-a-closed-set-of-codes"},
	"TermDuringLargeRequest": {"Run", "large", "docs/protocol.md#the-command-line"},
	"CommandLine":            {"Run", "cli", "docs/protocol.md#the-command-line"},
	"Burst":                  {"Run", "sessions", "docs/protocol.md#the-session"},

	// RunFaults: each starts its own server.
	"KillIdleWorkerBare":     {"RunFaults", "faults", "docs/watchdog.md#what-is-detected-and-how"},
	"KillIdleWorkerWatchdog": {"RunFaults", "watchdog", "docs/watchdog.md#a-crash-in-sequence"},
	"KillWorkerMidPayload":   {"RunFaults", "faults", "docs/protocol.md#after-ok-only-a-close-can-tell"},
	"HangWatchdog":           {"RunFaults", "watchdog", "docs/watchdog.md#a-hang-in-sequence"},
	"HangBare":               {"RunFaults", "faults", "docs/watchdog.md#what-happens-to-the-request-in-flight"},
	"StopThenContinue":       {"RunFaults", "faults", "docs/watchdog.md#what-happens-to-the-request-in-flight"},
	"KillDispatcher":         {"RunFaults", "faults", "docs/pipes.md#end-of-file-the-death-notice-both-ways"},
	"StartRateLimit":         {"RunFaults", "watchdog", "docs/watchdog.md#fault-injection---chaos"},
	"ServedAfterRespawn":     {"RunFaults", "watchdog", "docs/protocol.md#the-session"},
	"SessionCap":             {"RunFaults", "sessions", "docs/watchdog.md#descriptors-for-a-respawn"},
	"SessionTimeouts":        {"RunFaults", "sessions", "docs/protocol.md#the-session"},
	"SteadySlowReader":       {"RunFaults", "large", "docs/protocol.md#slow-readers"},
	"TrickleReaders":         {"RunFaults", "large", "docs/protocol.md#slow-readers"},
	"StrangersHoldNoSession": {"RunFaults", "sessions", "docs/protocol.md#the-session"},
	"RefusedLinesClose":      {"RunFaults", "protocol", "docs/protocol.md#the-session"},
	"FloodMemoryReturned":    {"RunFaults", "sessions", "docs/protocol.md#the-session"},
	"PacedReaders":           {"RunFaults", "large", "docs/protocol.md#slow-readers"},
	"SlowReadersBesideFast":  {"RunFaults", "large", "docs/protocol.md#long-answers-leave-a-worker-for-short-ones"},
	"HoardersBesideHonest":   {"RunFaults", "sessions", "docs/protocol.md#v3-the-session-while-a-goto-is-pending"},
	"QuitCancelsGoto":        {"RunFaults", "protocol", "docs/protocol.md#v3-the-session-while-a-goto-is-pending"},
	"DeadPortAnswers":        {"RunFaults", "faults", "docs/protocol.md#v3-the-session-while-a-goto-is-pending"},
	"RelayedCallBack":        {"RunFaults", "sessions", "docs/v2-worker-calls-client.md#port-stealing-by-a-process-of-the-same-user"},
	"HalfLinesAtListener":    {"RunFaults", "sessions", "docs/v2-worker-calls-client.md#port-stealing-by-a-process-of-the-same-user"},
	"DispatcherStopped":      {"RunFaults", "faults", "docs/protocol.md#slow-readers"},
	"SessionsPerPeer":        {"RunFaults", "sessions", "docs/protocol.md#the-session"},
	"EmptyLinesDoNotHold":    {"RunFaults", "sessions", "docs/protocol.md#the-session"},
}
