// proof_test.go checks the v3 proof: a known value (as openssl computes
// it), a constant-time check that refuses every other key, nonce or proof,
// and the shape of a PROVE line.

package wire_test

import (
	"net/netip"
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

// TestCallbackProof: the v2 client's HELLO <mac> is the HMAC that
// openssl computes from the text docs/protocol.md gives; IPv4-mapped
// addresses are written as IPv4; and a relay's end, or another ticket,
// gives another MAC.
func TestCallbackProof(t *testing.T) {
	const proof, tk = "fedcba9876543210fedcba9876543210", "0123456789abcdef0123456789abcdef"
	worker, client := netip.MustParseAddrPort("127.0.0.1:41822"), netip.MustParseAddrPort("127.0.0.1:39001")
	// printf %s '0123456789abcdef0123456789abcdef 127.0.0.1:41822 127.0.0.1:39001' | openssl dgst -sha256 -hmac fedcba9876543210fedcba9876543210
	const want = "bb78c3076d64d72c6205c59e8456d9c48bec73c35cb40a45612f889371cbe809"
	if got := wire.CallbackProof(proof, tk, worker, client); got != want {
		t.Fatalf("CallbackProof = %s, want %s", got, want)
	}
	mapped := netip.AddrPortFrom(netip.MustParseAddr("::ffff:127.0.0.1"), 41822)
	if !wire.CheckCallbackProof(proof, tk, mapped, client, want) {
		t.Error("an IPv4-mapped caller gives another MAC")
	}
	relay := netip.MustParseAddrPort("127.0.0.1:50000")
	for _, bad := range []bool{
		wire.CheckCallbackProof(proof, tk, relay, client, want),
		wire.CheckCallbackProof(proof, tk, client, worker, want),
		wire.CheckCallbackProof(proof, "ffffffffffffffffffffffffffffffff", worker, client, want),
		wire.CheckCallbackProof(tk, tk, worker, client, want),
	} {
		if bad {
			t.Error("a MAC checked for another connection, ticket or proof")
		}
	}
	if m, ok := wire.ParseHelloProof([]byte("HELLO " + want)); !ok || m != want {
		t.Errorf("ParseHelloProof: %q, %v", m, ok)
	}
	for _, l := range []string{"HELLO " + proof, "HELLO " + strings.ToUpper(want), "HELLO", want} {
		if _, ok := wire.ParseHelloProof([]byte(l)); ok {
			t.Errorf("ParseHelloProof(%q) accepted", l)
		}
	}
}
