// Package pingpong holds the records the dispatcher and a worker signal
// each other with over pipes: fixed-size records, one write(2) each, so
// that a record is never split or interleaved (a pipe write of at most
// PIPE_BUF bytes is atomic), and no buffered writer that could keep a
// record back (the seed lab's "flush" lesson; docs/pipes.md).
//
// The dispatcher writes pings on a worker's ping pipe and reads pongs on
// its pong pipe. End of file tells each side that the other is gone:
// EOF on a pong pipe means the worker died; EOF on a ping pipe means the
// dispatcher died (PostgreSQL's postmaster-death pipe works this way).
package pingpong

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// RecordSize is the size of one record on the pipe, far below PIPE_BUF.
const RecordSize = 16

// Op says what a record means.
type Op uint32

// Pings (dispatcher to worker) and pongs (worker to dispatcher).
const (
	// Ping: the slot holds a new request (v1, v2, v3).
	PingRequest Op = 1 + iota
	// Ping: the dispatcher has relayed the chunk, fill the next one (v1).
	PingNext
	// Ping: abandon the request in flight (the client is gone).
	PingAbort
)

const (
	// Pong: the worker is attached and ready for pings.
	PongReady Op = 101 + iota
	// Pong: Arg bytes of payload are in the slot's data area (v1).
	PongChunk
	// Pong: the request is over; Arg is 0 if it went well, 1 if not.
	PongDone
)

func (o Op) String() string {
	switch o {
	case PingRequest:
		return "ping request"
	case PingNext:
		return "ping next"
	case PingAbort:
		return "ping abort"
	case PongReady:
		return "pong ready"
	case PongChunk:
		return "pong chunk"
	case PongDone:
		return "pong done"
	}
	return fmt.Sprintf("op %d", uint32(o))
}

// Msg is one record: an op, the request number it belongs to, an argument.
type Msg struct {
	Op  Op
	Seq uint32
	Arg uint64
}

// ErrPeerGone is returned by Recv at end of file: the other process exited.
var ErrPeerGone = errors.New("peer closed its end of the pipe")

// Send writes one record with a single write(2).
func Send(w io.Writer, m Msg) error {
	// LAB pipe-record: begin
	var b [RecordSize]byte
	binary.NativeEndian.PutUint32(b[0:], uint32(m.Op))
	binary.NativeEndian.PutUint32(b[4:], m.Seq)
	binary.NativeEndian.PutUint64(b[8:], m.Arg)
	// DOC: pipe-one-write
	if _, err := w.Write(b[:]); err != nil {
		return fmt.Errorf("send %v: %w", m.Op, err)
	}
	return nil
	// LAB pipe-record: end
}

// Recv reads one record. It returns ErrPeerGone at end of file.
func Recv(r io.Reader) (Msg, error) {
	var b [RecordSize]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return Msg{}, ErrPeerGone
		}
		return Msg{}, fmt.Errorf("receive: %w", err)
	}
	return Msg{
		Op:  Op(binary.NativeEndian.Uint32(b[0:])),
		Seq: binary.NativeEndian.Uint32(b[4:]),
		Arg: binary.NativeEndian.Uint64(b[8:]),
	}, nil
}
