// line_test.go checks line framing at its edges: LF and CR LF, a CR
// inside a line, exactly MaxLine bytes and one more, a long line with and
// without its LF, a last line without LF, and end of file.

package wire_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"

	"osps/common/wire"
)

// result is one call of ReadLine, in a form cmp can compare.
type result struct {
	Line string
	Err  string // "" for nil
}

func errName(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, wire.ErrLineTooLong):
		return "too-long"
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "unexpected-eof"
	case errors.Is(err, io.EOF):
		return "eof"
	}
	return err.Error()
}

// readAll calls ReadLine until it returns an error and records every call.
func readAll(r *bufio.Reader) []result {
	var out []result
	for range 100 {
		line, err := wire.ReadLine(r)
		out = append(out, result{string(line), errName(err)})
		if err != nil {
			return out
		}
	}
	return append(out, result{Err: "ReadLine never returned an error"})
}

func TestReadLine(t *testing.T) {
	a := func(n int) string { return strings.Repeat("a", n) }
	tests := []struct {
		name string
		in   string
		want []result
	}{
		{"LF", "abc\n", []result{{"abc", ""}, {"", "eof"}}},
		{"CRLF", "abc\r\n", []result{{"abc", ""}, {"", "eof"}}},
		{"only one CR dropped", "abc\r\r\n", []result{{"abc\r", ""}, {"", "eof"}}},
		{"lone CR inside", "a\rb\n", []result{{"a\rb", ""}, {"", "eof"}}},
		{"lone CR at the start", "\rab\n", []result{{"\rab", ""}, {"", "eof"}}},
		{"empty line", "\n", []result{{"", ""}, {"", "eof"}}},
		{"empty line CRLF", "\r\n", []result{{"", ""}, {"", "eof"}}},
		{"EOF at once", "", []result{{"", "eof"}}},
		{"bytes are just bytes", "a\x00b\xff\tc\n", []result{{"a\x00b\xff\tc", ""}, {"", "eof"}}},
		{"several lines", "requetetype1\r\nrequetetype2 5\n\nQUIT\n", []result{
			{"requetetype1", ""}, {"requetetype2 5", ""}, {"", ""}, {"QUIT", ""}, {"", "eof"}}},
		{"1024 bytes", a(1024) + "\n", []result{{a(1024), ""}, {"", "eof"}}},
		{"1024 bytes CRLF", a(1024) + "\r\n", []result{{a(1024), ""}, {"", "eof"}}},
		{"1025 bytes", a(1025) + "\n", []result{{"", "too-long"}}},
		{"1025 bytes CRLF", a(1025) + "\r\n", []result{{"", "too-long"}}},
		{"1023 bytes and CR CR", a(1023) + "\r\r\n", []result{{a(1023) + "\r", ""}, {"", "eof"}}},
		{"1024 bytes and CR CR", a(1024) + "\r\r\n", []result{{"", "too-long"}}},
		{"2000 bytes with LF", a(2000) + "\n", []result{{"", "too-long"}}},
		{"2000 bytes without LF", a(2000), []result{{"", "too-long"}}},
		{"good line then a long one", "ok\n" + a(2000) + "\n", []result{{"ok", ""}, {"", "too-long"}}},
		{"last line without LF", "abc", []result{{"abc", "unexpected-eof"}}},
		{"two lines, last without LF", "one\ntwo", []result{{"one", ""}, {"two", "unexpected-eof"}}},
		{"last line CR without LF keeps its CR", "abc\r", []result{{"abc\r", "unexpected-eof"}}},
		{"1024 bytes without LF", a(1024), []result{{a(1024), "unexpected-eof"}}},
		{"1025 bytes without LF", a(1025), []result{{"", "too-long"}}},
		{"1026 bytes without LF", a(1026), []result{{"", "too-long"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The same answers whether the bytes come at once or one by one
			// (as from a slow TCP peer).
			for _, mode := range []string{"whole", "byte by byte"} {
				var src io.Reader = strings.NewReader(tt.in)
				if mode == "byte by byte" {
					src = iotest.OneByteReader(src)
				}
				got := readAll(wire.NewReader(src))
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Errorf("%s: ReadLine(%.40q...) (-want +got):\n%s", mode, tt.in, diff)
				}
			}
		})
	}
}

