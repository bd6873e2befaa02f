/* relay_cmds_reg.c - registration (NICK, USER, PASS, CAP, the welcome), PING/PONG/QUIT, MOTD. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "relay_cmds_internal.h"
#include "relay_internal.h"
#include "relay_nats.h"

#define CAPS_OFFERED "server-time message-tags"

static void copy_clean(char *dst, size_t cap, const char *src)
{
	size_t n = irc_utf8_cut(src, strlen(src), cap - 1);
	memcpy(dst, src, n);
	dst[n] = '\0';
	for (char *p = dst; *p; p++)
		if ((unsigned char)*p < ' ' || *p == '!' || *p == '@' || *p == ' ')
			*p = '_';
}

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

void relay_cmd_nick(struct relay_client *cl, const struct irc_msg *m)
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
	int n = cl->registered ? relay_cmd_format_from(cl, line, sizeof(line), "NICK", nick, NULL)
			       : 0;
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

void relay_cmd_user(struct relay_client *cl, const struct irc_msg *m)
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

void relay_cmd_pass(struct relay_client *cl, const struct irc_msg *m)
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

void relay_cmd_cap(struct relay_client *cl, const struct irc_msg *m)
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

void relay_cmd_ping(struct relay_client *cl, const struct irc_msg *m)
{
	if (m->nparams == 0 || m->params[0][0] == '\0') {
		relay_numeric(cl, "409", ":No origin specified");
		return;
	}
	relay_sendf(cl, ":%s PONG %s :%s", RELAY_SERVER_NAME, RELAY_SERVER_NAME, m->params[0]);
}

void relay_cmd_pong(struct relay_client *cl, const struct irc_msg *m)
{
	(void)cl; /* any input already counts as alive */
	(void)m;
}

void relay_cmd_quit(struct relay_client *cl, const struct irc_msg *m)
{
	char why[RELAY_AWAY_MAX + 1];
	snprintf(why, sizeof(why), "Quit: %s",
		 m->nparams > 0 && m->params[0][0] ? m->params[0] : "Client Quit");
	relay_client_drop(cl, why);
}

void relay_cmd_motd(struct relay_client *cl, const struct irc_msg *m)
{
	(void)m;
	send_motd(cl);
}
