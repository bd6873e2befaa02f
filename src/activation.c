/* activation.c - take sockets from systemd by name, and report readiness (sd_notify). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "activation.h"
#include "net.h"

/* The spec of a bound socket: its family and type give the transport. */
static int describe(int fd, struct addr_spec *spec, char *bound, size_t boundlen, char *err,
		    size_t errlen)
{
	int type;
	socklen_t tlen = sizeof(type);
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tlen) < 0 ||
	    getsockname(fd, (struct sockaddr *)&ss, &len) < 0) {
		snprintf(err, errlen, "inherited fd %d: %s", fd, strerror(errno));
		return -1;
	}
	if (type != SOCK_STREAM && type != SOCK_DGRAM) {
		snprintf(err, errlen, "inherited fd %d: expected a stream or datagram socket", fd);
		return -1;
	}
	if (ss.ss_family == AF_UNIX && type == SOCK_DGRAM) {
		snprintf(err, errlen, "inherited fd %d: unix datagram sockets are not supported",
			 fd);
		return -1;
	}
	char where[ADDR_TEXT_MAX];
	net_format_sockaddr((struct sockaddr *)&ss, len, where, sizeof(where));
	if (ss.ss_family == AF_UNIX)
		snprintf(bound, boundlen, "%s", where);
	else
		snprintf(bound, boundlen, "%s:%s", type == SOCK_DGRAM ? "udp" : "tcp", where);
	char why[256];
	if (addr_parse(bound, ADDR_TCP, spec, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "inherited fd %d: %s", fd, why);
		return -1;
	}
	return 0;
}

int activation_take(struct activation_socket *out, size_t cap, char *err, size_t errlen)
{
	char **names = NULL;
	int n = sd_listen_fds_with_names(1, &names);
	if (n < 0) {
		snprintf(err, errlen, "LISTEN_FDS: %s", strerror(-n));
		return -1;
	}
	int rc = n;
	if ((size_t)n > cap) {
		snprintf(err, errlen, "systemd passed %d sockets; at most %zu are supported", n,
			 cap);
		rc = -1;
	}
	for (int i = 0; i < n && rc >= 0; i++) {
		struct activation_socket *a = &out[i];
		a->fd = SD_LISTEN_FDS_START + i;
		snprintf(a->name, sizeof(a->name), "%s", names ? names[i] : "unknown");
		if (describe(a->fd, &a->spec, a->bound, sizeof(a->bound), err, errlen) < 0)
			rc = -1;
	}
	if (rc < 0) {
		for (int i = 0; i < n; i++)
			close(SD_LISTEN_FDS_START + i);
	}
	for (int i = 0; names != NULL && i < n; i++)
		free(names[i]);
	free(names);
	return rc;
}

int activation_adopt(int fd, char *bound, size_t boundlen, char *err, size_t errlen)
{
	struct addr_spec spec;
	if (describe(fd, &spec, bound, boundlen, err, errlen) < 0 ||
	    net_set_nonblock(fd, true, err, errlen) < 0)
		return -1;
	return fd;
}

void activation_notify_ready(void)
{
	sd_notify(0, "READY=1");
}

void activation_notify_stopping(void)
{
	sd_notify(0, "STOPPING=1");
}
