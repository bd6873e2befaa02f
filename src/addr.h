/* addr.h - endpoint specs as users write them (tcp:HOST:PORT, udp:[::1]:PORT, unix:/path). Pure. */
#ifndef SOCKIT_ADDR_H
#define SOCKIT_ADDR_H

#include <stddef.h>
#include <stdint.h>

enum addr_transport { ADDR_TCP, ADDR_UDP, ADDR_UNIX };

#define ADDR_HOST_MAX 255 /* a DNS name's limit */
#define ADDR_PATH_MAX 107 /* sizeof(sun_path) - 1 */
#define ADDR_TEXT_MAX 300 /* room for any formatted spec */

struct addr_spec {
	enum addr_transport transport;
	char host[ADDR_HOST_MAX + 1]; /* no brackets; "" means the caller's default host */
	uint16_t port;
	char path[ADDR_PATH_MAX + 1]; /* unix only; a leading '@' is Linux's abstract namespace */
};

/* Accepts tcp:HOST:PORT, udp:HOST:PORT, unix:/path, and HOST:PORT meaning default_transport.
 * HOST may be a name, an IPv4 address, [IPv6], or empty (:PORT). PORT is 0-65535.
 * Returns 0, or -1 with a one-line reason in err. */
int addr_parse(const char *text, enum addr_transport default_transport, struct addr_spec *out,
	       char *err, size_t errlen);

/* Fills host and port from two words, the nc habit "HOST PORT". Same errors as addr_parse. */
int addr_parse_host_port(const char *host, const char *port, enum addr_transport transport,
			 struct addr_spec *out, char *err, size_t errlen);

/* "tcp:127.0.0.1:9000", "udp:[::1]:53", "unix:/run/x.sock". Returns the length written. */
int addr_format(const struct addr_spec *spec, char *out, size_t outlen);

const char *addr_transport_name(enum addr_transport transport);

#endif
