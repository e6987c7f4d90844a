// hangserver is a program that stalls whoever runs it, on purpose: it
// ignores every argument (serve --help included) and SIGTERM, says
// "ready" on a free loopback port, accepts connections and never
// answers, and leaves a child behind that holds its standard output.
// The grader's tests check that it costs the grader seconds, not
// minutes, and that nothing of it is left afterwards.
package main

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "linger" {
		time.Sleep(time.Hour) // the child: holds stdout and stderr open
		return
	}
	signal.Ignore(syscall.SIGTERM, syscall.SIGINT)
	child := exec.Command(os.Args[0], "linger")
	child.Stdout, child.Stderr = os.Stdout, os.Stderr
	_ = child.Start()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, "hangserver:", err)
		os.Exit(1)
	}
	fmt.Println("ready", ln.Addr())
	var held []net.Conn
	for {
		c, err := ln.Accept()
		if err != nil {
			time.Sleep(time.Hour)
		}
		held = append(held, c) // never read, never answered, never closed
	}
}
