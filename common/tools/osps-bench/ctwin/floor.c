/* floor.c: the C floor, a reference row of the bench: one process, one
 * thread, one epoll set, non-blocking sockets, each answer written inline
 * (no worker, no segment, no pipe), in v1's wire format. What the C twin
 * (v1.c) adds to it is the design's price without the Go runtime, as the
 * Go floor (floor.go) prices the Go designs (docs/comparison.md).
 *
 *   cc -O2 -o c-floor floor.c && ./c-floor serve --port 0     prints "ready host:port"
 *
 * It takes serve's flags and ignores --workers (it has none); it keeps no
 * idle or line timeout and no session cap: a floor, not a server. */

#include "osps.h"

struct conn {
	int fd, eof, after, wr_on, lingering;
	char in[LINEBUF];
	size_t inlen, lingered;
	struct buf out;
	unsigned char *chunk;     /* the payload's next piece, made here */
	const char *ext;
	size_t extlen;
	long long n, off;         /* the payload being written: its length, bytes made */
	long long linger_end;
};

enum { AFTER_NOTHING, AFTER_CLOSE, AFTER_LINGER };
static struct opts o;
static int ep;
static unsigned long long served;

static void on_term(int sig) { (void)sig; _exit(0); } /* nothing to clean up */

static void close_conn(struct conn *c)
{
	close(c->fd);
	c->fd = -1; /* freed after the batch of events (main) */
}

static void set_events(struct conn *c, int wr_on)
{
	if (c->wr_on == wr_on) return;
	c->wr_on = wr_on;
	struct epoll_event e = {.events = wr_on ? EPOLLOUT : EPOLLIN, .data.ptr = c};
	epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &e);
}

static void answer(struct conn *c, const char *line, size_t len)
{
	char err[256], text[160];
	long long n;
	int k;
	switch (check_line(line, len, o.max_bytes, &n, err, sizeof err)) {
	case REQ_QUIT: buf_add(&c->out, "BYE\n", 4); c->after = AFTER_CLOSE; return;
	case REQ_ERR: buf_add(&c->out, err, strlen(err)); return;
	case REQ_STATS:
		k = snprintf(text, sizeof text, "worker=0 pid=%d state=idle served=%llu restarts=0\n", getpid(), served);
		break;
	case REQ_TYPE1: /* the same answer as a worker's, no process in between */
		k = snprintf(text, sizeof text, "worker=0 pid=%d served=%llu\n", getpid(), ++served);
		break;
	default:
		served++;
		k = snprintf(text, sizeof text, "OK %lld\n", n);
		buf_add(&c->out, text, k);
		c->n = n, c->off = 0; /* the payload follows, a chunk at a time (next_chunk) */
		return;
	}
	char head[32];
	int h = snprintf(head, sizeof head, "OK %d\n", k);
	buf_add(&c->out, head, h);
	buf_add(&c->out, text, k);
}

/* next_chunk makes the payload's next piece; a small one joins its
 * header in one writev, as the Go floor's buffer joins them. */
static int next_chunk(struct conn *c)
{
	if (c->off >= c->n) return 0;
	if (!c->chunk && !(c->chunk = malloc(CHUNK))) die("malloc");
	size_t k = c->n - c->off < CHUNK ? c->n - c->off : CHUNK;
	fill_pattern(c->chunk, c->off, k);
	c->off += k;
	c->ext = (const char *)c->chunk, c->extlen = k;
	return 1;
}

static void advance(struct conn *c)
{
	for (;;) {
		if (c->out.off < c->out.len || c->extlen > 0 || next_chunk(c)) {
			int r = send_out(c->fd, &c->out, &c->ext, &c->extlen);
			if (r < 0) { close_conn(c); return; }
			if (r == 0) { set_events(c, 1); return; }
			continue;
		}
		set_events(c, 0);
		if (c->after == AFTER_CLOSE) { close_conn(c); return; }
		if (c->after == AFTER_LINGER) {
			linger_start(c->fd);
			c->lingering = 1, c->linger_end = now_ms() + LINGER_MS;
			return;
		}
		size_t len, used;
		int got = find_line(c->in, c->inlen, &len, &used);
		if (got == 0 && c->eof && c->inlen > 0) {
			got = c->inlen > MAXLINE ? -1 : 1;
			len = used = c->inlen;
			c->after = AFTER_CLOSE;
		}
		if (got < 0) {
			const char *e = "ERR line-too-long a line may hold at most 1024 bytes\n";
			buf_add(&c->out, e, strlen(e));
			c->after = AFTER_LINGER, c->inlen = 0;
			continue;
		}
		if (got == 0) {
			if (c->eof) close_conn(c);
			return;
		}
		char line[LINEBUF];
		memcpy(line, c->in, len);
		memmove(c->in, c->in + used, c->inlen - used);
		c->inlen -= used;
		answer(c, line, len);
	}
}

int main(int argc, char **argv)
{
	struct epoll_event ev[64];
	struct conn *dead[64];
	static int klisten;
	parse_opts(argc, argv, "c-floor", &o);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGTERM, on_term), signal(SIGINT, on_term);
	int lfd = listen_on(&o);
	if ((ep = epoll_create1(EPOLL_CLOEXEC)) < 0) die("epoll_create1");
	struct epoll_event le = {.events = EPOLLIN, .data.ptr = &klisten};
	epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &le);
	ready(lfd);
	for (;;) { /* until SIGTERM or SIGINT (on_term) */
		int n = epoll_wait(ep, ev, 64, 100), nd = 0;
		for (int i = 0; i < n; i++) {
			if (ev[i].data.ptr == &klisten) {
				int fd, one = 1;
				while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
					struct conn *c = calloc(1, sizeof *c);
					if (!c) die("calloc");
					c->fd = fd;
					setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
					struct epoll_event e = {.events = EPOLLIN, .data.ptr = c};
					epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e);
				}
				continue;
			}
			struct conn *c = ev[i].data.ptr;
			if (c->lingering) {
				if (linger_read(c->fd, &c->lingered) || now_ms() > c->linger_end) close_conn(c);
			} else {
				if ((ev[i].events & EPOLLIN) && !c->wr_on) {
					ssize_t r = read(c->fd, c->in + c->inlen, LINEBUF - c->inlen);
					if (r > 0) c->inlen += r;
					else if (r == 0) c->eof = 1;
					else if (errno != EAGAIN && errno != EINTR) close_conn(c);
				}
				if (c->fd >= 0) advance(c);
			}
			if (c->fd < 0) dead[nd++] = c;
		}
		for (int i = 0; i < nd; i++) free(dead[i]->out.p), free(dead[i]->chunk), free(dead[i]);
	}
}
