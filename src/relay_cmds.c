/* relay_cmds.c - the chat relay's IRC commands: registration, messages, rooms, queries.
 * Each handler sees one parsed message; replies and numerics follow RFC 2812. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "relay_internal.h"
#include "relay_nats.h"

#define MAX_TARGETS    8   /* comma-separated targets of one PRIVMSG/JOIN/PART */
#define NAMES_LINE_MAX 400 /* names per 353 line, leaving room for the header */
#define CAPS_OFFERED   "server-time message-tags"

struct relay_cmd {
	const char *name;
	size_t min_params;
	bool before_registration; /* allowed before the welcome */
	void (*fn)(struct relay_client *cl, const struct irc_msg *m);
};

/* The next comma-separated item of *list into out; false at the end. */
static bool next_item(const char **list, char *out, size_t cap)
{
	const char *p = *list;
	if (*p == '\0')
		return false;
	size_t len = strcspn(p, ",");
	snprintf(out, cap, "%.*s", (int)(len < cap ? len : cap - 1), p);
	*list = p[len] == ',' ? p + len + 1 : p + len;
	return true;
}

static void copy_clean(char *dst, size_t cap, const char *src)
{
	size_t n = irc_utf8_cut(src, strlen(src), cap - 1);
	memcpy(dst, src, n);
	dst[n] = '\0';
	for (char *p = dst; *p; p++)
		if ((unsigned char)*p < ' ' || *p == '!' || *p == '@' || *p == ' ')
			*p = '_';
}

static int format_from(const struct relay_client *cl, char *out, size_t cap, const char *cmd,
                       const char *target, const char *text)
{
	char prefix[RELAY_PREFIX_MAX + 1];
	relay_prefix(cl, prefix, sizeof(prefix));
	struct irc_msg m = {
	    .prefix = prefix, .command = cmd, .nparams = text ? 2 : 1, .params = {target, text}};
	return irc_msg_format(out, cap, &m);
}

/* ---- registration ---- */

static void send_motd(struct relay_client *cl)
{
	relay_numeric(cl, "375", ":- %s Message of the day - ", RELAY_SERVER_NAME);
	relay_numeric(cl, "372", ":- sockit chat relay. Rooms are +n: join a room to talk in it.");
	relay_numeric(cl, "372", ":- Messages to an offline nickname wait for its return.");
	relay_numeric(cl, "376", ":End of /MOTD command.");
}

/* Stored DMs, with their time: as a server-time tag, or in the text for other clients. */
static void deliver_ring(struct relay_client *cl, struct relay_ring ring)
{
	if (ring.len > 0)
		relay_sendf(cl, ":%s NOTICE %s :%zu message(s) arrived while you were away",
		            RELAY_SERVER_NAME, cl->nick, ring.len);
	for (size_t i = 0; i < ring.len; i++) {
		const struct relay_stored *s = &ring.items[(ring.head + i) % ring.cap];
		if (cl->caps & RELAY_CAP_SERVER_TIME) {
			relay_send_stored(cl, s->line, s->len, s->time_ms);
			continue;
		}
		char copy[sizeof(s->line) + 1], stamp[IRC_TIME_LEN], text[IRC_BODY_MAX + 1];
		char out[IRC_LINE_MAX];
		size_t len = s->len >= 2 ? s->len - 2u : 0; /* without CRLF */
		memcpy(copy, s->line, len);
		struct irc_msg m;
		if (irc_msg_parse(copy, len, &m) < 0 || m.nparams < 2)
			continue;
		irc_format_time(stamp, sizeof(stamp), s->time_ms);
		snprintf(text, sizeof(text), "[%.10s %.8s UTC] %s", stamp, stamp + 11, m.params[1]);
		m.params[1] = text;
		int n = irc_msg_format(out, sizeof(out), &m);
		if (n > 0)
			relay_send_stored(cl, out, (size_t)n, s->time_ms);
	}
	relay_ring_free(&ring);
}

