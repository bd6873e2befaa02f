/* relay_cmds_user.c - questions about users (WHO, WHOIS, ISON, USERHOST), AWAY and MODE. */
#include <stdio.h>
#include <string.h>

#include "relay_cmds_internal.h"
#include "relay_internal.h"
#include "relay_nats.h"

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

void relay_cmd_who(struct relay_client *cl, const struct irc_msg *m)
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

void relay_cmd_whois(struct relay_client *cl, const struct irc_msg *m)
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

void relay_cmd_ison(struct relay_client *cl, const struct irc_msg *m)
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

void relay_cmd_away(struct relay_client *cl, const struct irc_msg *m)
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

void relay_cmd_mode(struct relay_client *cl, const struct irc_msg *m)
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

void relay_cmd_userhost(struct relay_client *cl, const struct irc_msg *m)
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
