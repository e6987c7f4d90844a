/* v1.c: the C twin of v1-relay, a reference row of the bench (the design
 * alone, without the Go runtime; docs/comparison.md, "The C twin").
 *
 * One dispatcher, one thread, one epoll set: the listening socket, a
 * signalfd, every client connection, every worker's pong pipe. N workers
 * forked at start-up, before the listening socket exists. One System V
 * segment, marked for removal at creation, one slot per worker: a header
 * (state, pid, counters, the request line, the answer's length) and
 * --slot-size bytes of data. A ping and a pong pipe per worker, 16-byte
 * records (op, request number, argument), one write(2) each. A FIFO of
 * idle workers; when none is idle, a FIFO of sessions waiting for one,
 * each for --queue-timeout at most (then ERR busy). Every request crosses
 * to a worker: the dispatcher writes the line into the slot and pings; the
 * worker answers into the slot a chunk at a time and pongs each; the
 * dispatcher relays each chunk to the client with one writev and pings
 * "next" (v1's STEP v1.2 to v1.5).
 *
 *   cc -O2 -o c-v1 v1.c && ./c-v1 serve --port 0 --workers 4   prints "ready host:port"
 *
 * Left out (listed in docs/comparison.md): --request-timeout, --min-rate
 * over --rate-window, --watchdog and respawning, --chaos, --trace. */

#include "osps.h"
#include <sys/ipc.h>
#include <sys/prctl.h>
#include <sys/shm.h>
#include <sys/signalfd.h>
#include <sys/wait.h>

enum { PING_REQUEST = 1, PING_NEXT, PING_ABORT };
enum { PONG_READY = 101, PONG_CHUNK, PONG_DONE };
enum { S_STARTING, S_IDLE, S_BUSY, S_DEAD };
static const char *state_name[] = {"starting", "idle", "busy", "dead"};

struct rec { uint32_t op, seq; uint64_t arg; }; /* 16 bytes, as pingpong.Msg */

struct slot {               /* a worker's part of the segment, then its data */
	int32_t state, pid;
	uint64_t served, total;
	int64_t reply_n;          /* the answer's length; -1: err holds an ERR line */
	char req[MAXLINE + 8];    /* the request, as text */
	char err[256];
};

enum { K_LISTEN, K_SIGNAL, K_CONN, K_WORKER }; /* what an epoll event is about */
enum { C_READ, C_QUEUED, C_WORKER, C_LINGER }; /* a session's state */
enum { AFTER_NOTHING, AFTER_CLOSE, AFTER_LINGER };

struct conn;
struct worker {
	int kind;                 /* K_WORKER: first, as in every epoll target */
	int id, pid, ping, pong, alive, started, aborting;
	uint32_t seq;
	struct slot *slot;
	unsigned char *data;
	struct conn *conn;        /* the session it serves, or NULL */
	long long n, sent, k;     /* the answer's length, bytes relayed, the chunk in flight */
};

struct conn {
	int kind;                 /* K_CONN */
	int fd, state, after, eof, line_begun, rd_off, wr_on;
	char in[LINEBUF];
	size_t inlen, lingered;
	char req[40];             /* the checked request, as it goes into the slot */
	struct buf out;           /* lines to send; then ext: a chunk in a slot */
	const char *ext;
	size_t extlen;
	struct worker *w;
	long long deadline;       /* idle, line, queue or linger; 0: none */
	struct conn *next, *prev, *qnext;
};

static struct opts o;
static int ep, lfd = -1, sfd, draining, nsessions;
static long long next_check, drain_end;
static struct worker *workers;
static int *idle, idle_head, idle_len;            /* the FIFO of idle workers */
static struct conn *all, *qhead, *qtail;          /* every session; those waiting for a worker */

static void advance(struct conn *c);

static void set_deadline(struct conn *c, long long d)
{
	c->deadline = d;
	if (d && (!next_check || d < next_check)) next_check = d;
}

static void watch(int fd, void *ptr, uint32_t events, int op)
{
	struct epoll_event e = {.events = events, .data.ptr = ptr};
	if (epoll_ctl(ep, op, fd, &e)) die("epoll_ctl");
}

/* The session's events: EPOLLIN off while a request is in progress (a
 * client that sends ahead must not make epoll_wait spin), EPOLLOUT on
 * only while the socket is full. Changed only when needed. */
