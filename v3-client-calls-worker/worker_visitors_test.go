// Strangers at a worker's door never push out the client that holds its
// ticket: the visitors table's rule in process, and 256 silent
// connections plus wrong-ticket connections kept open against the real
// binary, while an honest client is served.

package main

import (
	"fmt"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"osps/common/tools/conformance"
	"osps/common/wire"
)

// TestVisitorsDropOldestStranger: a full table drops its oldest stranger,
// never the visitor that claimed the ticket.
func TestVisitorsDropOldestStranger(t *testing.T) {
	var vs visitors
	var all []*visitor
	for range maxConns {
		a, b := net.Pipe()
		t.Cleanup(func() { a.Close(); b.Close() })
		v, dropped := vs.admit(a)
		if dropped != "" {
			t.Fatalf("table not full yet, but %s was dropped", dropped)
		}
		all = append(all, v)
	}
	if !vs.hold(all[0]) {
		t.Fatal("hold: the first visitor is not in the table")
	}
	a, b := net.Pipe()
	t.Cleanup(func() { a.Close(); b.Close() })
	if _, dropped := vs.admit(a); dropped == "" {
		t.Fatal("full table: nobody dropped")
	}
	if vs.len() != maxConns {
		t.Errorf("%d open after a drop, want %d", vs.len(), maxConns)
	}
	if _, err := all[1].Conn.Write([]byte("x")); err == nil {
		t.Errorf("the oldest stranger's connection is still open")
	}
	if vs.hold(all[1]) {
		t.Errorf("hold: a dropped visitor can still hold the ticket")
	}
	vs.leave(all[0])
	vs.leave(all[0]) // twice: nothing
	if vs.len() != maxConns-1 {
		t.Errorf("%d open after the holder left, want %d", vs.len(), maxConns-1)
	}
}

// TestStrangersDoNotPushOut: 256 connections that say nothing and 32 that
// present a wrong ticket and stay open, all on the only worker's port;
// an honest client is still served, every time.
func TestStrangersDoNotPushOut(t *testing.T) {
	srv := conformance.Start(t, bin, "--workers", "1")
	s := v3.Open(t, srv.Addr)
	g := askGoto(t, s, "requetetype1")
	if o := s.FollowGoto(g, "HELLO "+g.Ticket+"\nrequetetype1\n", "requetetype1"); o.Err != nil || o.Code != "" {
		t.Fatalf("first request: %v", o)
	}
	var strangers []net.Conn
	t.Cleanup(func() {
		for _, c := range strangers {
			c.Close()
		}
	})
	for i := range 256 + 32 {
		c, err := net.Dial("tcp", g.Addr())
		if err != nil {
			t.Fatalf("stranger %d: %v", i, err)
		}
		strangers = append(strangers, c)
		if i >= 256 {
			if _, err := c.Write([]byte("HELLO " + wire.NewTicket() + "\n")); err != nil {
				t.Fatalf("stranger %d: %v", i, err)
			}
		}
	}
	for i := range 10 {
		o := v3.Do(s, "requetetype2 1000")
		if o.Err != nil || o.Code != "" || o.N != 1000 {
			t.Fatalf("honest request %d among 288 strangers: got %v, want OK 1000", i, o)
		}
	}
}

// BenchmarkStrangers measures what strangers cost an honest client: one
// worker, strangers opening silent connections to its port at a given
// rate (each kept open, at most 256 at a time on the strangers' side),
// and one honest session doing requetetype1 meanwhile. It reports the
// strangers' real rate, the honest requests that failed, and the median
// and slowest time of those served.
func BenchmarkStrangers(b *testing.B) {
	for _, rate := range []int{0, 1000, 3000, 10000, 30000} {
		b.Run(fmt.Sprintf("rate=%d", rate), func(b *testing.B) { benchStrangers(b, rate) })
	}
}

func benchStrangers(b *testing.B, rate int) {
	srv := conformance.Start(b, bin, "--workers", "1")
	s := v3.Open(b, srv.Addr)
	g := askGoto(b, s, "requetetype1")
	if o := s.FollowGoto(g, "HELLO "+g.Ticket+"\nrequetetype1\n", "requetetype1"); o.Err != nil || o.Code != "" {
		b.Fatalf("first request: %v", o)
	}
	stop := make(chan struct{})
	var dialed atomic.Int64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		strangers(g.Addr(), rate, stop, &dialed)
	}()
	var took []time.Duration
	failed := 0
	start := time.Now()
	b.ResetTimer()
	for range b.N {
		t0 := time.Now()
		if o := v3.Do(s, "requetetype1"); o.Err != nil || o.Code != "" {
			failed++ // pushed out: its ticket waits until it expires
			continue
		}
		took = append(took, time.Since(t0))
	}
	b.StopTimer()
	close(stop)
	wg.Wait()
	b.ReportMetric(float64(failed), "failed")
	if len(took) == 0 {
		return
	}
	slices.Sort(took)
	b.ReportMetric(float64(dialed.Load())/time.Since(start).Seconds(), "strangers/s")
	b.ReportMetric(float64(took[len(took)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(took[len(took)-1].Microseconds())/1000, "max-ms")
}

// strangers dials addr about rate times per second until stop, keeping
// the last 256 connections open, silent; it counts the dials in n.
func strangers(addr string, rate int, stop <-chan struct{}, n *atomic.Int64) {
	var open []net.Conn
	defer func() {
		for _, c := range open {
			c.Close()
		}
	}()
	if rate == 0 {
		<-stop
		return
	}
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	due := 0.0
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
		}
		for due += float64(rate) / 1000; due >= 1; due-- {
			c, err := net.DialTimeout("tcp", addr, time.Second)
			if err != nil {
				continue
			}
			n.Add(1)
			if open = append(open, c); len(open) > 256 {
				open[0].Close()
				open = open[1:]
			}
		}
	}
}
