// pattern.go is the requetetype2 payload, which both ends can compute: the
// receiver checks every byte without the sender shipping a checksum.

package wire

import "fmt"

// PatternByte is byte i of a requetetype2 payload:
// ((i * 2654435761) mod 2^32) >> 24 (Knuth's multiplicative hash).
func PatternByte(i int64) byte {
	return byte(uint32(uint64(i)*2654435761) >> 24)
}

// FillPattern fills buf with the payload bytes that start at offset off.
func FillPattern(buf []byte, off int64) {
	for i := range buf {
		buf[i] = PatternByte(off + int64(i))
	}
}

// CheckPattern checks that buf holds the payload bytes that start at off.
func CheckPattern(buf []byte, off int64) error {
	for i, b := range buf {
		if want := PatternByte(off + int64(i)); b != want {
			return fmt.Errorf("payload byte %d is %#02x, want %#02x", off+int64(i), b, want)
		}
	}
	return nil
}