// TestReadLineOtherError checks that a read error that is not end of file
// comes back as it is, not disguised as a line or as EOF.
func TestReadLineOtherError(t *testing.T) {
	boom := errors.New("connection reset")
	r := wire.NewReader(io.MultiReader(strings.NewReader("ab"), iotest.ErrReader(boom)))
	line, err := wire.ReadLine(r)
	if !errors.Is(err, boom) || line != nil {
		t.Fatalf("ReadLine = %q, %v; want nil, %v", line, err, boom)
	}
}

// TestReadLineOwnsItsResult checks that a returned line is a copy: the
// next ReadLine does not overwrite it (bufio.Reader.ReadSlice would).
func TestReadLineOwnsItsResult(t *testing.T) {
	// One byte per read: the reader refills its buffer from the start for
	// the second line, where the first one was.
	r := wire.NewReader(iotest.OneByteReader(strings.NewReader("first\nXXXXXXXXXX\n")))
	first, err := wire.ReadLine(r)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := wire.ReadLine(r); err != nil {
		t.Fatal(err)
	}
	if string(first) != "first" {
		t.Errorf("first line became %q after the second read", first)
	}
}

// TestReadLineSmallBuffer checks the limit also holds with a reader whose
// buffer is larger than NewReader's (bufio.NewReader's 4096 bytes).
func TestReadLineSmallBuffer(t *testing.T) {
	r := bufio.NewReader(strings.NewReader(strings.Repeat("b", 2000) + "\nnext\n"))
	if _, err := wire.ReadLine(r); !errors.Is(err, wire.ErrLineTooLong) {
		t.Fatalf("2000-byte line: err = %v, want ErrLineTooLong", err)
	}
}

func TestPrintable(t *testing.T) {
	tests := []struct {
		in   string
		max  int
		want string
	}{
		{"hello world", 100, "hello world"},
		{"", 10, ""},
		{"a\x00b\nc\r\t\x7f\x80\xff~ ", 100, "a?b?c?????~ "},
		{"é", 100, "??"}, // UTF-8 is two bytes, neither printable ASCII
		{"abcdef", 3, "abc"},
		{"abcdef", 0, ""},
	}
	for _, tt := range tests {
		if got := wire.Printable([]byte(tt.in), tt.max); got != tt.want {
			t.Errorf("Printable(%q, %d) = %q, want %q", tt.in, tt.max, got, tt.want)
		}
	}
}

// isPrintable reports whether s holds only printable ASCII (0x20..0x7e).
func isPrintable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

func TestLineError(t *testing.T) {
	if e := wire.AsError(wire.LineError(wire.ErrLineTooLong, "line")); e == nil || e.Code != wire.CodeLineTooLong || e.Text != "a line may hold at most 1024 bytes" {
		t.Errorf("LineError(too long) = %v", e)
	}
	if e := wire.AsError(wire.LineError(fmt.Errorf("read: %w", os.ErrDeadlineExceeded), "HELLO <ticket>")); e == nil || e.Code != wire.CodeTimeout || e.Text != "no HELLO <ticket> in time" {
		t.Errorf("LineError(deadline) = %v", e)
	}
	if err := wire.LineError(io.EOF, "line"); err != nil {
		t.Errorf("LineError(EOF) = %v, want nil (the peer is gone)", err)
	}
}

func TestReadLastLine(t *testing.T) {
	for _, c := range []struct {
		in   string
		want string
		err  error
	}{
		{"HELLO x\n", "HELLO x", nil},
		{"HELLO x", "HELLO x", nil},
		{"", "", io.EOF},
	} {
		got, err := wire.ReadLastLine(wire.NewReader(strings.NewReader(c.in)))
		if string(got) != c.want || !errors.Is(err, c.err) {
			t.Errorf("ReadLastLine(%q) = %q, %v; want %q, %v", c.in, got, err, c.want, c.err)
		}
	}
}
