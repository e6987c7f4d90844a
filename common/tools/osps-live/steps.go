// The trace read as messages: for each variant, the step lines that say
// "I send this" (the sender's line, so each arrow has one author), and
// the arrow each one draws. The steps are those of the variant's page in
// docs/.

package main

import (
	"regexp"
	"strings"
)

// rule turns a sender's trace line into arrows.
type rule struct {
	role  string         // "client", "dispatcher" or "worker" (any worker#k)
	step  int            // -1: any step
	match *regexp.Regexp // on the message
	to    []string       // "client", "dispatcher", "worker" (the worker named in the line, or the one pinged last)
	label []string       // one per arrow; $1 is the match's first group
}

func r(role string, step int, re string, to, label []string) rule {
	return rule{role, step, regexp.MustCompile(re), to, label}
}

func one(s string) []string { return []string{s} }

// Every variant's client sends its request line the same way, and every
// dispatcher starts its workers the same way.
var common = []rule{
	r("client", -1, `^send "(.*)" to the dispatcher$`, one("dispatcher"), one("$1")),
	r("dispatcher", 0, `^worker#\d+ started`, one("worker"), one("start (fork, exec)")),
}

var rules = map[string][]rule{
	"v1": {
		r("dispatcher", 2, `ping worker#\d+$`, one("worker"), one("ping")),
		r("worker", 3, `pong`, one("dispatcher"), one("pong")),
		r("dispatcher", 4, `^session \d+: relay ERR`, one("client"), one("relay the ERR line")),
		r("dispatcher", 4, `^session \d+: relay \d+ bytes`, one("client"), one("relay a chunk (OK n before the first)")),
	},
	"v2": {
		r("client", 1, `dialed the dispatcher`, one("dispatcher"), one("connect (from the listening port)")),
		r("dispatcher", 2, `WAIT .*ping worker#\d+$`, []string{"client", "worker"}, []string{"WAIT ticket", "ping"}),
		r("worker", 3, `^dial the client`, one("client"), one("connect, HELLO ticket")),
		r("client", 4, `^the ticket matches: send HELLO <proof>`, one("worker"), one("HELLO proof, request line")),
		r("worker", 5, `^answer OK`, one("client"), one("OK n, payload, close")),
		r("worker", 6, `^pong`, one("dispatcher"), one("pong")),
		r("dispatcher", 6, `answer (DONE|ERR [a-z-]+)`, one("client"), one("$1")),
	},
	"v3": {
		r("client", 1, `^connect to the dispatcher`, one("dispatcher"), one("connect")),
		r("dispatcher", 2, `ping worker#\d+$`, one("worker"), one("ping")),
		r("worker", 2, `pong ready$`, one("dispatcher"), one("pong ready")),
		r("dispatcher", 3, `^session \d+: answer GOTO`, one("client"), one("GOTO host port ticket")),
		r("client", 4, `^connected to the worker`, one("worker"), one("connect, PROVE nonce")),
		r("worker", 4, `asks for a proof \(nonce [0-9a-f]+\): PROOF`, one("client"), one("PROOF mac")),
		r("client", 4, `proved itself; send HELLO`, one("worker"), one("HELLO ticket, request line")),
		r("worker", 4, `ERR bad-ticket`, one("client"), one("ERR bad-ticket, close")),
		r("worker", 5, `^answer OK`, one("client"), one("OK n, payload, close")),
		r("worker", 5, `pong done`, one("dispatcher"), one("pong")),
	},
}

// arrow is one message: to whom, and its label (without the step).
type arrow struct{ to, label string }

var workerRE = regexp.MustCompile(`worker#\d+`)

// arrowsFor returns the messages line l says its author sent; none if l
// is not a sending line. lastWorker resolves a client's "the worker".
func arrowsFor(variant string, l traceLine, lastWorker string) []arrow {
	role := l.Role
	if strings.HasPrefix(role, "worker#") {
		role = "worker"
	}
	for _, ru := range append(append([]rule(nil), common...), rules[variant]...) {
		if ru.role != role || (ru.step >= 0 && ru.step != l.Step) {
			continue
		}
		m := ru.match.FindStringSubmatchIndex(l.Msg)
		if m == nil {
			continue
		}
		var out []arrow
		for i, to := range ru.to {
			if to == "worker" {
				to = lastWorker
				if w := workerRE.FindString(l.Msg); w != "" && l.Role == "dispatcher" {
					to = w
				}
			}
			label := string(ru.match.ExpandString(nil, ru.label[i], l.Msg, m))
			out = append(out, arrow{to, label})
		}
		return out
	}
	return nil
}
