// line.go is line framing with a hard limit: a reader that never buffers
// more than MaxLine bytes of a line, however long the line is.

package wire

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"os"
)

// MaxLine is the longest line, LF excluded, that a peer may send.
const MaxLine = 1024

// ErrLineTooLong is returned by ReadLine when a line exceeds MaxLine.
var ErrLineTooLong = errors.New("line longer than 1024 bytes")

// ReadLine reads one line from r and returns it without its LF and without
// a CR just before the LF. A line longer than MaxLine returns
// ErrLineTooLong; the rest of it is left unread (the caller closes the
// connection, as the protocol says). A last line without LF is returned
// with io.ErrUnexpectedEOF; io.EOF means the peer closed between lines.
//
// r must have a buffer of MaxLine+2 bytes (NewReader makes one).
func ReadLine(r *bufio.Reader) ([]byte, error) {
	line, err := r.ReadSlice('\n')
	switch {
	case err == nil:
		line = line[:len(line)-1]
		if n := len(line); n > 0 && line[n-1] == '\r' {
			line = line[:n-1]
		}
		if len(line) > MaxLine {
			return nil, ErrLineTooLong
		}
		return bytes.Clone(line), nil
	case errors.Is(err, bufio.ErrBufferFull):
		return nil, ErrLineTooLong
	case errors.Is(err, io.EOF):
		if len(line) > MaxLine {
			return nil, ErrLineTooLong
		}
		if len(line) == 0 {
			return nil, io.EOF
		}
		return bytes.Clone(line), io.ErrUnexpectedEOF
	default:
		return nil, err
	}
}

// ReadLastLine is ReadLine for a peer that may send one line and close:
// a last line without LF counts as a line (no io.ErrUnexpectedEOF).
func ReadLastLine(r *bufio.Reader) ([]byte, error) {
	line, err := ReadLine(r)
	if errors.Is(err, io.ErrUnexpectedEOF) {
		err = nil
	}
	return line, err
}

// LineError is the reply to a line that could not be read: line-too-long
// for a line over MaxLine, timeout ("no <what> in time") for a read past
// its deadline, and nil when the peer is gone (nothing to say).
func LineError(err error, what string) error {
	switch {
	case errors.Is(err, ErrLineTooLong):
		return Errorf(CodeLineTooLong, "a line may hold at most %d bytes", MaxLine)
	case errors.Is(err, os.ErrDeadlineExceeded):
		return Errorf(CodeTimeout, "no %s in time", what)
	default:
		return nil
	}
}

// NewReader wraps r in a reader whose buffer holds exactly a MaxLine line
// with its CR LF: a peer that sends more without LF is told at once that
// its line is too long, and never makes the reader buffer more.
func NewReader(r io.Reader) *bufio.Reader {
	return bufio.NewReaderSize(r, MaxLine+2)
}

// Printable returns b with every byte that is not printable ASCII replaced
// by '?', cut to at most max bytes: safe to echo in an error reply or a log.
func Printable(b []byte, max int) string {
	if len(b) > max {
		b = b[:max]
	}
	out := make([]byte, len(b))
	for i, c := range b {
		if c < 0x20 || c > 0x7e {
			c = '?'
		}
		out[i] = c
	}
	return string(out)
}
