/* stream_server.c - stream listeners: accept in batches, the connection limits (--max-conns,
 * the loop's fd range), a pause without spinning when fds run out, and drain. What happens
 * to a connection once accepted is stream.c's. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "net.h"
#include "stream_internal.h"

#define ACCEPT_BATCH        64   /* accepts per wakeup, so one busy listener can't starve */
#define ACCEPT_PAUSE_MS     100  /* out of fds: retry this often (or when a conn closes) */
#define REFUSE_LOG_EVERY_MS 5000 /* rate of "refused" log lines under a flood */

static void log_refused(struct stream_server *srv, const char *why)
{
	uint64_t now = ev_now_ms(srv->loop);
	srv->refused_since_log++;
	if (now - srv->last_refuse_log_ms >= REFUSE_LOG_EVERY_MS || srv->last_refuse_log_ms == 0) {
		log_warn("%s: %s: refused %llu connection(s): %s", srv->service->name,
			 srv->endpoint, (unsigned long long)srv->refused_since_log, why);
		srv->last_refuse_log_ms = now;
		srv->refused_since_log = 0;
	}
}

/* Out of fds: connections wait in the kernel's backlog (they are not refused) until a
 * close frees an fd or ACCEPT_PAUSE_MS passes; no spinning on a listener that stays ready. */
static void server_pause_accept(struct stream_server *srv, int err)
{
	uint64_t now = ev_now_ms(srv->loop);
	if (now - srv->last_pause_log_ms >= REFUSE_LOG_EVERY_MS || srv->last_pause_log_ms == 0) {
		log_warn("%s: %s: accept: %s: out of file descriptors; new connections wait "
			 "until some close (%zu open)",
			 srv->service->name, srv->endpoint, strerror(err), srv->nconns);
		srv->last_pause_log_ms = now;
	}
	/* Without the timer that would resume it, a paused listener would stay off for good:
	 * then keep accepting (and failing) rather than stop serving. */
	if (ev_timer_start(srv->loop, &srv->accept_retry, ACCEPT_PAUSE_MS) < 0)
		return;
	srv->accept_paused = true;
	ev_io_set(srv->loop, srv->listen_fd, EV_NONE);
}

/* The caller has taken the connection's slot in active_conns; a failure gives it back. */
void stream_server_refuse(struct stream_server *srv, int fd, const char *why)
{
	__atomic_sub_fetch(srv->limits.active_conns, 1, __ATOMIC_RELAXED);
	close(fd);
	log_refused(srv, why);
	STAT_ADD(srv->stats, conns_refused, 1);
}

static void server_on_accept(struct ev_loop *loop, int fd, void *data, int events)
{
	(void)loop;
	(void)events;
	struct stream_server *srv = data;
	for (int i = 0; i < ACCEPT_BATCH && srv->listen_fd >= 0 && !srv->accept_paused; i++) {
		struct sockaddr_storage ss;
		socklen_t sslen;
		int cfd = net_accept(fd, &ss, &sslen);
		if (cfd == -EAGAIN)
			return;
		if (cfd == -EINTR || cfd == -ECONNABORTED || cfd == -EPROTO)
			continue;
		if (cfd == -EMFILE || cfd == -ENFILE || cfd == -ENOBUFS || cfd == -ENOMEM) {
			server_pause_accept(srv, -cfd);
			return;
		}
		if (cfd < 0) {
			log_error("%s: %s: accept: %s", srv->service->name, srv->endpoint,
				  strerror(-cfd));
			return;
		}
		/* Take the slot before checking, so that workers accepting at once can't
		 * each see max_conns - 1 and all go past it. */
		size_t active = __atomic_add_fetch(srv->limits.active_conns, 1, __ATOMIC_RELAXED);
		if (active > srv->limits.max_conns || cfd >= ev_loop_max_fds(srv->loop)) {
			stream_server_refuse(srv, cfd, "--max-conns reached");
			continue;
		}
		stream_conn_accepted(srv, cfd, &ss, sslen);
	}
}

void stream_server_conn_closed(struct stream_server *srv)
{
	if (srv->accept_paused && srv->listen_fd >= 0) /* an fd came free: try again now */
		ev_timer_start(srv->loop, &srv->accept_retry, 0);
}

static void server_on_accept_retry(struct ev_loop *loop, struct ev_timer *t, void *data)
{
	(void)t;
	struct stream_server *srv = data;
	if (!srv->accept_paused || srv->listen_fd < 0)
		return;
	srv->accept_paused = false;
	ev_io_set(loop, srv->listen_fd, EV_READ);
}

struct stream_server *stream_server_new(struct ev_loop *loop, int listen_fd, const char *endpoint,
					const struct stream_service *service, void *ctx,
					const struct stream_limits *limits,
					struct service_stats *stats)
{
	struct stream_server *srv = calloc(1, sizeof(*srv));
	if (srv == NULL) {
		close(listen_fd); /* owned from the call on, as the header says */
		return NULL;
	}
	*srv = (struct stream_server){
		.loop = loop,
		.listen_fd = listen_fd,
		.service = service,
		.ctx = ctx,
		.limits = *limits,
		.stats = stats,
	};
	snprintf(srv->endpoint, sizeof(srv->endpoint), "%s", endpoint);
	ev_timer_init(&srv->accept_retry, server_on_accept_retry, srv);
	if (ev_io_start(loop, listen_fd, EV_READ, server_on_accept, srv) < 0) {
		close(listen_fd);
		free(srv);
		return NULL;
	}
	return srv;
}

void stream_server_stop_accepting(struct stream_server *srv)
{
	if (srv->listen_fd < 0)
		return;
	ev_io_stop(srv->loop, srv->listen_fd);
	ev_timer_stop(srv->loop, &srv->accept_retry);
	close(srv->listen_fd);
	srv->listen_fd = -1;
}

void stream_server_drain(struct stream_server *srv)
{
	stream_server_stop_accepting(srv);
	srv->draining = true;
	struct stream_conn *c = srv->conns;
	while (c != NULL) {
		struct stream_conn *next = c->next;
		stream_conn_update_events(c); /* frees those with nothing left to send */
		c = next;
	}
}

size_t stream_server_conn_count(const struct stream_server *srv)
{
	return srv->nconns;
}

void stream_server_free(struct stream_server *srv)
{
	if (srv == NULL)
		return;
	stream_server_stop_accepting(srv);
	while (srv->conns != NULL)
		stream_conn_destroy(srv->conns);
	free(srv);
}