static void deliver_offline(struct relay_client *cl)
{
	struct relay *r = cl->relay;
	deliver_ring(cl, relay_offline_take(r, cl->fold)); /* kept here while NATS was away */
	struct relay_ring ring = {0};
	if (r->nats != NULL && relay_nats_offline_take(r->nats, cl->fold, &ring) == 0)
		deliver_ring(cl, ring);
	else
		relay_ring_free(&ring);
}

static void try_register(struct relay_client *cl)
{
	if (cl->registered || cl->nick[0] == '\0' || !cl->has_user || cl->cap_pending)
		return;
	cl->registered = true;
	struct relay *r = cl->relay;
	char prefix[RELAY_PREFIX_MAX + 1], created[IRC_TIME_LEN];
	relay_prefix(cl, prefix, sizeof(prefix));
	irc_format_time(created, sizeof(created), r->started);
	relay_numeric(cl, "001", ":Welcome to the %s IRC relay %s", RELAY_NETWORK_NAME, prefix);
	relay_numeric(cl, "002", ":Your host is %s, running version sockit-%s", RELAY_SERVER_NAME,
	              SOCKIT_VERSION);
	relay_numeric(cl, "003", ":This server was created %s", created);
	relay_numeric(cl, "004", "%s sockit-%s i n", RELAY_SERVER_NAME, SOCKIT_VERSION);
	relay_numeric(cl, "005",
	              "CASEMAPPING=rfc1459 CHANTYPES=# CHANMODES=,,,n CHANLIMIT=#:%d "
	              "NICKLEN=%d CHANNELLEN=%d TOPICLEN=%d AWAYLEN=%d PREFIX=(ov)@+ "
	              "MAXTARGETS=%d NETWORK=%s :are supported by this server",
	              RELAY_ROOMS_PER_USER, RELAY_NICK_MAX, RELAY_ROOM_MAX, RELAY_TOPIC_MAX,
	              RELAY_AWAY_MAX, MAX_TARGETS, RELAY_NETWORK_NAME);
	send_motd(cl);
	log_info("chat: %s: registered as %s", cl->host, cl->nick);
	relay_known_add(r, cl->fold);
	if (r->nats != NULL) {
		relay_nats_user(r->nats, cl);
		relay_nats_seen_add(r->nats, cl->fold);
	}
	deliver_offline(cl);
}

static void cmd_nick(struct relay_client *cl, const struct irc_msg *m)
{
	struct relay *r = cl->relay;
	if (m->nparams == 0 || m->params[0][0] == '\0') {
		relay_numeric(cl, "431", ":No nickname given");
		return;
	}
	const char *nick = m->params[0];
	if (!irc_nick_valid(nick, RELAY_NICK_MAX)) {
		relay_numeric(cl, "432", "%s :Erroneous nickname", nick);
		return;
	}
	char fold[RELAY_NICK_MAX + 1];
	irc_fold(fold, sizeof(fold), nick);
	struct relay_client *holder = relay_map_get(r->nicks, fold);
	if (holder != NULL && holder != cl) {
		relay_numeric(cl, "433", "%s :Nickname is already in use", nick);
		return;
	}
	if (strcmp(nick, cl->nick) == 0)
		return;
	int claim = holder == NULL && r->nats != NULL ? relay_nats_claim(r->nats, fold) : -EAGAIN;
	if (claim == -EEXIST) {
		relay_numeric(cl, "433", "%s :Nickname is already in use", nick);
		return;
	}
	if (holder == NULL && relay_map_put(r->nicks, fold, cl) < 0) {
		relay_numeric(cl, "433", "%s :Nickname is already in use", nick);
		return;
	}
	char old_fold[RELAY_NICK_MAX + 1];
	memcpy(old_fold, cl->fold, sizeof(old_fold));
	if (cl->nick[0] != '\0' && holder == NULL) {
		relay_map_del(r->nicks, cl->fold);
		if (r->nats != NULL && cl->nats_claimed)
			relay_nats_release(r->nats, cl->fold);
	}
	char line[IRC_LINE_MAX];
	int n = cl->registered ? format_from(cl, line, sizeof(line), "NICK", nick, NULL) : 0;
	snprintf(cl->nick, sizeof(cl->nick), "%s", nick);
	memcpy(cl->fold, fold, sizeof(fold));
	if (holder == NULL)
		cl->nats_claimed = claim == 0;
	if (n > 0) {
		relay_broadcast_peers(r, cl, true, line, (size_t)n);
		relay_known_add(r, fold);
		if (r->nats != NULL)
			relay_nats_nick(r->nats, old_fold, cl, line, (size_t)n);
	}
	try_register(cl);
	if (cl->registered && holder == NULL)
		deliver_offline(cl);
}

