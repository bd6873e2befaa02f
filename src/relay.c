/* relay.c - the chat relay service: options, connection glue, keepalive, flood control and
 * the output helpers. The IRC commands are in relay_cmds.c, the registry in relay_state.c. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "i18n.h"
#include "log.h"
#include "relay.h"
#include "relay_internal.h"

#define TAGGED_MAX (IRC_TIME_LEN + 8 + IRC_BODY_MAX + 3) /* "@time=... " + a body */
#define FORMAT_MAX (IRC_BODY_MAX * 2)                    /* before the cut to 510 */

static const struct relay_config relay_defaults = {
	.history = 50,
	.offline_max = 20,
	.ping_interval_ms = 120 * 1000,
	.ping_timeout_ms = 60 * 1000,
	.flood_rate = 10,
	.flood_burst = 20,
	.nats_nick_ttl_ms = 15 * 1000, /* within the option's 3-30 s: 0 would spin its timer */
};

static const struct opt_desc relay_options[] = {
	{.name = "history",
	 .type = OPT_UINT,
	 .offset = offsetof(struct relay_config, history),
	 .min = 0,
	 .max = 10000,
	 .metavar = "N",
	 .help = N_("messages kept per room and replayed to who joins")},
	{.name = "offline-max",
	 .type = OPT_UINT,
	 .offset = offsetof(struct relay_config, offline_max),
	 .min = 0,
	 .max = 10000,
	 .metavar = "N",
	 .help = N_("direct messages kept for an offline nickname")},
	{.name = "ping-interval",
	 .type = OPT_SECONDS,
	 .offset = offsetof(struct relay_config, ping_interval_ms),
	 .min = 0,
	 .max = 86400000,
	 .metavar = "SECONDS",
	 .help = N_("PING a chat client silent this long; 0 = never")},
	{.name = "ping-timeout",
	 .type = OPT_SECONDS,
	 .offset = offsetof(struct relay_config, ping_timeout_ms),
	 .min = 100,
	 .max = 86400000,
	 .metavar = "SECONDS",
	 .help = N_("disconnect a chat client that does not answer a PING")},
	{.name = "flood-rate",
	 .type = OPT_UINT,
	 .offset = offsetof(struct relay_config, flood_rate),
	 .min = 0,
	 .max = 1000000,
	 .metavar = "N",
	 .help = N_("chat lines per second per client; 0 = unlimited")},
	{.name = "flood-burst",
	 .type = OPT_UINT,
	 .offset = offsetof(struct relay_config, flood_burst),
	 .min = 1,
	 .max = 1000000,
	 .metavar = "N",
	 .help = N_("chat lines a client may send at once")},
	{.name = "nats",
	 .type = OPT_STRING,
	 .offset = offsetof(struct relay_config, nats),
	 .metavar = "URL",
	 .help = N_("join the other chat relays on this NATS server (nats://HOST:PORT)")},
	{.name = "nats-nick-ttl",
	 .type = OPT_SECONDS,
	 .offset = offsetof(struct relay_config, nats_nick_ttl_ms),
	 .min = 3000,
	 .max = 30000,
	 .metavar = "SECONDS",
	 .help = N_("a crashed relay's nicknames are free again after this")},
	OPT_END,
};

long long relay_wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- output ---- */

static void flush_fire(struct ev_loop *loop, struct ev_timer *t, void *data)
{
	(void)loop, (void)t;
	struct relay *r = data;
	relay_enter(r);
	while (r->flush != NULL) {
		struct relay_client *cl = r->flush;
		r->flush = cl->next_flush;
		cl->flush_queued = false;
		relay_flush_client(cl);
	}
	relay_leave(r);
}

void relay_flush_client(struct relay_client *cl)
{
	if (buf_len(&cl->coalesce) > 0 && cl->conn != NULL)
		stream_write(cl->conn, buf_head(&cl->coalesce), buf_len(&cl->coalesce));
	buf_consume(&cl->coalesce, buf_len(&cl->coalesce));
	buf_shrink_if_empty(&cl->coalesce);
}

/* Gather data for cl; written by flush_fire later in this loop pass. A member that stopped
 * reading then gets -ENOBUFS from stream_write and is closed; its on_close only queues it
 * for the reap, so no member array changes under a broadcast. */
static void queue_out(struct relay_client *cl, const void *data, size_t len)
{
	if (cl->conn == NULL || cl->gone)
		return;
	if (buf_len(&cl->coalesce) + len > RELAY_COALESCE_MAX)
		relay_flush_client(cl);
	if (cl->conn == NULL || buf_append(&cl->coalesce, data, len) < 0)
		return;
	if (!cl->flush_queued) {
		struct relay *r = cl->relay;
		cl->flush_queued = true;
		cl->next_flush = r->flush;
		r->flush = cl;
		/* No memory for the timer: write now rather than leave the output waiting for
		 * whatever arms it next (flushing is safe here, see above). */
		if (!ev_timer_armed(&r->flush_timer) &&
		    ev_timer_start(r->loop, &r->flush_timer, 0) < 0)
			flush_fire(r->loop, &r->flush_timer, r);
	}
}

