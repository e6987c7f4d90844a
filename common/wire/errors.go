// errors.go is the protocol's closed set of error codes: a client can act
// on the code, a person reads the text.

package wire

import (
	"errors"
	"fmt"
)

// The error codes of docs/protocol.md, a closed set.
const (
	CodeBadRequest   = "bad-request"
	CodeUnknownType  = "unknown-type"
	CodeLineTooLong  = "line-too-long"
	CodeTooLarge     = "too-large"
	CodeBusy         = "busy"
	CodeBadTicket    = "bad-ticket"
	CodeWorkerFailed = "worker-failed"
	CodeTimeout      = "timeout"
	CodeShuttingDown = "shutting-down"
)

// Codes lists every error code, in docs/protocol.md's order.
var Codes = []string{
	CodeBadRequest, CodeUnknownType, CodeLineTooLong, CodeTooLarge, CodeBusy,
	CodeBadTicket, CodeWorkerFailed, CodeTimeout, CodeShuttingDown,
}

// Error is a protocol error: the line "ERR <Code> <Text>".
type Error struct {
	Code string
	Text string
}

func (e *Error) Error() string { return "ERR " + e.Code + " " + e.Text }

// Errorf builds an *Error; the text is made printable ASCII.
func Errorf(code, format string, a ...any) *Error {
	return &Error{Code: code, Text: Printable([]byte(fmt.Sprintf(format, a...)), 200)}
}

// AsError returns the *Error inside err, or nil.
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return nil
}

// IsCode reports whether code is one of Codes.
func IsCode(code string) bool {
	for _, c := range Codes {
		if c == code {
			return true
		}
	}
	return false
}
