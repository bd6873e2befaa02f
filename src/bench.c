/* bench.c - `sockit bench`: a closed-loop load generator for the echo service. Each
 * connection keeps --depth messages in flight, every reply is checked, latencies go to a
 * histogram; one epoll loop per --threads thread, no allocation once it runs. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "bench_msg.h"
#include "cli.h"
#include "histogram.h"
#include "net.h"
#include "sntp_packet.h"
#include "i18n.h"

#define DEFAULT_SPEC        "tcp:127.0.0.1:9000"
#define DEFAULT_DGRAM_SPEC  "udp:127.0.0.1:9123" /* sockit serve's sntp */
#define DEFAULT_SIZE        64
#define DEFAULT_DURATION_MS 5000
#define DEFAULT_TIMEOUT_MS  2000
#define MAX_CONNS           100000
#define MAX_DEPTH           1024
#define MAX_SIZE            (1u << 20)
#define MAX_UDP_SIZE        65507 /* the largest udp payload over IPv4 */
#define MAX_THREADS         64
#define CONNECT_TIMEOUT_MS  5000
#define READ_CHUNK          (256 * 1024) /* one recv per readiness, at most this much */
#define SEND_BATCH          32           /* messages per sendmsg / sendmmsg */
#define SMALL_MSG_MAX       4096         /* stream messages up to this are copied to send */
#define EPOLL_BATCH         256
#define TICK_MS             50  /* how often timeouts and the clock are checked */
#define PROGRESS_MS         1000
#define CLIENT_BUSY_WARN    0.9 /* client CPU share that makes the figures suspect */

/* What is spoken. Streams speak echo only (checked piecewise as bytes arrive); datagram
 * protocols give a request, a way to tell which request a reply answers, and a check. */
struct bench_proto {
	const char *name;
	bool stream;       /* also over tcp and unix */
	size_t fixed_size; /* requests and replies have this size; 0: --size */
	size_t reply_max;  /* replies may be this long; 0: the request's size */
	uint64_t seq_mod;  /* reply_seq is seq modulo this; 0: bench_msg_seq_modulus() */
	void (*fill)(const struct bench_msg *m, uint64_t seq, uint8_t *out);
	/* NULL: replies do not say which request they answer, so --depth is 1 */
	int64_t (*reply_seq)(const struct bench_msg *m, const uint8_t *data, size_t len);
	bool (*check)(const struct bench_msg *m, uint64_t seq, const uint8_t *data, size_t len);
};

static bool echo_check(const struct bench_msg *m, uint64_t seq, const uint8_t *data, size_t len)
{
	return len == m->size && bench_msg_check(m, seq, 0, data, len);
}

static const struct bench_proto protos[] = {
	{.name = "echo", .stream = true, .fill = bench_msg_fill,
	 .reply_seq = bench_msg_reply_seq, .check = echo_check},
	{.name = "sntp", .fixed_size = SNTP_PACKET_LEN,
	 .seq_mod = UINT64_C(1) << BENCH_SNTP_SEQ_BITS, .fill = bench_sntp_fill,
	 .reply_seq = bench_sntp_reply_seq, .check = bench_sntp_check},
	{.name = "time", .fixed_size = BENCH_TIME_REQ_LEN, .reply_max = BENCH_TIME_REPLY_LEN,
	 .fill = bench_time_fill, .reply_seq = bench_time_reply_seq, .check = bench_time_check},
	{.name = "daytime", .fixed_size = 1, .reply_max = BENCH_DAYTIME_REPLY_MAX,
	 .fill = bench_daytime_fill, .check = bench_daytime_check},
	{.name = "rfc868", .fixed_size = 1, .reply_max = 4, .fill = bench_daytime_fill,
	 .check = bench_rfc868_check},
};
#define NPROTOS (sizeof(protos) / sizeof(protos[0]))

struct bench_config {
	struct addr_spec spec;
	char target[ADDR_TEXT_MAX];
	const struct bench_proto *proto;
	unsigned conns, depth, threads;
	size_t size;
	long duration_ms;
	uint64_t count; /* 0: run for duration_ms */
	long timeout_ms;
	bool plain, json;
};

/* One connection (tcp, unix) or connected socket (udp). Stream messages are in flight in
 * order, so [rx_seq, tx_seq] are the ones sent and unanswered; udp ones may come back in
 * any order (or not at all), so each of the depth slots tracks its own. */
struct conn {
	int fd;
	bool dead;
	bool want_write;
	bool rx_bad;           /* stream: the message being received has a wrong byte */
	bool counted_done;     /* counted in worker.ndone */
	uint64_t limit;        /* messages this connection may start */
	uint64_t tx_seq;       /* stream: message being sent; udp: messages started */
	size_t tx_off;         /* stream: its bytes already sent */
	uint64_t rx_seq;       /* stream: message being received */
	size_t rx_off;         /* stream: its bytes already received */
	uint64_t last_rx_ns;   /* stream: time of the last reply bytes */
	unsigned udp_busy;     /* udp: slots waiting for a reply */
	uint64_t *sent_ns;     /* per slot (seq % depth): when it was sent; udp: 0 = free */
	uint64_t *slot_seq;    /* udp: the seq each slot waits for */
};

