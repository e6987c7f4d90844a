// export_test.go holds accessors that only the tests need.

package shm

// DataSize is the size of each slot's data area.
func (s *Segment) DataSize() int { return s.dataSize }
