// cli.go checks the command line as docs/protocol.md's tables state it
// ("The command line": the binary, serve, client), and nothing more:
// which stream, which exit status, which words. Every program runs with
// a deadline (RunBounded): a program that ignores --help and starts
// serving is killed after CommandTimeout, and the check says so.

package conformance

import (
	"slices"
	"strings"
	"testing"
)

// ServeFlags and ClientFlags are the first columns of the flag tables
// of docs/protocol.md ("serve", "client"); cli_test.go keeps them equal.
// VariantFlags are the serve flags of one variant only.
var (
	ServeFlags = []string{
		"--listen", "--port", "--workers", "--max-bytes", "--slot-size", "--queue-timeout", "--lifo",
		"--request-timeout", "--min-rate", "--rate-window", "--max-sessions", "--long-answers", "--max-sessions-per-peer", "--idle-timeout",
		"--line-timeout", "--grace", "--heartbeat", "--watchdog", "--hang-timeout", "--chaos",
		"--trace", "--verbose", "--callback-timeout", "--ticket-ttl",
	}
	ClientFlags  = []string{"--server", "--timeout", "--trace", "--clients", "--requests", "--duration", "--mix"}
	VariantFlags = map[string]string{"--callback-timeout": "v2", "--ticket-ttl": "v3"}
)

// serveFlagsOf is the serve flags variant v must list.
func serveFlagsOf(v string) []string {
	var fs []string
	for _, f := range ServeFlags {
		if only, ok := VariantFlags[f]; !ok || only == v {
			fs = append(fs, f)
		}
	}
	return fs
}

// roles reports whether a text lists the two public roles.
func roles(s string) bool { return strings.Contains(s, "serve") && strings.Contains(s, "client") }

// checkHelp: `--help`, `-h` and `help` print the list of roles on stdout
// and exit 0; `serve --help` and `client --help` print the role's usage
// with every flag on stdout and exit 0.
func checkHelp(t *testing.T, _ *Server, bin string, d Driver) {
	// --port 0 first: a program that ignores --help and serves must not
	// take the demo's port 2222 on a shared machine.
	roleHelp := []struct {
		args  []string
		flags []string
	}{
		{[]string{"serve", "--port", "0", "--help"}, serveFlagsOf(d.Name)},
		{[]string{"client", "--help"}, ClientFlags},
	}
	rs := RunAllBounded(CommandTimeout, bin, []string{"--help"}, []string{"-h"}, []string{"help"}, roleHelp[0].args, roleHelp[1].args)
	for _, r := range rs[:3] {
		if r.Exit != 0 || !roles(r.Stdout) {
			t.Errorf("%s: want exit 0 and the list of roles (serve, client) on stdout; got %s", r.Command(), r)
		}
	}
	for i, role := range roleHelp {
		r := rs[3+i]
		if r.Exit != 0 || r.TimedOut {
			t.Errorf("%s: want the usage on stdout and exit 0; got %s", r.Command(), r)
			continue
		}
		var missing []string
		for _, f := range role.flags {
			if !strings.Contains(r.Stdout, f) {
				missing = append(missing, f)
			}
		}
		if len(missing) > 0 {
			t.Errorf("%s: want every flag of docs/protocol.md's table on stdout; missing %s (stdout: %s)",
				r.Command(), strings.Join(missing, " "), Tail(r.Stdout, 2))
		}
	}
}

// checkCommandLine: usage errors exit 2 with a message on stderr; a
// configuration that cannot work exits 1 with "serve: <reason>" on
// stderr, before ready; nothing is left running.
func checkCommandLine(t *testing.T, srv *Server, bin string, _ Driver) {
	_, port, _ := strings.Cut(srv.Addr, ":")
	cases := []struct {
		args []string
		exit int
		want string // what stderr must hold
		what string
	}{
		{nil, 2, "serve", "the list of roles (serve, client)"},
		{[]string{"nosuchrole"}, 2, "serve", "an error and the list of roles (serve, client)"},
		{[]string{"serve", "--port", "0", "--no-such-flag"}, 2, "", "the error and the usage"},
		{[]string{"serve", "--port", "0", "--workers", "x"}, 2, "", "the error and the usage"},
		{[]string{"serve", "--port", "0", "extra"}, 2, "", "the error and the usage"},
		{[]string{"client", "--no-such-flag", "requetetype1"}, 2, "", "the error and the usage"},
		{[]string{"serve", "--port", port}, 1, "serve: ", "one line serve: <reason> (the port is taken)"},
		{[]string{"serve", "--port", "70000"}, 1, "serve: ", "one line serve: <reason> (not a port)"},
		{[]string{"serve", "--port", "0", "--workers", "0"}, 1, "serve: ", "one line serve: <reason> (no worker)"},
		{[]string{"serve", "--port", "0", "--slot-size", "100"}, 1, "serve: ", "one line serve: <reason> (a slot too small)"},
	}
	var argss [][]string
	for _, c := range cases {
		argss = append(argss, c.args)
	}
	for i, r := range RunAllBounded(CommandTimeout, bin, argss...) {
		c := cases[i]
		ok := r.Exit == c.exit && strings.TrimSpace(r.Stderr) != "" && strings.TrimSpace(r.Stdout) == ""
		switch {
		case c.want == "serve: ":
			ok = ok && slices.ContainsFunc(strings.Split(r.Stderr, "\n"), func(l string) bool { return strings.HasPrefix(l, "serve: ") })
		case c.want != "":
			ok = ok && roles(r.Stderr)
		}
		if !ok {
			t.Errorf("%s: want exit %d, nothing on stdout, and on stderr %s; got %s",
				r.Command(), c.exit, c.what, r)
		}
	}
}

// checkClientBinary: the client role runs one session and says OK for
// each request; a request answered ERR makes it exit 1.
func checkClientBinary(t *testing.T, srv *Server, bin string, _ Driver) {
	r := RunBounded(3*CommandTimeout, bin, "client", "--server", srv.Addr, "requetetype1", "requetetype2 100000", "STATS")
	if r.Exit != 0 {
		t.Fatalf("%s: want exit 0; got %s", r.Command(), r)
	}
	for _, want := range []string{"requetetype1: OK", "requetetype2 100000: OK 100000 bytes", "STATS: OK"} {
		if !strings.Contains(r.Stdout, want) {
			t.Errorf("client: want %q on stdout; got %s", want, Tail(r.Stdout, 4))
		}
	}
	r = RunBounded(3*CommandTimeout, bin, "client", "--server", srv.Addr, "requetetype1", "bogus")
	if r.Exit != 1 || !strings.Contains(r.Stdout+r.Stderr, "ERR unknown-type") {
		t.Errorf("%s: want exit 1 and ERR unknown-type; got %s", r.Command(), r)
	}
}
