/* service.h - what a service tells `sockit serve`: its name, default endpoints, options
 * and protocol handlers. serve.c and the config file are generic over this table. */
#ifndef SOCKIT_SERVICE_H
#define SOCKIT_SERVICE_H

#include <stdbool.h>
#include <stddef.h>

#include "dgram.h"
#include "ev.h"
#include "opt.h"
#include "stream.h"

struct service_def {
	const char *name;    /* "echo": also the --echo ADDR option and the [echo] section */
	const char *summary; /* one line for --help */
	/* Endpoints started when no service option is given; the host is replaced by --bind. */
	const char *const *defaults;
	/* Per-service settings: a struct of config_size bytes starting as a copy of
	 * config_defaults, filled by the options in `options`. */
	size_t config_size;
	const void *config_defaults;
	const struct opt_desc *options;
	/* Handlers for each transport; NULL if the service does not speak it. */
	const struct stream_service *stream;
	const struct dgram_service *dgram;
	/* Per-worker context handed to the handlers; NULL create means ctx = config. */
	void *(*create)(struct ev_loop *loop, const void *config);
	void (*destroy)(void *ctx);
	/* Its clients share state (a chat room): run its endpoints on worker 0 only, not on
	 * every --threads worker. */
	bool single_worker;
};

/* All services, NULL-terminated, in the order they start. */
extern const struct service_def *const service_table[];

#endif
