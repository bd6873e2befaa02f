/* net.c - socket calls with errors that say which call failed, on what, and why. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "mono_clock.h"
#include "net.h"

static void spec_text(const struct addr_spec *spec, char *out, size_t outlen)
{
	addr_format(spec, out, outlen);
}

static int fail(char *err, size_t errlen, const char *call, const struct addr_spec *spec,
		int errnum)
{
	char where[ADDR_TEXT_MAX];
	spec_text(spec, where, sizeof(where));
	snprintf(err, errlen, "%s %s: %s", call, where, strerror(errnum));
	errno = errnum;
	return -1;
}

static int unix_sockaddr(const struct addr_spec *spec, struct sockaddr_un *sun, socklen_t *len)
{
	*sun = (struct sockaddr_un){.sun_family = AF_UNIX};
	size_t plen = strlen(spec->path);
	memcpy(sun->sun_path, spec->path, plen);
	if (spec->path[0] == '@') /* abstract namespace: a leading NUL, no trailing one */
		sun->sun_path[0] = '\0';
	*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + plen +
			   (spec->path[0] == '@' ? 0 : 1));
	return 0;
}

/* flags: AI_PASSIVE for an address to bind, AI_NUMERICHOST for no lookup at all. */
static int lookup(const struct addr_spec *spec, int flags, struct addrinfo **res, char *err,
		  size_t errlen)
{
	struct addrinfo hints = {
		.ai_family = AF_UNSPEC,
		.ai_socktype = spec->transport == ADDR_UDP ? SOCK_DGRAM : SOCK_STREAM,
		.ai_flags = AI_NUMERICSERV | flags,
	};
	char port[8];
	snprintf(port, sizeof(port), "%u", spec->port);
	int rc = getaddrinfo(spec->host[0] ? spec->host : NULL, port, &hints, res);
	if (rc != 0) {
		char where[ADDR_TEXT_MAX];
		spec_text(spec, where, sizeof(where));
		snprintf(err, errlen, "resolve %s: %s", where,
			 rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
		errno = rc == EAI_SYSTEM ? errno : EHOSTUNREACH;
		return -1;
	}
	return 0;
}

static int resolve_with(const struct addr_spec *spec, int flags, struct sockaddr_storage *out,
			socklen_t *outlen, char *err, size_t errlen)
{
	if (spec->transport == ADDR_UNIX) {
		struct sockaddr_un sun;
		unix_sockaddr(spec, &sun, outlen);
		memcpy(out, &sun, *outlen);
		return 0;
	}
	struct addrinfo *res;
	if (lookup(spec, flags, &res, err, errlen) < 0)
		return -1;
	memcpy(out, res->ai_addr, res->ai_addrlen);
	*outlen = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

int net_resolve(const struct addr_spec *spec, struct sockaddr_storage *out, socklen_t *outlen,
		char *err, size_t errlen)
{
	return resolve_with(spec, 0, out, outlen, err, errlen);
}

int net_resolve_numeric(const struct addr_spec *spec, struct sockaddr_storage *out,
			socklen_t *outlen)
{
	char err[NET_ERR_LEN];
	return resolve_with(spec, AI_NUMERICHOST, out, outlen, err, sizeof(err));
}

/* A unix socket file left by a crashed server is removed, but only if nothing answers on it:
 * never steal the path of a server that is still running. */
static void unix_remove_stale(const struct sockaddr_un *sun, socklen_t len, const char *path)
{
	struct stat st;
	if (path[0] == '@' || stat(path, &st) < 0 || !S_ISSOCK(st.st_mode))
		return;
	int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (probe < 0)
		return;
	if (connect(probe, (const struct sockaddr *)sun, len) < 0 && errno == ECONNREFUSED)
		unlink(path);
	close(probe);
}

int net_listen(const struct addr_spec *spec, const struct net_opts *opts, char *bound,
	       size_t boundlen, char *err, size_t errlen)
{
	int type = (spec->transport == ADDR_UDP ? SOCK_DGRAM : SOCK_STREAM) | SOCK_NONBLOCK |
		   SOCK_CLOEXEC;
	int one = 1;

	if (spec->transport == ADDR_UNIX) {
		struct sockaddr_un sun;
		socklen_t len;
		unix_sockaddr(spec, &sun, &len);
		int fd = socket(AF_UNIX, type, 0);
		if (fd < 0)
			return fail(err, errlen, "socket", spec, errno);
		unix_remove_stale(&sun, len, spec->path);
		if (bind(fd, (struct sockaddr *)&sun, len) < 0 || listen(fd, NET_BACKLOG) < 0) {
			int e = errno;
			close(fd);
			return fail(err, errlen, "listen", spec, e);
		}
		snprintf(bound, boundlen, "unix:%s", spec->path);
		return fd;
	}

	struct addrinfo *res;
	if (lookup(spec, AI_PASSIVE, &res, err, errlen) < 0)
		return -1;
	int fd = -1, last_errno = EADDRNOTAVAIL;
	const char *last_call = "listen";
	for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, type, 0);
		if (fd < 0) {
			last_errno = errno;
			last_call = "socket";
			continue;
		}
		/* The seed's "Address already in use" on restart: TIME_WAIT holds the port. */
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (opts != NULL && opts->reuseport &&
		    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0) {
			last_errno = errno;
			last_call = "setsockopt SO_REUSEPORT";
			close(fd);
			fd = -1;
			continue;
		}
		if (ai->ai_family == AF_INET6) /* [::] means IPv6 only; 0.0.0.0 is its own spec */
			setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
		    (spec->transport == ADDR_UDP || listen(fd, NET_BACKLOG) == 0))
			break;
		last_errno = errno;
		last_call = "listen";
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
		return fail(err, errlen, last_call, spec, last_errno);

	struct sockaddr_storage ss;
	socklen_t sslen = sizeof(ss);
	char peer[ADDR_TEXT_MAX];
	getsockname(fd, (struct sockaddr *)&ss, &sslen);
	net_format_sockaddr((struct sockaddr *)&ss, sslen, peer, sizeof(peer));
	snprintf(bound, boundlen, "%s:%s", addr_transport_name(spec->transport), peer);
	return fd;
}

