/* test_guard.c - whom a udp service answers: token buckets (burst, refill), the loopback
 * exemption, low ports, our own endpoints, and a table that stays bounded under a flood. */
#include <arpa/inet.h>
#include <malloc.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "guard.h"

static struct sockaddr_storage v4(const char *ip, uint16_t port)
{
	struct sockaddr_storage ss = {0};
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	sin->sin_family = AF_INET;
	sin->sin_port = htons(port);
	assert_int_equal(inet_pton(AF_INET, ip, &sin->sin_addr), 1);
	return ss;
}

static struct sockaddr_storage v6(const char *ip, uint16_t port)
{
	struct sockaddr_storage ss = {0};
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons(port);
	assert_int_equal(inet_pton(AF_INET6, ip, &sin6->sin6_addr), 1);
	return ss;
}

static enum guard_verdict check(struct dgram_guard *g, struct sockaddr_storage ss, uint64_t now)
{
	return guard_check(g, (const struct sockaddr *)&ss, 0, now);
}

/* A burst whose milli-tokens pass 32 bits is capped, not wrapped to a small one. */
static void a_huge_burst_is_capped_not_wrapped(void **state)
{
	(void)state;
	struct guard_config cfg = {.rate = 1000000, .burst = 5000000};
	struct dgram_guard *g = guard_new(&cfg);
	struct sockaddr_storage peer = v4("192.0.2.9", 40000);
	for (unsigned i = 0; i < GUARD_BURST_MAX; i++) {
		if (check(g, peer, 1000) != GUARD_PASS)
			fail_msg("limited after %u of a burst of %u", i, GUARD_BURST_MAX);
	}
	assert_int_equal(check(g, peer, 1000), GUARD_RATE_LIMITED);
	guard_free(g);
}

static void burst_then_refill_at_rate(void **state)
{
	(void)state;
	struct guard_config cfg = {.rate = 10, .burst = 5};
	struct dgram_guard *g = guard_new(&cfg);
	struct sockaddr_storage peer = v4("192.0.2.7", 40000);
	uint64_t t = 1000000;
	for (int i = 0; i < 5; i++)
		assert_int_equal(check(g, peer, t), GUARD_PASS);
	assert_int_equal(check(g, peer, t), GUARD_RATE_LIMITED);
	assert_int_equal(check(g, peer, t + 99), GUARD_RATE_LIMITED); /* 0.99 tokens */
	assert_int_equal(check(g, peer, t + 100), GUARD_PASS);        /* 1 token per 100 ms */
	assert_int_equal(check(g, peer, t + 100), GUARD_RATE_LIMITED);
	/* a long silence refills only up to the burst */
	for (int i = 0; i < 5; i++)
		assert_int_equal(check(g, peer, t + 60000), GUARD_PASS);
	assert_int_equal(check(g, peer, t + 60000), GUARD_RATE_LIMITED);
	/* another source has its own bucket; the same host on another port shares it */
	assert_int_equal(check(g, v4("192.0.2.8", 40000), t + 60000), GUARD_PASS);
	assert_int_equal(check(g, v4("192.0.2.7", 40001), t + 60000), GUARD_RATE_LIMITED);
	guard_free(g);
}

/* Workers share the guard, each with its own cached clock: a time a little behind the last
 * one seen must not look like 2^64 ms of silence (a full bucket). */
static void a_clock_behind_refills_nothing(void **state)
{
	(void)state;
	struct guard_config cfg = {.rate = 10, .burst = 3};
	struct dgram_guard *g = guard_new(&cfg);
	struct sockaddr_storage peer = v4("192.0.2.9", 40000);
	uint64_t t = 5000;
	for (int i = 0; i < 3; i++)
		assert_int_equal(check(g, peer, t), GUARD_PASS);
	assert_int_equal(check(g, peer, t - 3), GUARD_RATE_LIMITED);
	assert_int_equal(check(g, peer, t + 99), GUARD_RATE_LIMITED); /* still measured from t */
	assert_int_equal(check(g, peer, t + 100), GUARD_PASS);
	guard_free(g);
}