struct worker {
	const struct bench_config *cfg;
	const struct bench_msg *msg;
	size_t index;
	pthread_t thread;
	int epfd;
	struct conn *conns;
	size_t nconns, ndone;
	bool stopping;  /* duration over: no new messages */
	bool interrupt; /* set by the main thread on SIGINT/SIGTERM (atomic) */
	uint64_t start_ns, deadline_ns, end_ns;
	uint64_t last_reply_ns; /* the rate's end: not the wait for replies that never come */
	/* published for the progress line (relaxed atomics) */
	uint64_t done_pub, errors_pub;
	bool finished;
	/* results, read after join */
	uint64_t ok, mismatches, timeouts, errors, late;
	struct histogram hist;
	/* scratch, allocated before the run */
	uint8_t *rx;                  /* READ_CHUNK, or SEND_BATCH datagrams for udp */
	uint8_t *tx;                  /* udp: SEND_BATCH datagrams */
	uint8_t *stx;                 /* streams of small messages: SEND_BATCH of them */
	uint8_t hdr[SEND_BATCH][BENCH_SEQ_DIGITS];
	/* udp receive headers over rx, set up once: recvmmsg changes only their lengths */
	struct mmsghdr rx_mm[SEND_BATCH];
	struct iovec rx_iov[SEND_BATCH];
	char err[NET_ERR_LEN];
};

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static bool is_udp(const struct worker *w)
{
	return w->cfg->spec.transport == ADDR_UDP;
}

static void conn_fail(struct worker *w, struct conn *c, const char *what, int errnum)
{
	if (c->dead)
		return;
	if (w->errors == 0)
		snprintf(w->err, sizeof(w->err), "%s %s: %s", what, w->cfg->target,
			 strerror(errnum));
	w->errors++;
	c->dead = true;
	epoll_ctl(w->epfd, EPOLL_CTL_DEL, c->fd, NULL);
}

static void conn_want_write(struct worker *w, struct conn *c, bool on)
{
	if (c->want_write == on || c->dead)
		return;
	struct epoll_event ev = {.events = EPOLLIN | (on ? EPOLLOUT : 0), .data.ptr = c};
	epoll_ctl(w->epfd, EPOLL_CTL_MOD, c->fd, &ev);
	c->want_write = on;
}

static void record_reply(struct worker *w, bool good, uint64_t sent, uint64_t now)
{
	w->last_reply_ns = now;
	if (good)
		w->ok++;
	else
		w->mismatches++;
	histogram_record(&w->hist, now > sent ? now - sent : 0);
}

/* ---- streams (tcp, unix): bytes in order; messages start when their first byte is sent */

static bool stream_idle(const struct conn *c)
{
	return c->rx_seq == c->tx_seq && c->tx_off == 0;
}

/* Gather the messages that may go now, from (tx_seq, tx_off): small ones copied into one
 * buffer (a plain send costs less than a sendmsg of many pieces), large ones as iovecs
 * pointing into the pattern. Returns the iovec count, 0 when nothing may go. */
static int stream_gather(struct worker *w, struct conn *c, uint64_t now, struct iovec *iov)
{
	const struct bench_msg *m = w->msg;
	unsigned depth = w->cfg->depth;
	bool small = w->stx != NULL;
	size_t off = c->tx_off, copied = 0;
	uint64_t s = c->tx_seq;
	int niov = 0;
	for (unsigned k = 0; k < SEND_BATCH; k++, s++, off = 0) {
		if (off == 0) { /* a new message: is there room and quota? */
			if (s >= c->rx_seq + depth || s >= c->limit)
				break;
			c->sent_ns[s % depth] = now; /* slot is free: s - depth is done */
		}
		if (small) {
			bench_msg_fill(m, s, w->stx + copied);
			copied += m->size;
			continue;
		}
		uint8_t *hdr = w->hdr[k];
		if (off < m->hdr) {
			bench_msg_header(m, s, hdr);
			iov[niov++] = (struct iovec){hdr + off, m->hdr - off};
		}
		size_t poff = off > m->hdr ? off - m->hdr : 0;
		if (m->size > m->hdr + poff)
			iov[niov++] = (struct iovec){(void *)(bench_msg_payload(m, s) + poff),
						     m->size - m->hdr - poff};
	}
	if (small && copied > 0) /* the first message may be partly sent already */
		iov[niov++] = (struct iovec){w->stx + c->tx_off, copied - c->tx_off};
	return niov;
}

static void stream_send(struct worker *w, struct conn *c, uint64_t now)
{
	const struct bench_msg *m = w->msg;
	while (!c->dead) {
		struct iovec iov[SEND_BATCH * 2];
		int niov = stream_gather(w, c, now, iov);
		if (niov == 0)
			break;
		ssize_t n;
		if (niov == 1) {
			n = send(c->fd, iov[0].iov_base, iov[0].iov_len, MSG_NOSIGNAL | MSG_DONTWAIT);
		} else {
			struct msghdr mh = {.msg_iov = iov, .msg_iovlen = (size_t)niov};
			n = sendmsg(c->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
		}
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				break;
			conn_fail(w, c, "send", errno);
			return;
		}
		size_t sent = (size_t)n;
		while (sent > 0) { /* advance (tx_seq, tx_off) by what went out */
			size_t take = m->size - c->tx_off < sent ? m->size - c->tx_off : sent;
			c->tx_off += take;
			sent -= take;
			if (c->tx_off == m->size) {
				c->tx_seq++;
				c->tx_off = 0;
			}
		}
		if (c->tx_off != 0) /* the kernel took only part: wait for room */
			break;
	}
	conn_want_write(w, c, c->tx_off != 0 && !c->dead);
}

