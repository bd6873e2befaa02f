/* relay_state.c - the chat relay's registry: nick and room maps, room membership, history
 * and offline rings, and the deferred frees that keep broadcasts safe. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "relay_internal.h"
#include "relay_nats.h"

#define MAP_MIN_BUCKETS  64
#define ROOM_MIN_MEMBERS 8

/* ---- a string-keyed chained hash map; keys are already case-folded ---- */

struct map_entry {
	struct map_entry *next;
	void *value;
	char key[];
};

struct relay_map {
	struct map_entry **buckets;
	size_t nbuckets, count;
};

static size_t map_hash(const char *key)
{
	size_t h = 14695981039346656037ull; /* FNV-1a */
	for (; *key; key++)
		h = (h ^ (unsigned char)*key) * 1099511628211ull;
	return h;
}

struct relay_map *relay_map_new(void)
{
	struct relay_map *m = calloc(1, sizeof(*m));
	if (m == NULL)
		return NULL;
	m->buckets = calloc(MAP_MIN_BUCKETS, sizeof(*m->buckets));
	if (m->buckets == NULL) {
		free(m);
		return NULL;
	}
	m->nbuckets = MAP_MIN_BUCKETS;
	return m;
}

void relay_map_free(struct relay_map *m, void (*free_value)(void *))
{
	if (m == NULL)
		return;
	for (size_t i = 0; i < m->nbuckets; i++) {
		for (struct map_entry *e = m->buckets[i], *next; e != NULL; e = next) {
			next = e->next;
			if (free_value != NULL)
				free_value(e->value);
			free(e);
		}
	}
	free(m->buckets);
	free(m);
}

static struct map_entry **map_slot(const struct relay_map *m, const char *key)
{
	struct map_entry **pp = &m->buckets[map_hash(key) & (m->nbuckets - 1)];
	while (*pp != NULL && strcmp((*pp)->key, key) != 0)
		pp = &(*pp)->next;
	return pp;
}

void *relay_map_get(const struct relay_map *m, const char *key)
{
	struct map_entry *e = *map_slot(m, key);
	return e != NULL ? e->value : NULL;
}

static void map_grow(struct relay_map *m)
{
	size_t n = m->nbuckets * 2;
	struct map_entry **b = calloc(n, sizeof(*b));
	if (b == NULL)
		return; /* longer chains, still correct */
	for (size_t i = 0; i < m->nbuckets; i++) {
		for (struct map_entry *e = m->buckets[i], *next; e != NULL; e = next) {
			next = e->next;
			struct map_entry **slot = &b[map_hash(e->key) & (n - 1)];
			e->next = *slot;
			*slot = e;
		}
	}
	free(m->buckets);
	m->buckets = b;
	m->nbuckets = n;
}

int relay_map_put(struct relay_map *m, const char *key, void *value)
{
	struct map_entry **slot = map_slot(m, key);
	if (*slot != NULL)
		return -EEXIST;
	size_t kl = strlen(key);
	struct map_entry *e = malloc(sizeof(*e) + kl + 1);
	if (e == NULL)
		return -ENOMEM;
	memcpy(e->key, key, kl + 1);
	e->value = value;
	e->next = NULL;
	*slot = e;
	if (++m->count > m->nbuckets)
		map_grow(m);
	return 0;
}

void *relay_map_del(struct relay_map *m, const char *key)
{
	struct map_entry **slot = map_slot(m, key), *e = *slot;
	if (e == NULL)
		return NULL;
	void *value = e->value;
	*slot = e->next;
	free(e);
	m->count--;
	return value;
}

size_t relay_map_count(const struct relay_map *m)
{
	return m->count;
}

void relay_map_each(const struct relay_map *m, void (*fn)(void *value, void *arg), void *arg)
{
	for (size_t i = 0; i < m->nbuckets; i++)
		for (struct map_entry *e = m->buckets[i]; e != NULL; e = e->next)
			fn(e->value, arg);
}

/* ---- rings ---- */