static void ipv6_sources_share_a_bucket_per_64(void **state)
{
	(void)state;
	struct guard_config cfg = {.rate = 1, .burst = 2};
	struct dgram_guard *g = guard_new(&cfg);
	assert_int_equal(check(g, v6("2001:db8:1:2::1", 5000), 10), GUARD_PASS);
	assert_int_equal(check(g, v6("2001:db8:1:2::ffff", 5000), 10), GUARD_PASS);
	assert_int_equal(check(g, v6("2001:db8:1:2:abcd::9", 5000), 10), GUARD_RATE_LIMITED);
	assert_int_equal(check(g, v6("2001:db8:1:3::1", 5000), 10), GUARD_PASS);
	guard_free(g);
}

static void zero_rate_means_unlimited(void **state)
{
	(void)state;
	struct guard_config cfg = {.rate = 0, .burst = 1};
	struct dgram_guard *g = guard_new(&cfg);
	for (int i = 0; i < 10000; i++)
		assert_int_equal(check(g, v4("198.51.100.1", 2000), 5), GUARD_PASS);
	guard_free(g);
}

static void loopback_is_exempt_unless_asked(void **state)
{
	(void)state;
	struct guard_config cfg = {.rate = 1, .burst = 1};
	struct dgram_guard *g = guard_new(&cfg);
	for (int i = 0; i < 100; i++) {
		assert_int_equal(check(g, v4("127.0.0.1", 50000), 7), GUARD_PASS);
		assert_int_equal(check(g, v4("127.3.2.1", 50000), 7), GUARD_PASS);
		assert_int_equal(check(g, v6("::1", 50000), 7), GUARD_PASS);
	}
	guard_free(g);

	cfg.limit_loopback = true;
	g = guard_new(&cfg);
	assert_int_equal(check(g, v4("127.0.0.1", 50000), 7), GUARD_PASS);
	assert_int_equal(check(g, v4("127.0.0.1", 50000), 7), GUARD_RATE_LIMITED);
	assert_int_equal(check(g, v6("::1", 50000), 7), GUARD_PASS);
	assert_int_equal(check(g, v6("::1", 50000), 7), GUARD_RATE_LIMITED);
	guard_free(g);
}

static void low_ports_are_refused_but_the_allowed_one(void **state)
{
	(void)state;
	struct guard_config cfg = {.rate = 0};
	struct dgram_guard *g = guard_new(&cfg);
	static const uint16_t low[] = {0, 7, 19, 53, 123, 1023};
	for (size_t i = 0; i < sizeof(low) / sizeof(low[0]); i++) {
		struct sockaddr_storage p = v4("192.0.2.1", low[i]);
		assert_int_equal(guard_check(g, (struct sockaddr *)&p, 0, 1), GUARD_LOW_PORT);
		p = v6("2001:db8::1", low[i]);
		assert_int_equal(guard_check(g, (struct sockaddr *)&p, 0, 1), GUARD_LOW_PORT);
	}
	struct sockaddr_storage ntp = v4("192.0.2.1", 123);
	assert_int_equal(guard_check(g, (struct sockaddr *)&ntp, 123, 1), GUARD_PASS);
	struct sockaddr_storage dns = v4("192.0.2.1", 53);
	assert_int_equal(guard_check(g, (struct sockaddr *)&dns, 123, 1), GUARD_LOW_PORT);
	assert_int_equal(check(g, v4("192.0.2.1", 1024), 1), GUARD_PASS);
	assert_string_equal(guard_verdict_name(GUARD_LOW_PORT), "source port below 1024");
	guard_free(g);
}

