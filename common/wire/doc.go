// Package wire is the OSPS line protocol of docs/protocol.md, written
// once for the three variants: how a line is read (LF, an optional CR, at
// most 1024 bytes), how a request line is checked, how a reply is written
// and read back, the requetetype2 payload pattern, and tickets.
//
// Nothing here touches a process, a pipe or shared memory: it is the
// protocol itself, down to how a connection ends without losing its last
// reply (LingerClose) and how a listener that strangers can reach accepts
// and holds its connections (AcceptLoop, Table), and every parser
// survives any input (see FuzzParseRequest).
package wire
