/* relay_internal.h - what the chat relay's files share: clients, rooms, the registry and
 * the send helpers. relay.c is the service glue, relay_state.c the registry, relay_cmds.c
 * the IRC commands. */
#ifndef SOCKIT_RELAY_INTERNAL_H
#define SOCKIT_RELAY_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "ev.h"
#include "irc_msg.h"
#include "stream.h"

#define RELAY_SERVER_NAME    "sockit.relay"
#define RELAY_NETWORK_NAME   "sockit"
#define RELAY_NICK_MAX       30  /* NICKLEN */
#define RELAY_ROOM_MAX       50  /* CHANNELLEN */
#define RELAY_TOPIC_MAX      390 /* TOPICLEN */
#define RELAY_AWAY_MAX       200 /* AWAYLEN */
#define RELAY_USER_MAX       16  /* USER's username, kept for nick!user@host */
#define RELAY_REAL_MAX       64  /* USER's realname */
#define RELAY_HOST_MAX       64
#define RELAY_ROOMS_PER_USER 50     /* CHANLIMIT */
#define RELAY_KNOWN_MAX      100000 /* nicknames remembered for offline messages */
#define RELAY_FLOOD_QUEUE    8192   /* bytes of excess input held before ERROR + close */
#define RELAY_PREFIX_MAX     (RELAY_NICK_MAX + RELAY_USER_MAX + RELAY_HOST_MAX + 3)
#define RELAY_COALESCE_MAX   (64 * 1024) /* output gathered per client before one write */

enum relay_cap {
	RELAY_CAP_SERVER_TIME = 1,
	RELAY_CAP_MESSAGE_TAGS = 2,
};

struct relay_config {
	unsigned history;     /* messages kept per room and replayed on join */
	unsigned offline_max; /* messages kept per offline nickname */
	unsigned ping_interval_ms;
	unsigned ping_timeout_ms;
	unsigned flood_rate;  /* lines per second */
	unsigned flood_burst; /* lines at once */
	char *nats;           /* nats://HOST:PORT: scale out; NULL = this process alone */
	unsigned nats_nick_ttl_ms;
};

/* One stored message: a room's history or an offline DM. */
struct relay_stored {
	long long time_ms; /* wall clock, for server-time */
	uint16_t len;
	char line[IRC_BODY_MAX + 3]; /* ":prefix CMD target :text\r\n" */
};

/* A ring of stored messages, allocated on first use. */
struct relay_ring {
	struct relay_stored *items;
	size_t cap, head, len;
};

struct relay_room {
	char name[RELAY_ROOM_MAX + 1];
	char fold[RELAY_ROOM_MAX + 1];
	char topic[RELAY_TOPIC_MAX + 1];
	char topic_by[RELAY_PREFIX_MAX + 1];
	long long topic_time, created;
	struct relay_client **members;
	size_t nmembers, cap;
	bool doomed; /* empty: freed at the next reap */
	struct relay_room *next_doomed;
	struct relay_ring history;
};

struct relay_client {
	struct relay *relay;
	struct stream_conn *conn;   /* NULL once the connection closed */
	struct relay_client **slot; /* the stream state pointing here */
	bool gone;                  /* quit or closed: out of the registry, freed at the reap */
	char nick[RELAY_NICK_MAX + 1];
	char fold[RELAY_NICK_MAX + 1];
	char user[RELAY_USER_MAX + 1];
	char real[RELAY_REAL_MAX + 1];
	char host[RELAY_HOST_MAX + 1];
	char away[RELAY_AWAY_MAX + 1];
	bool has_user, registered, cap_pending;
	bool nats_claimed; /* its nick is ours in the NATS bucket (else claimed here only) */
	unsigned caps;
	struct relay_room *rooms[RELAY_ROOMS_PER_USER];
	size_t nrooms;
	uint64_t last_input_ms;
	bool ping_sent;
	struct ev_timer keepalive;
	uint64_t tokens_milli; /* flood bucket, thousandths of a line */
	uint64_t tokens_ms;
	struct buf flood; /* lines waiting for tokens, each ending in '\n' */
	struct ev_timer flood_timer;
	uint64_t mark; /* dedupe stamp for multi-room broadcasts */
	char quit_reason[RELAY_AWAY_MAX + 1];
	struct relay_client *next_zombie;
	/* Lines for this client are gathered and written once per loop pass (like ircds do),
	 * so a broadcast costs a copy per member instead of a system call. */
	struct buf coalesce;
	bool flush_queued;
	struct relay_client *next_flush;
};

struct relay_known; /* a nickname that registered once; holds its offline messages */

