// Tests of the worker's side of a direct conversation: the request line
// must be the one the dispatcher checked, a silent client times out, and
// a write nobody reads ends at its deadline.

package service

import (
	"bufio"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"osps/common/wire"
)

func TestReadRequest(t *testing.T) {
	want := wire.Request{Type: wire.Type2, N: 10}
	for _, tc := range []struct {
		in, code string
		eof      bool
	}{
		{in: "requetetype2 10\n"},
		{in: "  requetetype2   10\r\n"},
		{in: "requetetype2 10"}, // a last line without LF
		{in: "requetetype2 11\n", code: wire.CodeBadRequest},
		{in: "requetetype1\n", code: wire.CodeBadRequest},
		{in: "bogus\n", code: wire.CodeUnknownType},
		{in: strings.Repeat("x", 2000) + "\n", code: wire.CodeLineTooLong},
		{in: "", eof: true},
	} {
		got, err := ReadRequest(wire.NewReader(strings.NewReader(tc.in)), want)
		switch {
		case tc.eof:
			if !errors.Is(err, io.EOF) || wire.AsError(err) != nil {
				t.Errorf("%q: got %v, want a wrapped io.EOF (client gone)", tc.in, err)
			}
		case tc.code != "":
			if e := wire.AsError(err); e == nil || e.Code != tc.code {
				t.Errorf("%q: got %v, want ERR %s", tc.in, err, tc.code)
			}
		default:
			if err != nil || !cmp.Equal(got, want) {
				t.Errorf("%q: got %v, %v; want %v", tc.in, got, err, want)
			}
		}
	}
}

func TestReadRequestTimeout(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	_ = a.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	_, err := ReadRequest(bufio.NewReader(a), wire.Request{Type: wire.Type1})
	if e := wire.AsError(err); e == nil || e.Code != wire.CodeTimeout {
		t.Fatalf("a silent client: got %v, want ERR timeout", err)
	}
}
