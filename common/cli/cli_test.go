// cli_test.go checks the command line's manners: usage on stdout with
// status 0 when asked for (--help), on stderr with status 2 after a
// mistake (no role, an unknown role, a bad flag), and a role's own
// status passed through.

package cli

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/pflag"
)

// roles are a variant binary's roles; each records the arguments it got.
func roles(got *[]string) []Role {
	run := func(name string, status int) func([]string) int {
		return func(args []string) int {
			*got = append([]string{name}, args...)
			return status
		}
	}
	return []Role{
		{Name: "serve", Summary: "run the dispatcher", Run: run("serve", 0)},
		{Name: "client", Summary: "run one client session", Run: run("client", 3)},
		{Name: "worker", Summary: "internal", Internal: true, Run: run("worker", 1)},
	}
}

func TestDispatch(t *testing.T) {
	tests := []struct {
		name        string
		args        []string
		status      int
		ran         []string // the role run and its arguments, nil if none
		stdout      bool     // usage on stdout
		stderr      string   // what stderr must contain ("" for nothing at all)
		stderrUsage bool     // stderr holds the usage too
	}{
		{name: "no args", args: nil, status: 2, stderr: "Usage:", stderrUsage: true},
		{name: "--help", args: []string{"--help"}, status: 0, stdout: true},
		{name: "-h", args: []string{"-h"}, status: 0, stdout: true},
		{name: "help", args: []string{"help", "serve"}, status: 0, stdout: true},
		{name: "unknown role", args: []string{"sevre", "--port", "0"}, status: 2, stderr: `unknown role "sevre"`, stderrUsage: true},
		{name: "a flag first", args: []string{"--port", "0"}, status: 2, stderr: `unknown role "--port"`, stderrUsage: true},
		{name: "serve", args: []string{"serve", "--port", "0"}, status: 0, ran: []string{"serve", "--port", "0"}},
		{name: "role status passed through", args: []string{"client", "requetetype1"}, status: 3, ran: []string{"client", "requetetype1"}},
		{name: "internal role runs", args: []string{"worker"}, status: 1, ran: []string{"worker"}},
		{name: "role --help is the role's", args: []string{"serve", "--help"}, status: 0, ran: []string{"serve", "--help"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			var ran []string
			status := Dispatch(&stdout, &stderr, "v9-test", "a test binary", tt.args, roles(&ran)...)
			if status != tt.status {
				t.Errorf("status %d, want %d", status, tt.status)
			}
			if diff := cmp.Diff(tt.ran, ran); diff != "" {
				t.Errorf("role run (-want +got):\n%s", diff)
			}
			checkUsage := func(stream string, out string) {
				for _, want := range []string{"v9-test: a test binary", "v9-test serve ", "run the dispatcher", "v9-test client ", "v9-test ROLE --help"} {
					if !strings.Contains(out, want) {
						t.Errorf("usage on %s lacks %q:\n%s", stream, want, out)
					}
				}
				if strings.Contains(out, "worker") {
					t.Errorf("usage on %s lists the internal role:\n%s", stream, out)
				}
			}
			if tt.stdout {
				checkUsage("stdout", stdout.String())
			} else if stdout.Len() != 0 {
				t.Errorf("stdout %q, want nothing", stdout.String())
			}
			switch {
			case tt.stderr == "" && stderr.Len() != 0:
				t.Errorf("stderr %q, want nothing", stderr.String())
			case tt.stderr != "" && !strings.Contains(stderr.String(), tt.stderr):
				t.Errorf("stderr %q, want it to contain %q", stderr.String(), tt.stderr)
			}
			if tt.stderrUsage {
				checkUsage("stderr", stderr.String())
			}
		})
	}
}

// capture replaces os.Stdout and os.Stderr with pipes while f runs and
// returns what f wrote on each (Parse writes on the real streams).
func capture(t *testing.T, f func()) (stdout, stderr string) {
	t.Helper()
	read := func(r *os.File, out *string, done chan<- struct{}) {
		b, _ := io.ReadAll(r)
		*out = string(b)
		r.Close()
		close(done)
	}
	oldOut, oldErr := os.Stdout, os.Stderr
	defer func() { os.Stdout, os.Stderr = oldOut, oldErr }()
	ro, wo, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	re, we, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	doneOut, doneErr := make(chan struct{}), make(chan struct{})
	go read(ro, &stdout, doneOut)
	go read(re, &stderr, doneErr)
	os.Stdout, os.Stderr = wo, we
	f()
	os.Stdout, os.Stderr = oldOut, oldErr
	wo.Close()
	we.Close()
	<-doneOut
	<-doneErr
	return stdout, stderr
}

