#!/usr/bin/env python3
"""OSPS v1, the relay, in Python 3 with the standard library only.

The design of docs/v1-relay.md, written the way the course's notes were:
a dispatcher process pre-starts --workers worker processes with os.fork;
one System V shared-memory segment (shmget/shmat through ctypes) holds
one slot per worker; a ping pipe and a pong pipe join each worker to the
dispatcher; the request goes through the slot, and the dispatcher relays
the answer to the client, one slot-sized chunk at a time. The dispatcher
is one thread: one select loop (selectors) over the listening socket,
the client sockets, the pong pipes and the signal pipe. Every bound of
docs/protocol.md's Limits table is a field of a Session and a look at it
in that loop: the session caps, the idle clock, the min-rate rule on
what the client acknowledged, the lane of long answers.

It is the grader's positive control (./run.sh check v1 --bin THIS-FILE)
and the program docs/python.md walks through, by the DOC anchors of
its comments.

    python3 v1.py serve [flags]            the dispatcher and its workers
    python3 v1.py client [flags] REQUEST   one client session
"""

import argparse
import collections
import ctypes
import fcntl
import gc
import os
import random
import re
import resource
import select
import selectors
import signal
import socket
import struct
import sys
import time

MAX_LINE = 1024              # bytes of a request line before its LF
MAX_SLOTS = 256
MAX_REFUSED = 8              # lines in a row that are not requests: the eighth closes the session
KNOWN = "requetetype1, requetetype2 [n], STATS, QUIT"   # named by ERR unknown-type
GOODBYES = 16                # sessions pushed out and still being told so, at most
FLOOD = 1024                 # a peak of sessions this high, then gone: give the memory back
SIOCOUTQ = 0x5411            # ioctl: bytes in a socket's send queue not yet acknowledged (TIOCOUTQ)
K = 2654435761               # Knuth's multiplier: the requetetype2 pattern


# ---------------------------------------------------------------- logging

def log(level, msg, **kv):
    """One line on stderr, key=value as Go's slog prints it, in ONE write:
    the lines of the dispatcher and of its workers never mix."""
    words = [f"level={level}", f'msg="{msg}"'] + [f"{k}={v}" for k, v in kv.items()]
    os.write(2, (" ".join(words) + "\n").encode())


def duration(text):
    """A duration written as Go parses it: 500ms, 5s, 1m, 1m30s."""
    units = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}
    parts = re.findall(r"(\d+(?:\.\d*)?)(ns|us|µs|ms|s|m|h)", text)
    if text == "0":
        return 0.0
    if not parts or "".join(a + b for a, b in parts) != text:
        raise argparse.ArgumentTypeError(f"invalid duration {text!r}")
    return sum(float(a) * units[b] for a, b in parts)


# ---------------------------------------------------------------- the payload

# DOC: py-pattern: byte i of a requetetype2 answer is ((i*K) mod 2^32) >> 24.
# One byte at a time, Python makes 64 MiB in half a minute; so we compute
# 65536 bytes at once with ONE big integer: lane j (5 bytes wide) holds
# base + (j*K mod 2^32), which fits in 33 bits, so no carry crosses a lane;
# byte 3 of each lane is the pattern byte.
PIECE = 65536
_STEPS = int.from_bytes(b"".join(((j * K) & 0xFFFFFFFF).to_bytes(5, "little") for j in range(PIECE)), "little")
_ONES = int.from_bytes((b"\x01" + bytes(4)) * PIECE, "little")     # 1 in every lane


def pattern(offset, n):
    """The n bytes of the pattern from byte offset on (n <= PIECE)."""
    base = (offset * K) & 0xFFFFFFFF
    lanes = base * _ONES + _STEPS                 # base + (j*K mod 2^32) in lane j
    return lanes.to_bytes(5 * PIECE, "little")[3::5][:n]


# ---------------------------------------------------------------- the segment

libc = ctypes.CDLL(None, use_errno=True)
libc.shmget.argtypes = [ctypes.c_int, ctypes.c_size_t, ctypes.c_int]
libc.shmat.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_int]
libc.shmat.restype = ctypes.c_void_p
libc.shmdt.argtypes = [ctypes.c_void_p]
libc.shmctl.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_void_p]
libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
libc.malloc_trim.argtypes = [ctypes.c_size_t]
IPC_PRIVATE, IPC_CREAT, IPC_RMID = 0, 0o1000, 0
PR_SET_PDEATHSIG = 1

# The layout of docs/shm.md, so that ./run.sh top v1 --shmid N can read
# this server too: a 64-byte header, then one slot per worker.
HEADER = 64
FIELDS = 2048                # a slot's fields, before its data area
STATE, PID, BEAT, SERVED, RESTARTS, TOTAL = 0, 8, 16, 24, 32, 40
REQLEN, REQUEST, REPLYN, ERRLEN, ERR, DATA = 128, 136, 1160, 1168, 1176, 2048
STARTING, IDLE, BUSY, DEAD = 1, 2, 3, 4
STATE_NAMES = {STARTING: "starting", IDLE: "idle", BUSY: "busy", DEAD: "dead"}


class Segment:
    """The System V segment: created once by the dispatcher, inherited by
    every worker through fork (an attachment survives fork)."""

    def __init__(self, nslots, datasize):
        self.datasize = datasize
        self.stride = (FIELDS + datasize + 63) // 64 * 64
        size = HEADER + nslots * self.stride
        self.id = libc.shmget(IPC_PRIVATE, size, IPC_CREAT | 0o600)
        if self.id < 0:
            raise OSError(ctypes.get_errno(), "shmget: " + os.strerror(ctypes.get_errno()))
        self.addr = libc.shmat(self.id, None, 0)
        # DOC: py-shm-rmid-at-once: mark the segment for removal at once.
        # It lives on while someone is attached (the dispatcher, the workers),
        # and the kernel frees it when the last one goes, however it goes.
        libc.shmctl(self.id, IPC_RMID, None)
        if self.addr in (None, ctypes.c_void_p(-1).value):
            raise OSError(ctypes.get_errno(), "shmat: " + os.strerror(ctypes.get_errno()))
        self.mem = memoryview((ctypes.c_char * size).from_address(self.addr)).cast("B")
        self.mem[0:8] = b"OSPSSHM1"
        struct.pack_into("=4Q", self.mem, 8, 1, nslots, datasize, self.stride)

    def get(self, slot, field):
        return struct.unpack_from("=q", self.mem, HEADER + slot * self.stride + field)[0]

    def put(self, slot, field, value):
        # One aligned 8-byte store: a reader (STATS, the watchdog) never sees half of it.
        struct.pack_into("=q", self.mem, HEADER + slot * self.stride + field, value)

    def area(self, slot, field, size):
        start = HEADER + slot * self.stride + field
        return self.mem[start:start + size]

    def detach(self):
        self.mem.release()
        libc.shmdt(self.addr)


# ---------------------------------------------------------------- pipe records

# DOC: py-record: every ping and pong is 16 bytes, op, seq, arg, as in
# docs/pipes.md, written with ONE os.write. Not a file object from
# os.fdopen: its buffer would keep the record in this process
# ("écriture bufferisée dans les tubes").
RECORD = struct.Struct("=IIQ")
PING_REQUEST, PING_NEXT, PING_ABORT = 1, 2, 3
PONG_READY, PONG_CHUNK, PONG_DONE = 101, 102, 103