static void cmd_user(struct relay_client *cl, const struct irc_msg *m)
{
	if (cl->registered || cl->has_user) {
		relay_numeric(cl, "462", ":You may not reregister");
		return;
	}
	copy_clean(cl->user, sizeof(cl->user), m->params[0]);
	snprintf(cl->real, sizeof(cl->real), "%.*s",
	         (int)irc_utf8_cut(m->params[3], strlen(m->params[3]), RELAY_REAL_MAX),
	         m->params[3]);
	cl->has_user = true;
	try_register(cl);
}

static void cmd_pass(struct relay_client *cl, const struct irc_msg *m)
{
	(void)m;
	if (cl->registered)
		relay_numeric(cl, "462", ":You may not reregister");
	/* No server password is configured: any is accepted. */
}

static unsigned cap_bit(const char *name)
{
	if (strcmp(name, "server-time") == 0)
		return RELAY_CAP_SERVER_TIME;
	if (strcmp(name, "message-tags") == 0)
		return RELAY_CAP_MESSAGE_TAGS;
	return 0;
}

static void cmd_cap(struct relay_client *cl, const struct irc_msg *m)
{
	const char *sub = m->params[0];
	if (strcasecmp(sub, "LS") == 0) {
		if (!cl->registered)
			cl->cap_pending = true;
		relay_numeric(cl, "CAP", "LS :%s", CAPS_OFFERED);
	} else if (strcasecmp(sub, "LIST") == 0) {
		relay_numeric(cl, "CAP", "LIST :%s%s%s",
		              cl->caps & RELAY_CAP_SERVER_TIME ? "server-time" : "",
		              cl->caps == (RELAY_CAP_SERVER_TIME | RELAY_CAP_MESSAGE_TAGS) ? " "
		                                                                           : "",
		              cl->caps & RELAY_CAP_MESSAGE_TAGS ? "message-tags" : "");
	} else if (strcasecmp(sub, "REQ") == 0) {
		if (!cl->registered)
			cl->cap_pending = true;
		const char *req = m->nparams > 1 ? m->params[1] : "";
		unsigned add = 0, del = 0;
		bool ok = true;
		char word[64];
		for (const char *p = req; *p;) {
			size_t len = strcspn(p, " ");
			snprintf(word, sizeof(word), "%.*s", (int)(len < sizeof(word) ? len : 0),
			         p);
			bool minus = word[0] == '-';
			unsigned bit = cap_bit(word + minus);
			if (len > 0 && bit == 0)
				ok = false;
			*(minus ? &del : &add) |= bit;
			p += len;
			while (*p == ' ')
				p++;
		}
		if (ok) {
			cl->caps = (cl->caps | add) & ~del;
			relay_numeric(cl, "CAP", "ACK :%s", req);
		} else {
			relay_numeric(cl, "CAP", "NAK :%s", req);
		}
	} else if (strcasecmp(sub, "END") == 0) {
		cl->cap_pending = false;
		try_register(cl);
	} else {
		relay_numeric(cl, "410", "%s :Invalid CAP command", sub);
	}
}

