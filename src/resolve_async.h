/* resolve_async.h - name lookups off the event loop: each getaddrinfo runs on a short-lived
 * thread of its own and its answer comes back on the loop through a socket the loop watches,
 * so a slow DNS server never stalls the loop (typing, incoming messages). */
#ifndef SOCKIT_RESOLVE_ASYNC_H
#define SOCKIT_RESOLVE_ASYNC_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "addr.h"
#include "ev.h"
#include "net.h"

/* Lookups at once; one abandoned by resolve_async_free counts until its thread returns. */
#define RESOLVE_ASYNC_MAX 4

struct resolve_answer {
	int id;  /* as resolve_async_start returned it */
	bool ok; /* else err says why */
	struct sockaddr_storage ss;
	socklen_t len;
	char err[NET_ERR_LEN]; /* "resolve udp:HOST:PORT: Name or service not known" */
};

typedef void resolve_async_fn(void *data, const struct resolve_answer *answer);

struct resolve_async;

/* Answers are passed to fn(data, answer) from the loop. NULL on failure (reason in err). */
struct resolve_async *resolve_async_new(struct ev_loop *loop, resolve_async_fn *fn, void *data,
					char *err, size_t errlen);
/* Lookups still running are abandoned: their answers are dropped, their threads clean up.
 * Takes NULL. */
void resolve_async_free(struct resolve_async *ra);

/* Look spec up as net_resolve does (first address). Returns an id > 0 that comes back with
 * the answer, -EBUSY while RESOLVE_ASYNC_MAX lookups run, or -errno. */
int resolve_async_start(struct resolve_async *ra, const struct addr_spec *spec);

#endif
