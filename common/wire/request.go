// request.go checks a request line before any worker sees it: the
// dispatcher refuses what is malformed with a precise error code.

package wire

import (
	"fmt"
	"strconv"
	"strings"
)

// Request types and session commands, as they appear on the wire.
const (
	Type1 = "requetetype1"
	Type2 = "requetetype2"
	Quit  = "QUIT"
	Stats = "STATS"
	Hello = "HELLO"
)

// Known names every line a dispatcher takes, for the error that
// answers any other (words are case-sensitive).
const Known = Type1 + ", " + Type2 + " [n], " + Stats + ", " + Quit

// DefaultType2Bytes is n for a bare "requetetype2".
const DefaultType2Bytes = 4096

// DefaultMaxBytes is the default of --max-bytes (64 MiB).
const DefaultMaxBytes = 64 << 20

// Request is a checked request line.
type Request struct {
	Type string // Type1 or Type2
	N    int64  // payload size for Type2; 0 for Type1
}

// String is the canonical request line, as the client sends it.
func (r Request) String() string {
	if r.Type == Type2 {
		return fmt.Sprintf("%s %d", Type2, r.N)
	}
	return r.Type
}

// Fields splits a line on runs of spaces (only spaces: docs/protocol.md, "Framing").
func Fields(line []byte) []string {
	return strings.FieldsFunc(string(line), func(r rune) bool { return r == ' ' })
}

// ParseRequest checks a request line. maxBytes is the server's
// --max-bytes. The error, if any, is an *Error with the code to answer.
func ParseRequest(line []byte, maxBytes int64) (Request, error) {
	f := Fields(line)
	if len(f) == 0 {
		return Request{}, Errorf(CodeBadRequest, "empty request line")
	}
	switch f[0] {
	case Type1:
		if len(f) != 1 {
			return Request{}, Errorf(CodeBadRequest, "%s takes no argument", Type1)
		}
		return Request{Type: Type1}, nil
	case Type2:
		switch len(f) {
		case 1:
			if DefaultType2Bytes > maxBytes {
				return Request{}, Errorf(CodeTooLarge, "%s alone means n=%d, over the limit of %d bytes", Type2, DefaultType2Bytes, maxBytes)
			}
			return Request{Type: Type2, N: DefaultType2Bytes}, nil
		case 2:
			n, err := parseSize(f[1], maxBytes)
			if err != nil {
				return Request{}, err
			}
			return Request{Type: Type2, N: n}, nil
		default:
			return Request{}, Errorf(CodeBadRequest, "%s takes one argument <n>", Type2)
		}
	default:
		return Request{}, Errorf(CodeUnknownType, "unknown request type %q; known: %s", Printable([]byte(f[0]), 64), Known)
	}
}

// parseSize reads a non-negative decimal integer. All digits but too big
// for an int64 is still a number: it is "too large", not "bad".
func parseSize(s string, maxBytes int64) (int64, error) {
	if s == "" || strings.TrimLeft(s, "0123456789") != "" {
		return 0, Errorf(CodeBadRequest, "n must be a non-negative decimal integer, got %q", Printable([]byte(s), 32))
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n > maxBytes {
		return 0, Errorf(CodeTooLarge, "n=%s is over the limit of %d bytes", Printable([]byte(s), 32), maxBytes)
	}
	return n, nil
}
