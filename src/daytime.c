/* daytime.c - RFC 867: the date as one ASCII line, sent on connect (then closed) or in
 * answer to any datagram. The text is timefmt_daytime's, the same in every locale. */
#include <stdint.h>
#include <time.h>

#include "daytime.h"
#include "i18n.h"
#include "timefmt.h"

#define DAYTIME_MAX 80 /* the longest day, month and zone names fit */

static size_t daytime_now(char *out, size_t outcap)
{
	time_t now = time(NULL);
	struct tm tm;
	localtime_r(&now, &tm);
	size_t n = timefmt_daytime(&tm, tm.tm_zone ? tm.tm_zone : "", out, outcap - 2);
	out[n++] = '\r'; /* RFC 867 suggests a line; CRLF is the network's line end */
	out[n++] = '\n';
	return n;
}

static void *daytime_create(struct ev_loop *loop, const void *config)
{
	(void)loop;
	tzset();
	return (void *)config;
}

static void daytime_on_open(struct stream_conn *c, void *ctx, void *state)
{
	(void)ctx;
	(void)state;
	char line[DAYTIME_MAX];
	stream_write(c, line, daytime_now(line, sizeof(line)));
	stream_close(c);
}

static void daytime_on_data(struct stream_conn *c, void *ctx, void *state, uint8_t *data,
			    size_t len)
{
	/* RFC 867: "Any data received is thrown away." */
	(void)c, (void)ctx, (void)state, (void)data, (void)len;
}

static ssize_t daytime_reply(void *ctx, const struct dgram_request *req, uint8_t *out,
			     size_t outcap)
{
	(void)ctx;
	(void)req;
	if (outcap < DAYTIME_MAX)
		return -1;
	return (ssize_t)daytime_now((char *)out, DAYTIME_MAX);
}

static const struct stream_service daytime_stream = {
	.name = "daytime",
	.on_open = daytime_on_open,
	.on_data = daytime_on_data,
};

static const struct dgram_service daytime_dgram = {
	.name = "daytime",
	.reply = daytime_reply,
};

static const char *const daytime_default_endpoints[] = {"tcp:127.0.0.1:9013", "udp:127.0.0.1:9013",
							NULL};

const struct service_def daytime_service = {
	.name = "daytime",
	.summary = N_("daytime (RFC 867): the date as text"),
	.defaults = daytime_default_endpoints,
	.stream = &daytime_stream,
	.dgram = &daytime_dgram,
	.create = daytime_create,
};
