/* test_sntp_packet.c - NTP header codec round trips, sizes are checked before any read, and
 * the server answers mode 3 requests only. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "sntp_packet.h"

static const struct sntp_server_info info = {
	.stratum = 10,
	.precision = -20,
	.root_dispersion = 0x00000010,
	.refid = 0x4c4f434c,
	.ref_ts = 0xe0000000ull << 32,
};

static void client_request(uint8_t out[SNTP_PACKET_LEN], uint8_t version, uint8_t mode, uint64_t tx)
{
	struct sntp_packet p = {.version = version, .mode = mode, .poll = 6, .tx_ts = tx};
	sntp_packet_encode(&p, out);
}

static void round_trip(void **state)
{
	(void)state;
	struct sntp_packet p = {
		.leap = 3,
		.version = 4,
		.mode = 4,
		.stratum = 10,
		.poll = -3,
		.precision = -25,
		.root_delay = 0x12345678,
		.root_dispersion = 0x9abcdef0,
		.refid = 0x4c4f434c,
		.ref_ts = 0x0102030405060708ull,
		.orig_ts = 0x1112131415161718ull,
		.rx_ts = 0x2122232425262728ull,
		.tx_ts = 0xf1f2f3f4f5f6f7f8ull,
	};
	uint8_t buf[SNTP_PACKET_LEN];
	sntp_packet_encode(&p, buf);
	assert_int_equal(buf[0], 0xe4); /* LI 3, VN 4, mode 4 */
	assert_memory_equal(buf + 12, "LOCL", 4);
	assert_int_equal(buf[40], 0xf1);
	struct sntp_packet q;
	assert_int_equal(sntp_packet_decode(buf, sizeof(buf), &q), 0);
	assert_true(q.leap == p.leap && q.version == p.version && q.mode == p.mode);
	assert_true(q.stratum == p.stratum && q.poll == p.poll && q.precision == p.precision);
	assert_true(q.root_delay == p.root_delay && q.root_dispersion == p.root_dispersion);
	assert_true(q.refid == p.refid && q.ref_ts == p.ref_ts && q.orig_ts == p.orig_ts);
	assert_true(q.rx_ts == p.rx_ts && q.tx_ts == p.tx_ts);
}

static void only_valid_sizes_decode(void **state)
{
	(void)state;
	uint8_t buf[128] = {0x23};
	struct sntp_packet p;
	for (size_t len = 0; len < sizeof(buf); len++) {
		bool ok = len == 48 || len == 68 || len == 72;
		assert_int_equal(sntp_packet_decode(buf, len, &p), ok ? 0 : -1);
	}
}

