// reply_test.go checks the reply side: what WriteOK and WriteErr put on
// the wire, and that ParseReply accepts every reply word of docs/protocol.md
// and refuses a malformed line instead of guessing.

package wire_test

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"osps/common/wire"
)

const (
	ticket = "0123456789abcdef0123456789abcdef"
	key    = "00112233445566778899aabbccddeeff"
	mac    = "0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a" // v3: PROOF <mac>
)

// proof is a second secret of the same shape (v2: WAIT <ticket> <proof>).
const proof = "fedcba9876543210fedcba9876543210"

func TestWriteOK(t *testing.T) {
	for _, tt := range []struct {
		n    int64
		want string
	}{{0, "OK 0\n"}, {5, "OK 5\n"}, {64 << 20, "OK 67108864\n"}} {
		var b bytes.Buffer
		if err := wire.WriteOK(&b, tt.n); err != nil || b.String() != tt.want {
			t.Errorf("WriteOK(%d) wrote %q, %v; want %q", tt.n, b.String(), err, tt.want)
		}
	}
}

func TestWriteErr(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"protocol error", wire.Errorf(wire.CodeBusy, "no idle worker after %v", "2s"), "ERR busy no idle worker after 2s\n"},
		{"wrapped protocol error", fmt.Errorf("session 3: %w", wire.Errorf(wire.CodeTimeout, "worker silent")), "ERR timeout worker silent\n"},
		{"internal error", errors.New("shmat: invalid argument"), "ERR worker-failed shmat: invalid argument\n"},
		{"internal error with raw bytes", errors.New("bad\r\nERR busy\x00\xff"), "ERR worker-failed bad??ERR busy??\n"},
		{"hand-made error with raw bytes", &wire.Error{Code: wire.CodeBadRequest, Text: "a\nb\x1b[2J"}, "ERR bad-request a?b?[2J\n"},
		{"hand-made error outside the closed set", &wire.Error{Code: "oops\n", Text: "x"}, "ERR worker-failed ERR oops? x\n"},
	}
	for _, tt := range tests {
		var b bytes.Buffer
		if err := wire.WriteErr(&b, tt.err); err != nil {
			t.Fatalf("%s: WriteErr: %v", tt.name, err)
		}
		got := b.String()
		if got != tt.want {
			t.Errorf("%s: WriteErr wrote %q, want %q", tt.name, got, tt.want)
		}
		if !strings.HasSuffix(got, "\n") || !isPrintable(strings.TrimSuffix(got, "\n")) {
			t.Errorf("%s: WriteErr wrote %q: not one printable line", tt.name, got)
		}
		// What a server writes, a client reads back.
		r, err := wire.ParseReply([]byte(strings.TrimSuffix(got, "\n")))
		if err != nil || r.Word != wire.ERR {
			t.Errorf("%s: ParseReply(%q) = %+v, %v", tt.name, got, r, err)
		}
	}
}

func TestWriteErrLongText(t *testing.T) {
	var b bytes.Buffer
	if err := wire.WriteErr(&b, errors.New(strings.Repeat("x", 5000))); err != nil {
		t.Fatal(err)
	}
	if b.Len() > wire.MaxLine {
		t.Errorf("WriteErr wrote a %d-byte line, longer than a peer may read", b.Len())
	}
}

func TestErrorf(t *testing.T) {
	e := wire.Errorf(wire.CodeBadRequest, "got %q and %s", "\x00", "\xff\n")
	want := &wire.Error{Code: wire.CodeBadRequest, Text: `got "\x00" and ??`}
	if diff := cmp.Diff(want, e); diff != "" {
		t.Errorf("Errorf (-want +got):\n%s", diff)
	}
	if got := e.Error(); got != `ERR bad-request got "\x00" and ??` {
		t.Errorf("Error() = %q", got)
	}
	if long := wire.Errorf(wire.CodeBusy, "%s", strings.Repeat("y", 300)); len(long.Text) != 200 {
		t.Errorf("Errorf kept %d bytes of text, want 200", len(long.Text))
	}
}

func TestAsError(t *testing.T) {
	e := wire.Errorf(wire.CodeBusy, "x")
	if got := wire.AsError(fmt.Errorf("a: %w", fmt.Errorf("b: %w", e))); got != e {
		t.Errorf("AsError(wrapped twice) = %v, want %v", got, e)
	}
	if got := wire.AsError(errors.New("plain")); got != nil {
		t.Errorf("AsError(plain) = %v, want nil", got)
	}
	if got := wire.AsError(nil); got != nil {
		t.Errorf("AsError(nil) = %v, want nil", got)
	}
}

