/* relay_nats.c - chat relay instances as one network over NATS. libnats delivers messages
 * and connection events on its own threads: those only queue them under a mutex and wake
 * the loop through a pipe; everything else (the registry, sockets) stays on the loop. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <nats/nats.h>

#include "log.h"
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
	bool streams; /* history and offline streams exist */
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

/* ---- on libnats' threads: queue and wake, nothing else ---- */

static void queue_event(struct relay_nats *n, enum event_kind kind, const char *subject,
                        const char *data, size_t len)
{
	struct event *e = malloc(sizeof(*e) + len + 1);
	if (e == NULL)
		return;
	e->next = NULL;
	e->kind = kind;
	snprintf(e->subject, sizeof(e->subject), "%s", subject ? subject : "");
	memcpy(e->data, data, len);
	e->data[len] = '\0';
	e->len = len;
	pthread_mutex_lock(&n->lock);
	if (n->queued >= QUEUE_MAX) {
		n->dropped = true;
		free(e);
		e = NULL;
	} else {
		if (n->tail != NULL)
			n->tail->next = e;
		else
			n->head = e;
		n->tail = e;
		n->queued++;
	}
	pthread_mutex_unlock(&n->lock);
	char b = 1;
	ssize_t w = write(n->wake[1], &b, 1); /* full pipe: a wake-up is pending anyway */
	(void)w;
}

static void on_nats_message(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *data)
{
	(void)nc, (void)sub;
	queue_event(data, EVENT_MESSAGE, natsMsg_GetSubject(msg), natsMsg_GetData(msg),
	            (size_t)natsMsg_GetDataLength(msg));
	natsMsg_Destroy(msg);
}

static void on_nats_connected(natsConnection *nc, void *data)
{
	(void)nc;
	queue_event(data, EVENT_CONNECTED, NULL, "", 0);
}

static void on_nats_disconnected(natsConnection *nc, void *data)
{
	(void)nc;
	queue_event(data, EVENT_DISCONNECTED, NULL, "", 0);
}

/* ---- encoding ---- */

static void hex_encode(char *out, size_t cap, const char *s)
{
	static const char digits[] = "0123456789abcdef";
	size_t n = 0;
	for (; *s && n + 2 < cap; s++) {
		out[n++] = digits[(unsigned char)*s >> 4];
		out[n++] = digits[(unsigned char)*s & 15];
	}
	out[n] = '\0';
}

