// request_test.go checks that the dispatcher's request check answers every
// malformed line with the right error code (docs/protocol.md, "Requests"), and that a
// checked request prints back as a line that checks the same.

package wire_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"osps/common/wire"
)

// parsed is ParseRequest's result in a form cmp can compare: the request,
// or the error code.
type parsed struct {
	Req  wire.Request
	Code string
}

func parse(t *testing.T, line string, max int64) parsed {
	t.Helper()
	req, err := wire.ParseRequest([]byte(line), max)
	if err == nil {
		return parsed{Req: req}
	}
	e := wire.AsError(err)
	if e == nil {
		t.Errorf("ParseRequest(%q): error %v is not a *wire.Error", line, err)
		return parsed{Code: "not an *Error"}
	}
	if !wire.IsCode(e.Code) {
		t.Errorf("ParseRequest(%q): code %q is not in the closed set", line, e.Code)
	}
	if !isPrintable(e.Text) || !isPrintable(e.Error()) {
		t.Errorf("ParseRequest(%q): error text %q is not printable ASCII", line, e.Error())
	}
	if req != (wire.Request{}) {
		t.Errorf("ParseRequest(%q): error %v with a non-zero request %+v", line, err, req)
	}
	return parsed{Code: e.Code}
}

func TestParseRequest(t *testing.T) {
	const max = wire.DefaultMaxBytes
	type1 := parsed{Req: wire.Request{Type: wire.Type1}}
	type2 := func(n int64) parsed { return parsed{Req: wire.Request{Type: wire.Type2, N: n}} }
	bad := parsed{Code: wire.CodeBadRequest}
	unknown := parsed{Code: wire.CodeUnknownType}
	tooLarge := parsed{Code: wire.CodeTooLarge}

	tests := []struct {
		line string
		want parsed
	}{
		// Type 1.
		{"requetetype1", type1},
		{"  requetetype1   ", type1},
		{"requetetype1 x", bad},
		{"requetetype1 0", bad},
		// Type 2 and its default.
		{"requetetype2", type2(4096)},
		{"requetetype2   ", type2(wire.DefaultType2Bytes)},
		{"requetetype2 0", type2(0)},
		{"requetetype2 10", type2(10)},
		{"requetetype2    10   ", type2(10)},
		{"requetetype2 007", type2(7)},
		{"requetetype2 67108864", type2(max)},
		// Not a non-negative decimal integer.
		{"requetetype2 -1", bad},
		{"requetetype2 +5", bad},
		{"requetetype2 1.5", bad},
		{"requetetype2 0x10", bad},
		{"requetetype2 1e3", bad},
		{"requetetype2 1_000", bad},
		{"requetetype2 ten", bad},
		{"requetetype2 ٣", bad}, // an Arabic-Indic digit is not a decimal digit here
		{"requetetype2 5\x00", bad},
		{"requetetype2 -0", bad},
		{"requetetype2 1 2", bad},
		{"requetetype2 5 x", bad},
		// Empty lines.
		{"", bad},
		{" ", bad},
		{"          ", bad},
		// Any other first word.
		{"requetetype3", unknown},
		{"REQUETETYPE1", unknown},
		{"requetetype", unknown},
		{"requetetype1x", unknown},
		{"QUIT", unknown}, // session commands are the session's business, not a request
		{"\x00", unknown},
		{"requetetype1\x00", unknown},
		{"\xff\xfe\xfd", unknown},
		{"\x1b[31mred", unknown},
		{"requetetype1\t", unknown}, // only spaces separate tokens
		{"requetetype2\t5", unknown},
		{"GET / HTTP/1.1", unknown},
		{strings.Repeat("z", 1024), unknown},
		// Too large.
		{"requetetype2 67108865", tooLarge},
		{"requetetype2 9223372036854775807", tooLarge},
		{"requetetype2 9223372036854775808", tooLarge},            // beyond int64
		{"requetetype2 123456789012345678901234567890", tooLarge}, // 30 digits
		{"requetetype2 " + strings.Repeat("9", 1000), tooLarge},
	}
	for _, tt := range tests {
		if got := parse(t, tt.line, max); !cmp.Equal(tt.want, got) {
			t.Errorf("ParseRequest(%q) = %+v, want %+v", tt.line, got, tt.want)
		}
	}
}

