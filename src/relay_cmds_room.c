/* relay_cmds_room.c - rooms: JOIN, PART, NAMES, TOPIC and LIST. */
#include <stdio.h>
#include <string.h>

#include "relay_cmds_internal.h"
#include "relay_internal.h"
#include "relay_nats.h"

#define NAMES_LINE_MAX 400 /* names per 353 line, leaving room for the header */

struct names_acc {
	struct relay_client *cl;
	const char *name, *fold;
	char names[NAMES_LINE_MAX + RELAY_NICK_MAX + 2];
	size_t len;
};

static void names_add(struct names_acc *a, const char *nick)
{
	size_t nl = strlen(nick);
	if (a->len > 0 && a->len + 1 + nl > NAMES_LINE_MAX) {
		relay_numeric(a->cl, "353", "= %s :%.*s", a->name, (int)a->len, a->names);
		a->len = 0;
	}
	if (a->len > 0)
		a->names[a->len++] = ' ';
	memcpy(a->names + a->len, nick, nl);
	a->len += nl;
}

static void names_add_remote(const struct relay_remote *u, void *arg)
{
	struct names_acc *a = arg;
	if (relay_remote_in(u, a->fold))
		names_add(a, u->nick);
}

/* Local members of room (may be NULL: known only remotely), then those on other relays. */
static void names_reply(struct relay_client *cl, const char *name, const char *fold,
			const struct relay_room *room)
{
	struct names_acc a = {.cl = cl, .name = room ? room->name : name, .fold = fold};
	for (size_t i = 0; room != NULL && i < room->nmembers; i++)
		if (!room->members[i]->gone)
			names_add(&a, room->members[i]->nick);
	if (cl->relay->nats != NULL)
		relay_nats_each(cl->relay->nats, names_add_remote, &a);
	if (a.len > 0)
		relay_numeric(cl, "353", "= %s :%.*s", a.name, (int)a.len, a.names);
	relay_numeric(cl, "366", "%s :End of /NAMES list.", a.name);
}

static void topic_reply(struct relay_client *cl, const struct relay_room *room, bool always)
{
	if (room->topic[0] == '\0') {
		if (always)
			relay_numeric(cl, "331", "%s :No topic is set", room->name);
		return;
	}
	relay_numeric(cl, "332", "%s :%s", room->name, room->topic);
	relay_numeric(cl, "333", "%s %s %lld", room->name, room->topic_by, room->topic_time / 1000);
}

static void part_room(struct relay_client *cl, struct relay_room *room, const char *reason)
{
	char line[IRC_LINE_MAX];
	int n = relay_cmd_format_from(cl, line, sizeof(line), "PART", room->name, reason);
	if (n > 0)
		relay_room_broadcast(cl->relay, room, NULL, line, (size_t)n, relay_wall_ms());
	if (n > 0 && cl->relay->nats != NULL)
		relay_nats_part(cl->relay->nats, cl, room->fold, line, (size_t)n);
	relay_room_remove(cl->relay, room, cl);
}

static void join_room(struct relay_client *cl, const char *name)
{
	struct relay *r = cl->relay;
	if (!irc_room_valid(name, RELAY_ROOM_MAX)) {
		relay_numeric(cl, "403", "%s :No such channel", name);
		return;
	}
	struct relay_room *room = relay_room_find(r, name);
	if (room != NULL && relay_room_has(room, cl))
		return;
	if (cl->nrooms == RELAY_ROOMS_PER_USER) {
		relay_numeric(cl, "405", "%s :You have joined too many channels", name);
		return;
	}
	room = relay_room_get(r, name);
	if (room != NULL && r->nats != NULL)
		relay_nats_topic_fill(r->nats, room);
	if (room == NULL || relay_room_add(room, cl) < 0) {
		relay_numeric(cl, "403", "%s :No such channel", name);
		return;
	}
	char line[IRC_LINE_MAX];
	int n = relay_cmd_format_from(cl, line, sizeof(line), "JOIN", room->name, NULL);
	if (n > 0)
		relay_room_broadcast(r, room, NULL, line, (size_t)n, relay_wall_ms());
	if (n > 0 && r->nats != NULL)
		relay_nats_join(r->nats, cl, room->fold, room->name, line, (size_t)n);
	topic_reply(cl, room, false);
	names_reply(cl, room->name, room->fold, room);
	struct relay_ring shared = {0};
	bool from_nats = r->nats != NULL && relay_nats_history(r->nats, room->fold, &shared) == 0;
	const struct relay_ring *h = from_nats ? &shared : &room->history;
	for (size_t i = 0; i < h->len; i++) {
		const struct relay_stored *s = &h->items[(h->head + i) % h->cap];
		relay_send_stored(cl, s->line, s->len, s->time_ms);
	}
	relay_ring_free(&shared);
}

