/* relay_nats_store.c - room history and offline DMs in JetStream streams, and the nicks
 * seen network-wide in a key-value bucket, so that any relay serves them. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "relay_nats_internal.h"

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

bool relay_nats_store_open(struct relay_nats *n)
{
	if (n->seen == NULL && js_KeyValue(&n->seen, n->js, SEEN_BUCKET) != NATS_OK) {
		kvConfig kc;
		kvConfig_Init(&kc);
		kc.Bucket = SEEN_BUCKET;
		kc.History = 1;
		if (js_CreateKeyValue(&n->seen, n->js, &kc) != NATS_OK &&
		    js_KeyValue(&n->seen, n->js, SEEN_BUCKET) != NATS_OK)
			n->seen = NULL;
	}
	return add_stream(n, HISTORY_STREAM, HISTORY_PREFIX ".>", n->r->cfg.history, false) &&
	       add_stream(n, OFFLINE_STREAM, OFFLINE_PREFIX ".>", n->r->cfg.offline_max, true);
}

/* ---- history and offline DMs in JetStream ---- */

static void store_subject(char *out, size_t cap, const char *prefix, const char *fold)
{
	char hex[HEX_MAX];
	relay_nats_hex(hex, sizeof(hex), fold);
	snprintf(out, cap, "%s.%s", prefix, hex);
}

static int store_payload(char *out, size_t cap, const char *line, long long time_ms)
{
	return snprintf(out, cap, "%lld\n%.*s", time_ms, (int)strcspn(line, "\r\n"), line);
}

void relay_nats_history_add(struct relay_nats *n, const char *room_fold, const char *line,
			    long long time_ms)
{
	if (!n->streams || !relay_nats_connected(n) || n->r->cfg.history == 0)
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
	if (!n->streams || !relay_nats_connected(n))
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
	if (!n->streams || !relay_nats_connected(n) || cap == 0)
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
	if (n->seen == NULL || !relay_nats_connected(n))
		return;
	char key[HEX_MAX];
	uint64_t rev;
	relay_nats_hex(key, sizeof(key), fold);
	kvStore_Put(&rev, n->seen, key, "1", 1);
}

bool relay_nats_seen(struct relay_nats *n, const char *fold)
{
	if (n->seen == NULL || !relay_nats_connected(n))
		return false;
	char key[HEX_MAX];
	kvEntry *e = NULL;
	relay_nats_hex(key, sizeof(key), fold);
	bool found = kvStore_Get(&e, n->seen, key) == NATS_OK;
	if (e != NULL)
		kvEntry_Destroy(e);
	return found;
}
