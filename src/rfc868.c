/* rfc868.c - RFC 868 time: four bytes, seconds since 1900 in network order, sent on connect
 * (then closed) or in answer to any datagram. What `rdate` speaks. */
#include <stdint.h>
#include <time.h>

#include "i18n.h"
#include "rfc868.h"
#include "sntp_packet.h"

static void rfc868_now(uint8_t out[RFC868_LEN])
{
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	sntp_rfc868_encode(sntp_ts_from_timespec(now), out);
}

static void rfc868_on_open(struct stream_conn *c, void *ctx, void *state)
{
	(void)ctx;
	(void)state;
	uint8_t t[RFC868_LEN];
	rfc868_now(t);
	stream_write(c, t, sizeof(t));
	stream_close(c);
}

static void rfc868_on_data(struct stream_conn *c, void *ctx, void *state, uint8_t *data, size_t len)
{
	(void)c, (void)ctx, (void)state, (void)data, (void)len; /* input means nothing here */
}

static ssize_t rfc868_reply(void *ctx, const struct dgram_request *req, uint8_t *out, size_t outcap)
{
	(void)ctx;
	(void)req;
	if (outcap < RFC868_LEN)
		return -1;
	rfc868_now(out);
	return RFC868_LEN;
}

static const struct stream_service rfc868_stream = {
	.name = "rfc868",
	.on_open = rfc868_on_open,
	.on_data = rfc868_on_data,
};

static const struct dgram_service rfc868_dgram = {
	.name = "rfc868",
	.reply = rfc868_reply,
};

static const char *const rfc868_default_endpoints[] = {"tcp:127.0.0.1:9037", "udp:127.0.0.1:9037",
						       NULL};

const struct service_def rfc868_service = {
	.name = "rfc868",
	.summary = N_("time (RFC 868): seconds since 1900, as rdate reads"),
	.defaults = rfc868_default_endpoints,
	.stream = &rfc868_stream,
	.dgram = &rfc868_dgram,
};
