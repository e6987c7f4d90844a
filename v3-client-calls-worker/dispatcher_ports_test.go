// Tests of the workers' port rule (dispatcher_ports.go), in process.

package main

import (
	"net"
	"testing"
)

// TestListenAbove: the worker's port rule, in process.
func TestListenAbove(t *testing.T) {
	for _, dp := range []int{1024, 40000, 65500} { // 65500: above most ephemeral ports, the walk upwards
		ln, err := listen("127.0.0.1", dp, true, 3)
		if err != nil {
			t.Fatalf("any port above %d: %v", dp, err)
		}
		if p := ln.Addr().(*net.TCPAddr).Port; p <= dp {
			t.Errorf("any port above %d: got %d", dp, p)
		}
		ln.Close()
	}
	if _, err := listen("127.0.0.1", 65534, false, 3); err == nil {
		t.Errorf("dispatcher port 65534 + 1 + 3 is not a port: want an error")
	}
	// Fixed ports: dispatcher port + 1 + id. Find a base whose slot 2 is free.
	for try := 0; ; try++ {
		base, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		dp := base.Addr().(*net.TCPAddr).Port
		ln, err := listen("127.0.0.1", dp, false, 2)
		base.Close()
		if err != nil {
			if try < 100 {
				continue // that port happened to be taken (other tests' connections use ephemeral ports next to it)
			}
			t.Fatal(err)
		}
		if p := ln.Addr().(*net.TCPAddr).Port; p != dp+3 {
			t.Errorf("worker 2 of a dispatcher on %d listens on %d, want %d", dp, p, dp+3)
		}
		ln.Close()
		return
	}
}