def send(fd, op, seq, arg=0):
    os.write(fd, RECORD.pack(op, seq, arg))   # 16 bytes < PIPE_BUF: atomic


def recv(fd):
    """The next record, or None at end of file (every writer is gone)."""
    data = os.read(fd, RECORD.size)
    while data and len(data) < RECORD.size:   # never happens with one-write records
        more = os.read(fd, RECORD.size - len(data))
        if not more:
            return None
        data += more
    return RECORD.unpack(data) if data else None


# ---------------------------------------------------------------- the worker

PING_FD, PONG_FD = 3, 4


def worker_main(cfg, seg, wid, ping_r, pong_w, parent):
    """The child after fork: it never returns (os._exit)."""
    # DOC: py-worker-signals: the dispatcher's signal handling is not ours.
    signal.set_wakeup_fd(-1)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)   # Ctrl-C: the dispatcher drains, then closes our ping pipe
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:                      # the dispatcher died before prctl
        os._exit(0)
    # DOC: py-worker-fds: fork copied EVERY descriptor of the dispatcher:
    # the listening socket, the clients' sockets, the other workers' pipes.
    # Keep only ours, as fds 3 and 4, and close the rest; a copy kept here
    # would hold a client's connection open, or hide a death (no EOF).
    if pong_w == PING_FD:
        pong_w = os.dup(pong_w)
    if ping_r != PING_FD:
        os.dup2(ping_r, PING_FD)
    if pong_w != PONG_FD:
        os.dup2(pong_w, PONG_FD)
    os.closerange(PONG_FD + 1, resource.getrlimit(resource.RLIMIT_NOFILE)[0])

    restarts = seg.get(wid, RESTARTS)
    chaos = random.Random(f"{cfg.chaos.get('seed', 0)}/{wid}/{restarts}")
    every = cfg.heartbeat
    if cfg.watchdog:
        every = min(every, cfg.hang_timeout / 4)

    def beat():
        seg.put(wid, BEAT, time.time_ns())

    def next_ping():
        # DOC: py-worker-wait: block on the ping pipe, but wake every
        # heartbeat to show the watchdog we are alive.
        while True:
            beat()
            ready, _, _ = select_read(PING_FD, every)
            if ready:
                return recv(PING_FD)

    send(PONG_FD, PONG_READY, 0, os.getpid())
    if cfg.trace:
        log("INFO", f"v1 step 0 worker#{wid}: attached segment {seg.id}, slot {wid}; waiting for pings")
    while True:
        rec = next_ping()
        if rec is None:                 # the dispatcher closed our ping pipe, or died
            os._exit(0)
        op, seq, _ = rec
        if op != PING_REQUEST:          # a stray PingAbort for a request already over
            continue
        # --chaos: die, hang or lie on purpose, for the fault checks.
        if chaos.random() < cfg.chaos.get("crash", 0):
            os.kill(os.getpid(), signal.SIGKILL)
        if chaos.random() < cfg.chaos.get("hang", 0):
            while True:                 # no heartbeat any more: the watchdog's business
                time.sleep(3600)
        lie = chaos.random() < cfg.chaos.get("lie", 0)
        serve_request(cfg, seg, wid, seq, lie, beat, next_ping)


def select_read(fd, timeout):
    return select.select([fd], [], [], timeout)


def serve_request(cfg, seg, wid, seq, lie, beat, next_ping):
    """Step 3 of docs/v1-relay.md: read the request in the slot, and put
    the answer there, chunk by chunk, with one pong per chunk."""
    # The worker trusts nothing it did not check itself: the slot is
    # writable by any process of the same user.
    line = bytes(seg.area(wid, REQUEST, min(max(seg.get(wid, REQLEN), 0), MAX_LINE)))
    words = line.split()
    text = None
    if words == [b"requetetype1"]:
        n = None
    elif (len(words) == 2 and words[0] == b"requetetype2" and words[1].isdigit()
          and int(words[1]) <= cfg.max_bytes):
        n = int(words[1])
    elif words == [b"requetetype2"]:
        n = 4096
    else:                               # cannot happen: the dispatcher checked it
        err = b"ERR bad-request the worker could not parse the request"
        seg.area(wid, ERR, len(err))[:] = err
        seg.put(wid, ERRLEN, len(err))
        seg.put(wid, REPLYN, -1)
        send(PONG_FD, PONG_CHUNK, seq, 0)
        return
    seg.put(wid, SERVED, seg.get(wid, SERVED) + 1)     # only this process writes them
    seg.put(wid, TOTAL, seg.get(wid, TOTAL) + 1)
    if n is None:
        text = f"worker={wid} pid={os.getpid()} served={seg.get(wid, SERVED)}\n".encode()
        n = len(text)
    seg.put(wid, REPLYN, n)
    data = seg.area(wid, DATA, seg.datasize)
    sent = 0
    while True:
        k = min(seg.datasize, n - sent)
        if text is not None:
            data[:k] = text[sent:sent + k]
        else:
            for at in range(0, k, PIECE):
                m = min(PIECE, k - at)
                data[at:at + m] = pattern(sent + at, m)
        beat()
        send(PONG_FD, PONG_CHUNK, seq, seg.datasize + 1 if lie else k)
        sent += k
        if sent >= n:
            return
        rec = next_ping()               # the dispatcher relays; the data area is its own until PingNext
        if rec is None:
            os._exit(0)
        if rec[0] == PING_ABORT:        # the client is gone: drop the rest
            send(PONG_FD, PONG_DONE, seq, 1)
            return


# ---------------------------------------------------------------- the dispatcher

class Worker:
    """The dispatcher's handle on one slot and the process that holds it."""

    def __init__(self, wid):
        self.id, self.pid = wid, 0
        self.ping = self.pong = -1       # our ends: the ping's write end, the pong's read end
        self.seq = 0
        self.session = None              # the session it serves, None when idle or given up on
        self.n = self.sent = 0           # the answer's size, and bytes relayed so far
        self.first = True                # no pong yet for this request
        self.holding = False             # it waits for our PingNext (a chunk is in its slot)
        self.started = 0.0
        self.kill_at = None              # SIGKILL then, if SIGTERM was not enough
        self.respawn_at = None
        self.backoff = 0.0
        self.restarted, self.old_pid = False, 0
        self.long = False                # it serves a long answer (it holds a place in the long lane)


class Session:
    """One client connection."""

    def __init__(self, sock, peer):
        self.sock, self.peer = sock, peer
        self.inbuf = bytearray()
        self.out = collections.deque()   # memoryviews still to send
        self.state = "read"              # read, queued, busy, quit, linger, closed
        self.deadline = None
        self.idle_since = time.monotonic()   # the end of its last request (or its start)
        self.line_since = None           # the first byte of the line being read
        self.refused = 0                 # lines in a row that were not requests
        self.eof = False
        self.n = 0
        self.long = False                # its request asks for a long answer
        self.line = b""
        self.worker = None
        self.chunk = 0                   # bytes of the chunk being sent
        # The min-rate rule of the answer being written (Dispatcher.judge):
        self.credit = 0.0                # bytes the client may still fall behind
        self.judged = 0.0                # when the credit was last brought up to date
        self.written = 0                 # bytes of this answer handed to the kernel
        self.taken = 0                   # of those, acknowledged by the client at the last look
        self.events = 0
        self.discarded = 0
        self.linger_max = 1 << 20        # what a lingering close still reads, at most,
        self.linger_for = 1.0            # and for how many seconds


