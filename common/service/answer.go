// Streaming an answer straight onto a connection: "OK <n>", then the
// payload in 64 KiB pieces, so a worker's memory does not grow with n
// (v2 and v3, where the worker talks to the client).

package service

import (
	"bufio"
	"fmt"
	"io"

	"osps/common/wire"
)

// ChunkSize is the piece a worker writes at a time.
const ChunkSize = 64 << 10

// Answer writes "OK <n>" and the payload p to w, and flushes.
// progress, if not nil, is called after each piece with the bytes sent
// so far (the worker beats its heartbeat there).
func Answer(w io.Writer, p *Payload, progress func(sent int64)) error {
	// Buffers no larger than the answer: a 30-byte reply needs no 64 KiB.
	size := int(min(p.Len(), ChunkSize))
	bw := bufio.NewWriterSize(w, size+32) // room for "OK <n>\n" too
	if err := wire.WriteOK(bw, p.Len()); err != nil {
		return fmt.Errorf("write reply header: %w", err)
	}
	buf := make([]byte, max(size, 1))
	var sent int64
	for p.Left() > 0 {
		k := p.Fill(buf)
		if _, err := bw.Write(buf[:k]); err != nil {
			return fmt.Errorf("write payload at byte %d of %d: %w", sent, p.Len(), err)
		}
		sent += int64(k)
		if progress != nil {
			progress(sent)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write payload end: %w", err)
	}
	return nil
}