func TestParseReply(t *testing.T) {
	tests := []struct {
		line string
		want wire.Reply
	}{
		{"OK 0", wire.Reply{Word: wire.OK, N: 0}},
		{"OK 42", wire.Reply{Word: wire.OK, N: 42}},
		{"OK 67108864", wire.Reply{Word: wire.OK, N: 64 << 20}},
		{"OK 9223372036854775807", wire.Reply{Word: wire.OK, N: 1<<63 - 1}},
		{"OK   7", wire.Reply{Word: wire.OK, N: 7}}, // one or more spaces separate tokens
		{"ERR busy no idle worker", wire.Reply{Word: wire.ERR, Err: &wire.Error{Code: wire.CodeBusy, Text: "no idle worker"}}},
		{"ERR busy", wire.Reply{Word: wire.ERR, Err: &wire.Error{Code: wire.CodeBusy}}},
		{"ERR  too-large  n is  big", wire.Reply{Word: wire.ERR, Err: &wire.Error{Code: wire.CodeTooLarge, Text: "n is  big"}}},
		{"ERR timeout a\x00b\xff", wire.Reply{Word: wire.ERR, Err: &wire.Error{Code: wire.CodeTimeout, Text: "a?b?"}}},
		{"BYE", wire.Reply{Word: wire.BYE}},
		{"WAIT " + ticket + " " + proof, wire.Reply{Word: wire.WAIT, Args: []string{ticket, proof}}},
		{"WAIT  " + ticket + "   " + proof, wire.Reply{Word: wire.WAIT, Args: []string{ticket, proof}}},
		{"DONE " + ticket, wire.Reply{Word: wire.DONE, Args: []string{ticket}}},
		{"GOTO 127.0.0.1 2225 " + ticket + " " + key, wire.Reply{Word: wire.GOTO, Args: []string{"127.0.0.1", "2225", ticket, key}}},
		{"GOTO ::1 65535 " + ticket + " " + key, wire.Reply{Word: wire.GOTO, Args: []string{"::1", "65535", ticket, key}}},
		{"PROOF " + mac, wire.Reply{Word: wire.PROOF, Args: []string{mac}}},
	}
	for _, c := range wire.Codes {
		tests = append(tests, struct {
			line string
			want wire.Reply
		}{"ERR " + c + " text", wire.Reply{Word: wire.ERR, Err: &wire.Error{Code: c, Text: "text"}}})
	}
	for _, tt := range tests {
		got, err := wire.ParseReply([]byte(tt.line))
		if err != nil {
			t.Errorf("ParseReply(%q): %v", tt.line, err)
			continue
		}
		if diff := cmp.Diff(tt.want, got, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("ParseReply(%q) (-want +got):\n%s", tt.line, diff)
		}
	}
}

func TestParseReplyMalformed(t *testing.T) {
	for _, line := range []string{
		"", " ", "ok 5", "Ok 5", "HELLO " + ticket, "requetetype1",
		"OK", "OK ", "OK -1", "OK +1", "OK 1.0", "OK 0x10", "OK 5 6", "OK five",
		"OK 9223372036854775808", "OK 5\x00",
		"ERR", "ERR ", "ERR nope text", "ERR BUSY text", "ERR busy\x00 text",
		"BYE now", "BYEBYE",
		"WAIT", "WAIT 123", "WAIT " + strings.ToUpper(ticket), "WAIT " + ticket, "WAIT " + ticket + " x", "WAIT " + ticket + "0 " + proof,
		"WAIT " + ticket + " " + proof + " x", "WAIT " + ticket + " " + strings.ToUpper(proof),
		"DONE", "DONE " + ticket[1:],
		"GOTO", "GOTO 127.0.0.1 2225", "GOTO 127.0.0.1 " + ticket, "GOTO 127.0.0.1 2225 " + ticket,
		"GOTO 127.0.0.1 2225 " + ticket + " " + strings.ToUpper(key), "GOTO 127.0.0.1 2225 " + ticket + " " + key[1:],
		"PROOF", "PROOF " + mac[1:], "PROOF " + strings.ToUpper(mac), "PROOF " + mac + " x", "PROOF " + ticket,
		"GOTO 127.0.0.1 0 " + ticket + " " + key, "GOTO 127.0.0.1 65536 " + ticket + " " + key, "GOTO 127.0.0.1 -1 " + ticket + " " + key,
		"GOTO 127.0.0.1 +80 " + ticket + " " + key, "GOTO 127.0.0.1 http " + ticket + " " + key, "GOTO 127.0.0.1 2225 nope",
		"GOTO 127.0.0.1 2225 " + ticket + " " + key + " extra",
		"\xff\xfe", "\x1b[2J",
	} {
		got, err := wire.ParseReply([]byte(line))
		if err == nil {
			t.Errorf("ParseReply(%q) = %+v, want an error", line, got)
			continue
		}
		if !isPrintable(err.Error()) {
			t.Errorf("ParseReply(%q): error %q echoes raw bytes", line, err)
		}
	}
}

// TestCodes checks the closed set of error codes against the list written
// here (TestContractCodes checks it against docs/protocol.md).
func TestCodes(t *testing.T) {
	want := []string{
		"bad-request", "unknown-type", "line-too-long", "too-large", "busy",
		"bad-ticket", "worker-failed", "timeout", "shutting-down",
	}
	if diff := cmp.Diff(want, wire.Codes); diff != "" {
		t.Errorf("Codes (-want +got):\n%s", diff)
	}
	for _, c := range want {
		if !wire.IsCode(c) {
			t.Errorf("IsCode(%q) = false", c)
		}
	}
	for _, c := range []string{"", "BUSY", "busy ", "ok", "error", "bad_request"} {
		if wire.IsCode(c) {
			t.Errorf("IsCode(%q) = true", c)
		}
	}
}
