/* bench_blocking.c - a bench thread with one connection (or udp socket): no event loop,
 * just a send and a receive per message, like the simplest client. The receive polls
 * first while --busy-poll allows, as the server's loop does: a reply that comes within
 * the spin costs no sleep and no wake-up, which at one message in flight is a large part
 * of a loopback round trip (BENCHMARKS.md). */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>

#include "bench_internal.h"
#include "cli.h"
#include "i18n.h"

/* Stream bytes in flight up to this go the blocking way: the socket buffers of both ends
 * hold them, so a blocked send waits for the kernel, not for us to read the echo. More
 * must interleave sends and receives: the epoll loop. */
#define BLOCKING_STREAM_MAX (64 * 1024)

bool bench_blocking_fits(const struct bench_config *cfg, size_t nconns)
{
	return nconns == 1 && (cfg->spec.transport == ADDR_UDP ||
			       (size_t)cfg->depth * cfg->size <= BLOCKING_STREAM_MAX);
}

/* Both directions wait at most one tick, so timeouts, the deadline and Ctrl-C are still
 * seen without a poll per message. */
int bench_blocking_prepare(int fd)
{
	struct timeval tv = {.tv_sec = 0, .tv_usec = BENCH_TICK_MS * 1000};
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0) {
		cli_error(_("bench: setsockopt: %s"), strerror(errno));
		return -1;
	}
	return 0;
}

/* Non-blocking receives for as long as the spin policy allows. False if nothing came. */
static bool spin_receive(struct worker *w, struct conn *c)
{
	uint64_t start = bench_now_ns();
	uint64_t budget_ns = (uint64_t)spinner_budget(&w->spin, start / 1000u) * 1000u;
	if (budget_ns == 0)
		return false;
	bool got;
	do
		got = bench_conn_receive(w, c, false);
	while (!got && w->now_ns - start < budget_ns);
	spin_policy_record(&w->spin.policy, got);
	w->spin_ns += w->now_ns - start; /* waiting, not work: see client_busy */
	return got;
}

/* The first messages went out in bench_worker_main(); each receive sends what may go
 * next. The checks, counters and histogram are the epoll loop's. Spinning only follows a
 * receive that found something: after a quiet tick the peer is not answering quickly. */
void bench_blocking_loop(struct worker *w)
{
	struct conn *c = &w->conns[0];
	bool got = true;
	while (w->ndone < w->nconns) {
		if (c->tx_off != 0) /* a send that SO_SNDTIMEO cut short */
			bench_stream_send(w, c, bench_now_ns());
		if (c->dead)
			break;
		if (!(got && spin_receive(w, c)))
			got = bench_conn_receive(w, c, true);
		bench_worker_after_io(w, w->now_ns);
	}
}