/* flags: MSG_DONTWAIT after epoll said readable; 0 to block (one connection per thread). */
static void stream_receive(struct worker *w, struct conn *c, int flags)
{
	const struct bench_msg *m = w->msg;
	ssize_t n = recv(c->fd, w->rx, READ_CHUNK, flags);
	if (n <= 0) {
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		conn_fail(w, c, n == 0 ? "read" : "recv", n == 0 ? ECONNRESET : errno);
		return;
	}
	uint64_t now = now_ns();
	c->last_rx_ns = now;
	const uint8_t *p = w->rx;
	size_t left = (size_t)n;
	while (left > 0) {
		size_t sent = c->rx_seq < c->tx_seq ? m->size - c->rx_off : c->tx_off - c->rx_off;
		if (sent == 0 || c->rx_seq > c->tx_seq) { /* more than was sent: not our echo */
			w->mismatches++;
			conn_fail(w, c, "reply", EPROTO);
			return;
		}
		size_t take = sent < left ? sent : left;
		if (!bench_msg_check(m, c->rx_seq, c->rx_off, p, take))
			c->rx_bad = true;
		c->rx_off += take;
		p += take;
		left -= take;
		if (c->rx_off == m->size) {
			record_reply(w, !c->rx_bad, c->sent_ns[c->rx_seq % w->cfg->depth], now);
			c->rx_bad = false;
			c->rx_seq++;
			c->rx_off = 0;
		}
	}
	stream_send(w, c, now);
}

/* A stream whose oldest message waits too long is given up: its messages are timeouts. */
static void stream_check_timeout(struct worker *w, struct conn *c, uint64_t now, uint64_t limit)
{
	if (c->dead || stream_idle(c))
		return;
	uint64_t since = c->sent_ns[c->rx_seq % w->cfg->depth];
	if (c->last_rx_ns > since)
		since = c->last_rx_ns;
	if (now <= since || now - since <= limit)
		return;
	w->timeouts += c->tx_seq - c->rx_seq + (c->tx_off != 0);
	c->dead = true;
	epoll_ctl(w->epfd, EPOLL_CTL_DEL, c->fd, NULL);
}

/* ---- datagrams: slot i carries sequence numbers i, i + depth, i + 2*depth, ... */

static void udp_send(struct worker *w, struct conn *c)
{
	const struct bench_msg *m = w->msg;
	unsigned depth = w->cfg->depth;
	struct mmsghdr mm[SEND_BATCH];
	struct iovec iov[SEND_BATCH];
	unsigned slots[SEND_BATCH];
	while (!c->dead) {
		unsigned n = 0;
		for (unsigned i = 0; i < depth && n < SEND_BATCH && c->tx_seq + n < c->limit; i++) {
			if (c->sent_ns[i] != 0)
				continue;
			slots[n] = i;
			n++;
		}
		if (n == 0)
			return;
		uint64_t now = now_ns();
		for (unsigned k = 0; k < n; k++) {
			unsigned i = slots[k];
			uint64_t seq = c->slot_seq[i];
			uint8_t *buf = w->tx + (size_t)k * m->size;
			w->cfg->proto->fill(m, seq, buf);
			iov[k] = (struct iovec){buf, m->size};
			mm[k] = (struct mmsghdr){.msg_hdr = {.msg_iov = &iov[k], .msg_iovlen = 1}};
		}
		int sent = sendmmsg(c->fd, mm, n, MSG_DONTWAIT);
		if (sent < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == ENOBUFS) /* try again on the next tick */
				return;
			conn_fail(w, c, "send", errno);
			return;
		}
		for (int k = 0; k < sent; k++) {
			c->sent_ns[slots[k]] = now;
			c->udp_busy++;
		}
		c->tx_seq += (uint64_t)sent;
		if ((unsigned)sent < n)
			return;
	}
}

/* Room for one reply and a byte more, to see a reply that is too long. */
static size_t rx_slot_size(const struct bench_config *cfg)
{
	size_t reply = cfg->proto->reply_max > cfg->size ? cfg->proto->reply_max : cfg->size;
	return reply + 1;
}

/* flags: MSG_DONTWAIT after epoll said readable; MSG_WAITFORONE to block. */
static void udp_receive(struct worker *w, struct conn *c, int flags)
{
	const struct bench_msg *m = w->msg;
	unsigned depth = w->cfg->depth;
	struct mmsghdr *mm = w->rx_mm;
	struct iovec *iov = w->rx_iov;
	int n = recvmmsg(c->fd, mm, SEND_BATCH, flags, NULL);
	if (n < 0) {
		if (errno != EAGAIN && errno != EINTR)
			conn_fail(w, c, "recv", errno);
		return;
	}
	uint64_t now = now_ns();
	const struct bench_proto *proto = w->cfg->proto;
	uint64_t mod = proto->seq_mod ? proto->seq_mod : bench_msg_seq_modulus(m);
	for (int k = 0; k < n; k++) {
		const uint8_t *data = iov[k].iov_base;
		size_t len = mm[k].msg_len;
		int64_t seq = proto->reply_seq ? proto->reply_seq(m, data, len) : -1;
		/* A reply is matched to the slot whose seq it names; otherwise it is garbage (a
		 * mismatch) or an answer that came after its timeout (late, ignored). */
		unsigned slot = 0;
		bool found = false;
		for (unsigned i = 0; i < depth && !found; i++) {
			/* unreadable header: with one slot busy, it can only be that one's */
			if (c->sent_ns[i] != 0 &&
			    (seq >= 0 ? c->slot_seq[i] % mod == (uint64_t)seq : c->udp_busy == 1)) {
				slot = i;
				found = true;
			}
		}
		if (!found) {
			if (seq >= 0 && proto->check(m, (uint64_t)seq, data, len))
				w->late++;
			else
				w->mismatches++;
			continue;
		}
		bool good = proto->check(m, c->slot_seq[slot], data, len);
		record_reply(w, good, c->sent_ns[slot], now);
		c->sent_ns[slot] = 0;
		c->slot_seq[slot] += depth;
		c->udp_busy--;
	}
	udp_send(w, c);
}