static void send_body(struct relay_client *cl, const char *body, size_t len, long long time_ms)
{
	if (!(cl->caps & RELAY_CAP_SERVER_TIME)) {
		queue_out(cl, body, len);
		return;
	}
	char out[TAGGED_MAX], stamp[IRC_TIME_LEN];
	irc_format_time(stamp, sizeof(stamp), time_ms);
	int n = snprintf(out, sizeof(out), "@time=%s %.*s", stamp, (int)len, body);
	if (n > 0)
		queue_out(cl, out, (size_t)n < sizeof(out) ? (size_t)n : sizeof(out) - 1);
}

/* head (may be empty) then the formatted rest, cut to one body. */
static void vsendf(struct relay_client *cl, const char *head, const char *fmt, va_list ap)
{
	char body[FORMAT_MAX];
	size_t hl = strlen(head);
	memcpy(body, head, hl);
	int n = vsnprintf(body + hl, sizeof(body) - hl, fmt, ap);
	if (n < 0)
		return;
	size_t len = hl + (size_t)n < sizeof(body) ? hl + (size_t)n : sizeof(body) - 1;
	len = irc_utf8_cut(body, len, IRC_BODY_MAX);
	body[len++] = '\r';
	body[len++] = '\n';
	send_body(cl, body, len, relay_wall_ms());
}

void relay_sendf(struct relay_client *cl, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsendf(cl, "", fmt, ap);
	va_end(ap);
}

void relay_numeric(struct relay_client *cl, const char *numeric, const char *fmt, ...)
{
	char head[RELAY_NICK_MAX + sizeof(RELAY_SERVER_NAME) + 16];
	snprintf(head, sizeof(head), ":%s %s %s ", RELAY_SERVER_NAME, numeric,
		 cl->nick[0] ? cl->nick : "*");
	va_list ap;
	va_start(ap, fmt);
	vsendf(cl, head, fmt, ap);
	va_end(ap);
}

void relay_send_stored(struct relay_client *cl, const char *line, size_t len, long long time_ms)
{
	send_body(cl, line, len, time_ms);
}

/* The tagged form of a body is made once per broadcast, not once per member. */
struct outgoing {
	const char *line;
	size_t len;
	char tagged[TAGGED_MAX];
	size_t tagged_len;
};

static void outgoing_init(struct outgoing *o, const char *line, size_t len, long long time_ms)
{
	char stamp[IRC_TIME_LEN];
	irc_format_time(stamp, sizeof(stamp), time_ms);
	int n = snprintf(o->tagged, sizeof(o->tagged), "@time=%s %.*s", stamp, (int)len, line);
	o->tagged_len = n < 0                           ? 0
			: (size_t)n < sizeof(o->tagged) ? (size_t)n
							: sizeof(o->tagged) - 1;
	o->line = line;
	o->len = len;
}

static void outgoing_send(const struct outgoing *o, struct relay_client *m)
{
	if (m->caps & RELAY_CAP_SERVER_TIME)
		queue_out(m, o->tagged, o->tagged_len);
	else
		queue_out(m, o->line, o->len);
}

void relay_room_broadcast(struct relay *r, struct relay_room *room, struct relay_client *except,
			  const char *line, size_t len, long long time_ms)
{
	struct outgoing o;
	outgoing_init(&o, line, len, time_ms);
	relay_enter(r);
	for (size_t i = 0; i < room->nmembers; i++)
		if (room->members[i] != except)
			outgoing_send(&o, room->members[i]);
	relay_leave(r);
}

void relay_broadcast_peers(struct relay *r, struct relay_client *cl, bool include_self,
			   const char *line, size_t len)
{
	struct outgoing o;
	outgoing_init(&o, line, len, relay_wall_ms());
	relay_enter(r);
	uint64_t mark = ++r->mark;
	cl->mark = mark;
	if (include_self)
		outgoing_send(&o, cl);
	for (size_t k = 0; k < cl->nrooms; k++) {
		struct relay_room *room = cl->rooms[k];
		for (size_t i = 0; i < room->nmembers; i++) {
			struct relay_client *m = room->members[i];
			if (m->mark != mark) {
				m->mark = mark;
				outgoing_send(&o, m);
			}
		}
	}
	relay_leave(r);
}

