/* activation.h - systemd socket activation and readiness: sockets inherited through
 * LISTEN_FDS are matched to services by their LISTEN_FDNAMES name, never by order. */
#ifndef SOCKIT_ACTIVATION_H
#define SOCKIT_ACTIVATION_H

#include <stddef.h>

#include "addr.h"

#define ACTIVATION_MAX      64 /* inherited sockets taken at most */
#define ACTIVATION_NAME_MAX 64

struct activation_socket {
	int fd;
	char name[ACTIVATION_NAME_MAX]; /* FileDescriptorName=, e.g. "echo" */
	struct addr_spec spec;          /* what it is bound to; transport from its type */
	char bound[ADDR_TEXT_MAX];      /* the same, as text */
};

/* Take the sockets systemd passed (none when not socket-activated), unsetting LISTEN_*.
 * Returns how many were stored in out, or -1 with err (e.g. more than cap, or fd 4 is not
 * a socket). The caller owns the fds. */
int activation_take(struct activation_socket *out, size_t cap, char *err, size_t errlen);

/* Make an inherited socket non-blocking and describe it as net_listen would. */
int activation_adopt(int fd, char *bound, size_t boundlen, char *err, size_t errlen);

/* Tell systemd (Type=notify) that we are ready / stopping; no-ops outside systemd. */
void activation_notify_ready(void);
void activation_notify_stopping(void);

#endif
