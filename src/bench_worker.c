/* bench_worker.c - one bench thread: its connections, their setup and its epoll loop. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench_internal.h"
#include "cli.h"
#include "i18n.h"

#define CONNECT_TIMEOUT_MS 5000
#define SMALL_MSG_MAX      4096 /* stream messages up to this are copied to send */
#define EPOLL_BATCH        256
#define TICK_NS            ((uint64_t)BENCH_TICK_MS * 1000000u)

void bench_conn_fail(struct worker *w, struct conn *c, const char *what, int errnum)
{
	if (c->dead)
		return;
	if (w->errors == 0)
		snprintf(w->err, sizeof(w->err), "%s %s: %s", what, w->cfg->target,
			 strerror(errnum));
	w->errors++;
	bench_conn_kill(w, c);
}

/* c is given up: no more sends, receives or readiness for it. */
void bench_conn_kill(struct worker *w, struct conn *c)
{
	c->dead = true;
	if (!w->blocking)
		epoll_ctl(w->epfd, EPOLL_CTL_DEL, c->fd, NULL);
}

void bench_record_reply(struct worker *w, bool good, uint64_t sent, uint64_t now)
{
	w->last_reply_ns = now;
	if (good)
		w->ok++;
	else
		w->mismatches++;
	histogram_record(&w->hist, now > sent ? now - sent : 0);
}

static bool is_udp(const struct worker *w)
{
	return w->cfg->spec.transport == ADDR_UDP;
}

/* ---- the worker loop ---- */

static bool conn_done(const struct worker *w, const struct conn *c)
{
	if (c->dead)
		return true;
	if (is_udp(w))
		return c->udp_busy == 0 && c->tx_seq >= c->limit;
	return bench_stream_idle(c) && c->tx_seq >= c->limit;
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
			bench_udp_check_timeout(w, &w->conns[i], now, limit);
		else
			bench_stream_check_timeout(w, &w->conns[i], now, limit);
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

bool bench_conn_receive(struct worker *w, struct conn *c, bool block)
{
	bool got;
	if (is_udp(w))
		got = bench_udp_receive(w, c, block ? MSG_WAITFORONE : MSG_DONTWAIT);
	else
		got = bench_stream_receive(w, c, block ? 0 : MSG_DONTWAIT);
	conn_note_done(w, c);
	return got;
}

void bench_worker_after_io(struct worker *w, uint64_t now)
{
	if (now >= w->next_tick_ns || (w->deadline_ns && now >= w->deadline_ns && !w->stopping)) {
		worker_tick(w, now);
		for (size_t i = 0; i < w->nconns; i++)
			conn_note_done(w, &w->conns[i]);
		w->next_tick_ns = now + TICK_NS;
	}
	__atomic_store_n(&w->done_pub, w->ok + w->mismatches, __ATOMIC_RELAXED);
	__atomic_store_n(&w->errors_pub, w->mismatches + w->timeouts + w->errors, __ATOMIC_RELAXED);
}

static void worker_loop(struct worker *w)
{
	struct epoll_event evs[EPOLL_BATCH];
	while (w->ndone < w->nconns) {
		int n = epoll_wait(w->epfd, evs, EPOLL_BATCH, BENCH_TICK_MS);
		if (n < 0 && errno != EINTR) {
			snprintf(w->err, sizeof(w->err), "epoll_wait: %s", strerror(errno));
			w->errors++;
			return;
		}
		for (int i = 0; i < n; i++) {
			struct conn *c = evs[i].data.ptr;
			if (c->dead)
				continue;
			if (evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP))
				bench_conn_receive(w, c, false);
			if ((evs[i].events & EPOLLOUT) && !c->dead && !is_udp(w)) {
				bench_stream_send(w, c, bench_now_ns());
				conn_note_done(w, c);
			}
		}
		bench_worker_after_io(w, bench_now_ns());
	}
}

void *bench_worker_main(void *arg)
{
	struct worker *w = arg;
	w->start_ns = bench_now_ns();
	w->next_tick_ns = w->start_ns + TICK_NS;
	if (w->cfg->count == 0)
		w->deadline_ns = w->start_ns + (uint64_t)w->cfg->duration_ms * 1000000u;
	for (size_t i = 0; i < w->nconns; i++) {
		if (is_udp(w))
			bench_udp_send(w, &w->conns[i]);
		else
			bench_stream_send(w, &w->conns[i], w->start_ns);
		conn_note_done(w, &w->conns[i]);
	}
	if (w->blocking)
		bench_blocking_loop(w);
	else
		worker_loop(w);
	w->end_ns = bench_now_ns();
	/* The run ended with its last reply, or at the deadline if replies stopped before. */
	uint64_t end = w->last_reply_ns ? w->last_reply_ns : w->end_ns;
	if (w->deadline_ns && w->deadline_ns < w->end_ns && end < w->deadline_ns)
		end = w->deadline_ns;
	w->end_ns = end;
	__atomic_store_n(&w->finished, true, __ATOMIC_RELEASE);
	return NULL;
}

/* ---- setup ---- */

int bench_worker_setup(struct worker *w, const struct bench_config *cfg,
		       const struct bench_msg *msg, size_t index, size_t nconns)
{
	*w = (struct worker){.cfg = cfg,
			     .msg = msg,
			     .index = index,
			     .nconns = nconns,
			     .epfd = -1,
			     .blocking = bench_blocking_fits(cfg, nconns)};
	spinner_init(&w->spin, w->blocking ? cfg->busy_poll_us : 0, cfg->busy_poll_adaptive);
	histogram_init(&w->hist);
	if (!w->blocking)
		w->epfd = epoll_create1(EPOLL_CLOEXEC);
	w->conns = calloc(nconns, sizeof(*w->conns));
	bool udp = cfg->spec.transport == ADDR_UDP;
	w->rx = malloc(udp ? bench_rx_slot_size(cfg) * SEND_BATCH : READ_CHUNK);
	w->tx = udp ? malloc((cfg->size + 1) * SEND_BATCH) : NULL;
	bool small = !udp && cfg->size <= SMALL_MSG_MAX;
	w->stx = small ? malloc(cfg->size * SEND_BATCH) : NULL;
	if ((!w->blocking && w->epfd < 0) || w->conns == NULL || w->rx == NULL ||
	    (udp && w->tx == NULL) || (small && w->stx == NULL)) {
		cli_error(_("bench: %s"), strerror(!w->blocking && w->epfd < 0 ? errno : ENOMEM));
		return -1;
	}
	for (size_t i = 0; i < nconns; i++)
		w->conns[i].fd = -1;
	for (unsigned k = 0; udp && k < SEND_BATCH; k++) {
		w->rx_iov[k] = (struct iovec){w->rx + (size_t)k * bench_rx_slot_size(cfg),
					      bench_rx_slot_size(cfg)};
		w->rx_mm[k] =
			(struct mmsghdr){.msg_hdr = {.msg_iov = &w->rx_iov[k], .msg_iovlen = 1}};
	}
	return 0;
}

int bench_conn_open(struct worker *w, struct conn *c, uint64_t limit)
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
	if (w->blocking)
		return bench_blocking_prepare(c->fd);
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

void bench_worker_free(struct worker *w)
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
	spinner_close(&w->spin);
}