static void conn_events(struct conn *c, int rd_off, int wr_on)
{
	if (c->rd_off == rd_off && c->wr_on == wr_on) return;
	c->rd_off = rd_off, c->wr_on = wr_on;
	watch(c->fd, c, (rd_off ? 0 : EPOLLIN) | (wr_on ? EPOLLOUT : 0), EPOLL_CTL_MOD);
}

static void ping(struct worker *w, uint32_t op)
{
	struct rec r = {op, w->seq, 0};
	if (write(w->ping, &r, sizeof r) != sizeof r) { /* dead: its pong pipe's end of file says so */ }
}

/* start_request hands the session's checked request to worker w: the
 * line into its slot, then a ping (STEP v1.2). */
static void start_request(struct conn *c, struct worker *w)
{
	c->w = w, w->conn = c;
	c->state = C_WORKER;
	set_deadline(c, 0);
	w->seq++, w->started = 0, w->sent = 0, w->n = -1;
	strcpy(w->slot->req, c->req);
	w->slot->state = S_BUSY;
	ping(w, PING_REQUEST);
}

/* release gives worker w back: to the session waiting the longest, or to
 * the end of the idle FIFO. */
static void release(struct worker *w)
{
	w->conn = NULL, w->aborting = 0;
	if (!w->alive) return;
	w->slot->state = S_IDLE;
	if (qhead) {
		struct conn *c = qhead;
		if (!(qhead = c->qnext)) qtail = NULL;
		start_request(c, w);
		return;
	}
	idle[(idle_head + idle_len++) % o.workers] = w->id;
}

static struct worker *acquire(void)
{
	while (idle_len > 0) {
		struct worker *w = &workers[idle[idle_head]];
		idle_head = (idle_head + 1) % o.workers, idle_len--;
		if (w->alive) return w;
	}
	return NULL;
}

static void unqueue(struct conn *c)
{
	struct conn **p = &qhead, *prev = NULL;
	for (; *p && *p != c; prev = *p, p = &(*p)->qnext) {}
	if (!*p) return;
	*p = c->qnext;
	if (qtail == c) qtail = prev;
}

/* let_go is the session's side of a request cut short (the client gone):
 * a worker in the middle of a payload is told to drop it (PING_ABORT) and
 * is released on its PONG_DONE; one whose chunk was the last is released. */
static void let_go(struct conn *c)
{
	struct worker *w = c->w;
	c->w = NULL;
	if (!w) return;
	w->conn = NULL;
	if (!w->alive) return;
	if (w->started && w->k >= 0 && w->sent + w->k >= w->n)
		release(w);    /* that chunk was the last: the worker is idle already */
	else if (w->started && w->k >= 0) {
		w->aborting = 1; /* it waits for a ping: this one says "drop it" */
		ping(w, PING_ABORT);
	} else
		w->aborting = 1; /* it is filling a chunk: its pong decides (on_pong) */
}

/* close_conn ends a session. Its memory is freed after the current
 * batch of events (graves), which may still name it. */
static struct conn *graves;
static void close_conn(struct conn *c)
{
	if (c->fd < 0) return;
	if (c->state == C_QUEUED) unqueue(c);
	let_go(c);
	close(c->fd); /* also leaves the epoll set */
	c->fd = -1;
	if (c->prev) c->prev->next = c->next; else all = c->next;
	if (c->next) c->next->prev = c->prev;
	c->next = graves, graves = c;
	nsessions--;
}

static void reply(struct conn *c, const char *s) { buf_add(&c->out, s, strlen(s)); }

static void stats(struct conn *c)
{
	char line[160], head[32];
	struct buf b = {0};
	for (int i = 0; i < o.workers; i++) {
		struct slot *s = workers[i].slot;
		int k = snprintf(line, sizeof line, "worker=%d pid=%d state=%s served=%llu restarts=0 total=%llu\n",
				 i, s->pid, state_name[s->state], (unsigned long long)__atomic_load_n(&s->served, __ATOMIC_RELAXED),
				 (unsigned long long)__atomic_load_n(&s->total, __ATOMIC_RELAXED));
		buf_add(&b, line, k);
	}
	snprintf(head, sizeof head, "OK %zu\n", b.len);
	reply(c, head);
	buf_add(&c->out, b.p, b.len);
	free(b.p);
}