static int hex_value(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static bool hex_decode(char *out, size_t cap, const char *hex)
{
	size_t n = 0;
	for (; hex[0] && hex[1] && n + 1 < cap; hex += 2) {
		int hi = hex_value(hex[0]), lo = hex_value(hex[1]);
		if (hi < 0 || lo < 0)
			return false;
		out[n++] = (char)(hi << 4 | lo);
	}
	out[n] = '\0';
	return hex[0] == '\0';
}

static bool connected(const struct relay_nats *n)
{
	return n->nc != NULL && natsConnection_Status(n->nc) == NATS_CONN_STATUS_CONNECTED;
}

/* Fields joined by '\n'; an IRC line's CRLF is left off (it holds no other line break). */
static void publish(struct relay_nats *n, const char *subject, const char *const *fields,
                    size_t nfields)
{
	if (!connected(n))
		return; /* remote delivery resumes after a reconnect; nothing is queued */
	char payload[PAYLOAD_MAX];
	size_t len = 0;
	for (size_t i = 0; i < nfields; i++) {
		const char *f = fields[i] ? fields[i] : "";
		size_t fl = strcspn(f, "\r\n");
		if (len + fl + 1 >= sizeof(payload))
			return;
		memcpy(payload + len, f, fl);
		len += fl;
		payload[len++] = '\n';
	}
	natsStatus s = natsConnection_Publish(n->nc, subject, payload, (int)len - 1);
	if (s != NATS_OK)
		log_info("chat: NATS: publish %s: %s", subject, natsStatus_GetText(s));
}

static void publish_presence(struct relay_nats *n, const char *const *fields, size_t nfields)
{
	publish(n, SUBJECT_PREFIX ".presence", fields, nfields);
}

/* ---- nick claims ---- */

static void nick_key(char *key, size_t cap, const char *fold)
{
	hex_encode(key, cap, fold);
}

static bool holder_is_us(struct relay_nats *n, const char *key, bool *found)
{
	kvEntry *e = NULL;
	*found = kvStore_Get(&e, n->kv, key) == NATS_OK;
	bool mine =
	    *found && kvEntry_ValueLen(e) == ID_LEN && memcmp(kvEntry_Value(e), n->id, ID_LEN) == 0;
	if (e != NULL)
		kvEntry_Destroy(e);
	return mine;
}

int relay_nats_claim(struct relay_nats *n, const char *fold)
{
	if (relay_map_get(n->remote, fold) != NULL)
		return -EEXIST;
	if (n->kv == NULL || !connected(n))
		return -EAGAIN;
	char key[HEX_MAX];
	nick_key(key, sizeof(key), fold);
	uint64_t rev;
	if (kvStore_Create(&rev, n->kv, key, n->id, ID_LEN) == NATS_OK)
		return 0;
	bool found;
	if (holder_is_us(n, key, &found))
		return 0;
	return found ? -EEXIST : -EAGAIN;
}

void relay_nats_release(struct relay_nats *n, const char *fold)
{
	if (n->kv == NULL || !connected(n))
		return; /* the TTL frees it */
	char key[HEX_MAX];
	bool found;
	nick_key(key, sizeof(key), fold);
	if (holder_is_us(n, key, &found))
		kvStore_Delete(n->kv, key);
}

/* Keep our claims alive; claim those made while NATS was away. */
static void refresh_one(void *value, void *arg)
{
	struct relay_client *cl = value;
	struct relay_nats *n = arg;
	if (cl->gone)
		return;
	if (!cl->nats_claimed) {
		int rc = relay_nats_claim(n, cl->fold);
		cl->nats_claimed = rc == 0;
		if (rc == -EEXIST)
			log_warn("chat: NATS: nickname %s is also in use on another relay",
			         cl->nick);
		return;
	}
	char key[HEX_MAX];
	uint64_t rev;
	nick_key(key, sizeof(key), cl->fold);
	kvStore_Put(&rev, n->kv, key, n->id, ID_LEN);
}

static bool add_stream(struct relay_nats *n, const char *name, const char *subjects,
                       int64_t per_subject, bool discard_new)
{
	jsStreamConfig sc;
	jsStreamConfig_Init(&sc);
	sc.Name = name;
	sc.Subjects = &subjects;
	sc.SubjectsLen = 1;
	sc.MaxMsgsPerSubject = per_subject > 0 ? per_subject : 1;
	if (discard_new) {
		sc.Discard = js_DiscardNew;
		sc.DiscardNewPerSubject = true;
	}
	jsStreamInfo *si = NULL;
	jsErrCode code = 0;
	natsStatus s = js_AddStream(&si, n->js, &sc, NULL, &code);
	if (si != NULL)
		jsStreamInfo_Destroy(si);
	if (s != NATS_OK && code != JSStreamNameExistErr) {
		log_warn("chat: NATS: stream %s: %s", name, natsStatus_GetText(s));
		return false;
	}
	return true;
}

static void open_bucket(struct relay_nats *n)
{
	if ((n->kv != NULL && n->seen != NULL && n->streams) || !connected(n))
		return;
	if (n->js == NULL) {
		jsOptions jo;
		jsOptions_Init(&jo);
		jo.Wait = JS_WAIT_MS;
		if (natsConnection_JetStream(&n->js, n->nc, &jo) != NATS_OK)
			return;
	}
	if (n->kv == NULL && js_KeyValue(&n->kv, n->js, NICK_BUCKET) != NATS_OK) {
		kvConfig kc;
		kvConfig_Init(&kc);
		kc.Bucket = NICK_BUCKET;
		kc.History = 1;
		kc.TTL = (int64_t)n->ttl_ms * 1000000; /* nanoseconds, like the stream's MaxAge */
		natsStatus s = js_CreateKeyValue(&n->kv, n->js, &kc);
		if (s != NATS_OK) /* another relay may have created it just now */
			s = js_KeyValue(&n->kv, n->js, NICK_BUCKET);
		if (s != NATS_OK) {
			log_warn(
			    "chat: NATS: nick bucket %s: %s (is JetStream on? nats-server -js)",
			    NICK_BUCKET, natsStatus_GetText(s));
			n->kv = NULL;
		}
	}
	if (n->seen == NULL && js_KeyValue(&n->seen, n->js, SEEN_BUCKET) != NATS_OK) {
		kvConfig kc;
		kvConfig_Init(&kc);
		kc.Bucket = SEEN_BUCKET;
		kc.History = 1;
		if (js_CreateKeyValue(&n->seen, n->js, &kc) != NATS_OK &&
		    js_KeyValue(&n->seen, n->js, SEEN_BUCKET) != NATS_OK)
			n->seen = NULL;
	}
	if (!n->streams)
		n->streams =
		    add_stream(n, HISTORY_STREAM, HISTORY_PREFIX ".>", n->r->cfg.history, false) &&
		    add_stream(n, OFFLINE_STREAM, OFFLINE_PREFIX ".>", n->r->cfg.offline_max, true);
}

/* ---- history and offline DMs in JetStream ---- */

static void store_subject(char *out, size_t cap, const char *prefix, const char *fold)
{
	char hex[HEX_MAX];
	hex_encode(hex, sizeof(hex), fold);
	snprintf(out, cap, "%s.%s", prefix, hex);
}

static int store_payload(char *out, size_t cap, const char *line, long long time_ms)
{
	return snprintf(out, cap, "%lld\n%.*s", time_ms, (int)strcspn(line, "\r\n"), line);
}

void relay_nats_history_add(struct relay_nats *n, const char *room_fold, const char *line,
                            long long time_ms)
{
	if (!n->streams || !connected(n) || n->r->cfg.history == 0)
		return;
	char subject[SUBJECT_MAX], payload[PAYLOAD_MAX];
	store_subject(subject, sizeof(subject), HISTORY_PREFIX, room_fold);
	int len = store_payload(payload, sizeof(payload), line, time_ms);
	/* a plain publish: the stream takes it without an ack round trip */
	natsConnection_Publish(n->nc, subject, payload, len);
}

int relay_nats_offline_push(struct relay_nats *n, const char *fold, const char *line,
                            long long time_ms)
{
	if (!n->streams || !connected(n))
		return -EAGAIN;
	char subject[SUBJECT_MAX], payload[PAYLOAD_MAX];
	store_subject(subject, sizeof(subject), OFFLINE_PREFIX, fold);
	int len = store_payload(payload, sizeof(payload), line, time_ms);
	jsPubAck *ack = NULL;
	jsErrCode code = 0;
	natsStatus s = js_Publish(&ack, n->js, subject, payload, len, NULL, &code);
	if (ack != NULL)
		jsPubAck_Destroy(ack);
	if (s == NATS_OK)
		return 0;
	return code != 0 ? -ENOSPC : -EAGAIN; /* an error from the stream: its limit */
}

/* Everything stored under subject, oldest first, into ring (cap entries). */
static int fetch_all(struct relay_nats *n, const char *stream, const char *subject,
                     struct relay_ring *ring, size_t cap)
{
	if (!n->streams || !connected(n) || cap == 0)
		return -EAGAIN;
	/* An empty subject would make the fetch wait for its expiry: ask first. */
	natsMsg *last = NULL;
	natsStatus s = js_GetLastMsg(&last, n->js, stream, subject, NULL, NULL);
	if (last != NULL)
		natsMsg_Destroy(last);
	if (s == NATS_NOT_FOUND)
		return 0;
	if (s != NATS_OK)
		return -EAGAIN;
	natsSubscription *sub = NULL;
	jsSubOptions so;
	jsSubOptions_Init(&so);
	so.Stream = stream;
	s = js_PullSubscribe(&sub, n->js, subject, NULL, NULL, &so, NULL);
	if (s != NATS_OK)
		return -EAGAIN;
	jsFetchRequest req;
	jsFetchRequest_Init(&req);
	req.Batch = (int)cap;
	req.NoWait = true;
	req.Expires = (int64_t)FETCH_EXPIRES_MS * 1000000;
	natsMsgList list = {0};
	s = natsSubscription_FetchRequest(&list, sub, &req);
	int rc = s == NATS_OK || s == NATS_NOT_FOUND || s == NATS_TIMEOUT ? 0 : -EAGAIN;
	uint64_t seen = 0; /* stream sequence: a redelivery is not a second message */
	for (int i = 0; i < list.Count; i++) {
		jsMsgMetaData *meta = NULL;
		uint64_t seq = 0;
		if (natsMsg_GetMetaData(&meta, list.Msgs[i]) == NATS_OK) {
			seq = meta->Sequence.Stream;
			jsMsgMetaData_Destroy(meta);
		}
		if (seq != 0 && seq <= seen)
			continue;
		seen = seq;
		const char *data = natsMsg_GetData(list.Msgs[i]);
		int dl = natsMsg_GetDataLength(list.Msgs[i]);
		char body[IRC_BODY_MAX + 3];
		const char *nl = memchr(data, '\n', (size_t)dl);
		if (nl == NULL)
			continue;
		int bl =
		    snprintf(body, sizeof(body), "%.*s\r\n", (int)(data + dl - nl - 1), nl + 1);
		if (bl > 0 && (size_t)bl < sizeof(body))
			relay_ring_push(ring, cap, strtoll(data, NULL, 10), body, (size_t)bl);
	}
	natsMsgList_Destroy(&list);
	natsSubscription_Unsubscribe(sub);
	natsSubscription_Destroy(sub);
	return rc;
}

int relay_nats_history(struct relay_nats *n, const char *room_fold, struct relay_ring *ring)
{
	char subject[SUBJECT_MAX];
	store_subject(subject, sizeof(subject), HISTORY_PREFIX, room_fold);
	return fetch_all(n, HISTORY_STREAM, subject, ring, n->r->cfg.history);
}

int relay_nats_offline_take(struct relay_nats *n, const char *fold, struct relay_ring *ring)
{
	char subject[SUBJECT_MAX];
	store_subject(subject, sizeof(subject), OFFLINE_PREFIX, fold);
	int rc = fetch_all(n, OFFLINE_STREAM, subject, ring, n->r->cfg.offline_max);
	if (rc == 0 && ring->len > 0) {
		jsOptions jo;
		jsOptions_Init(&jo);
		jo.Stream.Purge.Subject = subject;
		js_PurgeStream(n->js, OFFLINE_STREAM, &jo, NULL);
	}
	return rc;
}

void relay_nats_seen_add(struct relay_nats *n, const char *fold)
{
	if (n->seen == NULL || !connected(n))
		return;
	char key[HEX_MAX];
	uint64_t rev;
	nick_key(key, sizeof(key), fold);
	kvStore_Put(&rev, n->seen, key, "1", 1);
}

bool relay_nats_seen(struct relay_nats *n, const char *fold)
{
	if (n->seen == NULL || !connected(n))
		return false;
	char key[HEX_MAX];
	kvEntry *e = NULL;
	nick_key(key, sizeof(key), fold);
	bool found = kvStore_Get(&e, n->seen, key) == NATS_OK;
	if (e != NULL)
		kvEntry_Destroy(e);
	return found;
}

/* ---- presence out ---- */

void relay_nats_user(struct relay_nats *n, const struct relay_client *cl)
{
	const char *f[] = {n->id, "USER", cl->nick, cl->user, cl->host, cl->real};
	publish_presence(n, f, 6);
}

void relay_nats_join(struct relay_nats *n, const struct relay_client *cl, const char *room_fold,
                     const char *room_name, const char *line, size_t len)
{
	(void)len;
	const char *f[] = {n->id, "JOIN", cl->fold, room_fold, room_name, line};
	publish_presence(n, f, 6);
}

void relay_nats_topic(struct relay_nats *n, const struct relay_room *room, const char *line)
{
	char t[24];
	snprintf(t, sizeof(t), "%lld", room->topic_time);
	const char *f[] = {n->id, "TOPIC", room->fold, room->topic, room->topic_by, t, line};
	publish_presence(n, f, 7);
}

static void copy_topic(struct relay_room *room, const struct remote_topic *rt)
{
	snprintf(room->topic, sizeof(room->topic), "%s", rt->topic);
	snprintf(room->topic_by, sizeof(room->topic_by), "%s", rt->by);
	room->topic_time = rt->time_ms;
}

void relay_nats_topic_fill(struct relay_nats *n, struct relay_room *room)
{
	const struct remote_topic *rt = relay_map_get(n->topics, room->fold);
	if (rt != NULL && room->topic[0] == '\0')
		copy_topic(room, rt);
}

static void announce_topic(void *value, void *arg)
{
	const struct relay_room *room = value;
	if (room->topic[0] != '\0' && room->nmembers > 0)
		relay_nats_topic(arg, room, NULL);
}

void relay_nats_away(struct relay_nats *n, const struct relay_client *cl)
{
	const char *f[] = {n->id, "AWAY", cl->fold, cl->away};
	publish_presence(n, f, 4);
}

void relay_nats_part(struct relay_nats *n, const struct relay_client *cl, const char *room_fold,
                     const char *line, size_t len)
{
	(void)len;
	const char *f[] = {n->id, "PART", cl->fold, room_fold, line};
	publish_presence(n, f, 5);
}

void relay_nats_quit(struct relay_nats *n, const struct relay_client *cl, const char *line,
                     size_t len)
{
	(void)len;
	const char *f[] = {n->id, "QUIT", cl->fold, line};
	publish_presence(n, f, 4);
}

void relay_nats_nick(struct relay_nats *n, const char *old_fold, const struct relay_client *cl,
                     const char *line, size_t len)
{
	(void)len;
	const char *f[] = {n->id, "NICK", old_fold, cl->nick, line};
	publish_presence(n, f, 5);
}

/* A line for SUBJECT_PREFIX.kind.<hex fold>, with its time. */
static void publish_line(struct relay_nats *n, const char *kind, const char *fold, const char *line,
                         long long time_ms)
{
	char subject[SUBJECT_MAX], hex[HEX_MAX], t[24];
	hex_encode(hex, sizeof(hex), fold);
	snprintf(subject, sizeof(subject), SUBJECT_PREFIX ".%s.%s", kind, hex);
	snprintf(t, sizeof(t), "%lld", time_ms);
	const char *f[] = {n->id, t, line};
	publish(n, subject, f, 3);
}

void relay_nats_room_message(struct relay_nats *n, const char *room_fold, const char *line,
                             size_t len, long long time_ms)
{
	(void)len;
	publish_line(n, "room", room_fold, line, time_ms);
}

void relay_nats_dm(struct relay_nats *n, const char *nick_fold, const char *line, size_t len,
                   long long time_ms)
{
	(void)len;
	publish_line(n, "dm", nick_fold, line, time_ms);
}

/* Every local user and room membership, silently: for an instance that just (re)joined. */
static void announce_one(void *value, void *arg)
{
	struct relay_client *cl = value;
	struct relay_nats *n = arg;
	if (!cl->registered || cl->gone)
		return;
	relay_nats_user(n, cl);
	if (cl->away[0] != '\0')
		relay_nats_away(n, cl);
	for (size_t i = 0; i < cl->nrooms; i++)
		relay_nats_join(n, cl, cl->rooms[i]->fold, cl->rooms[i]->name, NULL, 0);
}

/* ---- the remote registry ---- */

const struct relay_remote *relay_nats_find(const struct relay_nats *n, const char *fold)
{
	return relay_map_get(n->remote, fold);
}

struct each_arg {
	void (*fn)(const struct relay_remote *u, void *arg);
	void *arg;
};

static void each_remote(void *value, void *arg)
{
	struct each_arg *ea = arg;
	ea->fn(value, ea->arg);
}

void relay_nats_each(const struct relay_nats *n,
                     void (*fn)(const struct relay_remote *u, void *arg), void *arg)
{
	struct each_arg ea = {fn, arg};
	relay_map_each(n->remote, each_remote, &ea);
}

struct room_count {
	const char *fold;
	size_t count;
};

static void count_in_room(const struct relay_remote *u, void *arg)
{
	struct room_count *rc = arg;
	rc->count += relay_remote_in(u, rc->fold);
}

struct each_room_arg {
	const struct relay_nats *n;
	void (*fn)(const char *name, const char *fold, size_t count, void *arg);
	void *arg;
};

/* relay_map_each gives values only: the room_names map keeps its key after the name. */
static void each_room_name(void *value, void *arg)
{
	struct each_room_arg *ea = arg;
	const char *name = value;
	const char *fold = name + strlen(name) + 1;
	struct room_count rc = {fold, 0};
	relay_nats_each(ea->n, count_in_room, &rc);
	if (rc.count > 0)
		ea->fn(name, fold, rc.count, ea->arg);
}

void relay_nats_each_room(const struct relay_nats *n,
                          void (*fn)(const char *name, const char *fold, size_t count, void *arg),
                          void *arg)
{
	struct each_room_arg ea = {n, fn, arg};
	relay_map_each(n->room_names, each_room_name, &ea);
}

bool relay_remote_in(const struct relay_remote *u, const char *room_fold)
{
	for (size_t i = 0; i < u->nrooms; i++)
		if (strcmp(u->rooms[i], room_fold) == 0)
			return true;
	return false;
}

static unsigned instance_index(struct relay_nats *n, const char *id)
{
	for (size_t i = 0; i < n->ninst; i++)
		if (strcmp(n->inst[i].id, id) == 0)
			return (unsigned)i;
	size_t i = n->ninst < INSTANCES_MAX ? n->ninst++ : INSTANCES_MAX - 1;
	snprintf(n->inst[i].id, sizeof(n->inst[i].id), "%s", id);
	return (unsigned)i;
}

static struct relay_remote *remote_get(struct relay_nats *n, const char *fold, unsigned origin)
{
	struct relay_remote *u = relay_map_get(n->remote, fold);
	if (u != NULL)
		return u;
	u = calloc(1, sizeof(*u));
	if (u == NULL)
		return NULL;
	snprintf(u->nick, sizeof(u->nick), "%s", fold);
	u->origin = origin;
	if (relay_map_put(n->remote, fold, u) < 0) {
		free(u);
		return NULL;
	}
	return u;
}

/* Send a remote user's line to the local members of the rooms it is in, each once. */
static void show_to_rooms(struct relay_nats *n, const struct relay_remote *u, const char *line)
{
	if (line == NULL || line[0] == '\0')
		return;
	char body[IRC_BODY_MAX + 3];
	int len = snprintf(body, sizeof(body), "%s\r\n", line);
	if (len <= 0 || (size_t)len >= sizeof(body))
		return;
	struct relay *r = n->r;
	uint64_t mark = ++r->mark;
	long long now = relay_wall_ms();
	for (size_t k = 0; k < u->nrooms; k++) {
		struct relay_room *room = relay_map_get(r->rooms, u->rooms[k]);
		for (size_t i = 0; room != NULL && i < room->nmembers; i++) {
			struct relay_client *m = room->members[i];
			if (m->mark != mark) {
				m->mark = mark;
				relay_send_stored(m, body, (size_t)len, now);
			}
		}
	}
}

static void remote_drop(struct relay_nats *n, const char *fold, const char *line)
{
	struct relay_remote *u = relay_map_del(n->remote, fold);
	if (u == NULL)
		return;
	show_to_rooms(n, u, line);
	free(u);
}

struct origin_arg {
	struct relay_nats *n;
	unsigned origin;
	char folds[64][RELAY_NICK_MAX + 1];
	size_t count;
};

static void collect_origin(void *value, void *arg)
{
	struct relay_remote *u = value;
	struct origin_arg *oa = arg;
	if (u->origin == oa->origin && oa->count < 64) {
		char fold[RELAY_NICK_MAX + 1];
		irc_fold(fold, sizeof(fold), u->nick);
		snprintf(oa->folds[oa->count++], RELAY_NICK_MAX + 1, "%s", fold);
	}
}

/* An instance went away: its users quit, for our rooms. */
static void drop_origin(struct relay_nats *n, unsigned origin, const char *why)
{
	struct origin_arg *oa = calloc(1, sizeof(*oa));
	if (oa == NULL)
		return;
	oa->n = n;
	oa->origin = origin;
	do {
		oa->count = 0;
		relay_map_each(n->remote, collect_origin, oa);
		for (size_t i = 0; i < oa->count; i++) {
			const struct relay_remote *u = relay_map_get(n->remote, oa->folds[i]);
			char line[IRC_BODY_MAX];
			snprintf(line, sizeof(line), ":%s!%s@%s QUIT :%s", u->nick, u->user,
			         u->host, why);
			remote_drop(n, oa->folds[i], line);
		}
	} while (oa->count == 64);
	free(oa);
}

/* ---- events in, on the loop ---- */

static size_t split_fields(char *data, char **f, size_t max)
{
	size_t nf = 0;
	while (nf < max) {
		f[nf++] = data;
		char *nl = strchr(data, '\n');
		if (nl == NULL)
			break;
		*nl = '\0';
		data = nl + 1;
	}
	return nf;
}

static void handle_presence(struct relay_nats *n, char **f, size_t nf)
{
	struct relay *r = n->r;
	unsigned origin = instance_index(n, f[0]);
	n->inst[origin].last_ms = ev_now_ms(r->loop);
	const char *kind = f[1];
	if (strcmp(kind, "SYNC") == 0) {
		relay_map_each(r->nicks, announce_one, n);
		relay_map_each(r->rooms, announce_topic, n);
	} else if (strcmp(kind, "BYE") == 0) {
		drop_origin(n, origin, "Instance left");
	} else if (strcmp(kind, "USER") == 0 && nf >= 6) {
		char fold[RELAY_NICK_MAX + 1];
		irc_fold(fold, sizeof(fold), f[2]);
		struct relay_remote *u = remote_get(n, fold, origin);
		if (u != NULL) {
			snprintf(u->nick, sizeof(u->nick), "%s", f[2]);
			snprintf(u->user, sizeof(u->user), "%s", f[3]);
			snprintf(u->host, sizeof(u->host), "%s", f[4]);
			snprintf(u->real, sizeof(u->real), "%s", f[5]);
			u->origin = origin;
		}
	} else if (strcmp(kind, "JOIN") == 0 && nf >= 6) {
		struct relay_remote *u = remote_get(n, f[2], origin);
		if (u == NULL)
			return;
		if (!relay_remote_in(u, f[3]) && u->nrooms < RELAY_ROOMS_PER_USER)
			snprintf(u->rooms[u->nrooms++], sizeof(u->rooms[0]), "%s", f[3]);
		if (relay_map_get(n->room_names, f[3]) == NULL) {
			size_t nl = strnlen(f[4], RELAY_ROOM_MAX), fl = strlen(f[3]);
			char *name = malloc(nl + fl + 2); /* "name\0fold\0" */
			if (name != NULL) {
				memcpy(name, f[4], nl);
				name[nl] = '\0';
				memcpy(name + nl + 1, f[3], fl + 1);
			}
			if (name != NULL && relay_map_put(n->room_names, f[3], name) < 0)
				free(name);
		}
		show_to_rooms(n, u, f[5]);
	} else if (strcmp(kind, "TOPIC") == 0 && nf >= 7) {
		struct remote_topic *rt = relay_map_get(n->topics, f[2]);
		if (rt == NULL && (rt = calloc(1, sizeof(*rt))) != NULL &&
		    relay_map_put(n->topics, f[2], rt) < 0) {
			free(rt);
			rt = NULL;
		}
		if (rt == NULL)
			return;
		snprintf(rt->topic, sizeof(rt->topic), "%s", f[3]);
		snprintf(rt->by, sizeof(rt->by), "%s", f[4]);
		rt->time_ms = strtoll(f[5], NULL, 10);
		struct relay_room *room = relay_map_get(r->rooms, f[2]);
		if (room == NULL)
			return;
		copy_topic(room, rt);
		char body[IRC_BODY_MAX + 3];
		int len = snprintf(body, sizeof(body), "%s\r\n", f[6]);
		if (f[6][0] != '\0' && len > 0 && (size_t)len < sizeof(body))
			relay_room_broadcast(r, room, NULL, body, (size_t)len, rt->time_ms);
	} else if (strcmp(kind, "AWAY") == 0 && nf >= 4) {
		struct relay_remote *u = relay_map_get(n->remote, f[2]);
		if (u != NULL)
			snprintf(u->away, sizeof(u->away), "%s", f[3]);
	} else if (strcmp(kind, "PART") == 0 && nf >= 5) {
		struct relay_remote *u = relay_map_get(n->remote, f[2]);
		if (u == NULL)
			return;
		show_to_rooms(n, u, f[4]);
		for (size_t i = 0; i < u->nrooms; i++) {
			if (strcmp(u->rooms[i], f[3]) == 0) {
				memcpy(u->rooms[i], u->rooms[--u->nrooms], sizeof(u->rooms[0]));
				break;
			}
		}
	} else if (strcmp(kind, "QUIT") == 0 && nf >= 4) {
		remote_drop(n, f[2], f[3]);
	} else if (strcmp(kind, "NICK") == 0 && nf >= 5) {
		struct relay_remote *u = relay_map_del(n->remote, f[2]);
		if (u == NULL)
			return;
		char fold[RELAY_NICK_MAX + 1];
		irc_fold(fold, sizeof(fold), f[3]);
		snprintf(u->nick, sizeof(u->nick), "%s", f[3]);
		if (relay_map_put(n->remote, fold, u) < 0) {
			free(u);
			return;
		}
		show_to_rooms(n, u, f[4]);
	}
}

static void handle_message(struct relay_nats *n, struct event *e)
{
	struct relay *r = n->r;
	char *f[FIELDS_MAX];
	size_t nf = split_fields(e->data, f, FIELDS_MAX);
	if (nf < 2 || strcmp(f[0], n->id) == 0)
		return;
	const char *sub = e->subject + sizeof(SUBJECT_PREFIX);
	if (strcmp(sub, "presence") == 0) {
		handle_presence(n, f, nf);
		return;
	}
	if (nf < 3)
		return;
	char body[IRC_BODY_MAX + 3], name[RELAY_ROOM_MAX + 1];
	int len = snprintf(body, sizeof(body), "%s\r\n", f[2]);
	long long t = strtoll(f[1], NULL, 10);
	if (len <= 0 || (size_t)len >= sizeof(body))
		return;
	if (strncmp(sub, "room.", 5) == 0 && hex_decode(name, sizeof(name), sub + 5)) {
		struct relay_room *room = relay_map_get(r->rooms, name);
		if (room == NULL)
			return;
		relay_ring_push(&room->history, r->cfg.history, t, body, (size_t)len);
		relay_room_broadcast(r, room, NULL, body, (size_t)len, t);
	} else if (strncmp(sub, "dm.", 3) == 0 && hex_decode(name, sizeof(name), sub + 3)) {
		struct relay_client *to = relay_map_get(r->nicks, name);
		if (to != NULL && to->registered)
			relay_send_stored(to, body, (size_t)len, t);
	}
}

static void on_connected(struct relay_nats *n)
{
	open_bucket(n);
	log_warn("chat: NATS: connected to %s: remote delivery on%s", n->url,
	         n->kv != NULL ? "" : "; nicknames are unique on this relay only");
	const char *f[] = {n->id, "SYNC"};
	publish_presence(n, f, 2);
	relay_map_each(n->r->nicks, announce_one, n);
	if (n->kv != NULL)
		relay_map_each(n->r->nicks, refresh_one, n);
}

static void on_wake(struct ev_loop *loop, int fd, void *data, int events)
{
	(void)loop, (void)events;
	struct relay_nats *n = data;
	char drain[256];
	while (read(fd, drain, sizeof(drain)) > 0)
		;
	pthread_mutex_lock(&n->lock);
	struct event *e = n->head;
	bool dropped = n->dropped;
	n->head = n->tail = NULL;
	n->queued = 0;
	n->dropped = false;
	pthread_mutex_unlock(&n->lock);
	if (dropped)
		log_warn("chat: NATS: events came faster than the loop took them; some dropped");
	relay_enter(n->r);
	while (e != NULL) {
		struct event *next = e->next;
		if (e->kind == EVENT_MESSAGE)
			handle_message(n, e);
		else if (e->kind == EVENT_CONNECTED)
			on_connected(n);
		else
			log_warn("chat: NATS: disconnected from %s: local delivery goes on, remote "
			         "delivery resumes on reconnect",
			         n->url);
		free(e);
		e = next;
	}
	relay_leave(n->r);
}

/* Heartbeat, claim refresh, and forgetting instances that went silent. */
static void on_tick(struct ev_loop *loop, struct ev_timer *t, void *data)
{
	struct relay_nats *n = data;
	uint64_t now = ev_now_ms(loop);
	relay_enter(n->r);
	open_bucket(n);
	const char *f[] = {n->id, "HB"};
	publish_presence(n, f, 2);
	if (n->kv != NULL && connected(n))
		relay_map_each(n->r->nicks, refresh_one, n);
	for (size_t i = 0; i < n->ninst; i++) {
		if (n->inst[i].last_ms != 0 && now - n->inst[i].last_ms > n->ttl_ms) {
			log_warn("chat: NATS: instance %s silent for %u s: its users are gone",
			         n->inst[i].id, n->ttl_ms / 1000);
			drop_origin(n, (unsigned)i, "Instance lost");
			n->inst[i].last_ms = 0;
		}
	}
	relay_leave(n->r);
	ev_timer_start(loop, t, n->ttl_ms / 3);
}

/* ---- lifetime ---- */

struct relay_nats *relay_nats_new(struct relay *r, const char *url, unsigned nick_ttl_ms, char *err,
                                  size_t errlen)
{
	struct relay_nats *n = calloc(1, sizeof(*n));
	if (n == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	n->r = r;
	n->ttl_ms = nick_ttl_ms;
	n->wake[0] = n->wake[1] = -1;
	pthread_mutex_init(&n->lock, NULL);
	n->url = strdup(url);
	n->remote = relay_map_new();
	n->room_names = relay_map_new();
	n->topics = relay_map_new();
	unsigned char rnd[ID_LEN / 2];
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	if (fd < 0 || read(fd, rnd, sizeof(rnd)) != (ssize_t)sizeof(rnd)) {
		for (size_t i = 0; i < sizeof(rnd); i++)
			rnd[i] = (unsigned char)(rand() ^ getpid());
	}
	if (fd >= 0)
		close(fd);
	for (size_t i = 0; i < sizeof(rnd); i++)
		snprintf(n->id + 2 * i, 3, "%02x", rnd[i]);
	if (n->url == NULL || n->remote == NULL || n->room_names == NULL || n->topics == NULL ||
	    pipe2(n->wake, O_NONBLOCK | O_CLOEXEC) < 0 ||
	    ev_io_start(r->loop, n->wake[0], EV_READ, on_wake, n) < 0) {
		snprintf(err, errlen, "%s", strerror(errno ? errno : ENOMEM));
		goto out_free;
	}
	natsStatus s = natsOptions_Create(&n->opts);
	if (s == NATS_OK)
		s = natsOptions_SetURL(n->opts, url);
	if (s == NATS_OK)
		s = natsOptions_SetNoEcho(n->opts, true);
	if (s == NATS_OK)
		s = natsOptions_SetMaxReconnect(n->opts, -1);
	if (s == NATS_OK)
		s = natsOptions_SetReconnectWait(n->opts, RECONNECT_WAIT_MS);
	if (s == NATS_OK)
		s = natsOptions_SetDisconnectedCB(n->opts, on_nats_disconnected, n);
	if (s == NATS_OK)
		s = natsOptions_SetReconnectedCB(n->opts, on_nats_connected, n);
	if (s == NATS_OK)
		s = natsOptions_SetRetryOnFailedConnect(n->opts, true, on_nats_connected, n);
	if (s == NATS_OK) {
		s = natsConnection_Connect(&n->nc, n->opts);
		if (s == NATS_NOT_YET_CONNECTED)
			s = NATS_OK; /* retrying in the background */
		else if (s == NATS_OK)
			queue_event(n, EVENT_CONNECTED, NULL, "", 0);
	}
	if (s == NATS_OK)
		s = natsConnection_Subscribe(&n->sub, n->nc, SUBJECT_PREFIX ".>", on_nats_message,
		                             n);
	if (s != NATS_OK) {
		snprintf(err, errlen, "NATS %s: %s", url, natsStatus_GetText(s));
		goto out_free;
	}
	ev_timer_init(&n->tick, on_tick, n);
	ev_timer_start(r->loop, &n->tick, n->ttl_ms / 3);
	return n;
out_free:
	relay_nats_free(n);
	return NULL;
}

void relay_nats_free(struct relay_nats *n)
{
	if (n == NULL)
		return;
	if (connected(n)) {
		const char *f[] = {n->id, "BYE"};
		publish_presence(n, f, 2);
		natsConnection_FlushTimeout(n->nc, JS_WAIT_MS);
	}
	ev_timer_stop(n->r->loop, &n->tick);
	if (n->sub != NULL)
		natsSubscription_Destroy(n->sub);
	if (n->kv != NULL)
		kvStore_Destroy(n->kv);
	if (n->seen != NULL)
		kvStore_Destroy(n->seen);
	if (n->js != NULL)
		jsCtx_Destroy(n->js);
	if (n->nc != NULL) {
		natsConnection_Close(n->nc);
		natsConnection_Destroy(n->nc);
	}
	if (n->opts != NULL)
		natsOptions_Destroy(n->opts);
	if (n->wake[0] >= 0) {
		ev_io_stop(n->r->loop, n->wake[0]);
		close(n->wake[0]);
		close(n->wake[1]);
	}
	for (struct event *e = n->head, *next; e != NULL; e = next) {
		next = e->next;
		free(e);
	}
	relay_map_free(n->remote, free);
	relay_map_free(n->room_names, free);
	relay_map_free(n->topics, free);
	pthread_mutex_destroy(&n->lock);
	free(n->url);
	free(n);
}
