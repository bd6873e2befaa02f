/* test_relay_state.c - the chat relay registry's pure parts: the case-folded map (growth,
 * deletion) and the bounded message ring (wrap-around keeps the newest). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "relay_internal.h"

static int freed;

static void count_free(void *value)
{
	(void)value;
	freed++;
}

static void sum_values(void *value, void *arg)
{
	*(size_t *)arg += (size_t)(uintptr_t)value;
}

static void map_put_get_del_and_grow(void **state)
{
	(void)state;
	struct relay_map *m = relay_map_new();
	assert_non_null(m);
	char key[32];
	for (uintptr_t i = 1; i <= 1000; i++) { /* well past the first bucket count */
		snprintf(key, sizeof(key), "nick%lu", (unsigned long)i);
		assert_int_equal(relay_map_put(m, key, (void *)i), 0);
	}
	assert_int_equal(relay_map_put(m, "nick7", (void *)1), -EEXIST);
	assert_int_equal(relay_map_count(m), 1000);
	for (uintptr_t i = 1; i <= 1000; i++) {
		snprintf(key, sizeof(key), "nick%lu", (unsigned long)i);
		assert_ptr_equal(relay_map_get(m, key), (void *)i);
	}
	assert_null(relay_map_get(m, "nobody"));
	assert_ptr_equal(relay_map_del(m, "nick500"), (void *)500);
	assert_null(relay_map_get(m, "nick500"));
	assert_null(relay_map_del(m, "nick500"));
	size_t sum = 0;
	relay_map_each(m, sum_values, &sum);
	assert_int_equal(sum, 1000 * 1001 / 2 - 500);
	freed = 0;
	relay_map_free(m, count_free);
	assert_int_equal(freed, 999);
}

static void ring_keeps_the_newest(void **state)
{
	(void)state;
	struct relay_ring ring = {0};
	char line[16];
	for (int i = 0; i < 7; i++) {
		int n = snprintf(line, sizeof(line), "m%d\r\n", i);
		relay_ring_push(&ring, 3, 1000 + i, line, (size_t)n);
	}
	assert_int_equal(ring.len, 3);
	for (size_t i = 0; i < ring.len; i++) {
		const struct relay_stored *s = &ring.items[(ring.head + i) % ring.cap];
		snprintf(line, sizeof(line), "m%zu\r\n", i + 4);
		assert_int_equal(s->len, strlen(line));
		assert_memory_equal(s->line, line, s->len);
		assert_int_equal(s->time_ms, 1004 + (long long)i);
	}
	relay_ring_free(&ring);
	assert_null(ring.items);
	relay_ring_push(&ring, 0, 1, "x", 1); /* a zero-size ring keeps nothing */
	assert_null(ring.items);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(map_put_get_del_and_grow),
		cmocka_unit_test(ring_keeps_the_newest),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
