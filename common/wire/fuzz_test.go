// fuzz_test.go states what must hold for any bytes a peer can send, and
// lets the fuzzer look for a line that breaks it:
//
//	go test -fuzz FuzzParseRequest -fuzztime 30s ./common/wire
//	go test -fuzz FuzzReadLine -fuzztime 30s ./common/wire
//	go test -fuzz FuzzParseReply -fuzztime 30s ./common/wire
//
// Without -fuzz, `go test` runs the seeds below (and testdata/fuzz, if
// the fuzzer ever saved a failing input there) as ordinary tests.

package wire_test

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"osps/common/wire"
)

// checkError checks the invariants of an error that a parser returns for
// input: it is an *Error, its code is in the closed set, and its text is
// printable ASCII, short enough for one reply line.
func checkError(t *testing.T, what string, input []byte, err error) *wire.Error {
	t.Helper()
	e := wire.AsError(err)
	if e == nil {
		t.Fatalf("%s(%q): error %v (%T) is not a *wire.Error", what, input, err, err)
	}
	if !wire.IsCode(e.Code) {
		t.Fatalf("%s(%q): code %q is not in the closed set", what, input, e.Code)
	}
	if !isPrintable(e.Error()) || len(e.Error()) > wire.MaxLine {
		t.Fatalf("%s(%q): error line %q is not one short printable line", what, input, e.Error())
	}
	var b bytes.Buffer
	if werr := wire.WriteErr(&b, err); werr != nil {
		t.Fatal(werr)
	}
	if got, want := b.String(), e.Error()+"\n"; got != want {
		t.Fatalf("%s(%q): WriteErr wrote %q, want %q", what, input, got, want)
	}
	return e
}

func FuzzParseRequest(f *testing.F) {
	for _, s := range []string{
		"", " ", "requetetype1", "requetetype2", "requetetype2 0", "requetetype2 4096",
		"requetetype2 67108864", "requetetype2 67108865", "requetetype2 -1", "requetetype2 +5",
		"requetetype2 1.5", "requetetype2 0x10", "requetetype2 1 2", "requetetype1 x",
		"requetetype2 123456789012345678901234567890", "requetetype2 007", "  requetetype2   9  ",
		"\x00", "\xff\xfe", "requetetype1\x00", "requetetype2\t5", "QUIT", "STATS", "HELLO x",
		"requetetype2 9223372036854775807", "requetetype2 9223372036854775808",
	} {
		f.Add([]byte(s), int64(wire.DefaultMaxBytes))
	}
	f.Add([]byte("requetetype2"), int64(100))
	f.Add([]byte("requetetype2 0"), int64(0))
	f.Add([]byte("requetetype2 5"), int64(1<<63-1))
	f.Fuzz(func(t *testing.T, line []byte, maxBytes int64) {
		if maxBytes < 0 {
			maxBytes = -(maxBytes + 1) // --max-bytes is never negative (server.Config.Check)
		}
		req, err := wire.ParseRequest(line, maxBytes)
		if err != nil {
			checkError(t, "ParseRequest", line, err)
			if req != (wire.Request{}) {
				t.Fatalf("ParseRequest(%q): error with request %+v", line, req)
			}
			return
		}
		switch req.Type {
		case wire.Type1:
			if req.N != 0 {
				t.Fatalf("ParseRequest(%q) = %+v: type 1 with n", line, req)
			}
		case wire.Type2:
			if req.N < 0 || req.N > maxBytes {
				t.Fatalf("ParseRequest(%q, max %d) = %+v: n out of range", line, maxBytes, req)
			}
		default:
			t.Fatalf("ParseRequest(%q) = %+v: unknown type accepted", line, req)
		}
		// The canonical line parses to the same request.
		again, err := wire.ParseRequest([]byte(req.String()), maxBytes)
		if err != nil || again != req {
			t.Fatalf("ParseRequest(%q) = %+v, but its String %q parses to %+v, %v", line, req, req.String(), again, err)
		}
	})
}