/* handle_line answers one line: at once (QUIT, STATS, an error), or by
 * handing the request to a worker, now or once one is idle. */
static void handle_line(struct conn *c, const char *line, size_t len)
{
	char err[256];
	long long n;
	switch (check_line(line, len, o.max_bytes, &n, err, sizeof err)) {
	case REQ_QUIT: reply(c, "BYE\n"); c->after = AFTER_CLOSE; return;
	case REQ_STATS: stats(c); return;
	case REQ_ERR: reply(c, err); return;
	case REQ_TYPE1: snprintf(c->req, sizeof c->req, "requetetype1"); break;
	default: snprintf(c->req, sizeof c->req, "requetetype2 %lld", n);
	}
	if (draining) { reply(c, "ERR shutting-down the server is shutting down\n"); return; }
	struct worker *w = acquire();
	if (w) { start_request(c, w); return; }
	c->state = C_QUEUED, c->qnext = NULL; /* a bounded wait for an idle worker */
	if (qtail) qtail->qnext = c; else qhead = c;
	qtail = c;
	set_deadline(c, now_ms() + o.queue_ms);
}

/* chunk_sent: the chunk in flight reached the client. The last one
 * releases the worker (STEP v1.5); another asks for the next (1 if the
 * session may go on reading, 0 if it waits for a pong). */
static int chunk_sent(struct conn *c)
{
	struct worker *w = c->w;
	w->sent += w->k, w->k = -1;
	if (w->sent == w->n) {
		c->w = NULL, c->state = C_READ;
		release(w);
		return 1;
	}
	ping(w, PING_NEXT);
	return 0;
}

/* advance moves a session on as far as it can without waiting: send
 * what is buffered, then act on what was being sent, then the next line
 * already read, then read more if there is no whole line. */
static void advance(struct conn *c)
{
	for (;;) {
		if (c->out.off < c->out.len || c->extlen > 0) {
			int r = send_out(c->fd, &c->out, &c->ext, &c->extlen);
			if (r < 0) { close_conn(c); return; }
			if (r == 0) { conn_events(c, 1, 1); return; } /* full: wait for room */
		}
		if (c->w && c->w->k >= 0) { /* the chunk in flight is out */
			if (!chunk_sent(c)) { conn_events(c, c->rd_off, 0); return; }
			continue;
		}
		if (c->state != C_READ) { conn_events(c, c->rd_off, 0); return; }
		if (c->after == AFTER_CLOSE) { close_conn(c); return; }
		if (c->after == AFTER_LINGER) {
			linger_start(c->fd);
			c->state = C_LINGER;
			conn_events(c, 0, 0);
			set_deadline(c, now_ms() + LINGER_MS);
			return;
		}
		size_t len, used;
		int got = find_line(c->in, c->inlen, &len, &used);
		if (got == 0 && c->eof && c->inlen > 0) { /* a last line without LF: answered, then close */
			got = c->inlen > MAXLINE ? -1 : 1;
			len = used = c->inlen;
			c->after = AFTER_CLOSE;
		}
		if (got < 0) {
			reply(c, "ERR line-too-long a line may hold at most 1024 bytes\n");
			c->after = AFTER_LINGER, c->inlen = 0;
			continue;
		}
		if (got == 1) {
			char line[LINEBUF];
			memcpy(line, c->in, len);
			memmove(c->in, c->in + used, c->inlen - used);
			c->inlen -= used, c->line_begun = 0;
			handle_line(c, line, len);
			continue;
		}
		if (c->eof) { close_conn(c); return; }
		/* No whole line: read more. Level-triggered: nothing is read
		 * until epoll says there is something (no read that fails with
		 * EAGAIN), and the session's clock runs (DOC: session-timeouts
		 * in Go): --idle-timeout between lines, --line-timeout within. */
		if (c->inlen == 0) set_deadline(c, now_ms() + o.idle_ms);
		else if (!c->line_begun) c->line_begun = 1, set_deadline(c, now_ms() + o.line_ms);
		conn_events(c, 0, 0);
		return;
	}
}