void relay_cmd_join(struct relay_client *cl, const struct irc_msg *m)
{
	if (strcmp(m->params[0], "0") == 0) {
		while (cl->nrooms > 0)
			part_room(cl, cl->rooms[cl->nrooms - 1], NULL);
		return;
	}
	const char *list = m->params[0];
	char name[RELAY_ROOM_MAX + 2];
	for (int k = 0; k < MAX_TARGETS && relay_cmd_next_item(&list, name, sizeof(name)); k++)
		join_room(cl, name);
}

void relay_cmd_part(struct relay_client *cl, const struct irc_msg *m)
{
	const char *list = m->params[0];
	const char *reason = m->nparams > 1 ? m->params[1] : NULL;
	char name[RELAY_ROOM_MAX + 2];
	for (int k = 0; k < MAX_TARGETS && relay_cmd_next_item(&list, name, sizeof(name)); k++) {
		struct relay_room *room = relay_room_find(cl->relay, name);
		if (room == NULL)
			relay_numeric(cl, "403", "%s :No such channel", name);
		else if (!relay_room_has(room, cl))
			relay_numeric(cl, "442", "%s :You're not on that channel", room->name);
		else
			part_room(cl, room, reason);
	}
}

void relay_cmd_names(struct relay_client *cl, const struct irc_msg *m)
{
	if (m->nparams == 0) {
		relay_numeric(cl, "366", "* :End of /NAMES list.");
		return;
	}
	const char *list = m->params[0];
	char name[RELAY_ROOM_MAX + 2];
	for (int k = 0; k < MAX_TARGETS && relay_cmd_next_item(&list, name, sizeof(name)); k++) {
		char fold[RELAY_ROOM_MAX + 2];
		irc_fold(fold, sizeof(fold), name);
		names_reply(cl, name, fold, relay_room_find(cl->relay, name));
	}
}

void relay_cmd_topic(struct relay_client *cl, const struct irc_msg *m)
{
	struct relay_room *room = relay_room_find(cl->relay, m->params[0]);
	if (room == NULL) {
		relay_numeric(cl, "403", "%s :No such channel", m->params[0]);
		return;
	}
	if (m->nparams == 1) {
		topic_reply(cl, room, true);
		return;
	}
	if (!relay_room_has(room, cl)) {
		relay_numeric(cl, "442", "%s :You're not on that channel", room->name);
		return;
	}
	const char *text = m->params[1];
	snprintf(room->topic, sizeof(room->topic), "%.*s",
		 (int)irc_utf8_cut(text, strlen(text), RELAY_TOPIC_MAX), text);
	snprintf(room->topic_by, sizeof(room->topic_by), "%s", cl->nick);
	room->topic_time = relay_wall_ms();
	char line[IRC_LINE_MAX];
	int n = relay_cmd_format_from(cl, line, sizeof(line), "TOPIC", room->name, room->topic);
	if (n > 0)
		relay_room_broadcast(cl->relay, room, NULL, line, (size_t)n, room->topic_time);
	if (n > 0 && cl->relay->nats != NULL)
		relay_nats_topic(cl->relay->nats, room, line);
}

/* Members here and, with --nats, on the other relays. */
static size_t room_population(struct relay *r, const struct relay_room *room)
{
	size_t n = 0;
	for (size_t i = 0; i < room->nmembers; i++)
		n += !room->members[i]->gone;
	if (r->nats != NULL)
		n += relay_nats_count_in(r->nats, room->fold);
	return n;
}

static void list_one(void *value, void *arg)
{
	const struct relay_room *room = value;
	struct relay_client *cl = arg;
	if (room->nmembers > 0)
		relay_numeric(cl, "322", "%s %zu :%s", room->name, room_population(cl->relay, room),
			      room->topic);
}

/* A room only users on other relays are in (the local ones are listed with their counts). */
static void list_remote(const char *name, const char *fold, size_t count, void *arg)
{
	struct relay_client *cl = arg;
	struct relay_room *room = relay_map_get(cl->relay->rooms, fold);
	if (room == NULL || room->nmembers == 0)
		relay_numeric(cl, "322", "%s %zu :", name, count);
}

void relay_cmd_list(struct relay_client *cl, const struct irc_msg *m)
{
	relay_numeric(cl, "321", "Channel :Users  Name");
	if (m->nparams > 0 && m->params[0][0] != '\0') {
		const char *list = m->params[0];
		char name[RELAY_ROOM_MAX + 2];
		for (int k = 0; k < MAX_TARGETS && relay_cmd_next_item(&list, name, sizeof(name));
		     k++) {
			struct relay_room *room = relay_room_find(cl->relay, name);
			if (room != NULL)
				list_one(room, cl);
		}
	} else {
		relay_map_each(cl->relay->rooms, list_one, cl);
		if (cl->relay->nats != NULL)
			relay_nats_each_room(cl->relay->nats, list_remote, cl);
	}
	relay_numeric(cl, "323", ":End of /LIST");
}
