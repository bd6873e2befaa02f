/* echo_client.h - the `sockit echo` command. */
#ifndef SOCKIT_ECHO_CLIENT_H
#define SOCKIT_ECHO_CLIENT_H

int cmd_echo(int argc, char **argv);

#endif
