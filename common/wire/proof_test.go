// proof_test.go checks the v3 proof: a known value (as openssl computes
// it), a constant-time check that refuses every other key, nonce or proof,
// and the shape of a PROVE line.

package wire_test

import (
	"strings"
	"testing"

	"osps/common/wire"
)

func TestProofKnownValue(t *testing.T) {
	// printf %s 0123456789abcdef0123456789abcdef | openssl dgst -sha256 -hmac 00112233445566778899aabbccddeeff
	const want = "fb924ec4f1682bb93149b17917eca2ae67346066c39ff2fac2b08d95084607df"
	if got := wire.Proof(key, ticket); got != want {
		t.Fatalf("Proof(%s, %s) = %s, want %s", key, ticket, got, want)
	}
}

func TestCheckProof(t *testing.T) {
	nonce := wire.NewTicket()
	p := wire.Proof(key, nonce)
	if len(p) != wire.ProofLen || !wire.CheckProof(key, nonce, p) {
		t.Fatalf("the right proof %q is refused", p)
	}
	for _, c := range []struct{ key, nonce, proof string }{
		{wire.NewTicket(), nonce, p},
		{key, wire.NewTicket(), p},
		{key, nonce, strings.ToUpper(p)},
		{key, nonce, p[:63]},
		{key, nonce, p + "0"},
		{key, nonce, ""},
	} {
		if wire.CheckProof(c.key, c.nonce, c.proof) {
			t.Errorf("CheckProof(%q, %q, %q) = true, want false", c.key, c.nonce, c.proof)
		}
	}
}

func TestParseProve(t *testing.T) {
	if n, ok := wire.ParseProve([]byte("PROVE " + ticket)); !ok || n != ticket {
		t.Fatalf("ParseProve: %q, %v", n, ok)
	}
	if n, ok := wire.ParseProve([]byte("  PROVE   " + ticket + " ")); !ok || n != ticket {
		t.Fatalf("ParseProve with spaces: %q, %v", n, ok)
	}
	for _, l := range []string{"", "PROVE", "PROVE " + ticket[1:], "PROVE " + strings.ToUpper(ticket), "prove " + ticket, "PROVE " + ticket + " x", "HELLO " + ticket} {
		if _, ok := wire.ParseProve([]byte(l)); ok {
			t.Errorf("ParseProve(%q) accepted", l)
		}
	}
}