static void on_conn(struct conn *c, uint32_t ev)
{
	if (c->fd < 0) return; /* closed earlier in this batch */
	if (c->state == C_LINGER) {
		if (linger_read(c->fd, &c->lingered)) close_conn(c);
		return;
	}
	if ((ev & EPOLLIN) && c->state == C_READ && !c->rd_off) {
		ssize_t r = read(c->fd, c->in + c->inlen, LINEBUF - c->inlen);
		if (r > 0) c->inlen += r;
		else if (r == 0) c->eof = 1;
		else if (errno != EAGAIN && errno != EINTR) { close_conn(c); return; }
	}
	else if ((ev & EPOLLIN) && c->state != C_READ)
		conn_events(c, 1, c->wr_on); /* sent ahead: read once the request is over */
	if ((ev & (EPOLLERR | EPOLLHUP)) && c->state != C_READ) { close_conn(c); return; } /* gone */
	advance(c);
}

/* worker_died: end of file on its pong pipe. Reaped; the request in
 * flight gets ERR worker-failed before OK, an early close after it. No
 * respawn: that is --watchdog's, which the twin leaves out. */
static void worker_died(struct worker *w)
{
	int st;
	w->alive = 0;
	w->slot->state = S_DEAD;
	close(w->ping), close(w->pong);
	waitpid(w->pid, &st, 0);
	struct conn *c = w->conn;
	if (!c) return;
	c->w = NULL, w->conn = NULL;
	if (w->started) { close_conn(c); return; }
	char line[96];
	snprintf(line, sizeof line, "ERR worker-failed worker %d is gone\n", w->id);
	reply(c, line);
	c->state = C_READ;
	advance(c);
}

/* on_pong: a record from worker w (STEP v1.4: relay what it left in the slot). */
static void on_pong(struct worker *w)
{
	struct rec r;
	ssize_t got = read(w->pong, &r, sizeof r);
	if (got < 0 && (errno == EAGAIN || errno == EINTR)) return;
	if (got != sizeof r) { worker_died(w); return; }
	if (r.seq != w->seq) return; /* a late pong of a request given up on */
	struct conn *c = w->conn;
	if (w->aborting) { /* the client is gone: end the request without it */
		if (!w->started) {
			w->started = 1, w->n = w->slot->reply_n, w->sent = 0;
			if (w->n < 0) w->n = 0;
		}
		if (r.op == PONG_CHUNK) w->sent += r.arg;
		if (r.op == PONG_DONE || w->sent >= w->n) release(w);
		else ping(w, PING_ABORT);
		return;
	}
	if (!c) return;
	if (!w->started) {
		w->n = w->slot->reply_n;
		if (w->n < 0) { /* the worker refused the line */
			reply(c, w->slot->err);
			reply(c, "\n");
			c->w = NULL, c->state = C_READ;
			release(w);
			advance(c);
			return;
		}
	}
	long long k = r.arg;
	if (r.op != PONG_CHUNK || k > o.slot_size || w->sent + k > w->n) {
		kill(w->pid, SIGKILL); /* it broke the protocol: not trusted again */
		return;              /* its end of file follows, and worker_died answers */
	}
	if (!w->started) {
		char head[32];
		snprintf(head, sizeof head, "OK %lld\n", w->n);
		reply(c, head);
		w->started = 1;
	}
	c->ext = (const char *)w->data, c->extlen = k, w->k = k;
	advance(c);
}

static void on_accept(void)
{
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC), one = 1;
		if (fd < 0) return;
		if (nsessions >= o.max_sessions) { /* the session cap, as Go's */
			char line[96];
			int k = snprintf(line, sizeof line, "ERR busy too many sessions open (%d): try again later\n", nsessions);
			if (write(fd, line, k) < 0) { /* best effort */ }
			close(fd);
			continue;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one); /* as Go's net package does */
		struct conn *c = calloc(1, sizeof *c);
		if (!c) die("calloc");
		c->kind = K_CONN, c->fd = fd, c->w = NULL;
		c->next = all;
		if (all) all->prev = c;
		all = c;
		nsessions++;
		watch(fd, c, EPOLLIN, EPOLL_CTL_ADD);
		set_deadline(c, now_ms() + o.idle_ms);
	}
}

