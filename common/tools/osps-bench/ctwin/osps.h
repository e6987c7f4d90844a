/* osps.h: what the C twin of v1 (v1.c) and the C floor (floor.c) share,
 * the pure part of the protocol (docs/protocol.md) and the plumbing of an
 * epoll server: the command line, one line of at most 1024 bytes, the
 * request check with the Go code's exact replies, the requetetype2
 * pattern, a listening socket and the `ready host:port` line, a
 * connection's input and output buffers, the lingering close.
 * The bench builds them with the system's C compiler
 * (common/tools/osps-bench/ctwin.go; docs/comparison.md, "The C twin"). */

#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define MAXLINE 1024            /* bytes before the LF (a CR not counted) */
#define LINEBUF (MAXLINE + 2)   /* what is read at most without an LF: as bufio's 1026 */
#define DEFAULT_TYPE2 4096      /* requetetype2 alone */
#define CHUNK (64 * 1024)       /* the floor's write size; the twin's default slot */

/* The serve flags the bench and the checks pass (docs/protocol.md, "serve"). */
struct opts {
	char listen[64];
	int port, workers, slot_size, max_sessions;
	long long max_bytes;
	long long queue_ms, idle_ms, line_ms, grace_ms;
};

static void die(const char *what) { perror(what); exit(1); }

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts); /* the vDSO: no system call */
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* parse_ms reads a duration as Go writes it ("500ms", "2s", "1m30s"). */
static int parse_ms(const char *s, long long *ms)
{
	double total = 0;
	if (!*s) return -1;
	while (*s) {
		char *end;
		double v = strtod(s, &end);
		if (end == s) return -1;
		if (!strncmp(end, "ms", 2)) { total += v; s = end + 2; }
		else if (!strncmp(end, "us", 2) || !strncmp(end, "µs", 3)) { total += v / 1000; s = end + (end[0] == 'u' ? 2 : 3); }
		else if (!strncmp(end, "ns", 2)) { total += v / 1e6; s = end + 2; }
		else if (*end == 's') { total += v * 1000; s = end + 1; }
		else if (*end == 'm') { total += v * 60000; s = end + 1; }
		else if (*end == 'h') { total += v * 3600000; s = end + 1; }
		else if (!*end && v == 0) { s = end; }
		else return -1;
	}
	*ms = (long long)total;
	return 0;
}

/* parse_opts reads `serve [--flag value | --flag=value]...`. Flags of
 * Go's serve that the twin does not implement are accepted and named on
 * stderr (docs/comparison.md lists them); an unknown one is a usage
 * error (exit 2), as in Go. */
static void parse_opts(int argc, char **argv, const char *prog, struct opts *o)
{
	static const char *unimpl[] = {"request-timeout", "min-rate", "rate-window", "heartbeat",
		"hang-timeout", "chaos", "callback-timeout", "ticket-ttl", NULL};
	static const char *unimpl_bool[] = {"lifo", "watchdog", "trace", "verbose", NULL};
	struct rlimit rl;
	const char *bad = "";
	snprintf(o->listen, sizeof o->listen, "127.0.0.1");
	o->port = 2222; o->workers = 4; o->slot_size = CHUNK; o->max_sessions = 0;
	o->max_bytes = 64LL << 20;
	o->queue_ms = 2000; o->idle_ms = 60000; o->line_ms = 10000; o->grace_ms = 5000;
	if (argc < 2 || strcmp(argv[1], "serve")) {
		fprintf(stderr, "usage: %s serve [--listen 127.0.0.1] [--port 2222] [--workers 4] ...\n", prog);
		exit(2);
	}
	for (int i = 2; i < argc; i++) {
		char name[64], *val = NULL, *a = argv[i];
		int known = 0;
		bad = a;
		if (strncmp(a, "--", 2)) goto usage;
		snprintf(name, sizeof name, "%s", a + 2);
		if ((val = strchr(name, '='))) *val++ = 0;
		for (int k = 0; unimpl_bool[k]; k++)
			if (!strcmp(name, unimpl_bool[k])) {
				fprintf(stderr, "%s: --%s is not implemented by the C twin: ignored\n", prog, name);
				known = 1;
			}
		if (known) continue;
		if (!val) {
			if (i + 1 >= argc) goto usage;
			val = argv[++i];
		}
		long long ms = 0;
		int dur = !strcmp(name, "queue-timeout") || !strcmp(name, "idle-timeout") ||
			  !strcmp(name, "line-timeout") || !strcmp(name, "grace");
		if (dur && parse_ms(val, &ms)) goto usage;
		if (!strcmp(name, "listen")) snprintf(o->listen, sizeof o->listen, "%s", val);
		else if (!strcmp(name, "port")) o->port = atoi(val);
		else if (!strcmp(name, "workers")) o->workers = atoi(val);
		else if (!strcmp(name, "slot-size")) o->slot_size = atoi(val);
		else if (!strcmp(name, "max-sessions")) o->max_sessions = atoi(val);
		else if (!strcmp(name, "max-bytes")) o->max_bytes = atoll(val);
		else if (!strcmp(name, "queue-timeout")) o->queue_ms = ms;
		else if (!strcmp(name, "idle-timeout")) o->idle_ms = ms;
		else if (!strcmp(name, "line-timeout")) o->line_ms = ms;
		else if (!strcmp(name, "grace")) o->grace_ms = ms;
		else {
			for (int k = 0; unimpl[k]; k++)
				if (!strcmp(name, unimpl[k])) known = 1;
			if (!known) goto usage;
			fprintf(stderr, "%s: --%s is not implemented by the C twin: ignored\n", prog, name);
		}
	}
	if (o->port < 0 || o->port > 65535 || o->workers < 1 || o->workers > 256 ||
	    o->slot_size < 512 || o->slot_size > (64 << 20) || o->max_bytes < 0) {
		fprintf(stderr, "serve: a flag is out of range (port, workers 1-256, slot-size 512-64MiB)\n");
		exit(1);
	}
	if (o->max_sessions == 0) { /* as Go: the open-file limit minus 48, minus 8 per worker */
		getrlimit(RLIMIT_NOFILE, &rl);
		o->max_sessions = (int)rl.rlim_cur - 48 - 8 * o->workers;
		if (o->max_sessions < 1) o->max_sessions = 1;
	}
	return;
usage:
	fprintf(stderr, "%s: bad flag %s\nusage: %s serve [--listen 127.0.0.1] [--port 2222] [--workers 4] ...\n",
		prog, bad, prog);
	exit(2);
}

