// floor_test.go checks that the floor server speaks v1's wire format as
// a client sees it (so v1's client, and the load generator, can drive
// it), and that it stops cleanly.

package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"osps/common/client"
	"osps/common/wire"
)

// startFloor runs a floor server in this process on 127.0.0.1:0. It
// stops when the test ends; stop stops it earlier and waits.
func startFloor(t *testing.T) (addr string, stop func()) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := newFloor(ln, wire.DefaultMaxBytes, time.Minute, slog.New(slog.NewTextHandler(io.Discard, nil)))
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { f.serve(ctx) })
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); wg.Wait() }) }
	t.Cleanup(stop)
	return ln.Addr().String(), stop
}

func dial(t *testing.T, addr string) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(20 * time.Second))
	return c, bufio.NewReader(c)
}

func line(t *testing.T, r *bufio.Reader) string {
	t.Helper()
	l, err := r.ReadString('\n')
	if err != nil {
		t.Fatalf("read line (got %q): %v", l, err)
	}
	return strings.TrimSuffix(l, "\n")
}

// payload reads "OK <n>" and n bytes.
func payload(t *testing.T, r *bufio.Reader) []byte {
	t.Helper()
	h := line(t, r)
	var n int
	if _, err := fmt.Sscanf(h, "OK %d", &n); err != nil {
		t.Fatalf("expected OK <n>, got %q", h)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		t.Fatalf("payload of %d bytes: %v", n, err)
	}
	return b
}

func TestFloorSpeaksV1Wire(t *testing.T) {
	addr, _ := startFloor(t)
	c, r := dial(t, addr)
	// Several lines at once: each is answered in order, as on a v1 session.
	if _, err := io.WriteString(c, "requetetype1\r\nrequetetype2 100000\nrequetetype2\nrequetetype2 67108865\nbogus x\n\nrequetetype2 -1\nSTATS\nQUIT\n"); err != nil {
		t.Fatal(err)
	}
	if got := string(payload(t, r)); !regexp.MustCompile(`^worker=0 pid=\d+ served=1\n$`).MatchString(got) {
		t.Errorf("requetetype1 answered %q", got)
	}
	if err := wire.CheckPattern(payload(t, r), 0); err != nil {
		t.Errorf("requetetype2 100000: %v", err)
	}
	if p := payload(t, r); len(p) != wire.DefaultType2Bytes || wire.CheckPattern(p, 0) != nil {
		t.Errorf("bare requetetype2: %d bytes", len(p))
	}
	for _, code := range []string{wire.CodeTooLarge, wire.CodeUnknownType, wire.CodeBadRequest, wire.CodeBadRequest} {
		if l := line(t, r); !strings.HasPrefix(l, "ERR "+code+" ") {
			t.Errorf("got %q, want ERR %s", l, code)
		}
	}
	if got := string(payload(t, r)); !regexp.MustCompile(`^worker=0 pid=\d+ state=idle served=3 restarts=0\n$`).MatchString(got) {
		t.Errorf("STATS answered %q", got)
	}
	if l := line(t, r); l != wire.BYE {
		t.Errorf("QUIT answered %q", l)
	}
	if b, err := r.ReadByte(); err != io.EOF {
		t.Errorf("after BYE: %q, %v; want end of file", b, err)
	}
}

func TestFloorLineTooLong(t *testing.T) {
	addr, _ := startFloor(t)
	c, r := dial(t, addr)
	go func() { _, _ = io.WriteString(c, strings.Repeat("a", 5000)+"\n") }()
	if l := line(t, r); !strings.HasPrefix(l, "ERR "+wire.CodeLineTooLong+" ") {
		t.Errorf("a 5000-byte line answered %q", l)
	}
	if _, err := r.ReadByte(); err != io.EOF {
		t.Errorf("after line-too-long: %v, want end of file", err)
	}
}

func TestFloorLastLineWithoutLF(t *testing.T) {
	addr, _ := startFloor(t)
	c, r := dial(t, addr)
	_, _ = io.WriteString(c, "requetetype2 10")
	_ = c.(*net.TCPConn).CloseWrite()
	if p := payload(t, r); wire.CheckPattern(p, 0) != nil || len(p) != 10 {
		t.Errorf("last line without LF: %q", p)
	}
	if _, err := r.ReadByte(); err != io.EOF {
		t.Errorf("then: %v, want end of file", err)
	}
}

func TestFloorStopsAndClosesSessions(t *testing.T) {
	addr, stop := startFloor(t)
	_, r := dial(t, addr)
	c2, r2 := dial(t, addr)
	_, _ = io.WriteString(c2, "requetetype1\n")
	payload(t, r2) // the session is open and served
	stop()         // a hang here is the failure
	for i, rr := range []*bufio.Reader{r, r2} {
		if _, err := rr.ReadByte(); err != io.EOF {
			t.Errorf("session %d after stop: %v, want end of file", i, err)
		}
	}
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c.Close()
		t.Error("the floor still accepts after stop")
	}
}

// The load generator drives the floor with v1's client code (its Do
// reads the answer on the session).
func TestFloorUnderLoad(t *testing.T) {
	addr, _ := startFloor(t)
	mix, err := client.ParseMix("requetetype1:2,requetetype2 70000:1,requetetype2 99999999999:1")
	if err != nil {
		t.Fatal(err)
	}
	v := client.Variant{Name: "floor", Do: func(_ context.Context, c *client.Client, line string, r wire.Reply) (client.Result, error) {
		return client.ReadResult(c.R, line, r)
	}}
	s, err := client.RunLoad(context.Background(), &client.Client{Server: addr, Timeout: 5 * time.Second, V: v},
		client.Load{Clients: 4, Requests: 25, Mix: mix, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	if s.Requests != 100 || s.OK+s.Errors != 100 || s.Errors != s.ByCode[wire.CodeTooLarge] || s.Errors == 0 || s.OK == 0 {
		t.Errorf("100 requests: ok %d, errors %v", s.OK, s.ByCode)
	}
}
