// ticket.go makes and checks tickets, single-use capability tokens: 128
// random bits that only the client who asked knows.

package wire

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
)

// TicketLen is the length of a ticket on the wire: 32 lowercase hex digits.
const TicketLen = 32

// NewTicket returns a fresh ticket from a cryptographic random source.
func NewTicket() string {
	var b [TicketLen / 2]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go >= 1.24)
	return hex.EncodeToString(b[:])
}

// ValidTicket reports whether s has a ticket's shape.
func ValidTicket(s string) bool {
	return len(s) == TicketLen && lowerHex(s)
}

// lowerHex reports whether s holds only lowercase hex digits.
func lowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// ParseHello checks a "HELLO <ticket>" line (v2: the worker calling its
// client back; v3: the client calling its worker) and returns the
// ticket. A malformed line is bad-ticket: whoever sent it holds no
// ticket we know. (The v2 client's answer, "HELLO <mac>", is
// ParseHelloProof's, in proof.go.)
func ParseHello(line []byte) (string, error) {
	f := Fields(line)
	if len(f) != 2 || f[0] != Hello || !ValidTicket(f[1]) {
		return "", Errorf(CodeBadTicket, "expected HELLO <32 hex digits>")
	}
	return f[1], nil
}

// CheckHello checks that line is "HELLO <secret>" with the secret
// expected, compared in constant time (the time a refusal takes tells
// nothing of how much of a guess was right). It returns ParseHello's
// error for a malformed line, and a bad-ticket error for another secret.
func CheckHello(line []byte, secret string) error {
	got, err := ParseHello(line)
	if err != nil {
		return err
	}
	if subtle.ConstantTimeCompare([]byte(got), []byte(secret)) != 1 {
		return Errorf(CodeBadTicket, "not the expected secret")
	}
	return nil
}