/* listen_on opens the non-blocking listening socket; ready() prints
 * `ready host:port` once the server takes connections (as PrintReady). */
static int listen_on(const struct opts *o)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(o->port)};
	int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) die("socket");
	if (inet_pton(AF_INET, o->listen, &a.sin_addr) != 1) {
		fprintf(stderr, "serve: --listen %s: not an IPv4 address\n", o->listen);
		exit(1);
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(fd, (struct sockaddr *)&a, sizeof a) || listen(fd, 4096)) {
		fprintf(stderr, "serve: listen on %s:%d: %s\n", o->listen, o->port, strerror(errno));
		exit(1);
	}
	return fd;
}

static void ready(int lfd)
{
	struct sockaddr_in a;
	socklen_t len = sizeof a;
	char host[INET_ADDRSTRLEN];
	getsockname(lfd, (struct sockaddr *)&a, &len);
	printf("ready %s:%d\n", inet_ntop(AF_INET, &a.sin_addr, host, sizeof host), ntohs(a.sin_port));
	fflush(stdout);
}

/* fill_pattern writes bytes [off, off+k) of the requetetype2 payload:
 * byte i is ((i * 2654435761) mod 2^32) >> 24 (PatternByte in Go). */
static void fill_pattern(unsigned char *p, long long off, size_t k)
{
	uint32_t x = (uint32_t)off * 2654435761u;
	for (size_t i = 0; i < k; i++, x += 2654435761u)
		p[i] = x >> 24;
}

/* quoted copies at most max bytes of s, each outside printable ASCII
 * as '?', quoted as Go's %q quotes the result (wire.Printable). */
static int quoted(char *dst, const char *s, size_t len, size_t max)
{
	int o = 0;
	dst[o++] = '"';
	for (size_t i = 0; i < len && i < max; i++) {
		unsigned char c = s[i];
		if (c < 0x20 || c > 0x7e) c = '?';
		if (c == '"' || c == '\\') dst[o++] = '\\';
		dst[o++] = c;
	}
	dst[o++] = '"';
	dst[o] = 0;
	return o;
}

enum { REQ_ERR, REQ_TYPE1, REQ_TYPE2, REQ_STATS, REQ_QUIT };

/* check_line classifies one line (CR and LF removed) as ParseRequest and
 * the session do; on REQ_ERR, err holds the whole reply line. */
