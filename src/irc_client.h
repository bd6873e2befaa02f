/* irc_client.h - the IRC transport of `sockit chat` (--server ADDR --nick NAME). */
#ifndef SOCKIT_IRC_CLIENT_H
#define SOCKIT_IRC_CLIENT_H

/* Connect, register as nick and run the chat UI until /quit, EOF or the server leaves.
 * Returns the exit status. */
int irc_client_run(const char *server, const char *nick);

#endif
