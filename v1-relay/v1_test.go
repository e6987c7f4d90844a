// The end-to-end tests of v1: the conformance suite against the real
// v1-relay binary, and v1's own checks.

package main

import (
	"os"
	"strings"
	"testing"

	"osps/common/tools/conformance"
)

var bin string

func TestMain(m *testing.M) {
	os.Exit(conformance.MainBuild(m, "osps/v1-relay", &bin))
}

func TestConformance(t *testing.T) {
	conformance.Run(t, bin, conformance.V1)
}

func TestFaults(t *testing.T) {
	conformance.RunFaults(t, bin, conformance.V1)
}

func BenchmarkRespawn(b *testing.B) { conformance.BenchRespawn(b, bin, conformance.V1) }

func BenchmarkOrphans(b *testing.B) { conformance.BenchOrphans(b, bin, conformance.V1) }

// TestBadFirstPong: a worker whose first pong breaks the protocol (here
// a chunk longer than its slot, --chaos lie=1) must cost the client an
// ERR line and nothing else: no OK <n> goes out before the pong is
// checked, since after OK only a close may tell (docs/protocol.md).
func TestBadFirstPong(t *testing.T) {
	srv := conformance.Start(t, bin, "--workers", "1", "--watchdog", "--chaos", "lie=1")
	s, err := conformance.PlainDial(t, srv.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, line := range []string{"requetetype1", "requetetype2 100000"} {
		if err := s.Send(line); err != nil {
			t.Fatal(err)
		}
		got, err := s.Line()
		if err != nil || !strings.HasPrefix(got, "ERR worker-failed ") {
			t.Fatalf("%s to a lying worker: got %q, %v; want ERR worker-failed and no OK before it", line, got, err)
		}
	}
	if err := s.Send("QUIT"); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Line(); err != nil || got != "BYE" {
		t.Fatalf("QUIT after the errors: got %q, %v; want BYE (the session goes on after an ERR)", got, err)
	}
}