struct relay {
	struct ev_loop *loop;
	struct relay_config cfg;
	struct relay_map *nicks; /* fold -> struct relay_client (with a nick claimed) */
	struct relay_map *rooms; /* fold -> struct relay_room */
	struct relay_map *known; /* fold -> struct relay_known */
	int depth;               /* entries into the relay now running; frees wait for 0 */
	uint64_t mark;
	struct relay_client *zombies;
	struct relay_room *doomed;
	long long started;
	struct relay_nats *nats;     /* NULL without --nats */
	struct relay_client *flush;  /* clients with gathered output */
	struct ev_timer flush_timer; /* at 0 ms: after this pass's input */
};

/* ---- relay_state.c: the registry ---- */
struct relay *relay_state_new(struct ev_loop *loop, const struct relay_config *cfg);
void relay_state_free(struct relay *r);
struct relay_map;
struct relay_map *relay_map_new(void);
void relay_map_free(struct relay_map *m, void (*free_value)(void *));
void *relay_map_get(const struct relay_map *m, const char *key);
/* -EEXIST if the key is there, -ENOMEM. */
int relay_map_put(struct relay_map *m, const char *key, void *value);
void *relay_map_del(struct relay_map *m, const char *key);
size_t relay_map_count(const struct relay_map *m);
/* Calls fn for each value; fn must not change the map. */
void relay_map_each(const struct relay_map *m, void (*fn)(void *value, void *arg), void *arg);

struct relay_room *relay_room_find(struct relay *r, const char *name);
/* The room, created if needed; NULL when out of memory. */
struct relay_room *relay_room_get(struct relay *r, const char *name);
int relay_room_add(struct relay_room *room, struct relay_client *cl);
bool relay_room_has(const struct relay_room *room, const struct relay_client *cl);
/* Remove cl from room and room from cl; an emptied room is freed at the next reap. Never
 * called while a broadcast runs: closed clients stay members until the reap. */
void relay_room_remove(struct relay *r, struct relay_room *room, struct relay_client *cl);

void relay_ring_push(struct relay_ring *ring, size_t cap, long long time_ms, const char *line,
		     size_t len);
void relay_ring_free(struct relay_ring *ring);

/* Remember a nickname for offline delivery (after it registered). */
void relay_known_add(struct relay *r, const char *fold);
bool relay_known_has(const struct relay *r, const char *fold);
/* Keep a DM for an offline nickname; -ENOSPC if its queue is full. */
int relay_offline_push(struct relay *r, const char *fold, long long time_ms, const char *line,
		       size_t len);
/* Take the offline ring of a nickname (caller frees it with relay_ring_free). */
struct relay_ring relay_offline_take(struct relay *r, const char *fold);

/* Every entry into the relay (callback, timer) is bracketed by these; leaving the outermost
 * one reaps: QUITs of clients that closed meanwhile are announced and they are freed, and
 * so are emptied rooms. Nothing is freed under a running broadcast. */
void relay_enter(struct relay *r);
void relay_leave(struct relay *r);
/* The client quit or its connection closed: release the nick now, announce the QUIT and
 * free at the reap. */
void relay_client_gone(struct relay *r, struct relay_client *cl);

/* ---- relay.c: output ---- */
long long relay_wall_ms(void);
/* Send one line (without CRLF; cut to 510 bytes) to cl, with a server-time tag if wanted. */
__attribute__((format(printf, 2, 3))) void relay_sendf(struct relay_client *cl, const char *fmt,
						       ...);
/* ":server NUMERIC nick " + the rest. */
__attribute__((format(printf, 3, 4))) void relay_numeric(struct relay_client *cl,
							 const char *numeric, const char *fmt, ...);
/* Send a formatted body ("...\r\n", no tags) stamped with time_ms. */
void relay_send_stored(struct relay_client *cl, const char *line, size_t len, long long time_ms);
/* Send a body to every member of room but except. */
void relay_room_broadcast(struct relay *r, struct relay_room *room, struct relay_client *except,
			  const char *line, size_t len, long long time_ms);
/* Send a body to cl and every member of its rooms, each once. */
void relay_broadcast_peers(struct relay *r, struct relay_client *cl, bool include_self,
			   const char *line, size_t len);
void relay_prefix(const struct relay_client *cl, char *out, size_t cap);
/* Write what was gathered for cl now. */
void relay_flush_client(struct relay_client *cl);
/* ERROR line and close, e.g. for flood or ping timeout. */
void relay_client_drop(struct relay_client *cl, const char *why);

/* ---- relay_cmds.c ---- */
void relay_dispatch(struct relay_client *cl, char *line, size_t len, bool too_long);

#endif
