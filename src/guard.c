/* guard.c - per-source token buckets in a fixed table, plus the port and self checks. */
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "guard.h"
#include "net.h"

#define PROBE 8 /* slots searched per lookup; the stalest of them is evicted */

struct bucket {
	uint8_t key[16]; /* IPv4 address, or an IPv6 /64 (one host's usual allocation) */
	uint8_t keylen;  /* 0 = free slot */
	uint32_t milli_tokens;
	uint64_t last_ms;
};

struct dgram_guard {
	struct guard_config cfg;
	/* Workers share one table, so a source is limited once whichever worker the kernel's
	 * SO_REUSEPORT hash gives each of its ports. */
	pthread_mutex_t lock;
	struct sockaddr_storage own[GUARD_MAX_OWN];
	size_t nown;
	uint32_t seed;
	struct bucket slots[GUARD_TABLE_SLOTS];
};

struct dgram_guard *guard_new(const struct guard_config *cfg)
{
	struct dgram_guard *g = calloc(1, sizeof(*g));
	if (g == NULL)
		return NULL;
	g->cfg = *cfg;
	if (g->cfg.burst > GUARD_BURST_MAX) /* burst * 1000 must not wrap (chat's 5 x --rate) */
		g->cfg.burst = GUARD_BURST_MAX;
	pthread_mutex_init(&g->lock, NULL);
	/* A per-process seed, so an attacker cannot aim many sources at one probe window. */
	g->seed = (uint32_t)(uintptr_t)g ^ (uint32_t)random();
	return g;
}

void guard_free(struct dgram_guard *g)
{
	if (g == NULL)
		return;
	pthread_mutex_destroy(&g->lock);
	free(g);
}

int guard_add_own(struct dgram_guard *g, const struct sockaddr *sa)
{
	if (g->nown == GUARD_MAX_OWN)
		return -ENOSPC;
	size_t len = sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
					       : sizeof(struct sockaddr_in);
	memcpy(&g->own[g->nown++], sa, len);
	return 0;
}

static bool is_wildcard(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return ((const struct sockaddr_in *)(const void *)sa)->sin_addr.s_addr ==
		       INADDR_ANY;
	if (sa->sa_family == AF_INET6)
		return IN6_IS_ADDR_UNSPECIFIED(
			&((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr);
	return false;
}

static bool is_own(const struct dgram_guard *g, const struct sockaddr *peer)
{
	for (size_t i = 0; i < g->nown; i++) {
		const struct sockaddr *own = (const struct sockaddr *)&g->own[i];
		if (net_sockaddr_equal(own, peer))
			return true;
		if (is_wildcard(own) && net_sockaddr_port(own) == net_sockaddr_port(peer))
			return true;
	}
	return false;
}

static uint8_t source_key(const struct sockaddr *sa, uint8_t key[16])
{
	if (sa->sa_family == AF_INET) {
		memcpy(key, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, 4);
		return 4;
	}
	memcpy(key, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, 8);
	return 8;
}

static uint32_t hash_key(uint32_t seed, const uint8_t *key, size_t len)
{
	uint32_t h = 2166136261u ^ seed; /* FNV-1a */
	for (size_t i = 0; i < len; i++)
		h = (h ^ key[i]) * 16777619u;
	return h;
}

static struct bucket *find_bucket(struct dgram_guard *g, const uint8_t *key, uint8_t keylen,
				  uint64_t now_ms)
{
	uint32_t h = hash_key(g->seed, key, keylen);
	struct bucket *stalest = NULL;
	for (size_t i = 0; i < PROBE; i++) {
		struct bucket *b = &g->slots[(h + i) % GUARD_TABLE_SLOTS];
		if (b->keylen == keylen && memcmp(b->key, key, keylen) == 0)
			return b;
		if (stalest == NULL || b->keylen == 0 ||
		    (stalest->keylen != 0 && b->last_ms < stalest->last_ms))
			stalest = b;
	}
	/* New source: a full bucket, so its first burst is answered. */
	memset(stalest, 0, sizeof(*stalest));
	memcpy(stalest->key, key, keylen);
	stalest->keylen = keylen;
	stalest->milli_tokens = g->cfg.burst * 1000u;
	stalest->last_ms = now_ms;
	return stalest;
}

static bool take_token(struct dgram_guard *g, const struct sockaddr *peer, uint64_t now_ms)
{
	uint8_t key[16];
	uint8_t keylen = source_key(peer, key);
	struct bucket *b = find_bucket(g, key, keylen, now_ms);
	/* Each worker's loop caches its own clock: another's may be a little behind. */
	uint64_t elapsed = now_ms > b->last_ms ? now_ms - b->last_ms : 0;
	uint64_t refill = elapsed * g->cfg.rate; /* milli-tokens */
	uint64_t cap = (uint64_t)g->cfg.burst * 1000u;
	uint64_t tokens = b->milli_tokens + refill;
	b->milli_tokens = (uint32_t)(tokens > cap ? cap : tokens);
	if (now_ms > b->last_ms)
		b->last_ms = now_ms;
	if (b->milli_tokens < 1000)
		return false;
	b->milli_tokens -= 1000;
	return true;
}

enum guard_verdict guard_check(struct dgram_guard *g, const struct sockaddr *peer,
			       uint16_t allowed_low_port, uint64_t now_ms)
{
	if (peer->sa_family != AF_INET && peer->sa_family != AF_INET6)
		return GUARD_PASS;
	int port = net_sockaddr_port(peer);
	if (port < 1024 && (allowed_low_port == 0 || port != allowed_low_port))
		return GUARD_LOW_PORT;
	if (is_own(g, peer))
		return GUARD_OWN_ENDPOINT;
	if (g->cfg.rate == 0 || (!g->cfg.limit_loopback && net_sockaddr_is_loopback(peer)))
		return GUARD_PASS;
	pthread_mutex_lock(&g->lock);
	bool pass = take_token(g, peer, now_ms);
	pthread_mutex_unlock(&g->lock);
	return pass ? GUARD_PASS : GUARD_RATE_LIMITED;
}

const char *guard_verdict_name(enum guard_verdict v)
{
	switch (v) {
	case GUARD_PASS:
		return "pass";
	case GUARD_LOW_PORT:
		return "source port below 1024";
	case GUARD_OWN_ENDPOINT:
		return "source is one of our own endpoints";
	case GUARD_RATE_LIMITED:
		return "rate limited";
	}
	return "?";
}
