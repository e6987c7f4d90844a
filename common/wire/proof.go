// proof.go demonstrates a challenge-response: a v3 worker proves that it
// holds the per-request key the dispatcher gave it, without revealing the
// key, before its client sends the ticket. The client picks a fresh nonce
// each time, so an answer overheard once is worth nothing the next time.

package wire

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
)

// Words of the proof step (v3): the client's "PROVE <nonce>", the
// worker's "PROOF <mac>".
const (
	Prove = "PROVE"
	PROOF = "PROOF"
)

// ProofLen is the length of a proof on the wire: 64 lowercase hex digits.
const ProofLen = 2 * sha256.Size

// Proof is HMAC-SHA256(key, nonce) in lowercase hex, key and nonce taken
// as the ASCII text of their hex digits (so that
// `printf %s NONCE | openssl dgst -sha256 -hmac KEY` computes it too).
func Proof(key, nonce string) string {
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte(nonce))
	return hex.EncodeToString(m.Sum(nil))
}

// CheckProof reports whether proof is the proof of key for nonce,
// compared in constant time.
func CheckProof(key, nonce, proof string) bool {
	return hmac.Equal([]byte(Proof(key, nonce)), []byte(proof))
}

// ParseProve checks a "PROVE <nonce>" line and returns the nonce.
func ParseProve(line []byte) (string, bool) {
	f := Fields(line)
	if len(f) != 2 || f[0] != Prove || !ValidTicket(f[1]) {
		return "", false
	}
	return f[1], true
}

// validProof reports whether s has a proof's shape: 64 lowercase hex digits.
func validProof(s string) bool {
	return len(s) == ProofLen && lowerHex(s)
}
