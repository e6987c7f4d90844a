// measure.go holds the fault benchmarks: how long the lab takes to heal.
// They are benchmarks, not tests (go test -bench Respawn ./v1-relay/):
// figures are reported, never asserted.

package conformance

import (
	"slices"
	"syscall"
	"testing"
	"time"
)

// BenchRespawn measures, with --watchdog, the time from kill -9 of the
// only worker to the first request served by its replacement. It reports
// the median and the worst of b.N kills. Each kill waits until the
// worker has lived longer than proc.MinLife (1 s): quicker deaths in a row
// are the start-rate limit's business, and measure its back-off instead.
func BenchRespawn(b *testing.B, bin string, d Driver) {
	srv := Start(b, bin, "--workers", "1", "--watchdog", "--queue-timeout", "5s")
	s := d.Open(b, srv.Addr)
	var took []time.Duration
	for b.Loop() {
		time.Sleep(1100 * time.Millisecond)
		victim := Stats(b, srv.Addr)[0]
		t0 := time.Now()
		_ = syscall.Kill(victim.Pid, syscall.SIGKILL)
		for {
			o := d.Do(s, "requetetype1")
			if o.Code == "" && o.Err == nil && !slices.Contains(pidsIn(o.Payload), victim.Pid) {
				break
			}
			if time.Since(t0) > 10*time.Second {
				b.Fatalf("no request served 10s after kill -9: %v", o)
			}
		}
		took = append(took, time.Since(t0))
	}
	report(b, took, "kill-to-served")
}

// BenchOrphans measures the time from kill -9 of the dispatcher to the
// last of its 4 workers gone.
func BenchOrphans(b *testing.B, bin string, d Driver) {
	var took []time.Duration
	for b.Loop() {
		srv := Start(b, bin, "--workers", "4")
		workers := srv.Workers()
		t0 := time.Now()
		srv.Signal(syscall.SIGKILL)
		for len(intersect(GroupProcesses(srv.pgid), workers)) > 0 {
			if time.Since(t0) > 5*time.Second {
				b.Fatalf("workers %v still alive 5s after kill -9 of the dispatcher", workers)
			}
			time.Sleep(200 * time.Microsecond)
		}
		took = append(took, time.Since(t0))
		srv.Wait(time.Second)
	}
	report(b, took, "kill-to-last-worker-gone")
}

func report(b *testing.B, took []time.Duration, what string) {
	if len(took) == 0 {
		return
	}
	slices.Sort(took)
	b.ReportMetric(float64(took[len(took)/2].Microseconds())/1000, what+"-median-ms")
	b.ReportMetric(float64(took[len(took)-1].Microseconds())/1000, what+"-max-ms")
	b.ReportMetric(0, "ns/op")
}

// pidsIn returns the pid=N values of a requetetype1 payload.
func pidsIn(payload []byte) []int {
	m := pidRE.FindSubmatch(payload)
	if m == nil {
		return nil
	}
	n := 0
	for _, c := range m[1] {
		n = n*10 + int(c-'0')
	}
	return []int{n}
}

func intersect(a, b []int) []int {
	var out []int
	for _, x := range a {
		if slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}
