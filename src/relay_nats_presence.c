/* relay_nats_presence.c - users on other relays: presence out and in, the remote
 * registry behind NAMES/WHO/LIST/WHOIS/ISON, shared topics and away states. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "relay_nats_internal.h"

/* ---- presence out ---- */

void relay_nats_user(struct relay_nats *n, const struct relay_client *cl)
{
	const char *f[] = {n->id, "USER", cl->nick, cl->user, cl->host, cl->real};
	relay_nats_presence_publish(n, f, 6);
}

void relay_nats_join(struct relay_nats *n, const struct relay_client *cl, const char *room_fold,
		     const char *room_name, const char *line, size_t len)
{
	(void)len;
	const char *f[] = {n->id, "JOIN", cl->fold, room_fold, room_name, line};
	relay_nats_presence_publish(n, f, 6);
}

void relay_nats_topic(struct relay_nats *n, const struct relay_room *room, const char *line)
{
	char t[24];
	snprintf(t, sizeof(t), "%lld", room->topic_time);
	const char *f[] = {n->id, "TOPIC", room->fold, room->topic, room->topic_by, t, line};
	relay_nats_presence_publish(n, f, 7);
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
	relay_nats_presence_publish(n, f, 4);
}

void relay_nats_part(struct relay_nats *n, const struct relay_client *cl, const char *room_fold,
		     const char *line, size_t len)
{
	(void)len;
	const char *f[] = {n->id, "PART", cl->fold, room_fold, line};
	relay_nats_presence_publish(n, f, 5);
}

void relay_nats_quit(struct relay_nats *n, const struct relay_client *cl, const char *line,
		     size_t len)
{
	(void)len;
	const char *f[] = {n->id, "QUIT", cl->fold, line};
	relay_nats_presence_publish(n, f, 4);
}

void relay_nats_nick(struct relay_nats *n, const char *old_fold, const struct relay_client *cl,
		     const char *line, size_t len)
{
	(void)len;
	const char *f[] = {n->id, "NICK", old_fold, cl->nick, line};
	relay_nats_presence_publish(n, f, 5);
}

/* A line for SUBJECT_PREFIX.kind.<hex fold>, with its time. */
static void publish_line(struct relay_nats *n, const char *kind, const char *fold, const char *line,
			 long long time_ms)
{
	char subject[SUBJECT_MAX], hex[HEX_MAX], t[24];
	relay_nats_hex(hex, sizeof(hex), fold);
	snprintf(subject, sizeof(subject), SUBJECT_PREFIX ".%s.%s", kind, hex);
	snprintf(t, sizeof(t), "%lld", time_ms);
	const char *f[] = {n->id, t, line};
	relay_nats_publish(n, subject, f, 3);
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

void relay_nats_announce(struct relay_nats *n)
{
	relay_map_each(n->r->nicks, announce_one, n);
	relay_map_each(n->r->rooms, announce_topic, n);
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

size_t relay_nats_count_in(const struct relay_nats *n, const char *room_fold)
{
	struct room_count rc = {room_fold, 0};
	relay_nats_each(n, count_in_room, &rc);
	return rc.count;
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
	size_t count = relay_nats_count_in(ea->n, fold);
	if (count > 0)
		ea->fn(name, fold, count, ea->arg);
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
void relay_nats_drop_origin(struct relay_nats *n, unsigned origin, const char *why)
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

void relay_nats_presence_in(struct relay_nats *n, char **f, size_t nf)
{
	struct relay *r = n->r;
	unsigned origin = instance_index(n, f[0]);
	n->inst[origin].last_ms = ev_now_ms(r->loop);
	const char *kind = f[1];
	if (strcmp(kind, "SYNC") == 0) {
		relay_nats_announce(n);
	} else if (strcmp(kind, "BYE") == 0) {
		relay_nats_drop_origin(n, origin, "Instance left");
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
