/* time_seed.c - the seed's time service: a strftime format in, the time in that format out;
 * one datagram per request on udp, one line per request on tcp. The checks are timefmt.c's. */
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "escape.h"
#include "i18n.h"
#include "log.h"
#include "net.h"
#include "time_seed.h"
#include "timefmt.h"

#define REPLY_MAX (TIMEFMT_MAX_REQUEST + 1) /* a line's reply plus its newline */

struct time_seed_config {
	bool utc;
};

static const struct time_seed_config time_seed_defaults = {.utc = false};

static const struct opt_desc time_seed_options[] = {
	{.name = "utc",
	 .type = OPT_BOOL,
	 .offset = offsetof(struct time_seed_config, utc),
	 .help = N_("format the time in UTC instead of the local zone (TZ)")},
	OPT_END,
};

static void *time_seed_create(struct ev_loop *loop, const void *config)
{
	(void)loop;
	tzset(); /* read TZ once, before the first request */
	return (void *)config;
}

static size_t format_now(const struct time_seed_config *cfg, struct timespec when, const char *req,
			 size_t len, bool single_line, char *out, size_t outcap)
{
	struct tm tm;
	if (cfg->utc)
		gmtime_r(&when.tv_sec, &tm);
	else
		localtime_r(&when.tv_sec, &tm);
	return timefmt_reply(req, len, single_line, &tm, out, outcap);
}

static void log_request(const char *peer, const void *req, size_t len)
{
	char shown[ESCAPE_MAX(TIMEFMT_MAX_REQUEST)];
	size_t shown_len = len < TIMEFMT_MAX_REQUEST ? len : TIMEFMT_MAX_REQUEST;
	escape_text(shown, sizeof(shown), req, shown_len);
	log_info("time: %s: format '%s'", peer, shown);
}

static ssize_t time_seed_reply(void *ctx, const struct dgram_request *req, uint8_t *out,
			       size_t outcap)
{
	if (log_enabled(LOG_INFO)) {
		char peer[ADDR_TEXT_MAX];
		net_format_sockaddr(req->peer, req->peerlen, peer, sizeof(peer));
		log_request(peer, req->data, req->len);
	}
	return (ssize_t)format_now(ctx, req->rx_time, (const char *)req->data, req->len, false,
				   (char *)out, outcap);
}

static void time_seed_on_line(struct stream_conn *c, void *ctx, void *state, char *line, size_t len,
			      bool too_long)
{
	(void)state;
	char reply[REPLY_MAX];
	if (log_enabled(LOG_INFO))
		log_request(stream_peer(c), line, len);
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	/* An over-long line is refused like a 257-byte datagram: timefmt sees its length. */
	size_t n = format_now(ctx, now, line, too_long ? TIMEFMT_MAX_REQUEST + 1 : len, true, reply,
			      sizeof(reply) - 1);
	reply[n++] = '\n';
	stream_write(c, reply, n);
}

static const struct stream_service time_seed_stream = {
	.name = "time",
	.max_line = TIMEFMT_MAX_REQUEST + 1, /* so a 257-byte line still arrives, to be refused */
	.on_line = time_seed_on_line,
};

static const struct dgram_service time_seed_dgram = {
	.name = "time",
	.wants_rx_time = true,
	.reply = time_seed_reply,
};

static const char *const time_seed_default_endpoints[] = {"udp:127.0.0.1:9001",
							  "tcp:127.0.0.1:9001", NULL};

const struct service_def time_seed_service = {
	.name = "time",
	.summary = N_("the seed's time server: a strftime format in, the time out"),
	.defaults = time_seed_default_endpoints,
	.config_size = sizeof(struct time_seed_config),
	.config_defaults = &time_seed_defaults,
	.options = time_seed_options,
	.stream = &time_seed_stream,
	.dgram = &time_seed_dgram,
	.create = time_seed_create,
};
