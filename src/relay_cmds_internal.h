/* relay_cmds_internal.h - what the relay's command files share: the handlers, two helpers. */
#ifndef SOCKIT_RELAY_CMDS_INTERNAL_H
#define SOCKIT_RELAY_CMDS_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "irc_msg.h"
#include "relay_internal.h"

#define MAX_TARGETS 8 /* comma-separated targets of one PRIVMSG/JOIN/PART */

/* relay_cmds.c */
bool relay_cmd_next_item(const char **list, char *out, size_t cap);
int relay_cmd_format_from(const struct relay_client *cl, char *out, size_t cap, const char *cmd,
			  const char *target, const char *text);

/* relay_cmds_reg.c */
void relay_cmd_nick(struct relay_client *cl, const struct irc_msg *m);
void relay_cmd_user(struct relay_client *cl, const struct irc_msg *m);
void relay_cmd_pass(struct relay_client *cl, const struct irc_msg *m);
void relay_cmd_cap(struct relay_client *cl, const struct irc_msg *m);
void relay_cmd_ping(struct relay_client *cl, const struct irc_msg *m);
void relay_cmd_pong(struct relay_client *cl, const struct irc_msg *m);
void relay_cmd_quit(struct relay_client *cl, const struct irc_msg *m);
void relay_cmd_motd(struct relay_client *cl, const struct irc_msg *m);

/* relay_cmds_msg.c */
void relay_cmd_privmsg(struct relay_client *cl, const struct irc_msg *m);
void relay_cmd_notice(struct relay_client *cl, const struct irc_msg *m);
void relay_cmd_tagmsg(struct relay_client *cl, const struct irc_msg *m);

/* relay_cmds_room.c */
void relay_cmd_join(struct relay_client *cl, const struct irc_msg *m);
void relay_cmd_part(struct relay_client *cl, const struct irc_msg *m);
void relay_cmd_names(struct relay_client *cl, const struct irc_msg *m);
void relay_cmd_topic(struct relay_client *cl, const struct irc_msg *m);
void relay_cmd_list(struct relay_client *cl, const struct irc_msg *m);

/* relay_cmds_user.c */
void relay_cmd_who(struct relay_client *cl, const struct irc_msg *m);
void relay_cmd_whois(struct relay_client *cl, const struct irc_msg *m);
void relay_cmd_ison(struct relay_client *cl, const struct irc_msg *m);
void relay_cmd_away(struct relay_client *cl, const struct irc_msg *m);
void relay_cmd_mode(struct relay_client *cl, const struct irc_msg *m);
void relay_cmd_userhost(struct relay_client *cl, const struct irc_msg *m);

#endif