static void cmd_ping(struct relay_client *cl, const struct irc_msg *m)
{
	if (m->nparams == 0 || m->params[0][0] == '\0') {
		relay_numeric(cl, "409", ":No origin specified");
		return;
	}
	relay_sendf(cl, ":%s PONG %s :%s", RELAY_SERVER_NAME, RELAY_SERVER_NAME, m->params[0]);
}

static void cmd_pong(struct relay_client *cl, const struct irc_msg *m)
{
	(void)cl; /* any input already counts as alive */
	(void)m;
}

static void cmd_quit(struct relay_client *cl, const struct irc_msg *m)
{
	char why[RELAY_AWAY_MAX + 1];
	snprintf(why, sizeof(why), "Quit: %s",
	         m->nparams > 0 && m->params[0][0] ? m->params[0] : "Client Quit");
	relay_client_drop(cl, why);
}

/* ---- messages ---- */

static void message_to_room(struct relay_client *cl, const char *cmd, const char *name,
                            const char *text, bool notice)
{
	struct relay *r = cl->relay;
	struct relay_room *room = relay_room_find(r, name);
	if (room == NULL) {
		if (!notice)
			relay_numeric(cl, "403", "%s :No such channel", name);
		return;
	}
	if (!relay_room_has(room, cl)) { /* +n */
		if (!notice)
			relay_numeric(cl, "404", "%s :Cannot send to channel", room->name);
		return;
	}
	char line[IRC_LINE_MAX];
	int n = format_from(cl, line, sizeof(line), cmd, room->name, text);
	if (n <= 0)
		return;
	long long now = relay_wall_ms();
	relay_ring_push(&room->history, r->cfg.history, now, line, (size_t)n);
	relay_room_broadcast(r, room, cl, line, (size_t)n, now);
	if (r->nats != NULL) {
		relay_nats_room_message(r->nats, room->fold, line, (size_t)n, now);
		relay_nats_history_add(r->nats, room->fold, line, now);
	}
}

static void message_to_nick(struct relay_client *cl, const char *cmd, const char *nick,
                            const char *text, bool notice)
{
	struct relay *r = cl->relay;
	char fold[RELAY_NICK_MAX + 1], line[IRC_LINE_MAX];
	irc_fold(fold, sizeof(fold), nick);
	struct relay_client *to = relay_map_get(r->nicks, fold);
	if (to != NULL && to->registered) {
		int n = format_from(cl, line, sizeof(line), cmd, to->nick, text);
		if (n > 0)
			relay_send_stored(to, line, (size_t)n, relay_wall_ms());
		if (!notice && to->away[0] != '\0')
			relay_numeric(cl, "301", "%s :%s", to->nick, to->away);
		return;
	}
	const struct relay_remote *remote = r->nats ? relay_nats_find(r->nats, fold) : NULL;
	if (remote != NULL) {
		int n = format_from(cl, line, sizeof(line), cmd, remote->nick, text);
		if (n > 0)
			relay_nats_dm(r->nats, fold, line, (size_t)n, relay_wall_ms());
		if (!notice && remote->away[0] != '\0')
			relay_numeric(cl, "301", "%s :%s", remote->nick, remote->away);
		return;
	}
	if (strlen(nick) > RELAY_NICK_MAX ||
	    (!relay_known_has(r, fold) && !(r->nats != NULL && relay_nats_seen(r->nats, fold)))) {
		if (!notice)
			relay_numeric(cl, "401", "%s :No such nick/channel", nick);
		return;
	}
	if (notice)
		return; /* NOTICEs are never stored nor answered */
	int n = format_from(cl, line, sizeof(line), cmd, nick, text);
	int rc = n > 0 && r->nats != NULL
	             ? relay_nats_offline_push(r->nats, fold, line, relay_wall_ms())
	             : -EAGAIN;
	if (rc == -EAGAIN) { /* alone, or NATS is away: kept here */
		relay_known_add(r, fold);
		rc = n > 0 ? relay_offline_push(r, fold, relay_wall_ms(), line, (size_t)n) : -1;
	}
	if (rc == 0)
		relay_sendf(cl,
		            ":%s NOTICE %s :%s is offline; your message will be delivered "
		            "when they return",
		            RELAY_SERVER_NAME, cl->nick, nick);
	else
		relay_sendf(cl,
		            ":%s NOTICE %s :%s is offline and has too many waiting "
		            "messages; yours was not kept",
		            RELAY_SERVER_NAME, cl->nick, nick);
}