void relay_prefix(const struct relay_client *cl, char *out, size_t cap)
{
	snprintf(out, cap, "%s!%s@%s", cl->nick, cl->user[0] ? cl->user : "~", cl->host);
}

void relay_client_drop(struct relay_client *cl, const char *why)
{
	if (cl->conn == NULL || cl->gone)
		return;
	relay_sendf(cl, "ERROR :Closing Link: %s (%s)", cl->host, why);
	snprintf(cl->quit_reason, sizeof(cl->quit_reason), "%s", why);
	struct stream_conn *c = cl->conn;
	relay_flush_client(cl);           /* the ERROR goes out before the close */
	relay_client_gone(cl->relay, cl); /* the nick is free and peers see the QUIT now */
	if (cl->conn != NULL)
		stream_close(c);
}

/* A timer the client depends on cannot be armed (the loop's timer heap could not grow):
 * without its keepalive a dead peer would hold its connection and nick forever, and without
 * its flood timer its queued lines would wait for its next line. Close it, saying why. */
static void drop_for_timer(struct relay_client *cl, const char *timer)
{
	log_warn("chat: %s: no memory for its %s timer, closing", cl->host, timer);
	relay_client_drop(cl, "Out of memory");
}

/* ---- keepalive ---- */

static void keepalive_arm(struct relay_client *cl)
{
	const struct relay_config *cfg = &cl->relay->cfg;
	if (cfg->ping_interval_ms == 0)
		return;
	uint64_t idle = ev_now_ms(cl->relay->loop) - cl->last_input_ms;
	uint64_t due = cl->ping_sent ? (uint64_t)cfg->ping_interval_ms + cfg->ping_timeout_ms
				     : cfg->ping_interval_ms;
	if (ev_timer_start(cl->relay->loop, &cl->keepalive, due > idle ? due - idle : 0) < 0)
		drop_for_timer(cl, "keepalive");
}

static void keepalive_fire(struct ev_loop *loop, struct ev_timer *t, void *data)
{
	(void)t;
	struct relay_client *cl = data;
	struct relay *r = cl->relay;
	uint64_t idle = ev_now_ms(loop) - cl->last_input_ms;
	relay_enter(r);
	if (cl->ping_sent && idle >= (uint64_t)r->cfg.ping_interval_ms + r->cfg.ping_timeout_ms) {
		char why[64];
		snprintf(why, sizeof(why), "Ping timeout: %u seconds", (unsigned)(idle / 1000));
		log_info("chat: %s: %s", cl->host, why);
		relay_client_drop(cl, why);
	} else {
		if (!cl->ping_sent && idle >= r->cfg.ping_interval_ms) {
			relay_sendf(cl, "PING :%s", RELAY_SERVER_NAME);
			cl->ping_sent = true;
		}
		if (!cl->gone)
			keepalive_arm(cl);
	}
	relay_leave(r);
}

/* ---- flood control: a token bucket in thousandths of a line ---- */

static bool flood_take(struct relay_client *cl)
{
	const struct relay_config *cfg = &cl->relay->cfg;
	if (cfg->flood_rate == 0)
		return true;
	uint64_t now = ev_now_ms(cl->relay->loop), cap = (uint64_t)cfg->flood_burst * 1000;
	cl->tokens_milli += (now - cl->tokens_ms) * cfg->flood_rate;
	if (cl->tokens_milli > cap)
		cl->tokens_milli = cap;
	cl->tokens_ms = now;
	if (cl->tokens_milli < 1000)
		return false;
	cl->tokens_milli -= 1000;
	return true;
}

static void flood_arm(struct relay_client *cl)
{
	unsigned rate = cl->relay->cfg.flood_rate;
	uint64_t need = 1000 - cl->tokens_milli % 1000;
	if (!ev_timer_armed(&cl->flood_timer) &&
	    ev_timer_start(cl->relay->loop, &cl->flood_timer, (need + rate - 1) / rate) < 0)
		drop_for_timer(cl, "flood");
}

static void flood_fire(struct ev_loop *loop, struct ev_timer *t, void *data)
{
	(void)loop;
	(void)t;
	struct relay_client *cl = data;
	relay_enter(cl->relay);
	while (!cl->gone && buf_len(&cl->flood) > 0 && flood_take(cl)) {
		char line[IRC_LINE_MAX + 1];
		const char *head = (const char *)buf_head(&cl->flood);
		const char *nl = memchr(head, '\n', buf_len(&cl->flood));
		size_t len = (size_t)(nl - head);
		memcpy(line, head, len);
		line[len] = '\0';
		buf_consume(&cl->flood, len + 1);
		relay_dispatch(cl, line, len, false);
	}
	if (!cl->gone && buf_len(&cl->flood) > 0)
		flood_arm(cl);
	buf_shrink_if_empty(&cl->flood);
	relay_leave(cl->relay);
}