/* Late slots are timeouts and free again; free slots are refilled (also those a full
 * socket buffer, EAGAIN, left unsent). */
static void udp_check_timeout(struct worker *w, struct conn *c, uint64_t now, uint64_t limit)
{
	if (c->dead)
		return;
	for (unsigned i = 0; i < w->cfg->depth && c->udp_busy > 0; i++) {
		if (c->sent_ns[i] != 0 && now - c->sent_ns[i] > limit) {
			w->timeouts++;
			c->sent_ns[i] = 0;
			c->slot_seq[i] += w->cfg->depth;
			c->udp_busy--;
		}
	}
	if (c->udp_busy < w->cfg->depth && c->tx_seq < c->limit)
		udp_send(w, c);
}

/* ---- the worker loop ---- */

static bool conn_done(const struct worker *w, const struct conn *c)
{
	if (c->dead)
		return true;
	if (is_udp(w))
		return c->udp_busy == 0 && c->tx_seq >= c->limit;
	return stream_idle(c) && c->tx_seq >= c->limit;
}

static void worker_tick(struct worker *w, uint64_t now)
{
	uint64_t limit = (uint64_t)w->cfg->timeout_ms * 1000000u;
	bool interrupted = __atomic_load_n(&w->interrupt, __ATOMIC_RELAXED);
	if (!w->stopping && (interrupted || (w->deadline_ns != 0 && now >= w->deadline_ns))) {
		w->stopping = true; /* no new messages; wait for the ones in flight */
		for (size_t i = 0; i < w->nconns; i++) {
			struct conn *c = &w->conns[i];
			c->limit = is_udp(w) ? c->tx_seq : c->tx_seq + (c->tx_off != 0);
		}
	}
	for (size_t i = 0; i < w->nconns; i++) {
		if (is_udp(w))
			udp_check_timeout(w, &w->conns[i], now, limit);
		else
			stream_check_timeout(w, &w->conns[i], now, limit);
	}
}

/* Count c once when it has nothing more to do; the run ends when all have. */
static void conn_note_done(struct worker *w, struct conn *c)
{
	if (!c->counted_done && conn_done(w, c)) {
		c->counted_done = true;
		w->ndone++;
	}
}

static void conn_receive(struct worker *w, struct conn *c, bool block)
{
	if (is_udp(w))
		udp_receive(w, c, block ? MSG_WAITFORONE : MSG_DONTWAIT);
	else
		stream_receive(w, c, block ? 0 : MSG_DONTWAIT);
	conn_note_done(w, c);
}

/* With one connection there is nothing to multiplex: a blocking receive (with a timeout
 * of TICK_MS) saves the epoll_wait per message that a bare blocking client does not pay. */
static bool worker_can_block(const struct worker *w)
{
	return w->nconns == 1 && !w->conns[0].want_write && !w->conns[0].dead;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct epoll_event evs[EPOLL_BATCH];
	w->start_ns = now_ns();
	if (w->cfg->count == 0)
		w->deadline_ns = w->start_ns + (uint64_t)w->cfg->duration_ms * 1000000u;
	for (size_t i = 0; i < w->nconns; i++) {
		if (is_udp(w))
			udp_send(w, &w->conns[i]);
		else
			stream_send(w, &w->conns[i], w->start_ns);
		conn_note_done(w, &w->conns[i]);
	}
	uint64_t next_tick = w->start_ns + TICK_MS * 1000000u;
	while (w->ndone < w->nconns) {
		if (worker_can_block(w)) {
			conn_receive(w, &w->conns[0], true);
		} else {
			int n = epoll_wait(w->epfd, evs, EPOLL_BATCH, TICK_MS);
			if (n < 0 && errno != EINTR) {
				snprintf(w->err, sizeof(w->err), "epoll_wait: %s", strerror(errno));
				w->errors++;
				break;
			}
			for (int i = 0; i < n; i++) {
				struct conn *c = evs[i].data.ptr;
				if (c->dead)
					continue;
				if (evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP))
					conn_receive(w, c, false);
				if ((evs[i].events & EPOLLOUT) && !c->dead && !is_udp(w)) {
					stream_send(w, c, now_ns());
					conn_note_done(w, c);
				}
			}
		}
		uint64_t now = now_ns();
		if (now >= next_tick || (w->deadline_ns && now >= w->deadline_ns && !w->stopping)) {
			worker_tick(w, now);
			for (size_t i = 0; i < w->nconns; i++)
				conn_note_done(w, &w->conns[i]);
			next_tick = now + TICK_MS * 1000000u;
		}
		__atomic_store_n(&w->done_pub, w->ok + w->mismatches, __ATOMIC_RELAXED);
		__atomic_store_n(&w->errors_pub, w->mismatches + w->timeouts + w->errors,
				 __ATOMIC_RELAXED);
	}
	w->end_ns = now_ns();
	/* The run ended with its last reply, or at the deadline if replies stopped before. */
	uint64_t end = w->last_reply_ns ? w->last_reply_ns : w->end_ns;
	if (w->deadline_ns && w->deadline_ns < w->end_ns && end < w->deadline_ns)
		end = w->deadline_ns;
	w->end_ns = end;
	__atomic_store_n(&w->finished, true, __ATOMIC_RELEASE);
	return NULL;
}