static int check_line(const char *line, size_t len, long long max, long long *n, char *err, size_t errlen)
{
	const char *tok[3];
	size_t tlen[3];
	int nt = 0;
	char q[2 * 64 + 3];
	for (size_t i = 0; i < len;) { /* tokens split on spaces only */
		while (i < len && line[i] == ' ') i++;
		if (i == len) break;
		size_t j = i;
		while (j < len && line[j] != ' ') j++;
		if (nt < 3) { tok[nt] = line + i; tlen[nt] = j - i; }
		nt++;
		i = j;
	}
#define IS(k, w) (tlen[k] == strlen(w) && !memcmp(tok[k], w, tlen[k]))
	if (nt == 0) return snprintf(err, errlen, "ERR bad-request empty request line\n"), REQ_ERR;
	if (nt == 1 && IS(0, "QUIT")) return REQ_QUIT;
	if (nt == 1 && IS(0, "STATS")) return REQ_STATS;
	if (IS(0, "requetetype1")) {
		if (nt != 1) return snprintf(err, errlen, "ERR bad-request requetetype1 takes no argument\n"), REQ_ERR;
		*n = 0;
		return REQ_TYPE1;
	}
	if (IS(0, "requetetype2")) {
		if (nt == 1) { *n = DEFAULT_TYPE2; return REQ_TYPE2; }
		if (nt > 2) return snprintf(err, errlen, "ERR bad-request requetetype2 takes one argument <n>\n"), REQ_ERR;
		quoted(q, tok[1], tlen[1], 32);
		long long v = 0;
		int big = 0;
		for (size_t i = 0; i < tlen[1]; i++) {
			if (tok[1][i] < '0' || tok[1][i] > '9')
				return snprintf(err, errlen, "ERR bad-request n must be a non-negative decimal integer, got %s\n", q), REQ_ERR;
			if (v > (INT64_MAX - 9) / 10) big = 1; else v = v * 10 + (tok[1][i] - '0');
		}
		if (big || v > max) {
			q[strlen(q) - 1] = 0; /* n=... without the quotes */
			return snprintf(err, errlen, "ERR too-large n=%s is over the limit of %lld bytes\n", q + 1, max), REQ_ERR;
		}
		*n = v;
		return REQ_TYPE2;
	}
#undef IS
	quoted(q, tok[0], tlen[0], 64);
	return snprintf(err, errlen, "ERR unknown-type unknown request type %s\n", q), REQ_ERR;
}

/* One client connection's buffers, the same in the twin and the floor. */
struct buf { char *p; size_t len, off, cap; };

static void buf_add(struct buf *b, const void *s, size_t n)
{
	if (b->len + n > b->cap) {
		b->cap = (b->len + n) * 2;
		if (!(b->p = realloc(b->p, b->cap))) die("realloc");
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

/* find_line looks for a whole line in in[0:len): 1 and its length
 * (without CR LF) and how much it used, 0 if more must be read, -1 if it
 * is too long (LINEBUF bytes without an LF, or more than MAXLINE). */
static int find_line(const char *in, size_t len, size_t *linelen, size_t *used)
{
	const char *lf = memchr(in, '\n', len);
	if (!lf) return len >= LINEBUF ? -1 : 0;
	size_t l = lf - in;
	*used = l + 1;
	if (l > 0 && in[l - 1] == '\r') l--;
	if (l > MAXLINE) return -1;
	*linelen = l;
	return 1;
}

/* send_out writes what is buffered, then ext (a payload not copied: the
 * twin's slot, the floor's chunk), in one writev; it returns 1 when all
 * went out, 0 if the socket is full (the rest waits for EPOLLOUT), -1 on
 * an error (the client is gone). */
static int send_out(int fd, struct buf *out, const char **ext, size_t *extlen)
{
	while (out->off < out->len || *extlen > 0) {
		struct iovec iov[2] = {{out->p + out->off, out->len - out->off}, {(void *)*ext, *extlen}};
		int first = out->off < out->len ? 0 : 1;
		ssize_t w = writev(fd, iov + first, 2 - first);
		if (w < 0) return errno == EAGAIN ? 0 : (errno == EINTR ? send_out(fd, out, ext, extlen) : -1);
		size_t head = out->len - out->off;
		if ((size_t)w >= head) {
			out->off = out->len = 0;
			*ext += w - head;
			*extlen -= w - head;
		} else
			out->off += w;
	}
	return 1;
}

/* The lingering close, after ERR line-too-long (as wire.LingerClose):
 * FIN first (linger_start), then the peer's input read and dropped
 * (linger_read, on each EPOLLIN) until its end, 1 MiB, or 1 s (the
 * caller's deadline), so that closing with unread input does not send a
 * reset that destroys our reply. linger_read returns 1 once it is over. */
#define LINGER_MS 1000
static void linger_start(int fd) { shutdown(fd, SHUT_WR); }

static int linger_read(int fd, size_t *total)
{
	char junk[16384];
	for (;;) {
		ssize_t r = read(fd, junk, sizeof junk);
		if (r > 0 && (*total += r) < (1 << 20)) continue;
		return r < 0 && (errno == EAGAIN || errno == EINTR) ? 0 : 1;
	}
}
