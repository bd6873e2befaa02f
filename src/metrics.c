/* metrics.c - Prometheus text exposition of the service counters, and the HTTP/1.x
 * responder that serves it: GET /metrics (or /) answers 200, then the connection closes. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "metrics.h"

struct counter {
	const char *name;
	const char *type;
	const char *help;
	size_t offset;
};

static const struct counter counters[] = {
	{"sockit_connections_accepted_total", "counter", "Stream connections accepted.",
	 offsetof(struct service_stats, conns_accepted)},
	{"sockit_connections_refused_total", "counter",
	 "Stream connections closed at once: over --max-conns or out of fds.",
	 offsetof(struct service_stats, conns_refused)},
	{"sockit_connections_active", "gauge", "Stream connections open now.",
	 offsetof(struct service_stats, conns_active)},
	{"sockit_received_bytes_total", "counter", "Bytes received, streams and datagrams.",
	 offsetof(struct service_stats, bytes_in)},
	{"sockit_sent_bytes_total", "counter", "Bytes sent, streams and datagrams.",
	 offsetof(struct service_stats, bytes_out)},
	{"sockit_datagrams_received_total", "counter", "Datagrams received.",
	 offsetof(struct service_stats, dgrams_in)},
	{"sockit_replies_total", "counter", "Datagram replies sent.",
	 offsetof(struct service_stats, replies)},
	{"sockit_dropped_datagrams_total", "counter",
	 "Datagrams not answered: refused by policy or failed to send.",
	 offsetof(struct service_stats, drops)},
	{"sockit_rate_limited_total", "counter", "Datagrams dropped by the per-source rate limit.",
	 offsetof(struct service_stats, rate_limited)},
	{"sockit_errors_total", "counter", "I/O errors on connections and endpoints.",
	 offsetof(struct service_stats, errors)},
};

static uint64_t counter_get(const struct service_stats *st, size_t offset)
{
	const uint64_t *p = (const uint64_t *)(const void *)((const char *)st + offset);
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

#ifndef SOCKIT_VERSION
#define SOCKIT_VERSION "unknown"
#endif

size_t metrics_format(const struct metrics_ctx *m, char *out, size_t cap)
{
	/* A constant 1 whose label tells dashboards which version answers. */
	int head = snprintf(out, cap,
			    "# HELP sockit_build_info The sockit version serving these metrics.\n"
			    "# TYPE sockit_build_info gauge\n"
			    "sockit_build_info{version=\"%s\"} 1\n",
			    SOCKIT_VERSION);
	if (head < 0 || (size_t)head >= cap)
		return 0;
	size_t used = (size_t)head;
	for (size_t k = 0; k < sizeof(counters) / sizeof(counters[0]); k++) {
		const struct counter *c = &counters[k];
		int n = snprintf(out + used, cap - used, "# HELP %s %s\n# TYPE %s %s\n", c->name,
				 c->help, c->name, c->type);
		if (n < 0 || (size_t)n >= cap - used)
			return 0;
		used += (size_t)n;
		for (size_t i = 0; i < m->n; i++) {
			n = snprintf(out + used, cap - used, "%s{service=\"%s\"} %llu\n", c->name,
				     m->names[i],
				     (unsigned long long)counter_get(m->stats[i], c->offset));
			if (n < 0 || (size_t)n >= cap - used)
				return 0;
			used += (size_t)n;
		}
	}
	return used;
}

/* ---- the HTTP responder ---- */

struct request {
	unsigned lines; /* seen so far, the request line included */
	int status;     /* decided by the request line */
};

static void respond(struct stream_conn *c, int status, const char *reason, const char *type,
		    const char *body, size_t len)
{
	stream_printf(c,
		      "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
		      "%sConnection: close\r\n\r\n",
		      status, reason, type, len, status == 405 ? "Allow: GET\r\n" : "");
	stream_write(c, body, len);
	stream_close(c);
}

/* "GET /metrics HTTP/1.1" -> 200; another path 404; another method 405; else 400. */
static int request_status(const char *line)
{
	const char *sp = strchr(line, ' ');
	if (sp == NULL || strncmp(sp + 1, "/", 1) != 0)
		return 400;
	const char *path = sp + 1, *end = strchr(path, ' ');
	if (end == NULL || strncmp(end + 1, "HTTP/1.", 7) != 0)
		return 400;
	if (sp - line != 3 || memcmp(line, "GET", 3) != 0)
		return 405;
	size_t plen = strcspn(path, " ?");
	if ((plen == 1) || (plen == 8 && memcmp(path, "/metrics", 8) == 0))
		return 200;
	return 404;
}

static void metrics_on_line(struct stream_conn *c, void *ctx, void *state, char *line, size_t len,
			    bool too_long)
{
	struct request *r = state;
	if (too_long || ++r->lines > METRICS_HEADERS_MAX) {
		static const char msg[] = "request too large\n";
		respond(c, 431, "Request Header Fields Too Large", "text/plain", msg,
			sizeof(msg) - 1);
		return;
	}
	if (r->lines == 1) {
		r->status = request_status(line);
		return;
	}
	if (len != 0) /* a header: none matters */
		return;
	static const char not_found[] = "try /metrics\n", bad[] = "bad request\n",
			  method[] = "only GET\n";
	char body[METRICS_BODY_MAX];
	size_t n;
	switch (r->status) {
	case 200:
		n = metrics_format(ctx, body, sizeof(body));
		if (n == 0) {
			static const char full[] = "too many services\n";
			respond(c, 500, "Internal Server Error", "text/plain", full,
				sizeof(full) - 1);
			return;
		}
		respond(c, 200, "OK", "text/plain; version=0.0.4; charset=utf-8", body, n);
		return;
	case 404:
		respond(c, 404, "Not Found", "text/plain", not_found, sizeof(not_found) - 1);
		return;
	case 405:
		respond(c, 405, "Method Not Allowed", "text/plain", method, sizeof(method) - 1);
		return;
	default:
		respond(c, 400, "Bad Request", "text/plain", bad, sizeof(bad) - 1);
		return;
	}
}

const struct stream_service metrics_stream = {
	.name = "metrics",
	.state_size = sizeof(struct request),
	.max_line = METRICS_LINE_MAX,
	.on_line = metrics_on_line,
};
