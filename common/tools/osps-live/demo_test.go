// The narrated runs as a shared machine sees them: two at once, each on
// its own PORT, each finds its own segment and workers; a taken port is
// refused with a free one to use instead.

package main

import (
	"net"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// Two demos started at once both succeed, each naming a segment of its
// own (found by its dispatcher's pid, not by what appeared meanwhile).
func TestTwoDemosAtOnce(t *testing.T) {
	type result struct {
		code        int
		out, errout string
	}
	var results [2]result
	// Two bases, each free with the 4 ports above it, 5 apart at least:
	// a port just freed may be handed out again.
	var ports []int
	for len(ports) < 2 {
		p, err := strconv.Atoi(freePortHint())
		if err != nil {
			t.Fatal("no free port")
		}
		if len(ports) == 0 || p > ports[0]+4 || p+4 < ports[0] {
			ports = append(ports, p)
		}
	}
	var wg sync.WaitGroup
	for i, v := range []string{"v1", "v3"} {
		port := strconv.Itoa(ports[i])
		wg.Go(func() {
			var out, errb strings.Builder
			code := run([]string{"demo", "--bin", binDir, "--port", port, v, "--workers", "2"}, &out, &errb)
			results[i] = result{code, out.String(), errb.String()}
		})
	}
	wg.Wait()
	segRE := regexp.MustCompile(`our segment: shmid (\d+), .* pid (\d+)`)
	var segs []string
	for i, r := range results {
		if r.code != 0 || !strings.Contains(r.out, "== done: every answer checked, nothing left behind") {
			t.Errorf("demo %d: exit %d\nstdout:\n%s\nstderr:\n%s", i, r.code, r.out, r.errout)
		}
		m := segRE.FindStringSubmatch(r.out)
		if m == nil {
			t.Errorf("demo %d does not name its segment:\n%s", i, r.out)
			continue
		}
		segs = append(segs, m[1])
		if pid, _ := strconv.Atoi(m[2]); pid > 0 {
			started = append(started, pid)
		}
	}
	if len(segs) == 2 && segs[0] == segs[1] {
		t.Errorf("both demos name segment %s", segs[0])
	}
}

// A taken port: exit 1 at once, with a port free now to use instead.
func TestDemoRefusesATakenPort(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	var out, errb strings.Builder
	code := run([]string{"demo", "--bin", binDir, "--port", port, "v1"}, &out, &errb)
	if code != 1 || !regexp.MustCompile(`port `+port+` on 127.0.0.1 is taken[\s\S]*PORT=\d+ \./run\.sh v1`).MatchString(errb.String()) {
		t.Errorf("demo on a taken port: exit %d, stderr:\n%s\nwant exit 1 and a PORT=N ./run.sh form with a free N", code, errb.String())
	}
}
