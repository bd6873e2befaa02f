/* guard.h - who a datagram service may answer: not privileged ports, not our own endpoints
 * (no ping-pong between two services), not a source past its rate. Pure: no I/O. */
#ifndef SOCKIT_GUARD_H
#define SOCKIT_GUARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define GUARD_TABLE_SLOTS 4096    /* sources tracked at once; a spoofed flood evicts, never grows */
#define GUARD_MAX_OWN     64      /* our own udp endpoints */
#define GUARD_BURST_MAX   4294967 /* buckets hold milli-tokens in 32 bits; a larger burst is this */

struct guard_config {
	unsigned rate;       /* requests per second per source; 0 = unlimited */
	unsigned burst;      /* bucket size */
	bool limit_loopback; /* apply the rate limit to loopback sources too */
};

enum guard_verdict { GUARD_PASS, GUARD_LOW_PORT, GUARD_OWN_ENDPOINT, GUARD_RATE_LIMITED };

struct dgram_guard;

struct dgram_guard *guard_new(const struct guard_config *cfg);
void guard_free(struct dgram_guard *g);
/* One guard may serve several threads: guard_check is thread-safe, guard_add_own is to be
 * called before any thread checks. */
/* Remember one of our own bound endpoints; a wildcard address matches any source. */
int guard_add_own(struct dgram_guard *g, const struct sockaddr *sa);
/* allowed_low_port: the one port below 1024 this service may answer (123 for NTP), or 0. */
enum guard_verdict guard_check(struct dgram_guard *g, const struct sockaddr *peer,
			       uint16_t allowed_low_port, uint64_t now_ms);
const char *guard_verdict_name(enum guard_verdict v);

#endif
