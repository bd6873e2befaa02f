/* test_buf.c - the bounded byte queue: order, limits, compaction and release when empty. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"

static void append_and_consume_keep_order(void **state)
{
	(void)state;
	struct buf b;
	buf_init(&b, 1 << 20);
	assert_int_equal(buf_len(&b), 0);
	assert_int_equal(buf_append(&b, "hello ", 6), 0);
	assert_int_equal(buf_append(&b, "world", 5), 0);
	assert_int_equal(buf_len(&b), 11);
	assert_memory_equal(buf_head(&b), "hello world", 11);
	buf_consume(&b, 6);
	assert_int_equal(buf_len(&b), 5);
	assert_memory_equal(buf_head(&b), "world", 5);
	buf_consume(&b, 5);
	assert_int_equal(buf_len(&b), 0);
	buf_free(&b);
}

static void zero_length_append_is_a_no_op(void **state)
{
	(void)state;
	struct buf b;
	buf_init(&b, 16);
	assert_int_equal(buf_append(&b, NULL, 0), 0);
	assert_int_equal(buf_len(&b), 0);
	assert_null(b.data);
	buf_free(&b);
}

static void limit_is_hard_and_all_or_nothing(void **state)
{
	(void)state;
	struct buf b;
	buf_init(&b, 10);
	assert_int_equal(buf_append(&b, "0123456789", 10), 0);
	assert_int_equal(buf_append(&b, "x", 1), -ENOBUFS);
	assert_int_equal(buf_len(&b), 10);
	buf_consume(&b, 4);
	assert_int_equal(buf_append(&b, "abcde", 5), -ENOBUFS); /* 6 + 5 > 10: nothing added */
	assert_int_equal(buf_len(&b), 6);
	assert_int_equal(buf_append(&b, "abcd", 4), 0); /* exactly to the limit, after a slide */
	assert_int_equal(buf_len(&b), 10);
	assert_memory_equal(buf_head(&b), "456789abcd", 10);
	assert_true(b.cap <= 10);
	buf_free(&b);

	buf_init(&b, 100);
	assert_int_equal(buf_append(&b, "x", 101), -ENOBUFS);
	assert_int_equal(buf_len(&b), 0);
	buf_free(&b);
}

static void grows_past_first_chunk_and_keeps_bytes(void **state)
{
	(void)state;
	struct buf b;
	buf_init(&b, 1 << 20);
	uint8_t chunk[777];
	uint8_t expect = 0;
	size_t total = 0;
	for (int round = 0; round < 200; round++) {
		for (size_t i = 0; i < sizeof(chunk); i++)
			chunk[i] = (uint8_t)(total + i);
		assert_int_equal(buf_append(&b, chunk, sizeof(chunk)), 0);
		total += sizeof(chunk);
		if (round % 3 == 0) { /* consume some from the front, so compaction happens */
			size_t n = buf_len(&b) / 2;
			for (size_t i = 0; i < n; i++)
				assert_int_equal(buf_head(&b)[i], (uint8_t)(expect + i));
			expect = (uint8_t)(expect + n);
			buf_consume(&b, n);
		}
	}
	size_t left = buf_len(&b);
	for (size_t i = 0; i < left; i++)
		assert_int_equal(buf_head(&b)[i], (uint8_t)(expect + i));
	assert_true(b.cap <= b.limit);
	buf_free(&b);
	assert_null(b.data);
	assert_int_equal(b.limit, 1 << 20);
}

static void shrink_releases_memory_only_when_empty(void **state)
{
	(void)state;
	struct buf b;
	buf_init(&b, 1 << 16);
	assert_int_equal(buf_append(&b, "abc", 3), 0);
	buf_shrink_if_empty(&b);
	assert_non_null(b.data);
	assert_memory_equal(buf_head(&b), "abc", 3);
	buf_consume(&b, 3);
	buf_shrink_if_empty(&b);
	assert_null(b.data);
	assert_int_equal(b.cap, 0);
	assert_int_equal(buf_append(&b, "again", 5), 0); /* usable after release */
	assert_memory_equal(buf_head(&b), "again", 5);
	buf_free(&b);
	buf_free(&b); /* twice is harmless */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(append_and_consume_keep_order),
		cmocka_unit_test(zero_length_append_is_a_no_op),
		cmocka_unit_test(limit_is_hard_and_all_or_nothing),
		cmocka_unit_test(grows_past_first_chunk_and_keeps_bytes),
		cmocka_unit_test(shrink_releases_memory_only_when_empty),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
