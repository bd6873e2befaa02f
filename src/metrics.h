/* metrics.h - the --metrics endpoint: every service's counters in the Prometheus text
 * format, served over HTTP by a tiny responder on the stream layer. */
#ifndef SOCKIT_METRICS_H
#define SOCKIT_METRICS_H

#include <stddef.h>

#include "stats.h"
#include "stream.h"

#define METRICS_SERVICES_MAX 32
#define METRICS_BODY_MAX     32768 /* a scrape's body; about 1 KiB per service */
#define METRICS_LINE_MAX     8192  /* request and header lines */
#define METRICS_HEADERS_MAX  100   /* header lines per request */

/* What the endpoint reports: one stats block per service, read with relaxed atomics. */
struct metrics_ctx {
	size_t n;
	const char *names[METRICS_SERVICES_MAX];
	const struct service_stats *stats[METRICS_SERVICES_MAX];
	struct service_stats self; /* the endpoint's own connections (not reported) */
};

/* The exposition text for m into out; returns its length, or 0 if it did not fit. */
size_t metrics_format(const struct metrics_ctx *m, char *out, size_t cap);

/* Handlers for stream_server_new with ctx = a struct metrics_ctx. */
extern const struct stream_service metrics_stream;

#endif
