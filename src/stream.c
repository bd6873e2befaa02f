/* stream.c - stream connections: buffering, backpressure, timeouts and graceful close, so
 * that each service is only a protocol over bytes or lines. Listeners, accepting and the
 * connection limits are stream_server.c's. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "net.h"
#include "stream_internal.h"

#define LINGER_MS      2000 /* after our FIN, how long we drain input before close */
#define NO_DEADLINE_MS (24u * 3600u * 1000u) /* see conn_arm_timer */

/* Run a service callback with frees deferred; returns false if the conn died in it. */
#define CALLBACK(c, call)                                                                          \
	do {                                                                                       \
		(c)->in_callback++;                                                                \
		call;                                                                              \
		(c)->in_callback--;                                                                \
	} while (0)

static void conn_on_recv(struct ev_loop *loop, int fd, void *data, uint8_t *buf, ssize_t n);
static int conn_arm_timer(struct stream_conn *c);
static void conn_line_started(struct stream_conn *c);

static size_t hard_output_limit(const struct stream_limits *l)
{
	return l->output_cap * 4 + READ_CHUNK;
}

/* ---- lifetime ---- */

/* Free c now. Only for code entered from the loop (I/O, timer, the end of a callback), where
 * no caller further up holds c. */
void stream_conn_destroy(struct stream_conn *c)
{
	struct stream_server *srv = c->srv;
	c->dead = true; /* on_close may write to c or abort it: both become no-ops */
	if (srv->service->on_close != NULL)
		srv->service->on_close(c, srv->ctx, c->state);
	ev_io_stop(srv->loop, c->fd);
	ev_timer_stop(srv->loop, &c->timer);
	close(c->fd);
	buf_free(&c->out);
	buf_free(&c->in);
	buf_free(&c->held);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		srv->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	srv->nconns--;
	__atomic_sub_fetch(srv->limits.active_conns, 1, __ATOMIC_RELAXED);
	STAT_ADD(srv->stats, conns_active, (uint64_t)-1);
	log_info("%s: %s: closed", srv->service->name, c->peer);
	free(c);
	stream_server_conn_closed(srv);
}

/* Close c without freeing it under anyone's feet. The service may reach here for a conn other
 * than the one whose callback runs (a broadcast whose write fails, a stream_close from a
 * timer), and it still holds c, maybe while walking a list that on_close would change: so c
 * only goes quiet now, and on_close and the free run from the loop (the end of c's own
 * callback, or c's timer at once). */
static void conn_free(struct stream_conn *c)
{
	if (c->dead)
		return;
	c->dead = true;
	if (c->in_callback > 0)
		return; /* conn_settle frees it when the callback returns */
	ev_io_set(c->srv->loop, c->fd, EV_NONE);
	ev_timer_start(c->srv->loop, &c->timer, 0);
}

static bool conn_settle(struct stream_conn *c)
{
	if (c->dead && c->in_callback == 0) {
		stream_conn_destroy(c);
		return false;
	}
	return !c->dead;
}

/* ---- output ---- */

/* Send what is queued. Returns 0, or -1 if the connection failed (and was freed). */
static int conn_flush(struct stream_conn *c)
{
	while (buf_len(&c->out) > 0) {
		ssize_t n = send(c->fd, buf_head(&c->out), buf_len(&c->out), MSG_NOSIGNAL);
		if (n > 0) {
			STAT_ADD(c->srv->stats, bytes_out, (uint64_t)n);
			buf_consume(&c->out, (size_t)n);
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return 0;
		log_info("%s: %s: send: %s", c->srv->service->name, c->peer, strerror(errno));
		stream_conn_destroy(c);
		return -1;
	}
	buf_shrink_if_empty(&c->out);
	return 0;
}

int stream_write(struct stream_conn *c, const void *data, size_t len)
{
	if (c->dead || c->lingering)
		return -EPIPE;
	const uint8_t *p = data;
	if (buf_len(&c->out) == 0) { /* the common case: straight to the kernel, no copy */
		while (len > 0) {
			ssize_t n = send(c->fd, p, len, MSG_NOSIGNAL);
			if (n > 0) {
				STAT_ADD(c->srv->stats, bytes_out, (uint64_t)n);
				p += n;
				len -= (size_t)n;
				continue;
			}
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0 && errno == EAGAIN)
				break;
			log_info("%s: %s: send: %s", c->srv->service->name, c->peer,
				 strerror(errno));
			stream_abort(c);
			return -EPIPE;
		}
		if (len == 0)
			return 0;
	}
	int rc = buf_append(&c->out, p, len);
	if (rc < 0) {
		log_warn("%s: %s: output passed %zu bytes: closing a client that does not read",
			 c->srv->service->name, c->peer, c->out.limit);
		STAT_ADD(c->srv->stats, errors, 1);
		stream_abort(c);
		return rc;
	}
	stream_conn_update_events(c);
	return 0;
}