/* ---- setup ---- */

static int worker_setup(struct worker *w, const struct bench_config *cfg,
			const struct bench_msg *msg, size_t index, size_t nconns)
{
	*w = (struct worker){.cfg = cfg, .msg = msg, .index = index, .nconns = nconns};
	histogram_init(&w->hist);
	w->epfd = epoll_create1(EPOLL_CLOEXEC);
	w->conns = calloc(nconns, sizeof(*w->conns));
	bool udp = cfg->spec.transport == ADDR_UDP;
	w->rx = malloc(udp ? rx_slot_size(cfg) * SEND_BATCH : READ_CHUNK);
	w->tx = udp ? malloc((cfg->size + 1) * SEND_BATCH) : NULL;
	bool small = !udp && cfg->size <= SMALL_MSG_MAX;
	w->stx = small ? malloc(cfg->size * SEND_BATCH) : NULL;
	if (w->epfd < 0 || w->conns == NULL || w->rx == NULL || (udp && w->tx == NULL) ||
	    (small && w->stx == NULL)) {
		cli_error(_("bench: %s"), strerror(w->epfd < 0 ? errno : ENOMEM));
		return -1;
	}
	for (size_t i = 0; i < nconns; i++)
		w->conns[i].fd = -1;
	for (unsigned k = 0; udp && k < SEND_BATCH; k++) {
		w->rx_iov[k] = (struct iovec){w->rx + (size_t)k * rx_slot_size(cfg), rx_slot_size(cfg)};
		w->rx_mm[k] = (struct mmsghdr){.msg_hdr = {.msg_iov = &w->rx_iov[k], .msg_iovlen = 1}};
	}
	return 0;
}

static int conn_open(struct worker *w, struct conn *c, uint64_t limit)
{
	const struct bench_config *cfg = w->cfg;
	char err[NET_ERR_LEN];
	c->limit = limit;
	c->sent_ns = calloc(cfg->depth, sizeof(*c->sent_ns));
	c->slot_seq = calloc(cfg->depth, sizeof(*c->slot_seq));
	if (c->sent_ns == NULL || c->slot_seq == NULL) {
		cli_error(_("bench: %s"), strerror(ENOMEM));
		return -1;
	}
	for (unsigned i = 0; i < cfg->depth; i++)
		c->slot_seq[i] = i;
	c->fd = net_connect(&cfg->spec, CONNECT_TIMEOUT_MS, err, sizeof(err));
	if (c->fd < 0) {
		cli_error("%s", err);
		return -1;
	}
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
	if (net_set_nonblock(c->fd, true, err, sizeof(err)) < 0) {
		cli_error("%s", err);
		return -1;
	}
	if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, c->fd, &ev) < 0) {
		cli_error(_("bench: epoll_ctl: %s"), strerror(errno));
		return -1;
	}
	return 0;
}

/* For worker_can_block(): receives wait up to TICK_MS; sends stay MSG_DONTWAIT. */
static int conn_set_blocking(struct conn *c)
{
	char err[NET_ERR_LEN];
	struct timeval tv = {.tv_sec = 0, .tv_usec = TICK_MS * 1000};
	if (net_set_nonblock(c->fd, false, err, sizeof(err)) < 0 ||
	    setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0) {
		cli_error("bench: %s", err[0] ? err : strerror(errno));
		return -1;
	}
	return 0;
}

static void worker_free(struct worker *w)
{
	for (size_t i = 0; i < w->nconns && w->conns != NULL; i++) {
		if (w->conns[i].fd >= 0)
			close(w->conns[i].fd);
		free(w->conns[i].sent_ns);
		free(w->conns[i].slot_seq);
	}
	free(w->conns);
	free(w->rx);
	free(w->tx);
	free(w->stx);
	if (w->epfd >= 0)
		close(w->epfd);
}

/* ---- options and report ---- */