func FuzzReadLine(f *testing.F) {
	for _, s := range []string{
		"", "\n", "\r\n", "abc", "abc\n", "abc\r\n", "a\rb\n", "one\ntwo\r\nthree",
		"\r", "\r\r\n", strings.Repeat("a", 1024) + "\n", strings.Repeat("a", 1024) + "\r\n",
		strings.Repeat("a", 1025) + "\n", strings.Repeat("a", 2000),
		strings.Repeat("x\n", 600), "\x00\xff\n\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		r := wire.NewReader(bytes.NewReader(in))
		consumed := 0 // bytes of in accounted for by the lines so far
		for {
			line, err := wire.ReadLine(r)
			switch {
			case err == nil:
				if len(line) > wire.MaxLine || bytes.IndexByte(line, '\n') >= 0 {
					t.Fatalf("ReadLine returned a bad line %q", line)
				}
				// The line is in the input at the reader's position,
				// followed by LF or CR LF.
				rest := in[consumed:]
				if !bytes.HasPrefix(rest, line) {
					t.Fatalf("line %q is not at input offset %d", line, consumed)
				}
				switch tail := rest[len(line):]; {
				case bytes.HasPrefix(tail, []byte("\r\n")):
					consumed += len(line) + 2
				case bytes.HasPrefix(tail, []byte("\n")):
					consumed += len(line) + 1
				default:
					t.Fatalf("line %q at offset %d is not followed by LF", line, consumed)
				}
			case errors.Is(err, io.EOF):
				if consumed != len(in) || line != nil {
					t.Fatalf("EOF at offset %d of %d, line %q", consumed, len(in), line)
				}
				return
			case errors.Is(err, io.ErrUnexpectedEOF):
				if rest := in[consumed:]; string(line) != string(rest) || len(line) == 0 || len(line) > wire.MaxLine || bytes.IndexByte(line, '\n') >= 0 {
					t.Fatalf("last line %q, want the rest of the input %q", line, rest)
				}
				return
			case errors.Is(err, wire.ErrLineTooLong):
				rest := in[consumed:]
				i := bytes.IndexByte(rest, '\n')
				if i < 0 {
					i = len(rest)
				}
				l := rest[:i]
				if i < len(rest) {
					l = bytes.TrimSuffix(l, []byte("\r"))
				}
				if len(l) <= wire.MaxLine || line != nil {
					t.Fatalf("ErrLineTooLong for a line of %d bytes", len(l))
				}
				return
			default:
				t.Fatalf("ReadLine: unexpected error %v", err)
			}
		}
	})
}

func FuzzParseReply(f *testing.F) {
	for _, s := range []string{
		"OK 0", "OK 5", "OK   7", "OK -1", "OK", "ERR busy x", "ERR nope x", "ERR  busy", "BYE",
		"WAIT 0123456789abcdef0123456789abcdef fedcba9876543210fedcba9876543210", "DONE 0123456789abcdef0123456789abcdef",
		"GOTO 127.0.0.1 2225 0123456789abcdef0123456789abcdef 00112233445566778899aabbccddeeff", "GOTO h +80 0123456789abcdef0123456789abcdef",
		"PROOF " + strings.Repeat("0a", 32),
		"", "\xff", "ERR timeout \x00\x1b",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		r, err := wire.ParseReply(line)
		if err != nil {
			if !isPrintable(err.Error()) {
				t.Fatalf("ParseReply(%q): error %q echoes raw bytes", line, err)
			}
			return
		}
		switch r.Word {
		case wire.OK:
			if r.N < 0 {
				t.Fatalf("ParseReply(%q): OK with n = %d", line, r.N)
			}
		case wire.ERR:
			if r.Err == nil || !wire.IsCode(r.Err.Code) || !isPrintable(r.Err.Text) {
				t.Fatalf("ParseReply(%q): ERR reply %+v", line, r.Err)
			}
		case wire.WAIT:
			if len(r.Args) != 2 || !wire.ValidTicket(r.Args[0]) || !wire.ValidTicket(r.Args[1]) {
				t.Fatalf("ParseReply(%q): WAIT with args %q", line, r.Args)
			}
		case wire.DONE:
			if len(r.Args) != 1 || !wire.ValidTicket(r.Args[0]) {
				t.Fatalf("ParseReply(%q): %s with args %q", line, r.Word, r.Args)
			}
		case wire.GOTO:
			if len(r.Args) != 4 || !wire.ValidTicket(r.Args[2]) || !wire.ValidTicket(r.Args[3]) {
				t.Fatalf("ParseReply(%q): GOTO with args %q", line, r.Args)
			}
		case wire.PROOF:
			if len(r.Args) != 1 || len(r.Args[0]) != wire.ProofLen {
				t.Fatalf("ParseReply(%q): PROOF with args %q", line, r.Args)
			}
		case wire.BYE:
		default:
			t.Fatalf("ParseReply(%q): unknown word %q accepted", line, r.Word)
		}
	})
}
