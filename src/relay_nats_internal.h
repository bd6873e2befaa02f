/* relay_nats_internal.h - what the NATS scale-out's files share: relay_nats.c (connection,
 * event queue, nick claims), relay_nats_store.c (JetStream history, offline DMs) and
 * relay_nats_presence.c (users on other relays). Not for the rest of the relay. */
#ifndef SOCKIT_RELAY_NATS_INTERNAL_H
#define SOCKIT_RELAY_NATS_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include <nats/nats.h>

#include "relay_internal.h"
#include "relay_nats.h"

#define SUBJECT_PREFIX    "sockit.chat"
#define NICK_BUCKET       "sockit_chat_nicks"
#define SEEN_BUCKET       "sockit_chat_seen"    /* nicks that registered once, no TTL */
#define HISTORY_STREAM    "SOCKIT_CHAT_HISTORY" /* the last --history messages per room */
#define HISTORY_PREFIX    "sockit.history"
#define OFFLINE_STREAM    "SOCKIT_CHAT_OFFLINE" /* up to --offline-max DMs per nick */
#define OFFLINE_PREFIX    "sockit.offline"
#define FETCH_EXPIRES_MS  500
#define JS_WAIT_MS        1000  /* a JetStream request from the loop blocks at most this long */
#define QUEUE_MAX         65536 /* events waiting for the loop; more are dropped, with a warning */
#define INSTANCES_MAX     64
#define FIELDS_MAX        8
#define ID_LEN            16
#define HEX_MAX           (RELAY_ROOM_MAX * 2 + 1)
#define SUBJECT_MAX       (sizeof(SUBJECT_PREFIX) + 16 + HEX_MAX)
#define PAYLOAD_MAX       (IRC_BODY_MAX + 512)
#define RECONNECT_WAIT_MS 500

enum event_kind { EVENT_MESSAGE, EVENT_CONNECTED, EVENT_DISCONNECTED };

struct event {
	struct event *next;
	enum event_kind kind;
	char subject[SUBJECT_MAX];
	size_t len;
	char data[]; /* NUL-terminated */
};

struct instance {
	char id[ID_LEN + 1];
	uint64_t last_ms; /* its last heartbeat, on our loop's clock */
};

struct remote_topic {
	char topic[RELAY_TOPIC_MAX + 1];
	char by[RELAY_PREFIX_MAX + 1];
	long long time_ms;
};

struct relay_nats {
	struct relay *r;
	char *url;
	natsOptions *opts;
	natsConnection *nc;
	jsCtx *js;
	kvStore *kv;
	kvStore *seen;
	bool streams;              /* history and offline streams exist */
	bool announced_local_only; /* "connected" said nicknames were local: say when not */
	natsSubscription *sub;
	char id[ID_LEN + 1];
	unsigned ttl_ms;
	int wake[2];
	pthread_mutex_t lock;
	struct event *head, *tail;
	size_t queued;
	bool dropped;
	struct ev_timer tick;
	struct relay_map *remote;     /* fold -> struct relay_remote */
	struct relay_map *room_names; /* room fold -> its name as first joined (malloc'd) */
	struct relay_map *topics;     /* room fold -> struct remote_topic */
	struct instance inst[INSTANCES_MAX];
	size_t ninst;
};

bool relay_nats_connected(const struct relay_nats *n);
/* Fields joined by '\n' on subject; nothing is sent (or queued) while disconnected. */
void relay_nats_publish(struct relay_nats *n, const char *subject, const char *const *fields,
			size_t nfields);
void relay_nats_presence_publish(struct relay_nats *n, const char *const *fields, size_t nfields);
void relay_nats_hex(char *out, size_t cap, const char *s);
bool relay_nats_unhex(char *out, size_t cap, const char *hex);
/* Create or bind the history and offline streams and the seen bucket; true when ready. */
bool relay_nats_store_open(struct relay_nats *n);
/* A presence event (f[0] origin, f[1] kind, ...), on the loop. */
void relay_nats_presence_in(struct relay_nats *n, char **f, size_t nf);
/* Every local user, room membership and topic, silently: for a relay that (re)joined. */
void relay_nats_announce(struct relay_nats *n);
/* An instance went away: its users quit, for our rooms. */
void relay_nats_drop_origin(struct relay_nats *n, unsigned origin, const char *why);

#endif