func TestParse(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		status int
		done   bool
		stdout string // what stdout must contain ("": nothing)
		stderr string // what stderr must contain ("": nothing)
		port   int
	}{
		{name: "flags", args: []string{"--port", "7"}, port: 7},
		{name: "no flags", args: nil, port: 2222},
		{name: "--help", args: []string{"--help"}, done: true, stdout: "Usage: serve [flags]", port: 2222},
		{name: "-h", args: []string{"-h"}, done: true, stdout: "--port int", port: 2222},
		{name: "unknown flag", args: []string{"--prot", "7"}, status: 2, done: true, stderr: "unknown flag: --prot", port: 2222},
		{name: "bad value", args: []string{"--port", "seven"}, status: 2, done: true, stderr: "Usage: serve [flags]", port: 2222},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
			port := fs.Int("port", 2222, "TCP port")
			var status int
			var done bool
			stdout, stderr := capture(t, func() { status, done = Parse(fs, tt.args, "serve [flags]") })
			if status != tt.status || done != tt.done || *port != tt.port {
				t.Errorf("Parse = %d, %v, port %d; want %d, %v, port %d", status, done, *port, tt.status, tt.done, tt.port)
			}
			for _, s := range []struct{ name, got, want string }{{"stdout", stdout, tt.stdout}, {"stderr", stderr, tt.stderr}} {
				if (s.want == "") != (s.got == "") || !strings.Contains(s.got, s.want) {
					t.Errorf("%s %q, want it to contain %q", s.name, s.got, s.want)
				}
			}
		})
	}
}

func TestNewLogger(t *testing.T) {
	ctx := context.Background()
	if NewLogger(false).Enabled(ctx, slog.LevelDebug) || !NewLogger(false).Enabled(ctx, slog.LevelInfo) {
		t.Error("NewLogger(false): want info and above only")
	}
	if !NewLogger(true).Enabled(ctx, slog.LevelDebug) {
		t.Error("NewLogger(true): want debug logs")
	}
	stdout, stderr := capture(t, func() { NewLogger(false).Info("hello", "k", 1) })
	if stdout != "" || !strings.Contains(stderr, "msg=hello k=1") {
		t.Errorf("log line went to stdout %q, stderr %q; want it on stderr", stdout, stderr)
	}
}

// --listen takes an address; host:port is refused with the --port form.
func TestCheckListen(t *testing.T) {
	for _, c := range []struct{ listen, wantErr string }{
		{"127.0.0.1", ""},
		{"0.0.0.0", ""},
		{"::1", ""},
		{"localhost", ""},
		{"127.0.0.1:34141", "--listen 127.0.0.1 --port 34141"},
		{"[::1]:80", "--listen ::1 --port 80"},
	} {
		err := CheckListen(c.listen)
		if (err == nil) != (c.wantErr == "") || (err != nil && !strings.Contains(err.Error(), c.wantErr)) {
			t.Errorf("CheckListen(%q) = %v; want an error containing %q", c.listen, err, c.wantErr)
		}
	}
}

// --help goes to stdout with status 0; a bad flag to stderr with 2.
func TestParseToStreams(t *testing.T) {
	for _, c := range []struct {
		args           []string
		status         int
		stdout, stderr bool
	}{
		{[]string{"--help"}, 0, true, false},
		{[]string{"-h"}, 0, true, false},
		{[]string{"--bogus"}, 2, false, true},
	} {
		fs := pflag.NewFlagSet("x", pflag.ContinueOnError)
		fs.Int("n", 1, "a number")
		var out, errb strings.Builder
		status, done := ParseTo(fs, c.args, "x [--n N] ARG", &out, &errb)
		if !done || status != c.status || (out.Len() > 0) != c.stdout || (errb.Len() > 0) != c.stderr {
			t.Errorf("%v: status %d done %v, stdout %q, stderr %q", c.args, status, done, out.String(), errb.String())
		}
		if w := out.String() + errb.String(); !strings.Contains(w, "Usage: x [--n N] ARG") || !strings.Contains(w, "--n int") {
			t.Errorf("%v: the usage lacks the synopsis or the flags: %q", c.args, w)
		}
	}
}