void relay_ring_push(struct relay_ring *ring, size_t cap, long long time_ms, const char *line,
		     size_t len)
{
	if (cap == 0)
		return;
	if (ring->items == NULL) {
		ring->items = calloc(cap, sizeof(*ring->items));
		if (ring->items == NULL)
			return;
		ring->cap = cap;
	}
	struct relay_stored *s = &ring->items[(ring->head + ring->len) % ring->cap];
	if (ring->len == ring->cap)
		ring->head = (ring->head + 1) % ring->cap; /* overwrite the oldest */
	else
		ring->len++;
	if (len > sizeof(s->line))
		len = sizeof(s->line);
	memcpy(s->line, line, len);
	s->len = (uint16_t)len;
	s->time_ms = time_ms;
}

void relay_ring_free(struct relay_ring *ring)
{
	free(ring->items);
	*ring = (struct relay_ring){0};
}

/* ---- rooms ---- */

struct relay_room *relay_room_find(struct relay *r, const char *name)
{
	char fold[RELAY_ROOM_MAX + 1];
	irc_fold(fold, sizeof(fold), name);
	return relay_map_get(r->rooms, fold);
}

struct relay_room *relay_room_get(struct relay *r, const char *name)
{
	struct relay_room *room = relay_room_find(r, name);
	if (room != NULL)
		return room;
	room = calloc(1, sizeof(*room));
	if (room == NULL)
		return NULL;
	snprintf(room->name, sizeof(room->name), "%s", name);
	irc_fold(room->fold, sizeof(room->fold), name);
	room->created = relay_wall_ms();
	if (relay_map_put(r->rooms, room->fold, room) < 0) {
		free(room);
		return NULL;
	}
	return room;
}

static void room_free(void *value)
{
	struct relay_room *room = value;
	relay_ring_free(&room->history);
	free(room->members);
	free(room);
}

int relay_room_add(struct relay_room *room, struct relay_client *cl)
{
	if (cl->nrooms == RELAY_ROOMS_PER_USER)
		return -ENOSPC;
	if (room->nmembers == room->cap) {
		size_t n = room->cap ? room->cap * 2 : ROOM_MIN_MEMBERS;
		struct relay_client **m = realloc(room->members, n * sizeof(*m));
		if (m == NULL)
			return -ENOMEM;
		room->members = m;
		room->cap = n;
	}
	room->members[room->nmembers++] = cl;
	cl->rooms[cl->nrooms++] = room;
	return 0;
}

bool relay_room_has(const struct relay_room *room, const struct relay_client *cl)
{
	for (size_t i = 0; i < cl->nrooms; i++)
		if (cl->rooms[i] == room)
			return true;
	return false;
}

void relay_room_remove(struct relay *r, struct relay_room *room, struct relay_client *cl)
{
	for (size_t i = 0; i < room->nmembers; i++) {
		if (room->members[i] == cl) {
			room->members[i] = room->members[--room->nmembers];
			break;
		}
	}
	for (size_t i = 0; i < cl->nrooms; i++) {
		if (cl->rooms[i] == room) {
			cl->rooms[i] = cl->rooms[--cl->nrooms];
			break;
		}
	}
	if (room->nmembers == 0 && !room->doomed) {
		room->doomed = true;
		room->next_doomed = r->doomed;
		r->doomed = room;
	}
}

/* ---- known nicknames and their offline messages ---- */

struct relay_known {
	struct relay_ring offline;
};

void relay_known_add(struct relay *r, const char *fold)
{
	if (relay_map_get(r->known, fold) != NULL || relay_map_count(r->known) >= RELAY_KNOWN_MAX)
		return;
	struct relay_known *k = calloc(1, sizeof(*k));
	if (k != NULL && relay_map_put(r->known, fold, k) < 0)
		free(k);
}

bool relay_known_has(const struct relay *r, const char *fold)
{
	return relay_map_get(r->known, fold) != NULL;
}

int relay_offline_push(struct relay *r, const char *fold, long long time_ms, const char *line,
		       size_t len)
{
	struct relay_known *k = relay_map_get(r->known, fold);
	if (k == NULL)
		return -ENOENT;
	if (k->offline.len >= r->cfg.offline_max)
		return -ENOSPC;
	relay_ring_push(&k->offline, r->cfg.offline_max, time_ms, line, len);
	return k->offline.items != NULL ? 0 : -ENOMEM;
}

struct relay_ring relay_offline_take(struct relay *r, const char *fold)
{
	struct relay_known *k = relay_map_get(r->known, fold);
	struct relay_ring ring = {0};
	if (k != NULL) {
		ring = k->offline;
		k->offline = (struct relay_ring){0};
	}
	return ring;
}