static void send_message(struct relay_client *cl, const struct irc_msg *m, bool notice)
{
	const char *cmd = notice ? "NOTICE" : "PRIVMSG";
	if (m->nparams == 0 || m->params[0][0] == '\0') {
		if (!notice)
			relay_numeric(cl, "411", ":No recipient given (%s)", cmd);
		return;
	}
	if (m->nparams < 2 || m->params[1][0] == '\0') {
		if (!notice)
			relay_numeric(cl, "412", ":No text to send");
		return;
	}
	const char *list = m->params[0];
	char target[RELAY_ROOM_MAX + 2];
	for (int k = 0; k < MAX_TARGETS && next_item(&list, target, sizeof(target)); k++) {
		if (target[0] == '#')
			message_to_room(cl, cmd, target, m->params[1], notice);
		else
			message_to_nick(cl, cmd, target, m->params[1], notice);
	}
}

static void cmd_privmsg(struct relay_client *cl, const struct irc_msg *m)
{
	send_message(cl, m, false);
}

static void cmd_notice(struct relay_client *cl, const struct irc_msg *m)
{
	send_message(cl, m, true);
}

static void cmd_tagmsg(struct relay_client *cl, const struct irc_msg *m)
{
	(void)cl; /* client-only tags (typing...) are not relayed */
	(void)m;
}

/* ---- rooms ---- */

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
	int n = format_from(cl, line, sizeof(line), "PART", room->name, reason);
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
	int n = format_from(cl, line, sizeof(line), "JOIN", room->name, NULL);
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

static void cmd_join(struct relay_client *cl, const struct irc_msg *m)
{
	if (strcmp(m->params[0], "0") == 0) {
		while (cl->nrooms > 0)
			part_room(cl, cl->rooms[cl->nrooms - 1], NULL);
		return;
	}
	const char *list = m->params[0];
	char name[RELAY_ROOM_MAX + 2];
	for (int k = 0; k < MAX_TARGETS && next_item(&list, name, sizeof(name)); k++)
		join_room(cl, name);
}

static void cmd_part(struct relay_client *cl, const struct irc_msg *m)
{
	const char *list = m->params[0];
	const char *reason = m->nparams > 1 ? m->params[1] : NULL;
	char name[RELAY_ROOM_MAX + 2];
	for (int k = 0; k < MAX_TARGETS && next_item(&list, name, sizeof(name)); k++) {
		struct relay_room *room = relay_room_find(cl->relay, name);
		if (room == NULL)
			relay_numeric(cl, "403", "%s :No such channel", name);
		else if (!relay_room_has(room, cl))
			relay_numeric(cl, "442", "%s :You're not on that channel", room->name);
		else
			part_room(cl, room, reason);
	}
}

static void cmd_names(struct relay_client *cl, const struct irc_msg *m)
{
	if (m->nparams == 0) {
		relay_numeric(cl, "366", "* :End of /NAMES list.");
		return;
	}
	const char *list = m->params[0];
	char name[RELAY_ROOM_MAX + 2];
	for (int k = 0; k < MAX_TARGETS && next_item(&list, name, sizeof(name)); k++) {
		char fold[RELAY_ROOM_MAX + 2];
		irc_fold(fold, sizeof(fold), name);
		names_reply(cl, name, fold, relay_room_find(cl->relay, name));
	}
}

static void cmd_topic(struct relay_client *cl, const struct irc_msg *m)
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
	int n = format_from(cl, line, sizeof(line), "TOPIC", room->name, room->topic);
	if (n > 0)
		relay_room_broadcast(cl->relay, room, NULL, line, (size_t)n, room->topic_time);
	if (n > 0 && cl->relay->nats != NULL)
		relay_nats_topic(cl->relay->nats, room, line);
}