// TestParseRequestMaxBytes checks the limit at its boundary, for a few
// values of --max-bytes, the bare requetetype2 (4096 bytes) included.
func TestParseRequestMaxBytes(t *testing.T) {
	ok := func(n int64) parsed { return parsed{Req: wire.Request{Type: wire.Type2, N: n}} }
	tooLarge := parsed{Code: wire.CodeTooLarge}
	tests := []struct {
		line string
		max  int64
		want parsed
	}{
		{"requetetype2 0", 0, ok(0)},
		{"requetetype2 1", 0, tooLarge},
		{"requetetype2 100", 100, ok(100)},
		{"requetetype2 101", 100, tooLarge},
		{"requetetype2", 4096, ok(4096)},
		{"requetetype2", 4095, tooLarge},
		{"requetetype2", 100, tooLarge},
		{"requetetype2 9223372036854775807", 1<<63 - 1, ok(1<<63 - 1)},
		{"requetetype1", 0, parsed{Req: wire.Request{Type: wire.Type1}}},
	}
	for _, tt := range tests {
		if got := parse(t, tt.line, tt.max); !cmp.Equal(tt.want, got) {
			t.Errorf("ParseRequest(%q, max %d) = %+v, want %+v", tt.line, tt.max, got, tt.want)
		}
	}
}

// TestParseRequestErrorText checks that an error never echoes a raw byte
// of the request and stays short, whatever the request held.
func TestParseRequestErrorText(t *testing.T) {
	for _, line := range []string{
		"\x00\x01\x02\r\n\x7f",
		"\xff" + strings.Repeat("\x1b", 1000),
		"requetetype2 \x00\xff" + strings.Repeat("9", 1000),
		"requetetype2 99999999999999999999999999999\x07",
		`"quoted\"`,
	} {
		_, err := wire.ParseRequest([]byte(line), wire.DefaultMaxBytes)
		e := wire.AsError(err)
		if e == nil {
			t.Errorf("ParseRequest(%q) = %v, want a *wire.Error", line, err)
			continue
		}
		if !isPrintable(e.Error()) || len(e.Text) > 200 {
			t.Errorf("ParseRequest(%q): error line %q is not short printable ASCII", line, e.Error())
		}
	}
}

func TestRequestString(t *testing.T) {
	tests := []struct {
		req  wire.Request
		want string
	}{
		{wire.Request{Type: wire.Type1}, "requetetype1"},
		{wire.Request{Type: wire.Type2, N: 0}, "requetetype2 0"},
		{wire.Request{Type: wire.Type2, N: 4096}, "requetetype2 4096"},
		{wire.Request{Type: wire.Type2, N: 1<<63 - 1}, "requetetype2 9223372036854775807"},
	}
	for _, tt := range tests {
		if got := tt.req.String(); got != tt.want {
			t.Errorf("%+v.String() = %q, want %q", tt.req, got, tt.want)
		}
		back, err := wire.ParseRequest([]byte(tt.want), 1<<63-1)
		if err != nil || back != tt.req {
			t.Errorf("ParseRequest(%q) = %+v, %v; want %+v", tt.want, back, err, tt.req)
		}
	}
}

func TestFields(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"   ", nil},
		{"a", []string{"a"}},
		{"  a  b   c ", []string{"a", "b", "c"}},
		{"a\tb", []string{"a\tb"}}, // only spaces separate
		{"a\xffb c", []string{"a\xffb", "c"}},
	}
	for _, tt := range tests {
		if got := wire.Fields([]byte(tt.in)); !cmp.Equal(tt.want, got, cmpopts.EquateEmpty()) {
			t.Errorf("Fields(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
