/* net.h - every socket call sockit makes: listen, connect, accept and socket options.
 * Functions return an fd or 0 on success and -1 on failure with a reason such as
 * "connect tcp:127.0.0.1:9000: Connection refused" in err (anet style). */
#ifndef SOCKIT_NET_H
#define SOCKIT_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "addr.h"

#define NET_ERR_LEN 512
#define NET_BACKLOG 4096

struct net_opts {
	bool reuseport; /* SO_REUSEPORT, for one listener per worker thread */
};

/* A non-blocking, close-on-exec listening (tcp, unix) or bound (udp) socket. The address
 * actually bound (port 0 resolved) is written to bound as a spec. */
int net_listen(const struct addr_spec *spec, const struct net_opts *opts, char *bound,
	       size_t boundlen, char *err, size_t errlen);

/* Connect with a timeout (ms, <0 = none) for the whole call, as nc -w: the resolved addresses
 * are tried in turn, each with the time that remains. Returns a blocking, close-on-exec fd.
 * For udp the socket is connected so that ICMP errors come back as ECONNREFUSED. */
int net_connect(const struct addr_spec *spec, int timeout_ms, char *err, size_t errlen);

struct addrinfo;
/* net_connect's loop over a resolved list: the fd of the first address that connects within
 * what remains of timeout_ms, or -errno of the last failure (-ETIMEDOUT once time ran out). */
int net_connect_addrinfo(const struct addrinfo *list, int timeout_ms);

/* An unconnected udp socket bound to spec (port 0 = ephemeral), for peers like the chat. */
int net_udp_socket(const struct addr_spec *spec, char *bound, size_t boundlen, char *err,
		   size_t errlen);

/* Resolve spec to one socket address (first result). */
int net_resolve(const struct addr_spec *spec, struct sockaddr_storage *out, socklen_t *outlen,
		char *err, size_t errlen);
/* net_resolve for a host written as an address (or a unix path): no lookup, so it never
 * blocks. 0, or -1 when the host is a name that needs one (resolve_async.h). */
int net_resolve_numeric(const struct addr_spec *spec, struct sockaddr_storage *out,
			socklen_t *outlen);

/* accept4 with SOCK_NONBLOCK|SOCK_CLOEXEC. Returns the fd or -errno. */
int net_accept(int listen_fd, struct sockaddr_storage *peer, socklen_t *peerlen);

int net_set_nodelay(int fd, char *err, size_t errlen);
int net_set_nonblock(int fd, bool on, char *err, size_t errlen);
/* Bytes the kernel still holds for a stream socket: unacknowledged output plus unread input.
 * While it is not 0, close() would answer with RST and could destroy replies in flight. */
size_t net_kernel_queued(int fd);

/* "127.0.0.1:5555", "[::1]:5555", "unix:/path" or "unix" for an unnamed peer. */
int net_format_sockaddr(const struct sockaddr *sa, socklen_t len, char *out, size_t outlen);
bool net_sockaddr_equal(const struct sockaddr *a, const struct sockaddr *b);
bool net_sockaddr_is_loopback(const struct sockaddr *sa);
int net_sockaddr_port(const struct sockaddr *sa); /* -1 for non-inet */

#endif
