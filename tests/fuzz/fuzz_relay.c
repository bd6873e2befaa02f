/* fuzz_relay.c - the chat relay end to end: three clients on unix sockets send the input's
 * lines (the first byte of each picks the client) to a relay on a real event loop, which
 * parses and dispatches every IRC command and answers; then all disconnect. A fresh relay
 * per input keeps runs reproducible. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "addr.h"
#include "ev.h"
#include "fuzz.h"
#include "net.h"
#include "relay.h"
#include "service.h"
#include "stats.h"
#include "stream.h"

#define FUZZ_MAX_INPUT 16384
#define CLIENTS        3
#define PUMP_ROUNDS    4 /* loop turns after each line: accept, read, dispatch, answer */

static struct ev_loop *loop;
static struct ev_timer stop_timer;
static void *config;
static char path[64];

static void on_stop(struct ev_loop *l, struct ev_timer *t, void *data)
{
	(void)t;
	(void)data;
	ev_loop_stop(l);
}

/* Let the loop handle what is ready now, a few turns, without waiting. */
static void pump(int rounds)
{
	for (int i = 0; i < rounds; i++) {
		ev_timer_start(loop, &stop_timer, 0);
		FUZZ_CHECK(ev_loop_run(loop) == 0);
	}
}

static void drain(int fd)
{
	char buf[65536];
	while (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
		;
}

static void setup(void)
{
	char err[256];
	loop = ev_loop_new(1024, "poll", err, sizeof(err));
	FUZZ_CHECK(loop != NULL);
	ev_timer_init(&stop_timer, on_stop, NULL);
	const struct service_def *d = &chat_relay_service;
	config = malloc(d->config_size);
	FUZZ_CHECK(config != NULL);
	memcpy(config, d->config_defaults, d->config_size);
	/* every line is dispatched at once: no flood queue waiting on a timer */
	FUZZ_CHECK(opt_set(opt_find(d->options, "flood-rate"), config, "0", true, err,
			   sizeof(err)) == 0);
	snprintf(path, sizeof(path), "@sockit-fuzz-relay-%d", (int)getpid());
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > FUZZ_MAX_INPUT)
		return 0;
	if (loop == NULL)
		setup();
	const struct service_def *d = &chat_relay_service;
	struct addr_spec spec = {.transport = ADDR_UNIX};
	snprintf(spec.path, sizeof(spec.path), "%s", path);
	char bound[ADDR_TEXT_MAX], err[NET_ERR_LEN];
	int lfd = net_listen(&spec, NULL, bound, sizeof(bound), err, sizeof(err));
	FUZZ_CHECK(lfd >= 0);
	void *ctx = d->create(loop, config);
	FUZZ_CHECK(ctx != NULL);
	size_t active = 0;
	struct service_stats stats = {0};
	struct stream_limits limits = {
		.max_conns = 16, .output_cap = 256 * 1024, .active_conns = &active};
	struct stream_server *srv =
		stream_server_new(loop, lfd, bound, d->stream, ctx, &limits, &stats);
	FUZZ_CHECK(srv != NULL);

	int fds[CLIENTS];
	for (int i = 0; i < CLIENTS; i++) {
		char cerr[NET_ERR_LEN];
		fds[i] = net_connect(&spec, 1000, cerr, sizeof(cerr));
		FUZZ_CHECK(fds[i] >= 0);
	}
	pump(1);
	const uint8_t *p = data, *end = data + size;
	while (p < end) {
		const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) + 1 : (size_t)(end - p);
		int fd = fds[p[0] % CLIENTS];
		if (len > 1 && send(fd, p + 1, len - 1, MSG_DONTWAIT | MSG_NOSIGNAL) < 0 &&
		    errno != EAGAIN && errno != EPIPE && errno != ECONNRESET)
			FUZZ_CHECK(!"send to the relay failed");
		p += len;
		pump(PUMP_ROUNDS);
		for (int i = 0; i < CLIENTS; i++)
			drain(fds[i]);
	}
	for (int i = 0; i < CLIENTS; i++)
		close(fds[i]);
	pump(PUMP_ROUNDS);
	stream_server_free(srv);
	d->destroy(ctx);
	FUZZ_CHECK(active == 0);
	return 0;
}
