/* relay_nats.c - chat relay instances as one network over NATS: the connection, the event
 * queue and nick claims. libnats delivers messages and connection events on its own threads:
 * those only queue them under a mutex and wake the loop through a pipe; everything else
 * (the registry, sockets) stays on the loop. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "relay_nats_internal.h"

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

void relay_nats_hex(char *out, size_t cap, const char *s)
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

bool relay_nats_unhex(char *out, size_t cap, const char *hex)
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

bool relay_nats_connected(const struct relay_nats *n)
{
	return n->nc != NULL && natsConnection_Status(n->nc) == NATS_CONN_STATUS_CONNECTED;
}

/* Fields joined by '\n'; an IRC line's CRLF is left off (it holds no other line break). */
void relay_nats_publish(struct relay_nats *n, const char *subject, const char *const *fields,
			size_t nfields)
{
	if (!relay_nats_connected(n))
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

void relay_nats_presence_publish(struct relay_nats *n, const char *const *fields, size_t nfields)
{
	relay_nats_publish(n, SUBJECT_PREFIX ".presence", fields, nfields);
}

/* ---- nick claims ---- */

static bool holder_is_us(struct relay_nats *n, const char *key, bool *found)
{
	kvEntry *e = NULL;
	*found = kvStore_Get(&e, n->kv, key) == NATS_OK;
	bool mine = *found && kvEntry_ValueLen(e) == ID_LEN &&
		    memcmp(kvEntry_Value(e), n->id, ID_LEN) == 0;
	if (e != NULL)
		kvEntry_Destroy(e);
	return mine;
}

int relay_nats_claim(struct relay_nats *n, const char *fold)
{
	if (relay_map_get(n->remote, fold) != NULL)
		return -EEXIST;
	if (n->kv == NULL || !relay_nats_connected(n))
		return -EAGAIN;
	char key[HEX_MAX];
	relay_nats_hex(key, sizeof(key), fold);
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
	if (n->kv == NULL || !relay_nats_connected(n))
		return; /* the TTL frees it */
	/* A key-value delete is a message with a KV-Operation header; published without
	 * waiting for JetStream's ack, so a relay closing many clients never blocks on it. */
	char key[HEX_MAX], subject[SUBJECT_MAX];
	relay_nats_hex(key, sizeof(key), fold);
	snprintf(subject, sizeof(subject), "$KV.%s.%s", NICK_BUCKET, key);
	natsMsg *msg = NULL;
	if (natsMsg_Create(&msg, subject, NULL, NULL, 0) == NATS_OK &&
	    natsMsgHeader_Set(msg, "KV-Operation", "DEL") == NATS_OK)
		natsConnection_PublishMsg(n->nc, msg);
	natsMsg_Destroy(msg);
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
	/* A put is a plain message on the bucket's subject: not awaited, so refreshing
	 * thousands of nicks costs no round trips on the loop. */
	char key[HEX_MAX], subject[SUBJECT_MAX];
	relay_nats_hex(key, sizeof(key), cl->fold);
	snprintf(subject, sizeof(subject), "$KV.%s.%s", NICK_BUCKET, key);
	natsConnection_Publish(n->nc, subject, n->id, ID_LEN);
}

static void open_bucket(struct relay_nats *n)
{
	if ((n->kv != NULL && n->seen != NULL && n->streams) || !relay_nats_connected(n))
		return;
	bool had_kv = n->kv != NULL;
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
	if (!n->streams)
		n->streams = relay_nats_store_open(n);
	/* Said once the bucket opens late (a retry after a failed first try), so an operator
	 * (and a test) knows when nicknames became unique across relays. */
	if (!had_kv && n->kv != NULL && n->announced_local_only) {
		log_warn("chat: NATS: nick bucket %s open: nicknames are unique across relays",
			 NICK_BUCKET);
		n->announced_local_only = false;
	}
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

static void handle_message(struct relay_nats *n, struct event *e)
{
	struct relay *r = n->r;
	char *f[FIELDS_MAX];
	size_t nf = split_fields(e->data, f, FIELDS_MAX);
	if (nf < 2 || strcmp(f[0], n->id) == 0)
		return;
	const char *sub = e->subject + sizeof(SUBJECT_PREFIX);
	if (strcmp(sub, "presence") == 0) {
		relay_nats_presence_in(n, f, nf);
		return;
	}
	if (nf < 3)
		return;
	char body[IRC_BODY_MAX + 3], name[RELAY_ROOM_MAX + 1];
	int len = snprintf(body, sizeof(body), "%s\r\n", f[2]);
	long long t = strtoll(f[1], NULL, 10);
	if (len <= 0 || (size_t)len >= sizeof(body))
		return;
	if (strncmp(sub, "room.", 5) == 0 && relay_nats_unhex(name, sizeof(name), sub + 5)) {
		struct relay_room *room = relay_map_get(r->rooms, name);
		if (room == NULL)
			return;
		relay_ring_push(&room->history, r->cfg.history, t, body, (size_t)len);
		relay_room_broadcast(r, room, NULL, body, (size_t)len, t);
	} else if (strncmp(sub, "dm.", 3) == 0 && relay_nats_unhex(name, sizeof(name), sub + 3)) {
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
	n->announced_local_only = n->kv == NULL;
	const char *f[] = {n->id, "SYNC"};
	relay_nats_presence_publish(n, f, 2);
	relay_nats_announce(n);
	if (n->kv != NULL)
		relay_map_each(n->r->nicks, refresh_one, n);
}

/* The heartbeat and nick refresh: without them other relays take this one for gone and
 * its users' nicks expire. Returns 0 or -ENOMEM (the loop's timer heap could not grow). */
static int tick_arm(struct relay_nats *n)
{
	int rc = ev_timer_start(n->r->loop, &n->tick, n->ttl_ms / 3);
	if (rc < 0)
		log_warn("chat: NATS: no memory for the heartbeat timer; "
			 "retrying on the next event");
	return rc;
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
	if (!ev_timer_armed(&n->tick))
		tick_arm(n);
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
	(void)t;
	tick_arm(n); /* first: the slot this timer just left in the heap is still free */
	relay_enter(n->r);
	open_bucket(n);
	const char *f[] = {n->id, "HB"};
	relay_nats_presence_publish(n, f, 2);
	if (n->kv != NULL && relay_nats_connected(n))
		relay_map_each(n->r->nicks, refresh_one, n);
	for (size_t i = 0; i < n->ninst; i++) {
		if (n->inst[i].last_ms != 0 && now - n->inst[i].last_ms > n->ttl_ms) {
			log_warn("chat: NATS: instance %s silent for %u s: its users are gone",
				 n->inst[i].id, n->ttl_ms / 1000);
			relay_nats_drop_origin(n, (unsigned)i, "Instance lost");
			n->inst[i].last_ms = 0;
		}
	}
	relay_leave(n->r);
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
	if (ev_timer_start(r->loop, &n->tick, n->ttl_ms / 3) < 0) {
		snprintf(err, errlen, "NATS %s: heartbeat timer: %s", url, strerror(ENOMEM));
		goto out_free;
	}
	return n;
out_free:
	relay_nats_free(n);
	return NULL;
}

void relay_nats_free(struct relay_nats *n)
{
	if (n == NULL)
		return;
	if (relay_nats_connected(n)) {
		const char *f[] = {n->id, "BYE"};
		relay_nats_presence_publish(n, f, 2);
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