static void own_endpoints_are_never_answered(void **state)
{
	(void)state;
	struct guard_config cfg = {.rate = 0};
	struct dgram_guard *g = guard_new(&cfg);
	struct sockaddr_storage own = v4("127.0.0.1", 9000);
	struct sockaddr_storage any = v4("0.0.0.0", 9013);
	struct sockaddr_storage any6 = v6("::", 9037);
	assert_int_equal(guard_add_own(g, (struct sockaddr *)&own), 0);
	assert_int_equal(guard_add_own(g, (struct sockaddr *)&any), 0);
	assert_int_equal(guard_add_own(g, (struct sockaddr *)&any6), 0);
	assert_int_equal(check(g, own, 1), GUARD_OWN_ENDPOINT);
	assert_int_equal(check(g, v4("127.0.0.1", 9001), 1), GUARD_PASS);
	assert_int_equal(check(g, v4("127.0.0.2", 9000), 1), GUARD_PASS);
	/* a wildcard endpoint is every local address on its port */
	assert_int_equal(check(g, v4("127.0.0.1", 9013), 1), GUARD_OWN_ENDPOINT);
	assert_int_equal(check(g, v4("10.1.2.3", 9013), 1), GUARD_OWN_ENDPOINT);
	assert_int_equal(check(g, v6("::1", 9037), 1), GUARD_OWN_ENDPOINT);
	assert_int_equal(check(g, v6("::1", 9038), 1), GUARD_PASS);
	assert_string_equal(guard_verdict_name(GUARD_OWN_ENDPOINT),
			    "source is one of our own endpoints");
	/* the list of our own is bounded too */
	int rc = 0;
	for (int i = 0; i < GUARD_MAX_OWN + 5 && rc == 0; i++) {
		struct sockaddr_storage p = v4("127.0.0.1", (uint16_t)(20000 + i));
		rc = guard_add_own(g, (struct sockaddr *)&p);
	}
	assert_int_not_equal(rc, 0);
	guard_free(g);
}

static void table_stays_bounded_under_many_sources(void **state)
{
	(void)state;
	struct guard_config cfg = {.rate = 1, .burst = 3};
	struct dgram_guard *g = guard_new(&cfg);
	struct sockaddr_storage victim = v4("203.0.113.9", 4444);
	for (int i = 0; i < 3; i++)
		assert_int_equal(check(g, victim, 100), GUARD_PASS);
	assert_int_equal(check(g, victim, 100), GUARD_RATE_LIMITED);

	struct mallinfo2 before = mallinfo2();
	/* 200,000 spoofed sources, far more than GUARD_TABLE_SLOTS: each new source gets a
	 * fresh bucket (its first datagram is answered), and no memory is allocated. */
	for (uint32_t i = 0; i < 200000; i++) {
		struct sockaddr_storage ss = {0};
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
		sin->sin_family = AF_INET;
		sin->sin_port = htons(5000);
		sin->sin_addr.s_addr = htonl(0x0a000000u + i);
		assert_int_equal(check(g, ss, 200), GUARD_PASS);
	}
	struct mallinfo2 after = mallinfo2();
	assert_int_equal(after.uordblks, before.uordblks);
	/* and a source still gets limited after its burst */
	struct sockaddr_storage late = v4("198.51.100.77", 6000);
	for (int i = 0; i < 3; i++)
		assert_int_equal(check(g, late, 300), GUARD_PASS);
	assert_int_equal(check(g, late, 300), GUARD_RATE_LIMITED);
	guard_free(g);
}

static void non_inet_sources_pass(void **state)
{
	(void)state;
	struct guard_config cfg = {.rate = 1, .burst = 1};
	struct dgram_guard *g = guard_new(&cfg);
	struct sockaddr_storage un = {.ss_family = AF_UNIX};
	for (int i = 0; i < 10; i++)
		assert_int_equal(guard_check(g, (struct sockaddr *)&un, 0, 1), GUARD_PASS);
	guard_free(g);
	guard_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(burst_then_refill_at_rate),
		cmocka_unit_test(a_huge_burst_is_capped_not_wrapped),
		cmocka_unit_test(a_clock_behind_refills_nothing),
		cmocka_unit_test(ipv6_sources_share_a_bucket_per_64),
		cmocka_unit_test(zero_rate_means_unlimited),
		cmocka_unit_test(loopback_is_exempt_unless_asked),
		cmocka_unit_test(low_ports_are_refused_but_the_allowed_one),
		cmocka_unit_test(own_endpoints_are_never_answered),
		cmocka_unit_test(table_stays_bounded_under_many_sources),
		cmocka_unit_test(non_inet_sources_pass),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
