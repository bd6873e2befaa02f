/* dgram.h - datagram (udp) endpoints for request/response services: batched receive and
 * send, and the guard that keeps them from being used as amplifiers or ping-pong loops. */
#ifndef SOCKIT_DGRAM_H
#define SOCKIT_DGRAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>

#include "ev.h"
#include "stats.h"

#define DGRAM_MAX_PAYLOAD 65535

struct dgram_endpoint;
struct dgram_guard;

struct dgram_request {
	const struct sockaddr *peer;
	socklen_t peerlen;
	const uint8_t *data;
	size_t len;
	struct timespec rx_time; /* CLOCK_REALTIME on arrival (the kernel's timestamp when it
				  * gave one); zero unless the service wants_rx_time */
};

struct dgram_service {
	const char *name;
	uint16_t allowed_low_port; /* the one source port < 1024 answered (NTP's 123), or 0 */
	/* req->rx_time is wanted: the kernel's arrival timestamp is switched on for the socket
	 * (SO_TIMESTAMPNS). Without it rx_time is zero and datagrams cost no clock reads. */
	bool wants_rx_time;
	/* Write the reply to out (outcap bytes). Returns its length, or -1 for no reply. */
	ssize_t (*reply)(void *ctx, const struct dgram_request *req, uint8_t *out, size_t outcap);
	/* Optional: the reply to a rate-limited request (SNTP's KoD RATE), or -1 for none. */
	ssize_t (*rate_limited_reply)(void *ctx, const struct dgram_request *req, uint8_t *out,
				      size_t outcap);
};

/* Serve datagrams of fd (owned from now on) on loop. guard may be NULL (no checks). */
struct dgram_endpoint *dgram_endpoint_new(struct ev_loop *loop, int fd, const char *endpoint,
					  const struct dgram_service *service, void *ctx,
					  struct dgram_guard *guard, struct service_stats *stats);
void dgram_endpoint_free(struct dgram_endpoint *ep);

#endif