/* timers: every deadline that passed, then the next one. */
static void timers(void)
{
	long long now = now_ms();
	next_check = draining ? drain_end : 0;
	for (struct conn *c = all, *next; c; c = next) {
		next = c->next;
		if (!c->deadline || c->deadline > now) {
			if (c->deadline && (!next_check || c->deadline < next_check)) next_check = c->deadline;
			continue;
		}
		c->deadline = 0;
		if (c->state == C_QUEUED) {
			char line[96];
			unqueue(c);
			c->state = C_READ;
			snprintf(line, sizeof line, "ERR busy no idle worker within %gs\n", o.queue_ms / 1000.0);
			reply(c, line);
			advance(c);
		} else if (c->state == C_READ || c->state == C_LINGER)
			close_conn(c); /* idle, an unfinished line, or the linger is over */
	}
}

static void worker_main(struct worker *w)
{
	struct rec r;
	char err[256];
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	signal(SIGINT, SIG_IGN); /* Ctrl-C reaches the group: the dispatcher decides */
	dup2(2, 1);              /* stdout is the dispatcher's, for its ready line alone */
	int pid = getpid();      /* once: served= answers name it */
	w->slot->pid = pid;
	r = (struct rec){PONG_READY, 0, (uint64_t)pid};
	if (write(w->pong, &r, sizeof r) != sizeof r) _exit(1);
	for (;;) {
		ssize_t got = read(w->ping, &r, sizeof r); /* blocking: asleep until the next ping */
		if (got == 0) _exit(0);                      /* the dispatcher is gone, or stops us */
		if (got != sizeof r) { if (got < 0 && errno == EINTR) continue; _exit(1); }
		if (r.op != PING_REQUEST) continue;          /* a late ping of a request already over */
		uint32_t seq = r.seq;
		long long n, off = 0;
		int t = check_line(w->slot->req, strlen(w->slot->req), INT64_MAX, &n, err, sizeof err);
		if (t != REQ_TYPE1 && t != REQ_TYPE2) {
			err[strcspn(err, "\n")] = 0;
			snprintf(w->slot->err, sizeof w->slot->err, "%s", err);
			w->slot->reply_n = -1;
			r = (struct rec){PONG_CHUNK, seq, 0};
			if (write(w->pong, &r, sizeof r) != sizeof r) _exit(1);
			continue;
		}
		unsigned long long served = __atomic_add_fetch(&w->slot->served, 1, __ATOMIC_RELAXED);
		__atomic_add_fetch(&w->slot->total, 1, __ATOMIC_RELAXED);
		if (t == REQ_TYPE1) n = snprintf((char *)w->data, o.slot_size, "worker=%d pid=%d served=%llu\n", w->id, pid, served);
		w->slot->reply_n = n;
		for (;;) { /* a chunk at a time into the slot, a pong each (STEP v1.3) */
			long long k = n - off < o.slot_size ? n - off : o.slot_size;
			if (t == REQ_TYPE2) fill_pattern(w->data, off, k);
			off += k;
			r = (struct rec){PONG_CHUNK, seq, (uint64_t)k};
			if (write(w->pong, &r, sizeof r) != sizeof r) _exit(1);
			if (off == n) break;
			do got = read(w->ping, &r, sizeof r); while (got < 0 && errno == EINTR);
			if (got == 0) _exit(0);
			if (got != sizeof r) _exit(1);
			if (r.op != PING_NEXT || r.seq != seq) { /* abandoned by the dispatcher */
				r = (struct rec){PONG_DONE, seq, 1};
				if (write(w->pong, &r, sizeof r) != sizeof r) _exit(1);
				break;
			}
		}
	}
}

/* start_workers makes the segment (marked for removal at once: the kernel
 * frees it when the last process detaches, however they end), the pipes,
 * and forks each worker; it waits for each one's PONG_READY. */