static void usage(FILE *out)
{
	fprintf(out,
		_("Usage: sockit bench [OPTIONS] [ADDR | HOST PORT]\n\n"
		"Load an echo server (default %s) with a closed loop: every\n"
		"connection keeps --depth messages in flight and sends the next as soon as a\n"
		"reply is back. Every reply is checked (the uppercase of what was sent, or the\n"
		"same bytes with --plain); mismatches, timeouts and errors make the exit status\n"
		"non-zero.\n\n"
		"  -c, --conns N          connections (udp: sockets) (default: 1)\n"
		"  -d, --depth N          messages in flight per connection (default: 1)\n"
		"  -s, --size BYTES       message size (default: %d)\n"
		"  -D, --duration SECONDS run this long (default: %g)\n"
		"  -n, --count N          or send exactly N messages in all\n"
		"  -T, --threads N        client threads, connections spread over them\n"
		"                         (default: 1)\n"
		"  -t, --timeout SECONDS  a reply later than this is a timeout (default: %g)\n"
		"  -p, --plain            expect replies unchanged (RFC 862 echo, socat, inetd)\n"
		"      --proto NAME       echo (default), or over udp: sntp (each reply must\n"
		"                         answer its request, not be a KoD), time (the seed's\n"
		"                         strftime service), daytime, rfc868 (depth 1)\n"
		"  -j, --json             print the result as one JSON object\n"
		"  -h, --help             show this help\n\n"
		"ADDR is tcp:HOST:PORT, udp:HOST:PORT, unix:/path or HOST:PORT.\n"
		"Latency is from a message's first byte sent to its reply's last byte received.\n"),
		DEFAULT_SPEC, DEFAULT_SIZE, DEFAULT_DURATION_MS / 1000.0, DEFAULT_TIMEOUT_MS / 1000.0);
}

static unsigned long long parse_count(const char *opt, const char *text, unsigned long long min,
				      unsigned long long max)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(text, &end, 10);
	if (errno != 0 || end == text || *end != '\0' || text[0] == '-' || v < min || v > max)
		cli_usage_error("bench", _("--%s: '%s' is not a number from %llu to %llu"), opt, text,
				min, max);
	return v;
}

