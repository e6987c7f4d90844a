// pattern_test.go checks the requetetype2 payload against docs/protocol.md's
// formula, byte i = ((i * 2654435761) mod 2^32) >> 24: a few bytes worked
// out by hand, many more with math/big, and the fill and check helpers
// at any offset.

package wire_test

import (
	"math/big"
	"math/rand/v2"
	"strings"
	"testing"

	"osps/common/wire"
)

func TestPatternByteByHand(t *testing.T) {
	// 2654435761 = 0x9E3779B1. Keep the low 32 bits of i*0x9E3779B1 and
	// take their top byte.
	tests := []struct {
		i    int64
		want byte
	}{
		{0, 0x00},       // 0
		{1, 0x9e},       // 0x9E3779B1 >> 24 = 158
		{2, 0x3c},       // 0x1_3C6EF362 -> 0x3C6EF362 -> 60
		{3, 0xda},       // 0x1_DAA66D13 -> 0xDAA66D13 -> 218
		{4, 0x78},       // 0x2_78DDE6C4 -> 0x78DDE6C4 -> 120
		{256, 0x37},     // 0x9E_3779B100 -> 0x3779B100 -> 55
		{4096, 0x77},    // 0x9E3_779B1000 -> 0x779B1000 -> 119
		{1 << 24, 0xb1}, // 0x9E3779_B1000000 -> 0xB1000000 -> 177
		// 2^26: 0x9E3779B1 << 26; only bits 0, 4, 5 of 0xB1 land below
		// bit 32: 2^26 + 2^30 + 2^31 = 0xC4000000 -> 196.
		{64 << 20, 0xc4},
		// The last byte of a 64 MiB payload: 0xC4000000 - 0x9E3779B1 =
		// 0x25C8864F -> 37.
		{64<<20 - 1, 0x25},
		{1 << 32, 0x00},   // a multiple of 2^32 wraps to 0
		{1<<32 + 1, 0x9e}, // and the pattern starts over
	}
	for _, tt := range tests {
		if got := wire.PatternByte(tt.i); got != tt.want {
			t.Errorf("PatternByte(%d) = %#02x, want %#02x", tt.i, got, tt.want)
		}
	}
}

// formula is docs/protocol.md's formula in arbitrary precision.
func formula(i int64) byte {
	x := new(big.Int).Mul(big.NewInt(i), big.NewInt(2654435761))
	x.Mod(x, new(big.Int).Lsh(big.NewInt(1), 32))
	return byte(x.Rsh(x, 24).Uint64())
}

func TestPatternByteFormula(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	check := func(i int64) {
		if got, want := wire.PatternByte(i), formula(i); got != want {
			t.Fatalf("PatternByte(%d) = %#02x, formula says %#02x", i, got, want)
		}
	}
	for i := range int64(5000) {
		check(i)
	}
	for range 5000 {
		check(r.Int64N(1 << 40))
		check(r.Int64())
	}
	check(1<<63 - 1)
}

func TestFillPattern(t *testing.T) {
	for _, off := range []int64{0, 1, 7, 4095, 65536, 1<<32 - 3, 64<<20 - 10} {
		for _, n := range []int{0, 1, 13, 1000} {
			buf := make([]byte, n)
			wire.FillPattern(buf, off)
			for i, b := range buf {
				if want := formula(off + int64(i)); b != want {
					t.Fatalf("FillPattern(len %d, off %d): byte %d is %#02x, want %#02x", n, off, i, b, want)
				}
			}
			if err := wire.CheckPattern(buf, off); err != nil {
				t.Errorf("CheckPattern(FillPattern(len %d, off %d)): %v", n, off, err)
			}
		}
	}
}

// TestFillPatternPieces checks that a payload filled in odd-sized pieces,
// each at its own offset, equals the payload filled at once.
func TestFillPatternPieces(t *testing.T) {
	whole := make([]byte, 10000)
	wire.FillPattern(whole, 0)
	pieces := make([]byte, 0, len(whole))
	for off, k := 0, 1; off < len(whole); k = k*3%1021 + 1 {
		k = min(k, len(whole)-off)
		p := make([]byte, k)
		wire.FillPattern(p, int64(off))
		pieces = append(pieces, p...)
		off += k
	}
	if string(pieces) != string(whole) {
		t.Fatal("pattern filled in pieces differs from the pattern filled at once")
	}
}

func TestCheckPatternFindsTheBadByte(t *testing.T) {
	buf := make([]byte, 300)
	wire.FillPattern(buf, 1000)
	if err := wire.CheckPattern(buf, 1001); err == nil {
		t.Error("CheckPattern at the wrong offset found nothing")
	}
	buf[123]++
	err := wire.CheckPattern(buf, 1000)
	if err == nil {
		t.Fatal("CheckPattern found no bad byte")
	}
	if !strings.Contains(err.Error(), "byte 1123 ") {
		t.Errorf("CheckPattern: %v; want it to name byte 1123 (offset 1000 + 123)", err)
	}
}