int stream_printf(struct stream_conn *c, const char *fmt, ...)
{
	char line[STREAM_PRINTF_MAX];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0)
		return -EINVAL;
	return stream_write(c, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

void stream_close(struct stream_conn *c)
{
	c->closing = true;
	stream_conn_update_events(c);
}

void stream_abort(struct stream_conn *c)
{
	buf_consume(&c->out, buf_len(&c->out));
	conn_free(c);
}

void stream_pause_input(struct stream_conn *c, bool paused)
{
	c->input_paused = paused;
	stream_conn_update_events(c);
}

const char *stream_peer(const struct stream_conn *c)
{
	return c->peer;
}

size_t stream_pending_output(const struct stream_conn *c)
{
	return buf_len(&c->out);
}

struct ev_loop *stream_loop(const struct stream_conn *c)
{
	return c->srv->loop;
}

static bool conn_has_held(const struct stream_conn *c)
{
	return buf_len(&c->held) > 0 || c->held_eof;
}

static bool conn_wants_input(const struct stream_conn *c)
{
	const struct stream_server *srv = c->srv;
	return c->lingering || (!c->read_eof && !c->closing && !c->input_paused && !srv->draining &&
				buf_len(&c->out) < srv->limits.output_cap);
}

/* Decide what to watch from the state; also where closing connections finish.
 * Returns false if the connection is gone. */
bool stream_conn_update_events(struct stream_conn *c)
{
	if (c->dead)
		return false;
	struct stream_server *srv = c->srv;
	bool flushed = buf_len(&c->out) == 0;
	if ((c->closing || c->read_eof || srv->draining) && flushed && !c->lingering &&
	    c->in_callback == 0) {
		/* Draining: an idle peer is closed at once; one with replies or input still in
		 * the kernel gets our FIN and the linger below, as a close() would reset it. */
		if (c->read_eof ||
		    (srv->draining && !c->closing && net_kernel_queued(c->fd) == 0)) {
			conn_free(c);
			return false;
		}
		/* Our side is done but the peer may still be sending: a close() now would
		 * answer with RST and could destroy replies it has not read yet. */
		shutdown(c->fd, SHUT_WR);
		c->lingering = true;
		c->last_activity_ms = ev_now_ms(srv->loop);
		ev_timer_start(srv->loop, &c->timer, LINGER_MS);
	}
	bool want_read = conn_wants_input(c);
	if (c->completions) {
		if (want_read && conn_has_held(c))
			ev_timer_start(srv->loop, &c->timer, 0); /* conn_on_timer hands them over */
		else if (want_read)
			ev_recv_start(srv->loop, c->fd, conn_on_recv);
		else
			ev_recv_stop(srv->loop, c->fd);
		ev_io_set(srv->loop, c->fd, flushed ? EV_NONE : EV_WRITE);
		return true;
	}
	int events = (want_read ? EV_READ : 0) | (flushed ? 0 : EV_WRITE);
	ev_io_set(srv->loop, c->fd, events);
	return true;
}

/* ---- input ---- */

static void deliver_line(struct stream_conn *c, char *line, size_t len, bool too_long)
{
	if (len > 0 && line[len - 1] == '\r')
		len--;
	line[len] = '\0';
	CALLBACK(c, c->srv->service->on_line(c, c->srv->ctx, c->state, line, len, too_long));
}

/* Hand over the line collected in c->in plus tail (which fits: c->in's limit is max_line + 1
 * to leave room for the NUL). */
static void deliver_buffered_line(struct stream_conn *c, const uint8_t *tail, size_t len,
				  bool too_long)
{
	if (buf_append(&c->in, tail, len) < 0 || buf_append(&c->in, "", 1) < 0) {
		conn_free(c); /* out of memory: the line cannot be held */
		return;
	}
	size_t total = buf_len(&c->in) - 1;
	c->line_started_ms = 0;
	deliver_line(c, (char *)c->in.data + c->in.start, total, too_long);
	buf_consume(&c->in, buf_len(&c->in));
}

/* Split data into lines; keep the incomplete tail in c->in, bounded by max_line. */
static void deliver_lines(struct stream_conn *c, uint8_t *data, size_t len)
{
	size_t max = c->srv->service->max_line;
	while (len > 0 && !c->dead && !c->closing) {
		uint8_t *nl = memchr(data, '\n', len);
		size_t seg = nl ? (size_t)(nl - data) : len;
		if (c->skipping_line) {
			if (nl != NULL)
				c->skipping_line = false;
		} else if (buf_len(&c->in) + seg > max) {
			/* Over-long: hand over what fits, skip the rest of this line. */
			c->skipping_line = nl == NULL;
			deliver_buffered_line(c, data, max - buf_len(&c->in), true);
		} else if (nl == NULL) {
			if (buf_len(&c->in) == 0)
				conn_line_started(c);
			if (buf_append(&c->in, data, seg) < 0) /* fits: only ENOMEM */
				conn_free(c);
		} else if (buf_len(&c->in) == 0) {
			c->line_started_ms = 0;
			/* in place: the \n becomes NUL */
			deliver_line(c, (char *)data, seg, false);
		} else {
			deliver_buffered_line(c, data, seg, false);
		}
		if (nl == NULL)
			break;
		len -= seg + 1;
		data += seg + 1;
	}
	buf_shrink_if_empty(&c->in);
}

static void conn_on_eof(struct stream_conn *c)
{
	struct stream_server *srv = c->srv;
	c->read_eof = true;
	if (c->lingering) {
		stream_conn_destroy(c);
		return;
	}
	/* A last line without its newline still counts. */
	if (srv->service->max_line > 0 && buf_len(&c->in) > 0 && !c->skipping_line) {
		deliver_buffered_line(c, NULL, 0, false);
		if (!conn_settle(c))
			return;
	}
	if (srv->service->on_eof != NULL) {
		CALLBACK(c, srv->service->on_eof(c, srv->ctx, c->state));
		if (!conn_settle(c))
			return;
	}
	stream_conn_update_events(c);
}

/* What one receive brought: n bytes in data, 0 at end of stream, or -errno. */
static void conn_take_input(struct stream_conn *c, uint8_t *data, ssize_t n)
{
	struct stream_server *srv = c->srv;
	if (n < 0) {
		if (n == -EAGAIN || n == -EINTR)
			return;
		log_info("%s: %s: recv: %s", srv->service->name, c->peer, strerror((int)-n));
		stream_conn_destroy(c);
		return;
	}
	if (n == 0) {
		conn_on_eof(c);
		return;
	}
	c->last_activity_ms = ev_now_ms(srv->loop);
	STAT_ADD(srv->stats, bytes_in, (uint64_t)n);
	if (c->lingering)
		return;
	if (srv->service->max_line > 0)
		deliver_lines(c, data, (size_t)n);
	else
		CALLBACK(c, srv->service->on_data(c, srv->ctx, c->state, data, (size_t)n));
	if (conn_settle(c))
		stream_conn_update_events(c);
}

static void conn_read(struct stream_conn *c)
{
	uint8_t *scratch = c->srv->scratch;
	ssize_t n = recv(c->fd, scratch, sizeof(c->srv->scratch), 0);
	conn_take_input(c, scratch, n < 0 ? -errno : n);
}

/* A receive the loop completed for us. One may complete after input was paused (it was in
 * flight): its bytes wait in c->held until input resumes, so none are lost and the pause
 * still bounds what we take in to one receive. */
static void conn_on_recv(struct ev_loop *loop, int fd, void *data, uint8_t *buf, ssize_t n)
{
	(void)loop;
	(void)fd;
	struct stream_conn *c = data;
	if (c->dead)
		return;
	if (n >= 0 && (!conn_wants_input(c) || conn_has_held(c))) {
		if (n == 0)
			c->held_eof = true;
		else if (buf_append(&c->held, buf, (size_t)n) < 0)
			conn_free(c);
		return;
	}
	conn_take_input(c, buf, n);
}

/* Input resumed: hand over what was held as one receive or, once that is done, the end of
 * the stream if it came (conn_update_events brings us back for it). May free c. */
static void conn_release_held(struct stream_conn *c)
{
	if (buf_len(&c->held) > 0) {
		struct buf held = c->held;
		buf_init(&c->held, held.limit);
		conn_take_input(c, held.data + held.start, (ssize_t)buf_len(&held));
		buf_free(&held);
		return;
	}
	c->held_eof = false;
	conn_take_input(c, NULL, 0);
}

static void conn_on_io(struct ev_loop *loop, int fd, void *data, int events)
{
	(void)loop;
	(void)fd;
	struct stream_conn *c = data;
	if (c->dead) /* quiet until its timer reaps it; a stale event of this iteration */
		return;
	if (events & EV_WRITE) {
		if (conn_flush(c) < 0 || !stream_conn_update_events(c))
			return;
	}
	if ((events & EV_READ) && (ev_io_events(loop, fd) & EV_READ))
		conn_read(c);
}

/* ---- timeouts: one lazy timer per connection, re-armed only when it fires ---- */

static void conn_on_timer(struct ev_loop *loop, struct ev_timer *t, void *data)
{
	(void)t;
	struct stream_conn *c = data;
	const struct stream_limits *l = &c->srv->limits;
	uint64_t now = ev_now_ms(loop);
	if (c->dead) { /* closed by conn_free outside its own callbacks: reap it now */
		stream_conn_destroy(c);
		return;
	}
	if (conn_has_held(c) && conn_wants_input(c)) {
		conn_arm_timer(c); /* first: the idle and request deadlines still hold */
		conn_release_held(c);
		return;
	}
	if (c->lingering) {
		if (now - c->last_activity_ms >= LINGER_MS) {
			stream_conn_destroy(c);
			return;
		}
	} else if (l->idle_timeout_ms && now - c->last_activity_ms >= l->idle_timeout_ms) {
		log_info("%s: %s: idle for %u s, closing", c->srv->service->name, c->peer,
			 l->idle_timeout_ms / 1000);
		stream_conn_destroy(c);
		return;
	} else if (l->request_timeout_ms && c->line_started_ms &&
		   now - c->line_started_ms >= l->request_timeout_ms) {
		log_info("%s: %s: request not completed in %u s, closing", c->srv->service->name,
			 c->peer, l->request_timeout_ms / 1000);
		stream_conn_destroy(c);
		return;
	}
	conn_arm_timer(c);
}

/* The timer stays armed for the connection's whole life, a day out when no deadline
 * applies: it keeps its slot in the loop's heap, and re-arming an armed timer (or one from
 * its own callback) never allocates, so after the first arm at accept no ev_timer_start on
 * it can fail, and conn_free can always reap through it. */
static int conn_arm_timer(struct stream_conn *c)
{
	const struct stream_limits *l = &c->srv->limits;
	uint64_t now = ev_now_ms(c->srv->loop);
	uint64_t due = UINT64_MAX;
	if (c->lingering) {
		due = c->last_activity_ms + LINGER_MS;
	} else {
		if (l->idle_timeout_ms)
			due = c->last_activity_ms + l->idle_timeout_ms;
		if (l->request_timeout_ms && c->line_started_ms &&
		    c->line_started_ms + l->request_timeout_ms < due)
			due = c->line_started_ms + l->request_timeout_ms;
	}
	if (due == UINT64_MAX)
		due = now + NO_DEADLINE_MS;
	return ev_timer_start(c->srv->loop, &c->timer, due > now ? due - now : 0);
}

/* A request began: make sure the timer fires by its deadline (slowloris). */
static void conn_line_started(struct stream_conn *c)
{
	c->line_started_ms = ev_now_ms(c->srv->loop);
	unsigned limit = c->srv->limits.request_timeout_ms;
	if (limit && c->timer.due_ms > c->line_started_ms + limit)
		ev_timer_start(c->srv->loop, &c->timer, limit);
}

/* ---- a new connection ---- */

void stream_conn_accepted(struct stream_server *srv, int fd, const struct sockaddr_storage *ss,
			  socklen_t sslen)
{
	struct stream_conn *c = calloc(1, sizeof(*c) + srv->service->state_size);
	if (c == NULL) {
		stream_server_refuse(srv, fd, "out of memory");
		return;
	}
	c->srv = srv;
	c->fd = fd;
	buf_init(&c->out, hard_output_limit(&srv->limits));
	buf_init(&c->in, srv->service->max_line + 1);
	buf_init(&c->held, HELD_LIMIT);
	c->last_activity_ms = ev_now_ms(srv->loop);
	ev_timer_init(&c->timer, conn_on_timer, c);
	if (conn_arm_timer(c) < 0) { /* the timer's slot is taken here, once (conn_arm_timer) */
		free(c);
		stream_server_refuse(srv, fd, "out of memory");
		return;
	}
	net_format_sockaddr((const struct sockaddr *)ss, sslen, c->peer, sizeof(c->peer));
	/* Completion receives where the loop has them (io_uring), readiness otherwise. */
	int rc = ev_io_start(srv->loop, fd, EV_NONE, conn_on_io, c);
	if (rc == 0) {
		c->completions = ev_recv_start(srv->loop, fd, conn_on_recv) == 0;
		if (!c->completions)
			rc = ev_io_set(srv->loop, fd, EV_READ);
	}
	if (rc < 0) {
		ev_io_stop(srv->loop, fd);
		ev_timer_stop(srv->loop, &c->timer);
		free(c);
		stream_server_refuse(srv, fd, "event loop registration failed");
		return;
	}
	if (ss->ss_family != AF_UNIX)
		net_set_nodelay(fd, NULL, 0);
	c->next = srv->conns;
	if (srv->conns != NULL)
		srv->conns->prev = c;
	srv->conns = c;
	srv->nconns++;
	STAT_ADD(srv->stats, conns_accepted, 1);
	STAT_ADD(srv->stats, conns_active, 1);
	log_info("%s: %s: connection from %s", srv->service->name, srv->endpoint, c->peer);
	if (srv->service->on_open != NULL) {
		CALLBACK(c, srv->service->on_open(c, srv->ctx, c->state));
		if (conn_settle(c))
			stream_conn_update_events(c);
	}
}
