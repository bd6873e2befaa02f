/* serve_internal.h - the state `sockit serve` shares between option parsing
 * (serve_options.c) and running the workers (serve.c). */
#ifndef SOCKIT_SERVE_INTERNAL_H
#define SOCKIT_SERVE_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "addr.h"
#include "dgram.h"
#include "ev.h"
#include "metrics.h"
#include "opt.h"
#include "service.h"
#include "stats.h"
#include "stream.h"

#define MAX_SERVICES  16
#define MAX_ENDPOINTS 64
#define MAX_WORKERS   64 /* --threads bound */

struct serve_config {
	char *bind;
	char *log_file;
	unsigned max_conns;
	size_t output_cap;
	unsigned idle_timeout_ms;
	unsigned request_timeout_ms;
	unsigned udp_rate;
	unsigned udp_burst;
	bool limit_loopback;
	unsigned threads;
	char *busy_poll;  /* --busy-poll auto|USEC, or NULL: auto */
	char *event_loop; /* --event-loop NAME, or NULL: the best available */
	char *metrics;    /* --metrics ADDR, or NULL */
};

struct endpoint_req {
	size_t service;
	struct addr_spec spec;
	bool from_file;   /* a listen line: --NAME on the command line replaces these */
	int inherited_fd; /* a socket from systemd, or -1 */
};

struct server;

/* One event loop on one thread, with its own listeners (SO_REUSEPORT) and service contexts;
 * the udp guard is shared. Worker 0 runs on the main thread and also handles signals. */
struct worker {
	struct server *s;
	size_t index;
	pthread_t thread;
	struct ev_loop *loop;
	void *svc_ctx[MAX_SERVICES];
	struct stream_server *streams[MAX_ENDPOINTS];
	size_t nstreams;
	struct dgram_endpoint *dgrams[MAX_ENDPOINTS];
	size_t ndgrams;
	struct dgram_guard *guard; /* the server's, shared by every worker */
	int ctl[2];                /* main -> worker commands: CTL_DRAIN, CTL_QUIT */
	bool stopping;
	uint64_t stop_deadline_ms;
	struct ev_timer stop_timer;
};

struct server {
	struct serve_config cfg;
	size_t nservices;
	void *svc_config[MAX_SERVICES];
	struct service_stats stats[MAX_SERVICES];
	struct endpoint_req eps[MAX_ENDPOINTS];
	size_t neps;
	size_t active_conns; /* atomic: --max-conns counts every worker's connections */
	size_t nworkers;
	struct worker workers[MAX_WORKERS];
	struct dgram_guard *guard; /* one rate table for all workers */
	struct metrics_ctx metrics;
	struct addr_spec metrics_spec;
	unsigned busy_poll_us; /* from cfg.busy_poll */
	bool busy_poll_adaptive;
	const char *config_path; /* --config FILE */
	bool check_config;       /* --check-config: validate and exit */
};

extern const struct serve_config serve_defaults;
extern const struct opt_desc serve_options[];

/* Fill s from the command line, the config file (--config) and inherited sockets;
 * exits with a usage or configuration error, or after --help / --check-config. */
void serve_parse_options(struct server *s, int argc, char **argv);

#endif