/* ---- the stream service ---- */

static void host_from_peer(char *host, size_t cap, const char *peer)
{
	const char *colon = strrchr(peer, ':');
	size_t len = colon != NULL && (strchr(peer, '.') || peer[0] == '[') ? (size_t)(colon - peer)
									    : strlen(peer);
	if (peer[0] == '[') {
		peer++;
		len -= 2;
	}
	/* "0::1", as ircds write it: a parameter must not start with ':' */
	snprintf(host, cap, "%s%.*s", peer[0] == ':' ? "0" : "", (int)len, peer);
	for (char *p = host; *p; p++)
		if (*p == ' ' || *p == '!' || *p == '@')
			*p = '_';
	if (host[0] == '\0')
		snprintf(host, cap, "localhost");
}

static void relay_on_open(struct stream_conn *c, void *ctx, void *state)
{
	struct relay *r = ctx;
	struct relay_client *cl = calloc(1, sizeof(*cl));
	*(struct relay_client **)state = cl;
	if (cl == NULL) {
		stream_abort(c);
		return;
	}
	cl->relay = r;
	cl->conn = c;
	cl->slot = state;
	host_from_peer(cl->host, sizeof(cl->host), stream_peer(c));
	cl->last_input_ms = cl->tokens_ms = ev_now_ms(r->loop);
	cl->tokens_milli = (uint64_t)r->cfg.flood_burst * 1000;
	buf_init(&cl->flood, RELAY_FLOOD_QUEUE);
	buf_init(&cl->coalesce, RELAY_COALESCE_MAX);
	ev_timer_init(&cl->keepalive, keepalive_fire, cl);
	ev_timer_init(&cl->flood_timer, flood_fire, cl);
	relay_enter(r); /* keepalive_arm may drop cl: the reap waits for relay_leave */
	keepalive_arm(cl);
	relay_leave(r);
}

static void relay_on_line(struct stream_conn *c, void *ctx, void *state, char *line, size_t len,
			  bool too_long)
{
	(void)c;
	struct relay *r = ctx;
	struct relay_client *cl = *(struct relay_client **)state;
	if (cl == NULL || cl->gone)
		return;
	cl->last_input_ms = ev_now_ms(r->loop);
	cl->ping_sent = false;
	relay_enter(r);
	if (buf_len(&cl->flood) == 0 && flood_take(cl)) {
		relay_dispatch(cl, line, len, too_long);
	} else if (too_long) {
		relay_dispatch(cl, line, 0, true); /* answered at once; its text is not kept */
	} else if (buf_append(&cl->flood, line, len) < 0 || buf_append(&cl->flood, "\n", 1) < 0) {
		/* Input is not paused while lines wait: a client that keeps sending over the
		 * rate fills the bounded queue and is cut, rather than held open by TCP. */
		log_info("chat: %s: excess flood, closing", stream_peer(c));
		relay_client_drop(cl, "Excess Flood");
	} else {
		flood_arm(cl);
	}
	relay_leave(r);
}

static void relay_on_close(struct stream_conn *c, void *ctx, void *state)
{
	(void)c;
	struct relay *r = ctx;
	struct relay_client *cl = *(struct relay_client **)state;
	if (cl == NULL)
		return;
	relay_enter(r);
	cl->conn = NULL;
	relay_client_gone(r, cl);
	relay_leave(r);
}

static void *relay_create(struct ev_loop *loop, const void *config)
{
	struct relay *r = relay_state_new(loop, config);
	if (r != NULL)
		ev_timer_init(&r->flush_timer, flush_fire, r);
	return r;
}

static void relay_destroy(void *ctx)
{
	struct relay *r = ctx;
	if (r != NULL)
		ev_timer_stop(r->loop, &r->flush_timer);
	relay_state_free(r);
}

static const struct stream_service relay_stream = {
	.name = "chat",
	.state_size = sizeof(struct relay_client *),
	.max_line = IRC_LINE_MAX - 2,
	.on_open = relay_on_open,
	.on_line = relay_on_line,
	.on_close = relay_on_close,
};

static const char *const relay_default_endpoints[] = {"tcp:127.0.0.1:6667", NULL};

const struct service_def chat_relay_service = {
	.name = "chat",
	.summary = N_("IRC-compatible chat relay: nicknames, rooms, history, offline messages"),
	.defaults = relay_default_endpoints,
	.config_size = sizeof(struct relay_config),
	.config_defaults = &relay_defaults,
	.options = relay_options,
	.stream = &relay_stream,
	.create = relay_create,
	.destroy = relay_destroy,
	.single_worker = true, /* one registry of nicks and rooms */
};
