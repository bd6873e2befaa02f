/* time_client.h - the `sockit time` command. */
#ifndef SOCKIT_TIME_CLIENT_H
#define SOCKIT_TIME_CLIENT_H

int cmd_time(int argc, char **argv);

#endif