struct count_acc {
	const char *fold;
	size_t n;
};

static void count_remote(const struct relay_remote *u, void *arg)
{
	struct count_acc *a = arg;
	a->n += relay_remote_in(u, a->fold);
}

/* Members here and, with --nats, on the other relays. */
static size_t room_population(struct relay *r, const struct relay_room *room)
{
	struct count_acc a = {room->fold, 0};
	for (size_t i = 0; i < room->nmembers; i++)
		a.n += !room->members[i]->gone;
	if (r->nats != NULL)
		relay_nats_each(r->nats, count_remote, &a);
	return a.n;
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

static void cmd_list(struct relay_client *cl, const struct irc_msg *m)
{
	relay_numeric(cl, "321", "Channel :Users  Name");
	if (m->nparams > 0 && m->params[0][0] != '\0') {
		const char *list = m->params[0];
		char name[RELAY_ROOM_MAX + 2];
		for (int k = 0; k < MAX_TARGETS && next_item(&list, name, sizeof(name)); k++) {
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

/* ---- users ---- */

static struct relay_client *find_nick(struct relay *r, const char *nick)
{
	char fold[RELAY_NICK_MAX + 1];
	if (strlen(nick) > RELAY_NICK_MAX)
		return NULL;
	irc_fold(fold, sizeof(fold), nick);
	struct relay_client *c = relay_map_get(r->nicks, fold);
	return c != NULL && c->registered ? c : NULL;
}

static const struct relay_remote *remote_nick(struct relay *r, const char *nick)
{
	char fold[RELAY_NICK_MAX + 1];
	if (r->nats == NULL || strlen(nick) > RELAY_NICK_MAX)
		return NULL;
	irc_fold(fold, sizeof(fold), nick);
	return relay_nats_find(r->nats, fold);
}

static void who_line(struct relay_client *cl, const char *room, const struct relay_client *u)
{
	relay_numeric(cl, "352", "%s %s %s %s %s %c :0 %s", room, u->user, u->host,
	              RELAY_SERVER_NAME, u->nick, u->away[0] ? 'G' : 'H', u->real);
}

struct who_acc {
	struct relay_client *cl;
	const char *name, *fold;
};

static void who_remote(const struct relay_remote *u, void *arg)
{
	struct who_acc *a = arg;
	if (a->fold == NULL || relay_remote_in(u, a->fold))
		relay_numeric(a->cl, "352", "%s %s %s %s %s %c :1 %s", a->name, u->user, u->host,
		              RELAY_SERVER_NAME, u->nick, u->away[0] ? 'G' : 'H', u->real);
}

static void cmd_who(struct relay_client *cl, const struct irc_msg *m)
{
	const char *mask = m->nparams > 0 ? m->params[0] : "*";
	if (mask[0] == '#') {
		struct relay_room *room = relay_room_find(cl->relay, mask);
		for (size_t i = 0; room != NULL && i < room->nmembers; i++)
			if (!room->members[i]->gone)
				who_line(cl, room->name, room->members[i]);
		char fold[RELAY_ROOM_MAX + 2];
		irc_fold(fold, sizeof(fold), mask);
		struct who_acc a = {cl, room ? room->name : mask, fold};
		if (cl->relay->nats != NULL)
			relay_nats_each(cl->relay->nats, who_remote, &a);
	} else {
		struct relay_client *u = find_nick(cl->relay, mask);
		const struct relay_remote *ru = remote_nick(cl->relay, mask);
		if (u != NULL)
			who_line(cl, "*", u);
		else if (ru != NULL)
			who_remote(ru, &(struct who_acc){cl, "*", NULL});
	}
	relay_numeric(cl, "315", "%s :End of /WHO list.", mask);
}

static void cmd_whois(struct relay_client *cl, const struct irc_msg *m)
{
	const char *nick = m->params[m->nparams - 1];
	struct relay_client *u = find_nick(cl->relay, nick);
	const struct relay_remote *ru = u == NULL ? remote_nick(cl->relay, nick) : NULL;
	if (ru != NULL) {
		relay_numeric(cl, "311", "%s %s %s * :%s", ru->nick, ru->user, ru->host, ru->real);
		relay_numeric(cl, "312", "%s %s :sockit chat relay (another instance)", ru->nick,
		              RELAY_SERVER_NAME);
		relay_numeric(cl, "318", "%s :End of /WHOIS list.", ru->nick);
		return;
	}
	if (u == NULL) {
		relay_numeric(cl, "401", "%s :No such nick/channel", nick);
		relay_numeric(cl, "318", "%s :End of /WHOIS list.", nick);
		return;
	}
	relay_numeric(cl, "311", "%s %s %s * :%s", u->nick, u->user, u->host, u->real);
	if (u->nrooms > 0) {
		char rooms[IRC_BODY_MAX];
		size_t len = 0;
		for (size_t i = 0; i < u->nrooms && len + RELAY_ROOM_MAX + 2 < sizeof(rooms); i++)
			len += (size_t)snprintf(rooms + len, sizeof(rooms) - len, "%s%s",
			                        len ? " " : "", u->rooms[i]->name);
		relay_numeric(cl, "319", "%s :%s", u->nick, rooms);
	}
	relay_numeric(cl, "312", "%s %s :sockit chat relay", u->nick, RELAY_SERVER_NAME);
	if (u->away[0] != '\0')
		relay_numeric(cl, "301", "%s :%s", u->nick, u->away);
	relay_numeric(cl, "318", "%s :End of /WHOIS list.", u->nick);
}

static void cmd_ison(struct relay_client *cl, const struct irc_msg *m)
{
	char online[IRC_BODY_MAX];
	size_t len = 0;
	for (size_t i = 0; i < m->nparams; i++) {
		char word[IRC_BODY_MAX];
		for (const char *p = m->params[i]; *p;) {
			size_t wl = strcspn(p, " ");
			snprintf(word, sizeof(word), "%.*s", (int)wl, p);
			struct relay_client *u = find_nick(cl->relay, word);
			const struct relay_remote *ru = u ? NULL : remote_nick(cl->relay, word);
			const char *on = u ? u->nick : ru ? ru->nick : NULL;
			if (on != NULL && len + strlen(on) + 2 < sizeof(online))
				len += (size_t)snprintf(online + len, sizeof(online) - len, "%s%s",
				                        len ? " " : "", on);
			p += wl;
			while (*p == ' ')
				p++;
		}
	}
	online[len] = '\0';
	relay_numeric(cl, "303", ":%s", online);
}

static void cmd_away(struct relay_client *cl, const struct irc_msg *m)
{
	if (m->nparams == 0 || m->params[0][0] == '\0') {
		cl->away[0] = '\0';
		relay_numeric(cl, "305", ":You are no longer marked as being away");
		if (cl->relay->nats != NULL)
			relay_nats_away(cl->relay->nats, cl);
		return;
	}
	const char *text = m->params[0];
	snprintf(cl->away, sizeof(cl->away), "%.*s",
	         (int)irc_utf8_cut(text, strlen(text), RELAY_AWAY_MAX), text);
	relay_numeric(cl, "306", ":You have been marked as being away");
	if (cl->relay->nats != NULL)
		relay_nats_away(cl->relay->nats, cl);
}

static void cmd_mode(struct relay_client *cl, const struct irc_msg *m)
{
	const char *target = m->params[0];
	const char *modes = m->nparams > 1 ? m->params[1] : NULL;
	if (target[0] == '#') {
		struct relay_room *room = relay_room_find(cl->relay, target);
		if (room == NULL) {
			relay_numeric(cl, "403", "%s :No such channel", target);
		} else if (modes == NULL) {
			relay_numeric(cl, "324", "%s +n", room->name);
			relay_numeric(cl, "329", "%s %lld", room->name, room->created / 1000);
		} else if (strcmp(modes, "b") == 0 || strcmp(modes, "+b") == 0) {
			relay_numeric(cl, "368", "%s :End of channel ban list", room->name);
		} else {
			relay_numeric(cl, "482", "%s :You're not channel operator", room->name);
		}
		return;
	}
	if (irc_casecmp(target, cl->nick) != 0) {
		if (find_nick(cl->relay, target) == NULL)
			relay_numeric(cl, "401", "%s :No such nick/channel", target);
		else
			relay_numeric(cl, "502", ":Can't change mode for other users");
		return;
	}
	relay_numeric(cl, "221", "+"); /* no user modes; requests to set them change nothing */
}

static void cmd_motd(struct relay_client *cl, const struct irc_msg *m)
{
	(void)m;
	send_motd(cl);
}

static void cmd_userhost(struct relay_client *cl, const struct irc_msg *m)
{
	char out[IRC_BODY_MAX];
	size_t len = 0;
	for (size_t i = 0; i < m->nparams && i < 5; i++) {
		struct relay_client *u = find_nick(cl->relay, m->params[i]);
		if (u != NULL && len + RELAY_PREFIX_MAX + 4 < sizeof(out))
			len += (size_t)snprintf(out + len, sizeof(out) - len, "%s%s=%c%s@%s",
			                        len ? " " : "", u->nick, u->away[0] ? '-' : '+',
			                        u->user, u->host);
	}
	out[len] = '\0';
	relay_numeric(cl, "302", ":%s", out);
}

static const struct relay_cmd relay_cmds[] = {
    {"AWAY", 0, false, cmd_away},       {"CAP", 1, true, cmd_cap},
    {"ISON", 1, false, cmd_ison},       {"JOIN", 1, false, cmd_join},
    {"LIST", 0, false, cmd_list},       {"MODE", 1, false, cmd_mode},
    {"MOTD", 0, false, cmd_motd},       {"NAMES", 0, false, cmd_names},
    {"NICK", 0, true, cmd_nick},        {"NOTICE", 0, false, cmd_notice},
    {"PART", 1, false, cmd_part},       {"PASS", 1, true, cmd_pass},
    {"PING", 0, true, cmd_ping},        {"PONG", 0, true, cmd_pong},
    {"PRIVMSG", 0, false, cmd_privmsg}, {"QUIT", 0, true, cmd_quit},
    {"TAGMSG", 0, false, cmd_tagmsg},   {"TOPIC", 1, false, cmd_topic},
    {"USER", 4, true, cmd_user},        {"USERHOST", 1, false, cmd_userhost},
    {"WHO", 0, false, cmd_who},         {"WHOIS", 1, false, cmd_whois},
};

void relay_dispatch(struct relay_client *cl, char *line, size_t len, bool too_long)
{
	if (too_long) {
		relay_numeric(cl, "417", ":Input line was too long");
		return;
	}
	struct irc_msg m;
	int rc = irc_msg_parse(line, len, &m);
	if (rc == IRC_PARSE_TOO_LONG)
		relay_numeric(cl, "417", ":Input line was too long");
	if (rc < 0)
		return;
	const struct relay_cmd *cmd = NULL;
	for (size_t i = 0; i < sizeof(relay_cmds) / sizeof(relay_cmds[0]); i++) {
		if (strcasecmp(m.command, relay_cmds[i].name) == 0) {
			cmd = &relay_cmds[i];
			break;
		}
	}
	if (cmd == NULL || (!cl->registered && !cmd->before_registration)) {
		if (cl->registered)
			relay_numeric(cl, "421", "%s :Unknown command", m.command);
		else
			relay_numeric(cl, "451", ":You have not registered");
		return;
	}
	if (m.nparams < cmd->min_params) {
		relay_numeric(cl, "461", "%s :Not enough parameters", cmd->name);
		return;
	}
	cmd->fn(cl, &m);
}