static void parse_options(struct bench_config *cfg, int argc, char **argv)
{
	enum { OPT_PROTO = 1000 };
	static const struct option longopts[] = {
		{"conns", required_argument, NULL, 'c'},
		{"depth", required_argument, NULL, 'd'},
		{"size", required_argument, NULL, 's'},
		{"duration", required_argument, NULL, 'D'},
		{"count", required_argument, NULL, 'n'},
		{"threads", required_argument, NULL, 'T'},
		{"timeout", required_argument, NULL, 't'},
		{"plain", no_argument, NULL, 'p'},
		{"proto", required_argument, NULL, OPT_PROTO},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	*cfg = (struct bench_config){.proto = &protos[0],
				     .conns = 1,
				     .depth = 1,
				     .threads = 1,
				     .size = DEFAULT_SIZE,
				     .duration_ms = DEFAULT_DURATION_MS,
				     .timeout_ms = DEFAULT_TIMEOUT_MS};
	int c;
	while ((c = getopt_long(argc, argv, "+c:d:s:D:n:T:t:pjh", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			cfg->conns = (unsigned)parse_count("conns", optarg, 1, MAX_CONNS);
			break;
		case 'd':
			cfg->depth = (unsigned)parse_count("depth", optarg, 1, MAX_DEPTH);
			break;
		case 's':
			cfg->size = (size_t)parse_count("size", optarg, 1, MAX_SIZE);
			break;
		case 'n':
			cfg->count = parse_count("count", optarg, 1, UINT64_MAX / 2);
			break;
		case 'T':
			cfg->threads = (unsigned)parse_count("threads", optarg, 1, MAX_THREADS);
			break;
		case 'D':
		case 't': {
			long ms = cli_parse_seconds(optarg);
			if (ms <= 0)
				cli_usage_error("bench", _("--%s: '%s' is not a positive number of seconds"),
						c == 'D' ? "duration" : "timeout", optarg);
			*(c == 'D' ? &cfg->duration_ms : &cfg->timeout_ms) = ms;
			break;
		}
		case 'p':
			cfg->plain = true;
			break;
		case 'j':
			cfg->json = true;
			break;
		case OPT_PROTO: {
			size_t i;
			for (i = 0; i < NPROTOS && strcmp(protos[i].name, optarg) != 0; i++)
				;
			if (i == NPROTOS)
				cli_usage_error("bench",
						_("--proto: unknown protocol '%s' (echo, sntp, "
						  "time, daytime, rfc868)"),
						optarg);
			cfg->proto = &protos[i];
			break;
		}
		case 'h':
			usage(stdout);
			exit(0);
		default:
			cli_usage_error("bench", _("unknown option"));
		}
	}
	argc -= optind;
	argv += optind;
	bool stream = cfg->proto->stream;
	cli_parse_client_addr("bench", &argc, &argv, stream ? DEFAULT_SPEC : DEFAULT_DGRAM_SPEC,
			      stream ? ADDR_TCP : ADDR_UDP, &cfg->spec);
	if (!stream && cfg->spec.transport != ADDR_UDP)
		cli_usage_error("bench", _("--proto %s speaks udp only"), cfg->proto->name);
	if (cfg->proto->fixed_size)
		cfg->size = cfg->proto->fixed_size;
	if (cfg->proto->reply_seq == NULL && cfg->depth > 1)
		cli_usage_error("bench",
				_("--proto %s: replies do not name their request, so --depth must "
				  "be 1 (use more --conns)"),
				cfg->proto->name);
	if (argc > 0)
		cli_usage_error("bench", _("unexpected argument '%s'"), argv[0]);
	if (cfg->spec.transport == ADDR_UDP && cfg->size > MAX_UDP_SIZE)
		cli_usage_error("bench", _("--size: udp carries at most %d bytes"), MAX_UDP_SIZE);
	if (cfg->count != 0 && cfg->count < cfg->conns)
		cli_usage_error("bench", _("--count %" PRIu64 " is less than --conns %u"), cfg->count,
				cfg->conns);
	if (cfg->threads > cfg->conns)
		cfg->threads = cfg->conns;
	addr_format(&cfg->spec, cfg->target, sizeof(cfg->target));
}

struct totals {
	uint64_t ok, mismatches, timeouts, errors, late;
	double seconds;
	double client_busy; /* CPU time of the run over seconds x threads: near 1, we are the
			     * bottleneck, not the server */
	struct histogram hist;
	const char *first_error;
};

static double us(uint64_t ns)
{
	return (double)ns / 1000.0;
}

static void print_human(const struct bench_config *cfg, const struct totals *t)
{
	const struct histogram *h = &t->hist;
	uint64_t msgs = t->ok + t->mismatches;
	double rate = t->seconds > 0 ? (double)msgs / t->seconds : 0;
	printf("%s %s: %u conn%s x depth %u, %zu B, %u thread%s, %.2f s\n", cfg->proto->name,
	       cfg->target, cfg->conns, cfg->conns == 1 ? "" : "s", cfg->depth, cfg->size,
	       cfg->threads, cfg->threads == 1 ? "" : "s", t->seconds);
	printf("  messages  %" PRIu64 "  %.0f msgs/s  %.2f MB/s each way\n", msgs, rate,
	       rate * (double)cfg->size / 1e6);
	printf("  latency   p50 %.1f us  p90 %.1f us  p99 %.1f us  p99.9 %.1f us  max %.1f us"
	       "  (mean %.1f us)\n",
	       us(histogram_percentile(h, 50)), us(histogram_percentile(h, 90)),
	       us(histogram_percentile(h, 99)), us(histogram_percentile(h, 99.9)), us(h->max),
	       histogram_mean(h) / 1000.0);
	printf("  problems  %" PRIu64 " mismatches  %" PRIu64 " timeouts  %" PRIu64 " errors",
	       t->mismatches, t->timeouts, t->errors);
	if (t->late > 0)
		printf("  (%" PRIu64 " late replies ignored)", t->late);
	printf("\n  client    %.0f %% busy%s\n", t->client_busy * 100,
	       t->client_busy > CLIENT_BUSY_WARN ? " (near saturation: add --threads, or the "
						  "client limits these figures)"
						: "");
}

static void print_json(const struct bench_config *cfg, const struct totals *t)
{
	const struct histogram *h = &t->hist;
	uint64_t msgs = t->ok + t->mismatches;
	double rate = t->seconds > 0 ? (double)msgs / t->seconds : 0;
	printf("{\"proto\":\"%s\",\"target\":\"", cfg->proto->name);
	for (const char *p = cfg->target; *p; p++) { /* a unix path may hold anything */
		if (*p == '"' || *p == '\\')
			printf("\\%c", *p);
		else if ((unsigned char)*p < 0x20)
			printf("\\u%04x", (unsigned char)*p);
		else
			putchar(*p);
	}
	printf("\",\"transport\":\"%s\",\"conns\":%u,\"depth\":%u,\"size\":%zu,\"threads\":%u,"
	       "\"plain\":%s,\"seconds\":%.6f,\"messages\":%" PRIu64 ",\"msgs_per_s\":%.1f,"
	       "\"mb_per_s\":%.3f,\"latency_us\":{\"p50\":%.3f,\"p90\":%.3f,\"p99\":%.3f,"
	       "\"p99.9\":%.3f,\"max\":%.3f,\"mean\":%.3f,\"min\":%.3f},\"mismatches\":%" PRIu64
	       ",\"timeouts\":%" PRIu64 ",\"errors\":%" PRIu64 ",\"late\":%" PRIu64
	       ",\"client_busy\":%.3f}\n",
	       addr_transport_name(cfg->spec.transport), cfg->conns, cfg->depth, cfg->size,
	       cfg->threads, cfg->plain ? "true" : "false", t->seconds, msgs, rate,
	       rate * (double)cfg->size / 1e6, us(histogram_percentile(h, 50)),
	       us(histogram_percentile(h, 90)), us(histogram_percentile(h, 99)),
	       us(histogram_percentile(h, 99.9)), us(h->max), histogram_mean(h) / 1000.0,
	       us(h->min), t->mismatches, t->timeouts, t->errors, t->late, t->client_busy);
}

static volatile sig_atomic_t interrupted;

static void on_interrupt(int signo)
{
	(void)signo;
	interrupted = 1;
}

/* On a terminal, a line rewritten once a second while the run goes on. Ctrl-C ends the
 * run early but still reports what was measured; a second one kills. */
static void watch_progress(struct worker *ws, size_t n, bool live)
{
	struct sigaction sa = {.sa_handler = on_interrupt, .sa_flags = SA_RESETHAND};
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	uint64_t start = now_ns(), last_print = start, last_done = 0;
	for (;;) {
		bool all = true;
		uint64_t done = 0, bad = 0;
		for (size_t i = 0; i < n; i++) {
			all &= __atomic_load_n(&ws[i].finished, __ATOMIC_ACQUIRE);
			done += __atomic_load_n(&ws[i].done_pub, __ATOMIC_RELAXED);
			bad += __atomic_load_n(&ws[i].errors_pub, __ATOMIC_RELAXED);
		}
		if (all)
			break;
		if (interrupted) {
			for (size_t i = 0; i < n; i++)
				__atomic_store_n(&ws[i].interrupt, true, __ATOMIC_RELAXED);
		}
		uint64_t now = now_ns();
		if (live && now - last_print >= PROGRESS_MS * 1000000ull) {
			double dt = (double)(now - last_print) / 1e9;
			fprintf(stderr, "\r  %5.1f s  %12" PRIu64 " msgs  %10.0f msgs/s  %" PRIu64
					" problems   ",
				(double)(now - start) / 1e9, done, (double)(done - last_done) / dt, bad);
			last_print = now;
			last_done = done;
		}
		struct timespec ts = {0, 20 * 1000000};
		nanosleep(&ts, NULL);
	}
	if (live && last_print != start)
		fprintf(stderr, "\r%*s\r", 72, "");
}

static double cpu_seconds(const struct rusage *ru)
{
	return (double)(ru->ru_utime.tv_sec + ru->ru_stime.tv_sec) +
	       (double)(ru->ru_utime.tv_usec + ru->ru_stime.tv_usec) / 1e6;
}

/* Like serve: many connections need the hard fd limit, not the soft one. */
static void raise_fd_limit(unsigned conns)
{
	int have = cli_raise_fd_limit();
	if ((unsigned)have < conns + 16)
		cli_error(_("warning: open-file limit %d is below --conns %u"), have, conns);
}

int cmd_bench(int argc, char **argv)
{
	struct bench_config cfg;
	parse_options(&cfg, argc, argv);
	signal(SIGPIPE, SIG_IGN);
	raise_fd_limit(cfg.conns);

	struct bench_msg msg;
	struct worker *ws = calloc(cfg.threads, sizeof(*ws));
	if (ws == NULL || bench_msg_init(&msg, cfg.size, cfg.plain) < 0) {
		cli_error(_("bench: %s"), strerror(ENOMEM));
		free(ws);
		return EXIT_OSERR;
	}
	int rc = EXIT_UNAVAIL;
	size_t nready = 0;
	for (size_t t = 0; t < cfg.threads; t++) {
		size_t nconns = cfg.conns / cfg.threads + (t < cfg.conns % cfg.threads);
		nready = t + 1;
		if (worker_setup(&ws[t], &cfg, &msg, t, nconns) < 0) {
			rc = EXIT_OSERR;
			goto out_free;
		}
	}
	for (size_t i = 0; i < cfg.conns; i++) { /* connection i goes to thread i % threads */
		struct worker *w = &ws[i % cfg.threads];
		uint64_t limit = cfg.count ? cfg.count / cfg.conns + (i < cfg.count % cfg.conns)
					   : UINT64_MAX;
		if (conn_open(w, &w->conns[i / cfg.threads], limit) < 0)
			goto out_free;
	}
	for (size_t t = 0; t < cfg.threads; t++) {
		if (ws[t].nconns == 1 && conn_set_blocking(&ws[t].conns[0]) < 0)
			goto out_free;
	}
	struct rusage ru0, ru1;
	getrusage(RUSAGE_SELF, &ru0);
	size_t started = 0;
	for (; started < cfg.threads; started++) {
		int e = pthread_create(&ws[started].thread, NULL, worker_main, &ws[started]);
		if (e != 0) {
			cli_error(_("bench: cannot start thread: %s"), strerror(e));
			break;
		}
	}
	watch_progress(ws, started, !cfg.json && isatty(STDERR_FILENO));
	struct totals t = {0};
	histogram_init(&t.hist);
	uint64_t first = UINT64_MAX, last = 0;
	for (size_t i = 0; i < started; i++) {
		struct worker *w = &ws[i];
		pthread_join(w->thread, NULL);
		t.ok += w->ok;
		t.mismatches += w->mismatches;
		t.timeouts += w->timeouts;
		t.errors += w->errors;
		t.late += w->late;
		histogram_merge(&t.hist, &w->hist);
		if (w->start_ns < first)
			first = w->start_ns;
		if (w->end_ns > last)
			last = w->end_ns;
		if (t.first_error == NULL && w->err[0] != '\0')
			t.first_error = w->err;
	}
	if (started < cfg.threads) {
		rc = EXIT_OSERR;
		goto out_free;
	}
	t.seconds = last > first ? (double)(last - first) / 1e9 : 0;
	getrusage(RUSAGE_SELF, &ru1);
	if (t.seconds > 0)
		t.client_busy = (cpu_seconds(&ru1) - cpu_seconds(&ru0)) / (t.seconds * cfg.threads);
	if (cfg.json)
		print_json(&cfg, &t);
	else
		print_human(&cfg, &t);
	fflush(stdout);
	if (t.first_error != NULL)
		cli_error("%s", t.first_error);
	if (t.mismatches > 0)
		cli_error("%" PRIu64 " replies did not match what was sent%s", t.mismatches,
			  cfg.plain || cfg.proto != &protos[0] ? ""
								: " (try --plain for an RFC 862 echo)");
	if (t.timeouts > 0)
		cli_error("%" PRIu64 " messages got no reply within %g s", t.timeouts,
			  (double)cfg.timeout_ms / 1000.0);
	rc = t.mismatches || t.timeouts ? EXIT_DATAERR : t.errors ? EXIT_UNAVAIL : 0;

out_free:
	for (size_t i = 0; i < nready; i++)
		worker_free(&ws[i]);
	free(ws);
	bench_msg_free(&msg);
	return rc;
}
