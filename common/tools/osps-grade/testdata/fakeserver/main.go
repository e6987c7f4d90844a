// fakeserver is a program that is not one of ours: a one-process server
// written from docs/protocol.md alone, as a student might write theirs,
// with no shared memory and no worker. It answers on the session, as v1
// does, so the grader drives it as v1 and its protocol group passes.
// Built with -ldflags "-X main.flaw=broken", it breaks the protocol on
// purpose; with "-X main.flaw=startfail", serve logs a few lines and
// exits 1 before ready: the grader's test checks that the failures read
// well (the reason, at the end of stderr, is the one shown).
package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

var flaw = "" // "broken": wrong payload bytes and a wrong error code; "startfail": no start; "decoy...": decoy.go

const maxLine, maxBytes = 1024, 64 << 20

func main() {
	if len(os.Args) == 3 && os.Args[1] == "decoy-worker" {
		decoyWorker(os.Args[2])
		return
	}
	if len(os.Args) < 2 || os.Args[1] != "serve" {
		fmt.Fprintln(os.Stderr, "usage: fakeserver serve [--listen IP] [--port N] [other flags are ignored]")
		os.Exit(2)
	}
	if flaw == "startfail" {
		for i := range 5 {
			fmt.Fprintf(os.Stderr, "time=now level=INFO msg=\"start-up step %d\"\n", i)
		}
		fmt.Fprintln(os.Stderr, "serve: start workers: worker 0 did not start: signal: killed")
		os.Exit(1)
	}
	host, port, workers := "127.0.0.1", "2222", 4
	for i := 2; i+1 < len(os.Args); i++ {
		switch os.Args[i] {
		case "--listen":
			host = os.Args[i+1]
		case "--port":
			port = os.Args[i+1]
		case "--workers":
			workers, _ = strconv.Atoi(os.Args[i+1])
		}
	}
	if strings.HasPrefix(flaw, "decoy") {
		if err := decoyWorkers(workers); err != nil {
			fmt.Fprintln(os.Stderr, "serve:", err)
			os.Exit(1)
		}
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(host, port))
	if err != nil {
		fmt.Fprintln(os.Stderr, "serve:", err)
		os.Exit(1)
	}
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, os.Interrupt)
	go func() { <-stop; os.Exit(0) }() // SIGTERM: exit 0, as docs/protocol.md asks
	fmt.Println("ready", ln.Addr())
	served := 0
	for {
		c, err := ln.Accept()
		if err != nil {
			os.Exit(1)
		}
		go session(c, &served)
	}
}

func session(c net.Conn, served *int) {
	defer c.Close()
	r := bufio.NewReaderSize(c, 4096)
	w := bufio.NewWriter(c)
	refused := 0 // lines in a row that were not requests
	for {
		_ = c.SetReadDeadline(time.Now().Add(time.Minute))
		line, err := readLine(r)
		if errors.Is(err, errTooLong) {
			fmt.Fprintf(w, "ERR line-too-long a line may hold at most %d bytes\n", maxLine)
			_ = w.Flush()
			_ = c.(*net.TCPConn).CloseWrite()
			_ = c.SetReadDeadline(time.Now().Add(time.Second))
			_, _ = io.Copy(io.Discard, io.LimitReader(c, 1<<20)) // a lingering close
			return
		}
		if err != nil && line == "" {
			return
		}
		if !answer(w, line, served, &refused) {
			_ = w.Flush()
			return
		}
		if w.Flush() != nil || err != nil {
			return
		}
	}
}

var errTooLong = errors.New("line too long")

func readLine(r *bufio.Reader) (string, error) {
	var b []byte
	for {
		c, err := r.ReadByte()
		if err != nil {
			return string(b), err
		}
		if c == '\n' {
			return strings.TrimSuffix(string(b), "\r"), nil
		}
		if len(b) == maxLine {
			return "", errTooLong
		}
		b = append(b, c)
	}
}

func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e {
			return '?'
		}
		return r
	}, s)
}

// answer writes the answer to one line; false ends the session.
func answer(w *bufio.Writer, line string, served, refused *int) bool {
	f := strings.FieldsFunc(line, func(r rune) bool { return r == ' ' })
	if len(f) == 0 {
		return refuse(w, refused, "ERR bad-request empty request line")
	}
	switch f[0] {
	case "QUIT":
		fmt.Fprintln(w, "BYE")
		return false
	case "STATS":
		s := fmt.Sprintf("worker=0 pid=%d state=idle served=%d restarts=0\n", os.Getpid(), *served)
		fmt.Fprintf(w, "OK %d\n%s", len(s), s)
	case "requetetype1":
		decoyPing()
		if len(f) != 1 {
			return refuse(w, refused, "ERR bad-request requetetype1 takes no argument")
		}
		*served++
		s := fmt.Sprintf("worker=0 pid=%d served=%d\n", os.Getpid(), *served)
		fmt.Fprintf(w, "OK %d\n%s", len(s), s)
	case "requetetype2":
		n := uint64(4096)
		if len(f) > 2 {
			return refuse(w, refused, "ERR bad-request requetetype2 takes one argument <n>")
		}
		if len(f) == 2 {
			if strings.Trim(f[1], "0123456789") != "" {
				return refuse(w, refused, "ERR bad-request n must be a non-negative decimal integer, got %q", printable(f[1]))
			}
			v, err := strconv.ParseUint(f[1], 10, 64)
			if err != nil || v > maxBytes {
				return refuse(w, refused, "ERR too-large n=%s is over the limit of %d bytes", printable(f[1]), maxBytes)
			}
			n = v
		}
		*served++
		fmt.Fprintf(w, "OK %d\n", n)
		buf := make([]byte, 64<<10)
		for i := uint64(0); i < n; {
			k := min(uint64(len(buf)), n-i)
			for j := range k {
				buf[j] = byte(uint32((i+j)*2654435761) >> 24)
				if flaw == "broken" && i+j == 1000 {
					buf[j]++
				}
			}
			if _, err := w.Write(buf[:k]); err != nil {
				return false
			}
			i += k
		}
	default:
		code := "unknown-type"
		if flaw == "broken" {
			code = "bad-request"
		}
		return refuse(w, refused, "ERR %s unknown request type %q", code, printable(f[0]))
	}
	*refused = 0
	return true
}

// refuse answers a line that is not a request; the 8th in a row ends
// with ": closing" and ends the session (docs/protocol.md, "The session").
func refuse(w *bufio.Writer, refused *int, format string, args ...any) bool {
	*refused++
	fmt.Fprintf(w, format, args...)
	if *refused >= 8 {
		fmt.Fprintln(w, ": closing")
		return false
	}
	fmt.Fprintln(w)
	return true
}