static void start_workers(void)
{
	size_t stride = (sizeof(struct slot) + o.slot_size + 63) & ~(size_t)63;
	int id = shmget(IPC_PRIVATE, stride * o.workers, IPC_CREAT | 0600);
	if (id < 0) die("shmget");
	char *seg = shmat(id, NULL, 0);
	if (seg == (void *)-1) die("shmat");
	if (shmctl(id, IPC_RMID, NULL)) die("shmctl IPC_RMID");
	workers = calloc(o.workers, sizeof *workers);
	idle = calloc(o.workers, sizeof *idle);
	for (int i = 0; i < o.workers; i++) {
		struct worker *w = &workers[i];
		int pi[2], po[2];
		if (pipe2(pi, O_CLOEXEC) || pipe2(po, O_CLOEXEC)) die("pipe");
		*w = (struct worker){.kind = K_WORKER, .id = i, .alive = 1, .k = -1,
				     .slot = (struct slot *)(seg + stride * i)};
		w->data = (unsigned char *)w->slot + sizeof(struct slot);
		w->slot->state = S_STARTING;
		pid_t pid = fork();
		if (pid < 0) die("fork");
		if (pid == 0) {
			for (int j = 0; j < i; j++) close(workers[j].ping), close(workers[j].pong);
			close(pi[1]), close(po[0]);
			w->ping = pi[0], w->pong = po[1];
			worker_main(w);
		}
		close(pi[0]), close(po[1]);
		w->pid = pid, w->ping = pi[1], w->pong = po[0];
		struct rec r;
		if (read(w->pong, &r, sizeof r) != sizeof r || r.op != PONG_READY) {
			fprintf(stderr, "serve: worker %d did not start\n", i);
			exit(1);
		}
		fcntl(w->pong, F_SETFL, O_NONBLOCK);
		w->slot->state = S_IDLE;
		idle[idle_len++] = i;
	}
}

/* stop: the drain is over. Every session closed, every ping pipe closed
 * (each worker reads end of file and exits), every worker reaped. */
static void stop(void)
{
	while (all) close_conn(all);
	for (int i = 0; i < o.workers; i++)
		if (workers[i].alive) close(workers[i].ping);
	for (int i = 0; i < o.workers; i++)
		if (workers[i].alive) waitpid(workers[i].pid, NULL, 0);
	exit(0);
}

int main(int argc, char **argv)
{
	static int klisten = K_LISTEN, ksignal = K_SIGNAL;
	struct epoll_event ev[64];
	sigset_t mask;
	parse_opts(argc, argv, "c-v1", &o);
	signal(SIGPIPE, SIG_IGN);
	start_workers(); /* before the listening socket: the workers never hold it */
	lfd = listen_on(&o);
	if ((ep = epoll_create1(EPOLL_CLOEXEC)) < 0) die("epoll_create1");
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM), sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	if ((sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC)) < 0) die("signalfd");
	watch(lfd, &klisten, EPOLLIN, EPOLL_CTL_ADD);
	watch(sfd, &ksignal, EPOLLIN, EPOLL_CTL_ADD);
	for (int i = 0; i < o.workers; i++) watch(workers[i].pong, &workers[i], EPOLLIN, EPOLL_CTL_ADD);
	ready(lfd);
	for (;;) {
		long long wait = -1, now = now_ms();
		if (next_check) wait = next_check > now ? next_check - now : 0;
		int n = epoll_wait(ep, ev, 64, (int)wait);
		for (int i = 0; i < n; i++) {
			int kind = *(int *)ev[i].data.ptr;
			if (kind == K_WORKER) on_pong(ev[i].data.ptr);
			else if (kind == K_CONN) on_conn(ev[i].data.ptr, ev[i].events);
			else if (kind == K_LISTEN) on_accept();
			else if (!draining) { /* SIGTERM or SIGINT: the drain begins */
				struct signalfd_siginfo si;
				if (read(sfd, &si, sizeof si) < 0) { /* nothing */ }
				draining = 1;
				close(lfd); /* new connections are refused */
				drain_end = now_ms() + o.grace_ms;
				while (qhead) { /* those waiting for a worker will not get one */
					struct conn *c = qhead;
					qhead = c->qnext;
					c->state = C_READ;
					reply(c, "ERR shutting-down the server is shutting down\n");
					advance(c);
				}
				qtail = NULL;
				next_check = drain_end;
			} else {
				struct signalfd_siginfo si;
				if (read(sfd, &si, sizeof si) < 0) { /* a second signal changes nothing */ }
			}
		}
		while (graves) {
			struct conn *c = graves;
			graves = c->next;
			free(c->out.p);
			free(c);
		}
		if (next_check && now_ms() >= next_check) timers();
		if (draining) {
			int busy = 0;
			for (int i = 0; i < o.workers; i++) busy |= workers[i].conn != NULL;
			if (!busy || now_ms() >= drain_end) stop();
		}
	}
}
