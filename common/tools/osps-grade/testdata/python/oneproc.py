#!/usr/bin/env python3
"""A one-process OSPS server, written from docs/protocol.md alone.

No worker, no shared-memory segment, no pipe: one process, one thread per
session (socketserver). It speaks the wire protocol as v1 does (the answer
comes on the session), so the grader's protocol group passes; what the
lab is about, the processes, it does not have, and the grader's structure
checks must say so. The grader's test (common/tools/osps-grade/python_test.go)
runs it as that negative control; docs/python.md shows how.

    python3 oneproc.py serve [--listen IP] [--port N]   (other flags are ignored)
"""

import os
import signal
import socket
import socketserver
import sys
import threading

MAX_LINE, MAX_BYTES, K = 1024, 64 << 20, 2654435761
MAX_REFUSED = 8                          # lines in a row that are not requests: the eighth closes
KNOWN = "requetetype1, requetetype2 [n], STATS, QUIT"
served = 0
lock = threading.Lock()


def pattern(offset, n):
    """Bytes offset..offset+n of the requetetype2 pattern (docs/protocol.md)."""
    return bytes((((offset + i) * K) & 0xFFFFFFFF) >> 24 for i in range(n))


def printable(b):
    return "".join(chr(c) if 0x20 <= c <= 0x7E else "?" for c in b)


def answer(line):
    """The reply to one request line, as bytes."""
    global served
    words = [w for w in line.split(b" ") if w]
    if not words:
        return b"ERR bad-request empty request line\n"
    if words == [b"STATS"]:
        body = f"worker=0 pid={os.getpid()} state=idle served={served} restarts=0 total={served}\n"
        return f"OK {len(body)}\n{body}".encode()
    if words[0] == b"requetetype1":
        if len(words) != 1:
            return b"ERR bad-request requetetype1 takes no argument\n"
        with lock:
            served += 1
            body = f"worker=0 pid={os.getpid()} served={served}\n"
        return f"OK {len(body)}\n{body}".encode()
    if words[0] == b"requetetype2":
        if len(words) > 2:
            return b"ERR bad-request requetetype2 takes one argument <n>\n"
        arg = words[1] if len(words) == 2 else b"4096"
        if not (arg.isdigit() and arg.isascii()):
            return f'ERR bad-request n must be a non-negative decimal integer, got "{printable(arg)}"\n'.encode()
        if int(arg) > MAX_BYTES:
            return f"ERR too-large n={printable(arg)} is over the limit of {MAX_BYTES} bytes\n".encode()
        return None                      # the caller streams the payload
    return f'ERR unknown-type unknown request type "{printable(words[0][:64])}"; known: {KNOWN}\n'.encode()


class Session(socketserver.StreamRequestHandler):
    timeout = 60                         # --idle-timeout's default

    def handle(self):
        refused = 0                      # lines in a row that were not requests
        while True:
            try:
                line = self.rfile.readline(MAX_LINE + 2)
            except OSError:
                return
            if not line:
                return
            body = line.rstrip(b"\n")
            if body.endswith(b"\r"):
                body = body[:-1]
            if len(body) > MAX_LINE or (not line.endswith(b"\n") and len(line) > MAX_LINE + 1):
                self.close_with(b"ERR line-too-long a line may hold at most 1024 bytes\n")
                return
            if body.split() == [b"QUIT"]:
                self.wfile.write(b"BYE\n")
                return
            reply = answer(body)
            if reply is not None and reply.startswith(b"ERR "):   # not a request
                refused += 1
                if refused == MAX_REFUSED:
                    self.close_with(reply[:-1] + f"; {refused} lines in a row that are not requests: closing\n".encode())
                    return
            else:
                refused = 0
            if reply is None:            # requetetype2 n: "OK n", then n bytes, 64 KiB at a time
                n = int(body.split()[1]) if len(body.split()) == 2 else 4096
                self.wfile.write(f"OK {n}\n".encode())
                for at in range(0, n, 65536):
                    self.wfile.write(pattern(at, min(65536, n - at)))
            else:
                self.wfile.write(reply)
            self.wfile.flush()

    def close_with(self, line):
        """A last line, then a lingering close (docs/protocol.md)."""
        self.wfile.write(line)
        self.wfile.flush()
        self.connection.shutdown(socket.SHUT_WR)
        self.connection.settimeout(1)
        try:
            got = 0
            while got < 1 << 20:
                data = self.connection.recv(65536)
                if not data:
                    break
                got += len(data)
        except OSError:
            pass


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


def main(argv):
    if argv[:1] in (["--help"], ["-h"], ["help"]):
        print("Usage: oneproc.py serve [--listen IP] [--port N]")
        return 0
    if argv[:1] != ["serve"]:
        print("Usage: oneproc.py serve [--listen IP] [--port N]", file=sys.stderr)
        return 2
    if "--help" in argv:
        print("Usage: oneproc.py serve [--listen IP] [--port N] (other flags are ignored)")
        return 0
    opts = dict(zip(argv[1::1], argv[2::1]))
    host, port = opts.get("--listen", "127.0.0.1"), int(opts.get("--port", "2222"))
    try:
        srv = Server((host, port), Session)
    except OSError as e:
        print(f"serve: {e}", file=sys.stderr)
        return 1
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))   # exit 0 on SIGTERM, as docs/protocol.md asks
    print(f"ready {host}:{srv.server_address[1]}", flush=True)
    srv.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