static int wait_connected(int fd, int timeout_ms)
{
	struct pollfd p = {.fd = fd, .events = POLLOUT};
	int rc;
	do
		rc = poll(&p, 1, timeout_ms);
	while (rc < 0 && errno == EINTR);
	if (rc == 0)
		return ETIMEDOUT;
	if (rc < 0)
		return errno;
	int soerr = 0;
	socklen_t len = sizeof(soerr);
	getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len);
	return soerr;
}

static int connect_one(int family, int socktype, const struct sockaddr *sa, socklen_t salen,
		       int timeout_ms, int *errnum)
{
	int fd = socket(family, socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		*errnum = errno;
		return -1;
	}
	int e = 0;
	if (connect(fd, sa, salen) < 0) {
		e = errno;
		if (e == EINPROGRESS || e == EAGAIN)
			e = wait_connected(fd, timeout_ms);
	}
	/* The clients use blocking I/O with poll deadlines from here on. */
	if (e == 0 && net_set_nonblock(fd, false, NULL, 0) < 0)
		e = errno;
	if (e != 0) {
		close(fd);
		*errnum = e;
		return -1;
	}
	return fd;
}

int net_connect_addrinfo(const struct addrinfo *list, int timeout_ms)
{
	long long deadline = timeout_ms < 0 ? -1 : mono_ms() + timeout_ms;
	int errnum = EADDRNOTAVAIL;
	for (const struct addrinfo *ai = list; ai != NULL; ai = ai->ai_next) {
		long long left = -1;
		if (deadline >= 0 && (left = deadline - mono_ms()) <= 0)
			return -ETIMEDOUT;
		int fd = connect_one(ai->ai_family, ai->ai_socktype, ai->ai_addr, ai->ai_addrlen,
				     (int)left, &errnum);
		if (fd >= 0)
			return fd;
	}
	return -errnum;
}

int net_connect(const struct addr_spec *spec, int timeout_ms, char *err, size_t errlen)
{
	int errnum = 0;
	if (spec->transport == ADDR_UNIX) {
		struct sockaddr_un sun;
		socklen_t len;
		unix_sockaddr(spec, &sun, &len);
		int fd = connect_one(AF_UNIX, SOCK_STREAM, (struct sockaddr *)&sun, len, timeout_ms,
				     &errnum);
		return fd >= 0 ? fd : fail(err, errlen, "connect", spec, errnum);
	}
	struct addrinfo *res;
	if (lookup(spec, 0, &res, err, errlen) < 0)
		return -1;
	int fd = net_connect_addrinfo(res, timeout_ms);
	freeaddrinfo(res);
	if (fd < 0)
		return fail(err, errlen, "connect", spec, -fd);
	if (spec->transport == ADDR_TCP)
		net_set_nodelay(fd, NULL, 0);
	return fd;
}

