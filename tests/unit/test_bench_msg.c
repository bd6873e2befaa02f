/* test_bench_msg.c - bench messages: replies check piecewise at any split, seq decodes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bench_msg.h"
#include "upper.h"

static void reply_checks_at_every_split(void **state)
{
	(void)state;
	size_t sizes[] = {1, 3, 8, 9, 64, 5000};
	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		struct bench_msg m;
		assert_int_equal(bench_msg_init(&m, sizes[k], false), 0);
		uint8_t *buf = malloc(sizes[k]);
		for (uint64_t seq = 0; seq < 30; seq += 7) {
			bench_msg_fill(&m, seq, buf);
			for (size_t i = 0; i < m.size; i++)
				assert_true(buf[i] >= 'a' && buf[i] <= 'z');
			assert_false(bench_msg_check(&m, seq, 0, buf, m.size)); /* not uppercased */
			upper_ascii(buf, m.size);
			for (size_t cut = 0; cut <= m.size; cut += 1 + m.size / 17) {
				assert_true(bench_msg_check(&m, seq, 0, buf, cut));
				assert_true(bench_msg_check(&m, seq, cut, buf + cut, m.size - cut));
			}
			assert_false(bench_msg_check(&m, seq, 1, buf, m.size)); /* past the end */
			buf[m.size - 1] ^= 1;
			assert_false(bench_msg_check(&m, seq, 0, buf, m.size));
		}
		free(buf);
		bench_msg_free(&m);
	}
}

static void consecutive_messages_differ(void **state)
{
	(void)state;
	struct bench_msg m;
	assert_int_equal(bench_msg_init(&m, 64, true), 0);
	uint8_t a[64], b[64];
	bench_msg_fill(&m, 41, a);
	bench_msg_fill(&m, 42, b);
	assert_true(memcmp(a, b, 64) != 0);
	assert_true(memcmp(a + 8, b + 8, 56) != 0);     /* the payload too, not just the header */
	assert_true(bench_msg_check(&m, 41, 0, a, 64)); /* plain: unchanged is right */
	assert_false(bench_msg_check(&m, 42, 0, a, 64));
	bench_msg_free(&m);
}

static void reply_seq_decodes_either_case(void **state)
{
	(void)state;
	struct bench_msg m;
	assert_int_equal(bench_msg_init(&m, 32, false), 0);
	uint8_t buf[33];
	bench_msg_fill(&m, 123456789, buf);
	assert_int_equal(bench_msg_reply_seq(&m, buf, 32), 123456789);
	upper_ascii(buf, 32);
	assert_int_equal(bench_msg_reply_seq(&m, buf, 32), 123456789);
	assert_int_equal(bench_msg_reply_seq(&m, buf, 31), -1); /* wrong length */
	buf[0] = '0';
	assert_int_equal(bench_msg_reply_seq(&m, buf, 32), -1);
	bench_msg_free(&m);
	assert_int_equal(bench_msg_init(&m, 2, false), 0);
	assert_int_equal(bench_msg_seq_modulus(&m), 26 * 26);
	bench_msg_fill(&m, 26 * 26 + 5, buf);
	assert_int_equal(bench_msg_reply_seq(&m, buf, 2), 5);
	bench_msg_free(&m);
}

static void time_protocol_checks(void **state)
{
	(void)state;
	struct bench_msg m;
	assert_int_equal(bench_msg_init(&m, BENCH_TIME_REQ_LEN, false), 0);
	uint8_t req[BENCH_TIME_REQ_LEN];
	bench_time_fill(&m, 4242, req);
	assert_memory_equal(req + BENCH_SEQ_DIGITS, " %Y-%m-%d", 9);
	uint8_t reply[BENCH_TIME_REPLY_LEN + 1];
	memcpy(reply, req, BENCH_SEQ_DIGITS);
	memcpy(reply + BENCH_SEQ_DIGITS, " 2026-11-25 11:34:27", 20);
	assert_int_equal(bench_time_reply_seq(&m, reply, BENCH_TIME_REPLY_LEN), 4242);
	assert_true(bench_time_check(&m, 4242, reply, BENCH_TIME_REPLY_LEN));
	assert_false(bench_time_check(&m, 4243, reply, BENCH_TIME_REPLY_LEN));
	reply[BENCH_SEQ_DIGITS + 5] = '/';
	assert_false(bench_time_check(&m, 4242, reply, BENCH_TIME_REPLY_LEN));
	bench_msg_free(&m);

	const char *day = "Wednesday, November 25, 2026 11:34:27-UTC\r\n";
	assert_true(bench_daytime_check(&m, 0, (const uint8_t *)day, strlen(day)));
	assert_false(bench_daytime_check(&m, 0, (const uint8_t *)"no year here", 12));
	assert_false(bench_daytime_check(&m, 0, (const uint8_t *)"2026\x1b[2J..", 12));

	uint8_t t[4] = {0, 0, 0, 0}; /* 1900: far from now */
	assert_false(bench_rfc868_check(&m, 0, t, 4));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(reply_checks_at_every_split),
		cmocka_unit_test(consecutive_messages_differ),
		cmocka_unit_test(reply_seq_decodes_either_case),
		cmocka_unit_test(time_protocol_checks),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
