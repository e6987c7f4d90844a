// reply.go is the reply side of the protocol: a payload is announced by
// its length ("OK <n>"), so the reader knows where it ends without any
// terminator.

package wire

import (
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Reply words, as they start a reply line.
const (
	OK   = "OK"
	ERR  = "ERR"
	BYE  = "BYE"
	WAIT = "WAIT" // v2: the worker will call back with this ticket; send back this proof
	DONE = "DONE" // v2: the call-back is over
	GOTO = "GOTO" // v3: dial this worker with this ticket and proof key
)

// WriteOK writes the header of a reply that carries n payload bytes.
func WriteOK(w io.Writer, n int64) error {
	_, err := fmt.Fprintf(w, "OK %d\n", n)
	return err
}

// WriteErr writes an error line. err that is not an *Error with a code
// of Codes becomes worker-failed, and the text is made printable: a reply
// never leaks an internal message or a raw byte unchecked.
func WriteErr(w io.Writer, err error) error {
	e := AsError(err)
	if e == nil || !IsCode(e.Code) {
		e = Errorf(CodeWorkerFailed, "%v", err)
	}
	_, werr := io.WriteString(w, ERR+" "+e.Code+" "+Printable([]byte(e.Text), 200)+"\n")
	return werr
}

// Reply is a parsed reply line.
type Reply struct {
	Word string   // OK, ERR, BYE, WAIT, DONE, GOTO, PROOF
	N    int64    // OK: payload length
	Err  *Error   // ERR: code and text
	Args []string // WAIT: ticket, proof; DONE: ticket; GOTO: host, port, ticket, key; PROOF: the proof
}

// ParseReply parses one reply line (without LF). A line that is not a
// well-formed reply is an error: a client reports it, never guesses.
// Tokens are separated by one or more spaces (docs/protocol.md, "Framing"); the text
// of an ERR line comes back printable, like everything an *Error holds.
func ParseReply(line []byte) (Reply, error) {
	s := strings.TrimLeft(string(line), " ")
	word, rest, _ := strings.Cut(s, " ")
	switch word {
	case OK:
		f := Fields([]byte(rest))
		if len(f) != 1 || strings.TrimLeft(f[0], "0123456789") != "" {
			return Reply{}, fmt.Errorf("malformed OK line %q", Printable(line, 80))
		}
		n, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return Reply{}, fmt.Errorf("malformed OK line %q", Printable(line, 80))
		}
		return Reply{Word: OK, N: n}, nil
	case ERR:
		code, text, _ := strings.Cut(strings.TrimLeft(rest, " "), " ")
		if !IsCode(code) {
			return Reply{}, fmt.Errorf("ERR line with unknown code %q", Printable([]byte(code), 40))
		}
		text = strings.TrimLeft(text, " ")
		return Reply{Word: ERR, Err: &Error{Code: code, Text: Printable([]byte(text), MaxLine)}}, nil
	case BYE:
		if strings.Trim(rest, " ") != "" {
			return Reply{}, fmt.Errorf("malformed BYE line %q", Printable(line, 80))
		}
		return Reply{Word: BYE}, nil
	case WAIT:
		f := Fields([]byte(rest))
		if len(f) != 2 || !ValidTicket(f[0]) || !ValidTicket(f[1]) {
			return Reply{}, fmt.Errorf("malformed WAIT line %q", Printable(line, 80))
		}
		return Reply{Word: WAIT, Args: f}, nil
	case DONE:
		f := Fields([]byte(rest))
		if len(f) != 1 || !ValidTicket(f[0]) {
			return Reply{}, fmt.Errorf("malformed DONE line %q", Printable(line, 80))
		}
		return Reply{Word: DONE, Args: f}, nil
	case GOTO:
		f := Fields([]byte(rest))
		if len(f) != 4 || !ValidTicket(f[2]) || !ValidTicket(f[3]) {
			return Reply{}, fmt.Errorf("malformed GOTO line %q", Printable(line, 80))
		}
		if p, err := strconv.Atoi(f[1]); err != nil || p <= 0 || p > 65535 || strings.TrimLeft(f[1], "0123456789") != "" {
			return Reply{}, fmt.Errorf("GOTO with bad port %q", Printable([]byte(f[1]), 20))
		}
		return Reply{Word: GOTO, Args: f}, nil
	case PROOF:
		f := Fields([]byte(rest))
		if len(f) != 1 || !validProof(f[0]) {
			return Reply{}, fmt.Errorf("malformed PROOF line %q", Printable(line, 80))
		}
		return Reply{Word: PROOF, Args: f}, nil
	default:
		return Reply{}, fmt.Errorf("unexpected reply %q", Printable(line, 80))
	}
}