static void known_free(void *value)
{
	struct relay_known *k = value;
	relay_ring_free(&k->offline);
	free(k);
}

/* ---- lifetime ---- */

void relay_client_gone(struct relay *r, struct relay_client *cl)
{
	if (cl->gone)
		return;
	cl->gone = true;
	ev_timer_stop(r->loop, &cl->keepalive);
	ev_timer_stop(r->loop, &cl->flood_timer);
	if (cl->nick[0] != '\0' && relay_map_get(r->nicks, cl->fold) == cl) {
		relay_map_del(r->nicks, cl->fold);
		if (r->nats != NULL && cl->nats_claimed)
			relay_nats_release(r->nats, cl->fold);
	}
	cl->next_zombie = r->zombies;
	r->zombies = cl;
}

static void reap(struct relay *r)
{
	while (r->zombies != NULL) {
		struct relay_client *cl = r->zombies;
		r->zombies = cl->next_zombie;
		if (cl->registered) {
			char prefix[RELAY_PREFIX_MAX + 1], line[IRC_BODY_MAX + 3];
			relay_prefix(cl, prefix, sizeof(prefix));
			struct irc_msg m = {.prefix = prefix,
					    .command = "QUIT",
					    .nparams = 1,
					    .params = {cl->quit_reason[0] ? cl->quit_reason
									  : "Connection closed"}};
			int len = irc_msg_format(line, sizeof(line), &m);
			if (len > 0 && cl->nrooms > 0)
				relay_broadcast_peers(r, cl, false, line, (size_t)len);
			if (len > 0 && r->nats != NULL)
				relay_nats_quit(r->nats, cl, line, (size_t)len);
		}
		while (cl->nrooms > 0)
			relay_room_remove(r, cl->rooms[0], cl);
		if (cl->conn != NULL) /* still flushing its ERROR: forget it */
			*cl->slot = NULL;
		for (struct relay_client **pp = &r->flush; cl->flush_queued && *pp;
		     pp = &(*pp)->next_flush) {
			if (*pp == cl) {
				*pp = cl->next_flush;
				break;
			}
		}
		buf_free(&cl->coalesce);
		buf_free(&cl->flood);
		free(cl);
	}
	while (r->doomed != NULL) {
		struct relay_room *room = r->doomed;
		r->doomed = room->next_doomed;
		room->doomed = false; /* off the list; a later emptying puts it back */
		if (room->nmembers == 0) {
			relay_map_del(r->rooms, room->fold);
			room_free(room);
		}
	}
}

void relay_enter(struct relay *r)
{
	r->depth++;
}

void relay_leave(struct relay *r)
{
	if (r->depth == 1)
		reap(r); /* still at depth 1: closes during the QUIT broadcasts only queue */
	r->depth--;
}

/* ---- the whole registry ---- */

struct relay *relay_state_new(struct ev_loop *loop, const struct relay_config *cfg)
{
	struct relay *r = calloc(1, sizeof(*r));
	if (r == NULL)
		return NULL;
	r->loop = loop;
	r->cfg = *cfg;
	r->started = relay_wall_ms();
	r->nicks = relay_map_new();
	r->rooms = relay_map_new();
	r->known = relay_map_new();
	if (r->nicks == NULL || r->rooms == NULL || r->known == NULL) {
		relay_state_free(r);
		return NULL;
	}
	/* serve creates one context per worker, worker 0 first, and the relay (single_worker)
	 * serves only on worker 0: only that context joins NATS, or every idle worker would
	 * show up as an instance too. Creation is sequential, before the workers start. */
	static bool nats_joined;
	if (cfg->nats != NULL && !nats_joined) {
		nats_joined = true;
		char err[256];
		r->nats = relay_nats_new(r, cfg->nats, cfg->nats_nick_ttl_ms, err, sizeof(err));
		if (r->nats == NULL) {
			log_error("chat: %s", err);
			relay_state_free(r);
			return NULL;
		}
	}
	return r;
}

void relay_state_free(struct relay *r)
{
	if (r == NULL)
		return;
	relay_nats_free(r->nats);
	relay_map_free(r->nicks, NULL); /* clients are freed with their connections */
	relay_map_free(r->rooms, room_free);
	relay_map_free(r->known, known_free);
	free(r);
}
