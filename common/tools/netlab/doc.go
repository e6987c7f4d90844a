// Package netlab holds netlab.sh, `./run.sh net`: the three variants run
// across three network namespaces (a client host, a router host, a server
// host), flat, with the client behind NAT, with the server behind a
// firewall, and both (docs/network.md). The package's only Go code is the
// test that runs the script and checks the expected matrix.
package netlab