int net_udp_socket(const struct addr_spec *spec, char *bound, size_t boundlen, char *err,
		   size_t errlen)
{
	struct addr_spec local = *spec;
	local.transport = ADDR_UDP;
	struct addrinfo *res;
	if (lookup(&local, AI_PASSIVE, &res, err, errlen) < 0)
		return -1;
	int fd = socket(res->ai_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int e = errno;
	if (fd >= 0 && bind(fd, res->ai_addr, res->ai_addrlen) < 0) {
		e = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
		return fail(err, errlen, "bind", &local, e);
	struct sockaddr_storage ss;
	socklen_t sslen = sizeof(ss);
	char text[ADDR_TEXT_MAX];
	getsockname(fd, (struct sockaddr *)&ss, &sslen);
	net_format_sockaddr((struct sockaddr *)&ss, sslen, text, sizeof(text));
	snprintf(bound, boundlen, "udp:%s", text);
	return fd;
}

int net_accept(int listen_fd, struct sockaddr_storage *peer, socklen_t *peerlen)
{
	*peerlen = sizeof(*peer);
	int fd = accept4(listen_fd, (struct sockaddr *)peer, peerlen, SOCK_NONBLOCK | SOCK_CLOEXEC);
	return fd >= 0 ? fd : -errno;
}

int net_set_nodelay(int fd, char *err, size_t errlen)
{
	int one = 1;
	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0) {
		if (err != NULL)
			snprintf(err, errlen, "setsockopt TCP_NODELAY: %s", strerror(errno));
		return -1;
	}
	return 0;
}

size_t net_kernel_queued(int fd)
{
	int unsent = 0, unread = 0;
	if (ioctl(fd, SIOCOUTQ, &unsent) < 0)
		unsent = 0;
	if (ioctl(fd, FIONREAD, &unread) < 0)
		unread = 0;
	return (size_t)(unsent > 0 ? unsent : 0) + (size_t)(unread > 0 ? unread : 0);
}

int net_set_nonblock(int fd, bool on, char *err, size_t errlen)
{
	int flags = fcntl(fd, F_GETFL);
	if (flags < 0 || fcntl(fd, F_SETFL, on ? flags | O_NONBLOCK : flags & ~O_NONBLOCK) < 0) {
		if (err != NULL)
			snprintf(err, errlen, "fcntl O_NONBLOCK: %s", strerror(errno));
		return -1;
	}
	return 0;
}

int net_format_sockaddr(const struct sockaddr *sa, socklen_t len, char *out, size_t outlen)
{
	char host[INET6_ADDRSTRLEN + 8] = "?";
	int n;
	switch (sa->sa_family) {
	case AF_INET: {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
		inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
		n = snprintf(out, outlen, "%s:%u", host, ntohs(in->sin_port));
		break;
	}
	case AF_INET6: {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
		n = snprintf(out, outlen, "[%s]:%u", host, ntohs(in6->sin6_port));
		break;
	}
	case AF_UNIX: {
		const struct sockaddr_un *un = (const struct sockaddr_un *)sa;
		size_t plen = len > offsetof(struct sockaddr_un, sun_path)
				      ? len - offsetof(struct sockaddr_un, sun_path)
				      : 0;
		if (plen == 0 || (plen == 1 && un->sun_path[0] == '\0'))
			n = snprintf(out, outlen, "unix");
		else if (un->sun_path[0] == '\0')
			n = snprintf(out, outlen, "unix:@%.*s", (int)plen - 1, un->sun_path + 1);
		else
			n = snprintf(out, outlen, "unix:%.*s", (int)strnlen(un->sun_path, plen),
				     un->sun_path);
		break;
	}
	default:
		n = snprintf(out, outlen, "family %d", sa->sa_family);
	}
	return n < 0 ? 0 : n;
}

bool net_sockaddr_equal(const struct sockaddr *a, const struct sockaddr *b)
{
	if (a->sa_family != b->sa_family)
		return false;
	if (a->sa_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;
		return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	if (a->sa_family == AF_INET6) {
		const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;
		return x->sin6_port == y->sin6_port &&
		       memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr)) == 0;
	}
	return false;
}

bool net_sockaddr_is_loopback(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)sa;
		return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)sa;
		if (IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr))
			return true;
		if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr))
			return in6->sin6_addr.s6_addr[12] == 127;
	}
	return sa->sa_family == AF_UNIX;
}

int net_sockaddr_port(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)(const void *)sa)->sin_port);
	if (sa->sa_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)(const void *)sa)->sin6_port);
	return -1;
}
