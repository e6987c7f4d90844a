// Package conformance is one set of black-box checks of
// docs/protocol.md, written once and run by every variant's tests
// (as Bendersky's async-socket-server drives every server design with one
// harness). It builds the variant's real binary, starts `serve --port 0`
// as a user would, and talks to it through raw sockets, as nc would: it
// shares no code with the variants' clients, so a bug in a client cannot
// hide a bug in a server.
//
// Every server started here runs in its own process group; the test's
// cleanup stops it, and then checks that no process of the group is left
// and that its shared-memory segment is gone, also when the test failed.
package conformance
