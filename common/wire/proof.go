// proof.go holds the two proofs of a secret that never travels, both
// HMAC-SHA256. v3's challenge-response (Proof): a worker proves that it
// holds the per-request key the dispatcher gave it, without revealing
// the key, before its client sends the ticket; the client picks a fresh
// nonce each time, so an answer overheard once is worth nothing the next
// time. v2's call-back proof (CallbackProof): the client called back
// answers "HELLO <mac>", bound to the request's proof and to the
// connection's two ends.

package wire

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/netip"
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

// CallbackProof is what a v2 client answers the worker that called it
// back: HMAC-SHA256, under the request's proof (the second secret of
// WAIT), of "<ticket> <caller> <callee>", caller being the call-back's
// dialing end (the worker) and callee its listening end (the client),
// each "ip:port" as that side's own socket sees it. The proof itself
// never travels, and the MAC holds for one connection only: a process
// that takes the call-back and relays it to the client sits between two
// connections, so the client binds its answer to the relay's address,
// and the worker, checking with its own, refuses it.
func CallbackProof(proof, ticket string, caller, callee netip.AddrPort) string {
	return Proof(proof, ticket+" "+canonical(caller)+" "+canonical(callee))
}

// CheckCallbackProof reports whether mac is CallbackProof(proof,
// ticket, caller, callee), compared in constant time.
func CheckCallbackProof(proof, ticket string, caller, callee netip.AddrPort, mac string) bool {
	return hmac.Equal([]byte(CallbackProof(proof, ticket, caller, callee)), []byte(mac))
}

// canonical is ap with an IPv4-mapped address written as IPv4.
func canonical(ap netip.AddrPort) string {
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()).String()
}

// ParseHelloProof checks a "HELLO <64 hex digits>" line (a v2 client's
// CallbackProof) and returns the MAC.
func ParseHelloProof(line []byte) (string, bool) {
	f := Fields(line)
	if len(f) != 2 || f[0] != Hello || !validProof(f[1]) {
		return "", false
	}
	return f[1], true
}
