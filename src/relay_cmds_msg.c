/* relay_cmds_msg.c - PRIVMSG, NOTICE and TAGMSG to rooms and nicks, local, remote or offline. */
#include <errno.h>
#include <string.h>

#include "relay_cmds_internal.h"
#include "relay_internal.h"
#include "relay_nats.h"

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
	int n = relay_cmd_format_from(cl, line, sizeof(line), cmd, room->name, text);
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
		int n = relay_cmd_format_from(cl, line, sizeof(line), cmd, to->nick, text);
		if (n > 0)
			relay_send_stored(to, line, (size_t)n, relay_wall_ms());
		if (!notice && to->away[0] != '\0')
			relay_numeric(cl, "301", "%s :%s", to->nick, to->away);
		return;
	}
	const struct relay_remote *remote = r->nats ? relay_nats_find(r->nats, fold) : NULL;
	if (remote != NULL) {
		int n = relay_cmd_format_from(cl, line, sizeof(line), cmd, remote->nick, text);
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
	int n = relay_cmd_format_from(cl, line, sizeof(line), cmd, nick, text);
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
	for (int k = 0; k < MAX_TARGETS && relay_cmd_next_item(&list, target, sizeof(target));
	     k++) {
		if (target[0] == '#')
			message_to_room(cl, cmd, target, m->params[1], notice);
		else
			message_to_nick(cl, cmd, target, m->params[1], notice);
	}
}

void relay_cmd_privmsg(struct relay_client *cl, const struct irc_msg *m)
{
	send_message(cl, m, false);
}

void relay_cmd_notice(struct relay_client *cl, const struct irc_msg *m)
{
	send_message(cl, m, true);
}

void relay_cmd_tagmsg(struct relay_client *cl, const struct irc_msg *m)
{
	(void)cl; /* client-only tags (typing...) are not relayed */
	(void)m;
}