class Dispatcher:
    def __init__(self, cfg):
        self.cfg = cfg
        self.sel = selectors.DefaultSelector()
        self.sessions = set()            # open sessions: what --max-sessions counts
        self.leaving = set()             # sessions pushed out, told why, closing
        self.peers = collections.Counter()   # open sessions per IP address
        self.peak = 0                    # the most sessions open at once, since the last flood
        self.workers = []
        self.idle = collections.deque()
        self.waiting = collections.deque()
        # One window's worth of bytes at --min-rate: the min-rate rule's
        # bucket, and the line between a short answer and a long one.
        self.quota = max(cfg.min_rate * cfg.rate_window, 1)
        self.long_lane = cfg.long_answers or (1 if cfg.workers < 2 else cfg.workers - max(cfg.workers // 4, 1))
        self.long_busy = 0               # long answers in flight
        self.draining = False
        self.grace_end = None
        self.next_watch = None

    # ------------------------------------------------------------ start-up

    def start(self):
        cfg = self.cfg
        # DOC: py-listen-first: a port already taken fails before any worker exists.
        self.ln = socket.socket(socket.AF_INET6 if ":" in cfg.listen else socket.AF_INET)
        self.ln.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.ln.bind((cfg.listen, cfg.port))
        self.ln.listen(4096)
        self.ln.setblocking(False)
        self.seg = Segment(cfg.workers, cfg.slot_size)
        log("INFO", "segment created and marked for removal", shmid=self.seg.id,
            bytes=HEADER + cfg.workers * self.seg.stride)
        # DOC: py-signals: a Python handler runs in the main thread only, between
        # two bytecodes, and select() would just resume after it (PEP 475).
        # set_wakeup_fd makes the C handler write the signal's number into a
        # pipe that select watches: a signal becomes one more event of the loop.
        self.sig_r, sig_w = os.pipe()
        os.set_blocking(sig_w, False)
        os.set_blocking(self.sig_r, False)
        signal.set_wakeup_fd(sig_w, warn_on_full_buffer=False)
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGCHLD):
            signal.signal(sig, lambda *_: None)    # the work is done in the loop
        self.sel.register(self.sig_r, selectors.EVENT_READ, "signal")
        self.workers = [Worker(i) for i in range(cfg.workers)]
        for w in self.workers:
            self.spawn(w)
        # Each worker says "pong ready" within 5 s, or serve gives up.
        deadline = time.monotonic() + 5
        for w in self.workers:
            ready, _, _ = select_read(w.pong, max(0, deadline - time.monotonic()))
            rec = recv(w.pong) if ready else None
            if rec is None or rec[0] != PONG_READY:
                self.kill_all()
                raise RuntimeError(f"start workers: worker {w.id} did not start")
            self.ready(w)
        self.sel.register(self.ln, selectors.EVENT_READ, "listen")
        log("INFO", "listening", addr=f"{cfg.listen}:{self.ln.getsockname()[1]}",
            workers=cfg.workers, shmid=self.seg.id, max_sessions=cfg.max_sessions)
        host = f"[{cfg.listen}]" if ":" in cfg.listen else cfg.listen
        print(f"ready {host}:{self.ln.getsockname()[1]}", flush=True)

    def spawn(self, w):
        """Start the worker of slot w.id: two pipes, then fork."""
        # DOC: py-pipes-fork: os.pipe's ends are not inherited by an exec'd
        # program (O_CLOEXEC), but fork copies them all: the child keeps
        # its two ends, the parent closes its copies of them at once.
        fds = []
        try:
            fds += os.pipe()
            fds += os.pipe()
            ping_r, ping_w, pong_r, pong_w = fds
            self.seg.put(w.id, STATE, STARTING)
            self.seg.put(w.id, BEAT, time.time_ns())
            parent = os.getpid()
            pid = os.fork()
        except OSError:                  # EMFILE, EAGAIN: no worker this time
            for fd in fds:
                os.close(fd)
            raise
        if pid == 0:
            try:
                worker_main(self.cfg, self.seg, w.id, ping_r, pong_w, parent)
            finally:
                os._exit(1)
        os.close(ping_r)                 # DOC: py-close-child-ends: or EOF never comes
        os.close(pong_w)
        w.pid, w.ping, w.pong, w.started = pid, ping_w, pong_r, time.monotonic()
        w.seq, w.session, w.kill_at, w.respawn_at = 0, None, None, None
        self.seg.put(w.id, PID, pid)
        if self.cfg.trace:
            log("INFO", f"v1 step 0 dispatcher: worker#{w.id} started, pid {pid}, slot {w.id}")

    def ready(self, w):
        self.sel.register(w.pong, selectors.EVENT_READ, w)
        self.release(w)

    # ------------------------------------------------------------ the loop

    def run(self):
        while True:
            now = time.monotonic()
            timeout = self.tick(now)
            if self.draining and self.drained(now):
                return
            ready = self.sel.select(timeout)
            if not ready and self.peak >= FLOOD and len(self.sessions) < self.peak // 4:
                self.give_memory_back()
            self.on_events(ready)
            ready = None                 # the loop keeps no session of this turn while it sleeps

    def on_events(self, ready):
        # A function of its own: its variables (the last session) go when it returns.
        for key, events in ready:
            what = key.data
            if what == "listen":
                self.accept()
            elif what == "signal":
                self.on_signals()
            elif isinstance(what, Worker):
                if what.pong == key.fd:
                    self.on_pong(what)
            elif isinstance(what, Session) and what.state != "closed":
                if events & selectors.EVENT_WRITE:
                    self.on_writable(what)
                if events & selectors.EVENT_READ and what.state != "closed":
                    self.on_readable(what)

    def give_memory_back(self):
        # DOC: py-flood-memory: a flood of sessions (a peak of at least 1024)
        # has gone, and the loop is quiet: its objects are garbage now. Free
        # them, and hand the freed heap back to the system at once (glibc's
        # malloc_trim), rather than keep it for a flood that may not come.
        log("INFO", "a flood of sessions has gone: giving memory back to the system", peak=self.peak)
        self.peak = len(self.sessions)
        self.sessions = set(self.sessions)   # a set keeps its largest table: copy it small
        gc.collect()
        libc.malloc_trim(0)

    def tick(self, now):
        """Every timer of the server, checked at each turn of the loop: the
        sessions' deadlines, the watchdog, the respawns, the kills. Returns
        how long select may sleep."""
        cfg = self.cfg
        wake = [1.0]
        for s in list(self.sessions) + list(self.leaving):
            if s.state == "closed":
                continue
            if s.deadline is not None and now >= s.deadline:
                self.on_deadline(s, now)
            elif s.out:                  # an answer waits for its client: the min-rate rule
                again = self.judge(s, now)
                if again is not None:
                    wake.append(again)
            if s.state != "closed" and s.deadline is not None:
                wake.append(s.deadline - now)
        for w in self.workers:
            if w.kill_at is not None and now >= w.kill_at:
                signal_worker(w, signal.SIGKILL)
                w.kill_at = None
            if w.respawn_at is not None and not self.draining:
                if now >= w.respawn_at:
                    self.respawn(w)
                else:
                    wake.append(w.respawn_at - now)
            if w.kill_at is not None:
                wake.append(w.kill_at - now)
        if cfg.watchdog and not self.draining:
            if self.next_watch is None or now >= self.next_watch:
                self.watchdog()
                self.next_watch = now + cfg.hang_timeout / 4
            wake.append(self.next_watch - now)
        if self.grace_end is not None:
            wake.append(self.grace_end - now)
        return max(0.0, min(wake))

    # ------------------------------------------------------------ signals and children

    def on_signals(self):
        try:
            nums = os.read(self.sig_r, 512)
        except BlockingIOError:
            return
        for num in nums:
            if num in (signal.SIGTERM, signal.SIGINT):
                self.drain()
            elif num == signal.SIGCHLD:
                self.reap()

    def reap(self):
        # DOC: py-reap: SIGCHLD says "one or more children changed"; signals
        # coalesce, so reap in a loop until none is left, without blocking.
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            if self.cfg.verbose:
                log("DEBUG", "worker reaped", pid=pid, status=status)

    def drain(self):
        """SIGTERM or SIGINT: no new connection, no new request; what is in
        flight may finish within --grace. A second signal changes nothing."""
        if self.draining:
            return
        self.draining = True
        self.grace_end = time.monotonic() + self.cfg.grace
        log("INFO", "draining", grace=f"{self.cfg.grace}s")
        self.sel.unregister(self.ln)
        self.ln.close()
        while self.waiting:
            s = self.waiting.popleft()
            if s.state == "queued":
                self.request_over(s)
                self.reply(s, "ERR shutting-down the server is shutting down")
                self.process(s)

    def drained(self, now):
        in_flight = any(self.seg.get(w.id, STATE) == BUSY for w in self.workers)
        if in_flight and now < self.grace_end:
            return False
        for s in list(self.sessions) + list(self.leaving):
            self.close(s)
        for w in self.workers:           # closing the ping pipe is the stop signal
            if w.ping >= 0:
                os.close(w.ping)
                w.ping = -1
            if self.seg.get(w.id, STATE) == BUSY:
                signal_worker(w, signal.SIGKILL)   # still busy after --grace: cut
        deadline = time.monotonic() + 3
        while True:                      # reap them all; SIGKILL what lingers
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                if time.monotonic() > deadline:
                    self.kill_all()
                time.sleep(0.01)
        self.seg.detach()
        log("INFO", "stopped")
        return True

    def kill_all(self):
        for w in self.workers:
            signal_worker(w, signal.SIGKILL)

    # ------------------------------------------------------------ workers: pool, death, watchdog

    def release(self, w):
        """The worker is idle again: give it to a waiting session, or queue it."""
        w.session, w.holding = None, False
        self.leave_long_lane(w)
        self.seg.put(w.id, STATE, IDLE)
        self.idle.append(w)
        self.dispatch()

    def dispatch(self):
        """Hand the idle workers to the waiting sessions, first come first
        served; a long answer only while the long lane has room."""
        for s in list(self.waiting):
            if not self.idle:
                return
            if s.state != "queued":      # answered meanwhile (ERR busy, drain)
                self.waiting.remove(s)
            elif not s.long or self.long_busy < self.long_lane:
                self.waiting.remove(s)
                self.begin(s, self.take())

    def leave_long_lane(self, w):
        if w.long:
            w.long = False
            self.long_busy -= 1

    def take(self):
        # DOC: py-pool-pick: the worker idle the longest (FIFO), or with --lifo the latest.
        return self.idle.pop() if self.cfg.lifo else self.idle.popleft()

    def on_pong(self, w):
        rec = recv(w.pong)
        if rec is None:
            self.died(w)
            return
        op, seq, arg = rec
        if op == PONG_READY:
            if w.restarted:
                log("INFO", "worker respawned", worker=w.id, restarts=self.seg.get(w.id, RESTARTS),
                    pid=w.pid, old_pid=w.old_pid)
            self.release(w)
            return
        if seq != w.seq:                 # a record of an older request: never the answer to this one
            return
        s = w.session
        if s is None:
            self.late_pong(w, op, arg)
            return
        self.relay(s, w, op, arg)

    def late_pong(self, w, op, arg):
        # DOC: py-late-pong: a worker given up on (timeout, client gone) is
        # not given to anyone until its slot is quiet again.
        if op == PONG_CHUNK:
            if w.first:
                w.first, w.n = False, self.seg.get(w.id, REPLYN)
            w.sent += arg
            if w.n < 0 or w.sent >= w.n:
                self.release(w)
            else:
                self.ping(w, PING_ABORT)
        else:
            self.release(w)

    def died(self, w):
        """End of file on its pong pipe: the worker is gone, however it went."""
        # DOC: py-death-notice: the kernel closed the pipe when the process died.
        self.sel.unregister(w.pong)
        os.close(w.pong)
        if w.ping >= 0:
            os.close(w.ping)
        w.ping = w.pong = -1
        w.kill_at = None
        self.seg.put(w.id, STATE, DEAD)
        if w in self.idle:
            self.idle.remove(w)
        self.leave_long_lane(w)
        self.dispatch()                  # a long answer waiting may take another worker now
        log("WARN", "worker died", worker=w.id, pid=w.pid)
        s, w.session = w.session, None
        if s is not None:
            s.worker = None
            if w.first:
                self.request_over(s)
                self.reply(s, f"ERR worker-failed worker {w.id} (pid {w.pid}): worker died")
                self.process(s)
            else:
                self.close(s)            # after OK <n>, only a close can tell
        if self.cfg.watchdog and not self.draining:
            now = time.monotonic()
            if now - w.started < 1.0:    # died right after it started: slow down
                w.backoff = min(w.backoff * 2, 8.0) if w.backoff else 0.25
                log("WARN", "worker keeps dying right after it starts: slowing down its restarts (start-rate limit)",
                    worker=w.id, next_try_in=f"{w.backoff}s")
            else:
                w.backoff = 0.0
            w.respawn_at = now + w.backoff

    def respawn(self, w):
        # DOC: py-respawn: a new process in the same slot; served starts at 0.
        w.respawn_at = None
        w.old_pid, w.restarted = w.pid, True
        self.seg.put(w.id, SERVED, 0)
        self.seg.put(w.id, RESTARTS, self.seg.get(w.id, RESTARTS) + 1)
        try:
            self.spawn(w)
        except OSError as e:
            log("ERROR", "respawn failed", worker=w.id, err=e)
            w.respawn_at = time.monotonic() + 1
            self.seg.put(w.id, STATE, DEAD)
            return
        self.sel.register(w.pong, selectors.EVENT_READ, w)

    def watchdog(self):
        # DOC: py-watchdog-hang: a worker whose heartbeat is older than
        # --hang-timeout is hung: SIGTERM, then SIGKILL one second later.
        now_ns = time.time_ns()
        for w in self.workers:
            if w.pong < 0 or w.kill_at is not None:
                continue
            silent = (now_ns - self.seg.get(w.id, BEAT)) / 1e9
            if silent > self.cfg.hang_timeout:
                log("WARN", "worker hung: no heartbeat, sending SIGTERM", worker=w.id, pid=w.pid,
                    silent_for=f"{silent:.3f}s")
                signal_worker(w, signal.SIGTERM)
                w.kill_at = time.monotonic() + 1

    def ping(self, w, op):
        try:
            send(w.ping, op, w.seq)
        except OSError:                  # EPIPE: it is dead; its EOF will tell
            pass
        w.holding = False

    # ------------------------------------------------------------ sessions

    def accept(self):
        while True:
            try:
                sock, addr = self.ln.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as e:         # EMFILE: the cap should prevent it
                log("WARN", "accept", err=e)
                return
            sock.setblocking(False)
            # No Nagle: a short answer goes out now, not after the client's delayed ACK.
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            # The send buffer holds about one quota (the kernel doubles it): left
            # to itself, Linux grows it to megabytes, out of the min-rate rule's reach.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, int(min(max(self.quota, 64 << 10), 64 << 20)))
            peer = addr[0]
            # DOC: py-session-cap: past --max-sessions-per-peer, or past
            # --max-sessions when no session can be pushed out, a clear refusal.
            cfg = self.cfg
            if cfg.max_sessions_per_peer and self.peers[peer] >= cfg.max_sessions_per_peer:
                self.refuse_conn(sock, peer, f"too many sessions from {peer} ({cfg.max_sessions_per_peer})")
                continue
            if len(self.sessions) >= cfg.max_sessions and not self.evict():
                self.refuse_conn(sock, peer, f"too many sessions open ({cfg.max_sessions}), every one with a request in flight")
                continue
            s = Session(sock, peer)
            self.sessions.add(s)
            self.peers[peer] += 1
            self.peak = max(self.peak, len(self.sessions))
            self.process(s)

    def refuse_conn(self, sock, peer, why):
        log("WARN", "session refused", why=why)
        text = f"ERR busy {why}: try again later"
        if len(self.leaving) < GOODBYES:
            self.goodbye(Session(sock, peer), text)
            return
        try:                             # too many goodbyes at once: a word, no lingering
            sock.send(text.encode() + b"\n")
        except OSError:
            pass
        sock.close()

    def goodbye(self, s, text):
        """Tell a session that is not (or no longer) counted why it ends:
        a last line and a short lingering close (100 ms, 64 KiB at most),
        since a close with its line unread would reset the connection."""
        self.leaving.add(s)
        s.linger_max = 64 << 10
        self.close_with(s, text, 0.1)

    def evict(self):
        """Make room: push out the session idle the longest, never one with a
        request in flight. Returns False when there is none to push out."""
        # DOC: py-session-evict: the newcomer takes the place of the stalest session.
        idle = [s for s in self.sessions if s.state == "read"]
        if not idle or len(self.leaving) >= GOODBYES:
            return False
        old = min(idle, key=lambda s: s.idle_since)
        log("WARN", "session pushed out to make room: idle the longest",
            idle=f"{time.monotonic() - old.idle_since:.3f}s", max_sessions=self.cfg.max_sessions)
        self.forget(old)
        self.goodbye(old, f"ERR busy session closed to make room for a new one: it was idle the longest "
                          f"({self.cfg.max_sessions} sessions open at most)")
        return True

    def forget(self, s):
        """Remove s from the counts of --max-sessions and --max-sessions-per-peer."""
        if s in self.sessions:
            self.sessions.discard(s)
            self.peers[s.peer] -= 1
            if self.peers[s.peer] <= 0:
                del self.peers[s.peer]

    def want(self, s, events):
        """Watch the session's socket for these events (0: not at all)."""
        if events == s.events or s.state == "closed":
            return
        if s.events == 0:
            self.sel.register(s.sock, events, s)
        elif events == 0:
            self.sel.unregister(s.sock)
        else:
            self.sel.modify(s.sock, events, s)
        s.events = events

    def close(self, s):
        if s.state == "closed":
            return
        self.want(s, 0)
        s.state = "closed"
        s.sock.close()
        self.forget(s)
        self.leaving.discard(s)

    def on_readable(self, s):
        try:
            data = s.sock.recv(4096)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self.drop(s)
            return
        if s.state == "linger":          # the lingering close: read and throw away
            s.discarded += len(data)
            if not data or s.discarded >= s.linger_max:
                self.close(s)
            return
        if not data:
            s.eof = True
        else:
            if not s.inbuf:
                s.line_since = time.monotonic()
            s.inbuf += data
        self.process(s)

    def process(self, s):
        """Answer the lines in the buffer, one at a time: the next line is
        read only once the answer to the previous one has gone out."""
        while s.state == "read" and not s.out:
            i = s.inbuf.find(b"\n")
            if i < 0:
                if len(s.inbuf) > MAX_LINE + 1:
                    self.too_long(s)
                    return
                if not s.eof:
                    # DOC: py-session-timeouts: silent since its last request
                    # (lines that are not requests do not count), or a line
                    # left unfinished.
                    s.deadline = (s.idle_since + self.cfg.idle_timeout if not s.inbuf else
                                  s.line_since + self.cfg.line_timeout)
                    self.want(s, selectors.EVENT_READ)
                    return
                if not s.inbuf:          # end of file, nothing left to answer
                    self.close(s)
                    return
                i = len(s.inbuf)         # a last line without its LF is still answered
            line = bytes(s.inbuf[:i])
            del s.inbuf[:i + 1]
            s.line_since = time.monotonic()
            if line.endswith(b"\r"):
                line = line[:-1]
            if len(line) > MAX_LINE:
                self.too_long(s)
                return
            self.answer(s, line)
        if s.state == "quit" and not s.out:
            self.close(s)                # BYE has gone out
        elif s.state in ("read", "busy", "quit") and s.out:
            s.deadline = None
            self.want(s, selectors.EVENT_WRITE)
        elif s.state in ("queued", "busy"):
            self.want(s, 0)              # the clock stops while the request is answered

    def answer(self, s, line):
        # DOC: py-dispatcher-check: every line is checked here; a malformed
        # one never reaches a worker.
        words = line.split(b" ")
        words = [w for w in words if w]
        if not words:
            return self.refuse(s, "ERR bad-request empty request line")
        first = words[0]
        if words == [b"QUIT"]:
            s.state = "quit"
            return self.reply(s, "BYE")
        if words == [b"STATS"]:
            s.refused = 0
            self.stats(s)
            s.idle_since = time.monotonic()   # a request: its idle clock starts again
            return
        if first == b"requetetype1":
            if len(words) != 1:
                return self.refuse(s, "ERR bad-request requetetype1 takes no argument")
            n = -1                       # its length: the worker says
        elif first == b"requetetype2":
            if len(words) > 2:
                return self.refuse(s, "ERR bad-request requetetype2 takes one argument <n>")
            arg = words[1] if len(words) == 2 else b"4096"
            if not (arg.isdigit() and arg.isascii()):
                return self.refuse(s, f'ERR bad-request n must be a non-negative decimal integer, got {quote(arg, 32)}')
            n = int(arg)
            if n > self.cfg.max_bytes:
                return self.refuse(s, f"ERR too-large n={printable(arg, 32)} is over the limit of {self.cfg.max_bytes} bytes")
        else:
            return self.refuse(s, f"ERR unknown-type unknown request type {quote(first, 64)}; known: {KNOWN}")
        s.refused = 0                    # a request: the run of refused lines is over
        if self.draining:
            self.reply(s, "ERR shutting-down the server is shutting down")
            s.idle_since = time.monotonic()
            return
        # DOC: py-long-lane: an answer longer than one quota is long; at most
        # --long-answers of them in flight, so that short ones keep a worker.
        s.line, s.n, s.long = line, n, n > self.quota
        # DOC: py-acquire: an idle worker now, or wait --queue-timeout for one.
        s.state = "queued"
        s.deadline = time.monotonic() + self.cfg.queue_timeout
        self.waiting.append(s)
        self.dispatch()

    def refuse(self, s, text):
        """Answer a line that is not a request. It leaves the idle clock
        running, and the eighth in a row closes the session."""
        # DOC: py-refused-run: a stranger cannot hold a session with empty or bad lines.
        s.refused += 1
        if s.refused < MAX_REFUSED:
            return self.reply(s, text)
        log("INFO", "session closed: too many lines in a row that are not requests", lines=s.refused)
        self.close_with(s, f"{text}; {s.refused} lines in a row that are not requests: closing", 1)

    def request_over(self, s):
        """The request in flight has its answer (or its ERR): the session
        reads its next line, and its idle clock starts again."""
        s.state, s.deadline, s.idle_since = "read", None, time.monotonic()

    def begin(self, s, w):
        """Step 2: the request into the worker's slot, then one ping."""
        w.seq += 1
        w.session, w.first, w.n, w.sent, w.holding = s, True, s.n, 0, False
        s.worker, s.state = w, "busy"
        s.deadline = time.monotonic() + self.cfg.request_timeout
        if s.long:
            w.long = True
            self.long_busy += 1
        self.seg.put(w.id, STATE, BUSY)
        self.seg.area(w.id, REQUEST, len(s.line))[:] = s.line
        self.seg.put(w.id, REQLEN, len(s.line))
        if self.cfg.trace:
            log("INFO", f"v1 step 2 dispatcher: request written into slot {w.id}, ping worker#{w.id}")
        self.ping(w, PING_REQUEST)       # the ping publishes the slot's contents to the worker
        self.want(s, 0)

    def relay(self, s, w, op, arg):
        """Step 4: a pong; check it before anything of it reaches the client."""
        if w.first and op == PONG_CHUNK and self.seg.get(w.id, REPLYN) == -1:
            errlen = max(0, min(self.seg.get(w.id, ERRLEN), 256))
            line = bytes(self.seg.area(w.id, ERR, errlen)).decode("ascii", "replace")
            w.first = False
            self.finish(s, w)
            self.reply(s, printable(line.encode(), 256))
            self.process(s)
            return
        # DOC: py-check-pong: a chunk must fit the data area and not go past n
        # (requetetype1's n, -1 until then, is the length the worker wrote).
        if w.first and w.n < 0:
            w.n = self.seg.get(w.id, REPLYN)
        ok = (op == PONG_CHUNK and w.n >= 0 and arg <= self.cfg.slot_size and w.sent + arg <= w.n
              and (arg > 0 or w.n == 0) and (not w.first or self.seg.get(w.id, REPLYN) == w.n))
        if not ok:
            log("WARN", "worker broke the protocol: killed", worker=w.id, pid=w.pid, op=op, arg=arg)
            signal_worker(w, signal.SIGKILL)
            first = w.first
            w.session, s.worker = None, None
            if first:
                self.request_over(s)
                self.reply(s, f"ERR worker-failed worker {w.id} broke the protocol")
                self.process(s)
            else:
                self.close(s)
            return
        if w.first:
            s.out.append(memoryview(f"OK {w.n}\n".encode()))
            self.start_answer(s)
            w.first = False
        s.out.append(self.seg.area(w.id, DATA, arg))   # sent straight from the slot
        s.chunk = arg
        w.holding = w.sent + arg < w.n
        s.deadline = None
        if self.flush(s):
            self.chunk_out(s)
        elif s.state == "busy":
            self.want(s, selectors.EVENT_WRITE)

    def chunk_out(self, s):
        """The chunk has gone into the socket: the next, or the end."""
        w = s.worker
        w.sent += s.chunk
        if w.sent >= w.n:
            self.finish(s, w)            # step 5: the worker is idle again
            self.process(s)
        else:
            s.deadline = time.monotonic() + self.cfg.request_timeout
            self.want(s, 0)
            self.ping(w, PING_NEXT)      # only now may the worker overwrite its data area

    def finish(self, s, w):
        s.worker = None
        self.request_over(s)
        self.release(w)

    def reply(self, s, text):
        """A short answer (ERR, BYE, STATS) on the session."""
        self.start_answer(s)
        s.out.append(memoryview(text.encode() + b"\n"))
        self.flush(s)

    def stats(self, s):
        lines = []
        for w in self.workers:
            g = lambda f: self.seg.get(w.id, f)  # noqa: E731
            lines.append(f"worker={w.id} pid={g(PID)} state={STATE_NAMES.get(g(STATE), 'starting')} "
                         f"served={g(SERVED)} restarts={g(RESTARTS)} total={g(TOTAL)}\n")
        body = "".join(lines)
        self.reply(s, f"OK {len(body)}\n{body}"[:-1])

    def flush(self, s):
        """Send what the socket takes now; True when nothing is left."""
        if s.out and self.judge(s, time.monotonic()) is None:
            return False                 # cut: too slow a reader
        while s.out:
            try:
                k = s.sock.sendmsg(s.out)    # "OK <n>" and the chunk in one system call
            except (BlockingIOError, InterruptedError):
                return False
            except OSError:              # the client is gone (reset, broken pipe)
                self.drop(s)
                return False
            s.written += k
            while s.out and k >= len(s.out[0]):   # what went out whole (an empty chunk too)
                k -= len(s.out.popleft())
            if k:
                s.out[0] = s.out[0][k:]
        return True

    def on_writable(self, s):
        if not self.flush(s):
            return
        if s.state == "busy":
            self.chunk_out(s)
        elif s.state == "quit":
            self.close(s)
        elif s.state == "linger":
            self.linger(s)
        else:
            self.want(s, 0)
            self.process(s)

    def too_long(self, s):
        self.close_with(s, f"ERR line-too-long a line may hold at most {MAX_LINE} bytes", 1)

    def close_with(self, s, text, seconds):
        """A last line to the client, then a lingering close of that many seconds."""
        s.state, s.linger_for = "linger", seconds
        self.reply(s, text)
        if self.flush(s):
            self.linger(s)
        else:
            self.want(s, selectors.EVENT_WRITE)

    def linger(self, s):
        # DOC: py-linger-close: FIN after the reply, then read and drop what
        # still comes (1 MiB, 1 s at most), then close: a close with unread
        # bytes would send a reset, which can destroy the reply.
        try:
            s.sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        s.deadline = time.monotonic() + s.linger_for
        self.want(s, selectors.EVENT_READ)

    def start_answer(self, s):
        """A new answer on the session: the min-rate rule starts again, with
        a full bucket of credit."""
        s.credit, s.judged, s.written, s.taken = float(self.quota), time.monotonic(), 0, 0

    def judge(self, s, now):
        """The min-rate rule, for a session whose answer waits for its
        client: brings the credit up to date, cuts the answer when it has
        run dry (and returns None), or returns how soon to judge again.
        It judges before every write too, as the Go writer does: bytes
        written just now must not hide that the client had taken all."""
        # DOC: py-min-rate: what counts is what the client's TCP acknowledged:
        # the bytes written minus those still in the send queue (SIOCOUTQ).
        # Every byte taken adds one to the credit, every second takes
        # --min-rate away, and it never holds more than one quota; when it
        # runs dry, the client is more than a --rate-window behind: cut.
        rate = self.cfg.min_rate
        try:
            outq = struct.unpack("i", fcntl.ioctl(s.sock.fileno(), SIOCOUTQ, bytes(4)))[0]
        except OSError:
            outq = 1                     # cannot tell: count the time against the client
        queued = min(outq, s.written)
        taken = s.written - queued
        dt, s.judged = now - s.judged, now
        if queued == 0:
            # Nothing waits for the client: the delay is ours (a worker
            # computing, the dispatcher stopped by SIGSTOP), not charged.
            s.credit, s.taken = float(self.quota), taken
        else:
            s.credit = min(self.quota, s.credit + (taken - s.taken) - rate * dt)
            s.taken = taken
        if s.credit < 0:
            log("INFO", "client reads below the minimum rate: answer cut, connection reset",
                min_rate=rate, window=fmt(self.cfg.rate_window), taken=taken, queued=queued)
            self.cut(s)
            return None
        # Look again when the credit would run dry if the client took nothing.
        return min(max(s.credit / rate, 0.005), max(self.cfg.rate_window / 4, 0.005))

    def cut(self, s):
        """Cut the answer: a reset (SO_LINGER 0), so that what is still
        queued is dropped, and the client learns it at once."""
        try:
            s.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        self.drop(s)

    def drop(self, s):
        """The client is gone, or too slow: close, and free its worker."""
        w = s.worker
        if w is not None:
            w.session, s.worker = None, None
            if w.holding:                # it waits for our PingNext: tell it to stop
                self.ping(w, PING_ABORT)
            elif s.out:                  # its last chunk was in hand: it is idle already
                self.release(w)
            # else: it is computing; its late pong decides (late_pong)
        self.close(s)

    def on_deadline(self, s, now):
        if s.state == "queued":
            self.request_over(s)
            if s in self.waiting:
                self.waiting.remove(s)
            if s.long and self.long_busy >= self.long_lane:
                self.reply(s, f"ERR busy {self.long_lane} long answers in flight already, the most at once: "
                              "a worker is kept for short ones (try again later)")
            else:
                self.reply(s, f"ERR busy no idle worker within {fmt(self.cfg.queue_timeout)}")
            self.process(s)
        elif s.state == "busy":          # no pong within --request-timeout
            w = s.worker
            w.session, s.worker = None, None
            log("WARN", "worker did not answer in time", worker=w.id, pid=w.pid)
            if w.first:
                self.request_over(s)
                self.reply(s, f"ERR timeout worker {w.id}: no answer within {fmt(self.cfg.request_timeout)}")
                self.process(s)
            else:
                self.close(s)
        else:                            # idle, a line unfinished, or the lingering close is over
            self.close(s)


def signal_worker(w, sig):
    if w.pid and w.pong >= 0:            # alive as far as we know (not yet seen dead)
        try:
            os.kill(w.pid, sig)
        except ProcessLookupError:
            pass


def printable(b, limit):
    """Bytes for an error line: every byte outside printable ASCII becomes '?'."""
    return "".join(chr(c) if 0x20 <= c <= 0x7E else "?" for c in b[:limit])


def quote(b, limit):
    return '"' + printable(b, limit).replace("\\", "\\\\").replace('"', '\\"') + '"'


def fmt(seconds):
    return f"{seconds:g}s" if seconds >= 1 else f"{seconds * 1000:g}ms"


# ---------------------------------------------------------------- serve

def serve(argv):
    p = argparse.ArgumentParser(prog="v1.py serve", allow_abbrev=False,
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter,
                                description="Run the dispatcher and its --workers workers.")
    p.add_argument("--listen", default="127.0.0.1", help="address to listen on")
    p.add_argument("--port", type=int, default=2222, help="TCP port; 0 picks a free one")
    p.add_argument("--workers", type=int, default=4, help="worker processes, 1 to 256")
    p.add_argument("--max-bytes", type=int, default=64 << 20, help="largest n of requetetype2")
    p.add_argument("--slot-size", type=int, default=65536, help="bytes of each slot's data area")
    p.add_argument("--queue-timeout", type=duration, default="2s", help="wait for an idle worker")
    p.add_argument("--lifo", action="store_true", help="hand requests to the worker idle the shortest")
    p.add_argument("--request-timeout", type=duration, default="10s", help="wait for a worker's pong")
    p.add_argument("--min-rate", type=int, default=65536, help="bytes per second a client must read")
    p.add_argument("--rate-window", type=duration, default="10s", help="the window of --min-rate")
    p.add_argument("--max-sessions", type=int, default=0,
                   help="sessions open at once, past it the session idle the longest is pushed out; "
                        "0: the open-file limit minus 48, minus 8 per worker")
    p.add_argument("--long-answers", type=int, default=0,
                   help="long answers (more than --min-rate x --rate-window bytes) in flight at once; "
                        "0: all workers but a quarter, one at least")
    p.add_argument("--max-sessions-per-peer", type=int, default=0,
                   help="sessions open at once from one IP address; 0: no limit")
    p.add_argument("--idle-timeout", type=duration, default="1m", help="close a session that sends no request for this long")
    p.add_argument("--line-timeout", type=duration, default="10s", help="time to finish a line")
    p.add_argument("--grace", type=duration, default="5s", help="on SIGTERM, time for requests in flight")
    p.add_argument("--heartbeat", type=duration, default="1s", help="an idle worker beats this often")
    p.add_argument("--watchdog", action="store_true", help="respawn dead workers, kill hung ones")
    p.add_argument("--hang-timeout", type=duration, default="10s", help="with --watchdog: kill a worker silent this long")
    p.add_argument("--chaos", default="", help="crash=P,hang=P,lie=P,seed=S: workers misbehave on purpose")
    p.add_argument("--trace", action="store_true", help="one line per protocol step on stderr")
    p.add_argument("--verbose", action="store_true", help="debug logs")
    if "--help" in argv or "-h" in argv:
        sys.stdout.write(p.format_help().replace("usage:", "Usage:", 1))
        return 0
    cfg = p.parse_args(argv)                 # a bad flag: the error and the usage, exit 2
    try:
        cfg.chaos = {k: float(v) for k, v in (kv.split("=", 1) for kv in cfg.chaos.split(",") if kv)}
    except ValueError:
        p.error(f"--chaos {cfg.chaos!r}: want crash=P,hang=P,lie=P,seed=S")
    problem = None
    if not 0 <= cfg.port <= 65535:
        problem = f"--port {cfg.port}: must be 0 to 65535"
    elif not 1 <= cfg.workers <= MAX_SLOTS:
        problem = f"--workers {cfg.workers}: must be 1 to {MAX_SLOTS}"
    elif not 512 <= cfg.slot_size <= 64 << 20:
        problem = f"--slot-size {cfg.slot_size}: must be 512 to 67108864"
    elif cfg.min_rate <= 0 or cfg.max_bytes < 0:
        problem = "--min-rate must be positive, --max-bytes not negative"
    elif cfg.long_answers < 0 or cfg.max_sessions_per_peer < 0 or cfg.max_sessions < 0:
        problem = "--long-answers, --max-sessions and --max-sessions-per-peer must not be negative"
    if problem:
        print(f"serve: {problem}", file=sys.stderr)
        return 1
    if cfg.max_sessions <= 0:
        nofile = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
        cfg.max_sessions = max(1, nofile - 48 - 8 * cfg.workers)
    d = Dispatcher(cfg)
    try:
        d.start()
    except (OSError, RuntimeError) as e:
        print(f"serve: {e}", file=sys.stderr)
        return 1
    d.run()
    return 0


# ---------------------------------------------------------------- client

def ask(sock, r, req):
    """Send one request line; read its answer. Returns (header, n, body):
    a requetetype2 payload is checked against the pattern as it comes and
    not kept. Raises OSError when the answer breaks the protocol."""
    sock.sendall(req.encode() + b"\n")
    head = r.readline().rstrip(b"\n").decode("ascii", "replace")
    if not head.startswith("OK "):
        return head, 0, b""
    n, got, body = int(head[3:]), 0, []
    check = req.split()[:1] == ["requetetype2"]
    while got < n:
        piece = r.read(min(PIECE, n - got))
        if not piece:
            raise OSError(f"short payload: {got} of {n} bytes: EOF")
        if check and piece != pattern(got, len(piece)):
            raise OSError(f"payload differs from the pattern near byte {got}")
        if not check:
            body.append(piece)
        got += len(piece)
    return head, n, b"".join(body)


def dial(server, timeout):
    host, _, port = server.rpartition(":")
    sock = socket.create_connection((host.strip("[]"), int(port)), timeout=timeout)
    return sock, sock.makefile("rb")


def client(argv):
    p = argparse.ArgumentParser(prog="v1.py client", allow_abbrev=False,
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter,
                                description="Run one session: send each REQUEST, check each answer.")
    p.add_argument("--server", default="127.0.0.1:2222", help="the dispatcher's host:port")
    p.add_argument("--timeout", type=duration, default="30s", help="give up a request after this long")
    p.add_argument("--trace", action="store_true", help="one line per step on stderr")
    p.add_argument("--clients", type=int, default=argparse.SUPPRESS, help="load mode: concurrent sessions, 1 to 10000 (default 1)")
    p.add_argument("--requests", type=int, default=argparse.SUPPRESS, help="load mode: requests per session (default 100 without --duration)")
    p.add_argument("--duration", type=duration, default=argparse.SUPPRESS, help="load mode: each session sends requests this long")
    p.add_argument("--mix", default=argparse.SUPPRESS, help="load mode: 'line:weight,line:weight' (default: the REQUESTs, weight 1 each)")
    p.add_argument("requests_", nargs="*", metavar="REQUEST")
    if "--help" in argv or "-h" in argv:
        sys.stdout.write(p.format_help().replace("usage:", "Usage:", 1))
        return 0
    cfg = p.parse_args(argv)
    for name in ("clients", "requests", "duration", "mix"):
        cfg.__dict__.setdefault(name, None)
    if any(v is not None for v in (cfg.clients, cfg.requests, cfg.duration, cfg.mix)):
        return load(p, cfg)
    if not cfg.requests_:
        p.error("no REQUEST")
    failed = False
    try:
        sock, r = dial(cfg.server, cfg.timeout)
        for req in cfg.requests_:
            try:
                head, n, body = ask(sock, r, req)
            except OSError as e:
                print(f"{req}: FAILED: {e}")
                return 1
            if not head.startswith("OK "):
                print(f"{req}: {head}")
                failed = True
            elif req.split()[:1] == ["requetetype2"]:
                print(f"{req}: OK {n} bytes, every byte checked")
            else:
                print(f"{req}: OK {n} bytes")
                sys.stdout.write(body.decode("ascii", "replace"))
        sock.sendall(b"QUIT\n")
        r.readline()
    except (OSError, ValueError) as e:
        print(f"client: {e}", file=sys.stderr)
        return 1
    return 1 if failed else 0


def load(p, cfg):
    """Load mode: --clients sessions at once, each sending --requests
    lines (or for --duration) drawn from --mix; one summary at the end."""
    import threading
    mix = [(line, 1) for line in cfg.requests_]
    if cfg.mix:
        try:
            mix = [(line, int(w)) for line, w in (item.rsplit(":", 1) for item in cfg.mix.split(","))]
        except ValueError:
            p.error(f"--mix {cfg.mix!r}: want 'line:weight,line:weight'")
    clients = cfg.clients or 1
    if not mix or not 1 <= clients <= 10000:
        p.error("load mode needs a REQUEST or --mix, and --clients from 1 to 10000")
    per = cfg.requests if cfg.requests is not None else (None if cfg.duration else 100)
    count = {"ok": 0, "errors": 0, "bytes": 0}
    lock = threading.Lock()

    def session(k):
        rng = random.Random(k)
        end = time.monotonic() + cfg.duration if cfg.duration else None
        done = 0
        try:
            sock, r = dial(cfg.server, cfg.timeout)
        except OSError:
            with lock:
                count["errors"] += 1
            return
        with sock:
            while (per is None or done < per) and (end is None or time.monotonic() < end):
                line = rng.choices([m[0] for m in mix], [m[1] for m in mix])[0]
                try:
                    head, n, _ = ask(sock, r, line)
                except OSError:
                    with lock:
                        count["errors"] += 1
                    return
                with lock:
                    count["ok" if head.startswith("OK ") else "errors"] += 1
                    count["bytes"] += n
                done += 1

    start = time.monotonic()
    threads = [threading.Thread(target=session, args=(k,)) for k in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    took = time.monotonic() - start
    total = count["ok"] + count["errors"]
    print(f"load: {clients} clients, {total} requests in {took:.3f}s: {count['ok']} ok, "
          f"{count['errors']} errors; {total / took:.1f} req/s, {count['bytes'] / took / 1e6:.2f} MB/s")
    return 1 if count["errors"] else 0


# ---------------------------------------------------------------- main

ROLES = """Usage: v1.py ROLE [flags]

Roles:
  serve     run the dispatcher and its workers (serve --help: the flags)
  client    run one client session (client --help: the flags)
"""


def main(argv):
    if not argv:
        sys.stderr.write(ROLES)
        return 2
    role, rest = argv[0], argv[1:]
    if role in ("--help", "-h", "help"):
        sys.stdout.write(ROLES)
        return 0
    if role == "serve":
        return serve(rest)
    if role == "client":
        return client(rest)
    sys.stderr.write(f"unknown role {role!r}\n\n{ROLES}")
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