/* A short packet ending at an unreadable page: the size check comes before any read. */
static void short_packet_at_page_end(void **state)
{
	(void)state;
	long page = sysconf(_SC_PAGESIZE);
	uint8_t *map = mmap(NULL, (size_t)page * 2, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(map != MAP_FAILED);
	assert_int_equal(mprotect(map + page, (size_t)page, PROT_NONE), 0);
	struct sntp_packet p;
	for (size_t len = 0; len < SNTP_PACKET_LEN; len++)
		assert_int_equal(sntp_packet_decode(map + page - len, len, &p), -1);
	memset(map + page - SNTP_PACKET_LEN, 0, SNTP_PACKET_LEN);
	map[page - SNTP_PACKET_LEN] = 0x23;
	assert_int_equal(sntp_packet_decode(map + page - SNTP_PACKET_LEN, SNTP_PACKET_LEN, &p), 0);
	munmap(map, (size_t)page * 2);
}

static void server_answers_mode_3(void **state)
{
	(void)state;
	uint8_t req[SNTP_PACKET_LEN], out[SNTP_PACKET_LEN];
	client_request(req, 3, SNTP_MODE_CLIENT, 0xdeadbeefcafef00dull);
	ssize_t n = sntp_server_reply(req, sizeof(req), &info, 111, 222, out);
	assert_int_equal(n, SNTP_PACKET_LEN);
	struct sntp_packet r;
	assert_int_equal(sntp_packet_decode(out, sizeof(out), &r), 0);
	assert_int_equal(r.leap, 0);
	assert_int_equal(r.version, 3); /* echoed */
	assert_int_equal(r.mode, SNTP_MODE_SERVER);
	assert_int_equal(r.stratum, 10);
	assert_int_equal(r.poll, 6);
	assert_int_equal(r.precision, -20);
	assert_int_equal(r.root_dispersion, 0x10);
	assert_int_equal(r.refid, 0x4c4f434c);
	assert_true(r.orig_ts == 0xdeadbeefcafef00dull);
	assert_true(r.rx_ts == 111 && r.tx_ts == 222 && r.ref_ts == info.ref_ts);
}

static void server_ignores_the_rest(void **state)
{
	(void)state;
	uint8_t req[SNTP_PACKET_LEN + SNTP_MAC_SHA1_LEN] = {0}, out[SNTP_PACKET_LEN];
	for (uint8_t mode = 0; mode < 8; mode++) {
		for (uint8_t v = 0; v < 8; v++) {
			client_request(req, v, mode, 1);
			bool ok = mode == 3 && v >= 1 && v <= 4;
			ssize_t want = ok ? SNTP_PACKET_LEN : -1;
			assert_int_equal(sntp_server_reply(req, SNTP_PACKET_LEN, &info, 1, 2, out),
					 want);
			assert_int_equal(sntp_kod_reply(req, SNTP_PACKET_LEN, "RATE", 1, 2, out),
					 want);
		}
	}
	client_request(req, 4, 3, 1);
	assert_int_equal(sntp_server_reply(req, 47, &info, 1, 2, out), -1);
	assert_int_equal(sntp_server_reply(req, 49, &info, 1, 2, out), -1);
	assert_int_equal(sntp_server_reply(req, sizeof(req), &info, 1, 2, out), SNTP_PACKET_LEN);
}

static void kiss_of_death(void **state)
{
	(void)state;
	uint8_t req[SNTP_PACKET_LEN], out[SNTP_PACKET_LEN];
	client_request(req, 4, 3, 77);
	assert_int_equal(sntp_kod_reply(req, sizeof(req), "RATE", 5, 6, out), SNTP_PACKET_LEN);
	struct sntp_packet r;
	sntp_packet_decode(out, sizeof(out), &r);
	assert_int_equal(r.stratum, 0);
	assert_int_equal(r.leap, 3);
	assert_memory_equal(out + 12, "RATE", 4);
	assert_true(r.orig_ts == 77);
}

static void timestamps(void **state)
{
	(void)state;
	struct timespec t = {.tv_sec = 1795000000, .tv_nsec = 500000000};
	uint64_t ts = sntp_ts_from_timespec(t);
	assert_int_equal(ts >> 32, 1795000000ull + SNTP_EPOCH_OFFSET);
	assert_int_equal((uint32_t)ts, 0x80000000u);
	struct timespec back = sntp_ts_to_timespec(ts);
	assert_int_equal(back.tv_sec, t.tv_sec);
	assert_true(back.tv_nsec >= 499999999 && back.tv_nsec <= 500000000);
	/* after the 2036 era wrap */
	struct timespec late = {.tv_sec = 2200000000, .tv_nsec = 0};
	assert_int_equal(sntp_ts_to_timespec(sntp_ts_from_timespec(late)).tv_sec, late.tv_sec);
	assert_true(sntp_ts_diff(ts + (1ull << 31), ts) == 0.5);
	assert_true(sntp_ts_diff(ts, ts + (1ull << 32)) == -1.0);
	assert_int_equal(sntp_short_from_seconds(1.0), 0x10000);
	assert_int_equal(sntp_short_from_seconds(0), 0);
	assert_int_equal(sntp_refid("LOCL"), 0x4c4f434c);
}

/* RFC 868's example: 2,398,291,200 is 1976-01-01 00:00:00 GMT. */
static void rfc868_seconds(void **state)
{
	(void)state;
	uint8_t b[RFC868_LEN];
	struct timespec t = {.tv_sec = 189302400}; /* 1976-01-01 */
	sntp_rfc868_encode(sntp_ts_from_timespec(t), b);
	assert_memory_equal(b, "\x8e\xf3\x05\x00", RFC868_LEN); /* 2398291200 */
	assert_int_equal(sntp_ts_to_timespec(sntp_rfc868_decode(b)).tv_sec, t.tv_sec);
	/* after the 2036 wrap the seconds restart at 0 and decode into era 1 */
	struct timespec late = {.tv_sec = 2085978496 + 10}; /* 2036-02-07 06:28:26 */
	sntp_rfc868_encode(sntp_ts_from_timespec(late), b);
	assert_memory_equal(b, "\x00\x00\x00\x0a", RFC868_LEN);
	assert_int_equal(sntp_ts_to_timespec(sntp_rfc868_decode(b)).tv_sec, late.tv_sec);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(round_trip),
		cmocka_unit_test(only_valid_sizes_decode),
		cmocka_unit_test(short_packet_at_page_end),
		cmocka_unit_test(server_answers_mode_3),
		cmocka_unit_test(server_ignores_the_rest),
		cmocka_unit_test(kiss_of_death),
		cmocka_unit_test(timestamps),
		cmocka_unit_test(rfc868_seconds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
