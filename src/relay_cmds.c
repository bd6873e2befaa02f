/* relay_cmds.c - the chat relay's IRC command table and dispatch. The handlers live in
 * relay_cmds_{reg,msg,room,user}.c; each sees one parsed message; replies and numerics
 * follow RFC 2812. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "relay_cmds_internal.h"
#include "relay_internal.h"

struct relay_cmd {
	const char *name;
	size_t min_params;
	bool before_registration; /* allowed before the welcome */
	void (*fn)(struct relay_client *cl, const struct irc_msg *m);
};

/* The next comma-separated item of *list into out; false at the end. */
bool relay_cmd_next_item(const char **list, char *out, size_t cap)
{
	const char *p = *list;
	if (*p == '\0')
		return false;
	size_t len = strcspn(p, ",");
	snprintf(out, cap, "%.*s", (int)(len < cap ? len : cap - 1), p);
	*list = p[len] == ',' ? p + len + 1 : p + len;
	return true;
}

int relay_cmd_format_from(const struct relay_client *cl, char *out, size_t cap, const char *cmd,
			  const char *target, const char *text)
{
	char prefix[RELAY_PREFIX_MAX + 1];
	relay_prefix(cl, prefix, sizeof(prefix));
	struct irc_msg m = {.prefix = prefix,
			    .command = cmd,
			    .nparams = text ? 2 : 1,
			    .params = {target, text}};
	return irc_msg_format(out, cap, &m);
}

static const struct relay_cmd relay_cmds[] = {
	{"AWAY", 0, false, relay_cmd_away},       {"CAP", 1, true, relay_cmd_cap},
	{"ISON", 1, false, relay_cmd_ison},       {"JOIN", 1, false, relay_cmd_join},
	{"LIST", 0, false, relay_cmd_list},       {"MODE", 1, false, relay_cmd_mode},
	{"MOTD", 0, false, relay_cmd_motd},       {"NAMES", 0, false, relay_cmd_names},
	{"NICK", 0, true, relay_cmd_nick},        {"NOTICE", 0, false, relay_cmd_notice},
	{"PART", 1, false, relay_cmd_part},       {"PASS", 1, true, relay_cmd_pass},
	{"PING", 0, true, relay_cmd_ping},        {"PONG", 0, true, relay_cmd_pong},
	{"PRIVMSG", 0, false, relay_cmd_privmsg}, {"QUIT", 0, true, relay_cmd_quit},
	{"TAGMSG", 0, false, relay_cmd_tagmsg},   {"TOPIC", 1, false, relay_cmd_topic},
	{"USER", 4, true, relay_cmd_user},        {"USERHOST", 1, false, relay_cmd_userhost},
	{"WHO", 0, false, relay_cmd_who},         {"WHOIS", 1, false, relay_cmd_whois},
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
