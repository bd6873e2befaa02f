/* test_histogram.c - bucket arithmetic, percentiles against a sorted reference, merging. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "histogram.h"

static struct histogram h1, h2, h3; /* ~36 KiB each: not on the stack */

/* Every value falls in a bucket whose top is >= it and within 1/128 of it. */
static void bucket_bounds(void **state)
{
	(void)state;
	uint64_t probes[] = {0,
			     1,
			     2,
			     127,
			     128,
			     255,
			     256,
			     257,
			     511,
			     512,
			     1000,
			     4095,
			     4096,
			     38000,
			     1000000,
			     123456789,
			     HISTOGRAM_MAX_VALUE};
	for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
		uint64_t v = probes[i];
		unsigned b = histogram_bucket_of(v);
		assert_true(b < HISTOGRAM_BUCKETS);
		uint64_t top = histogram_bucket_top(b);
		assert_true(top >= v);
		assert_true(top - v <= v / 128);
		assert_int_equal(histogram_bucket_of(top), b);
		assert_int_equal(histogram_bucket_of(top + 1),
				 b + 1 < HISTOGRAM_BUCKETS ? b + 1 : b);
	}
	/* small values are exact */
	for (uint64_t v = 0; v < 256; v++)
		assert_int_equal(histogram_bucket_top(histogram_bucket_of(v)), v);
	/* buckets are monotonic */
	unsigned prev = 0;
	for (uint64_t v = 1; v < (1u << 20); v += 37) {
		unsigned b = histogram_bucket_of(v);
		assert_true(b >= prev);
		prev = b;
	}
}

static void clamps_huge_values(void **state)
{
	(void)state;
	histogram_init(&h1);
	histogram_record(&h1, UINT64_MAX);
	assert_int_equal(h1.count, 1);
	assert_int_equal(histogram_bucket_of(UINT64_MAX), HISTOGRAM_BUCKETS - 1);
	assert_int_equal(histogram_percentile(&h1, 50), UINT64_MAX); /* max is exact */
}

static void empty_is_zero(void **state)
{
	(void)state;
	histogram_init(&h1);
	assert_int_equal(histogram_percentile(&h1, 50), 0);
	assert_int_equal(histogram_percentile(&h1, 100), 0);
	assert_true(histogram_mean(&h1) == 0.0);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* Percentiles match the sorted samples' nearest-rank value to within one bucket. */
static void percentiles_match_sorted_reference(void **state)
{
	(void)state;
	enum { N = 100000 };
	uint64_t *vals = malloc(N * sizeof(*vals));
	assert_non_null(vals);
	histogram_init(&h1);
	uint64_t x = 88172645463325252ull;
	for (size_t i = 0; i < N; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		/* a long-tailed latency shape: 20 us .. ~10 ms */
		uint64_t v = 20000 + (x % 1000) * (x % 1000) * ((x >> 20) % 10 + 1);
		vals[i] = v;
		histogram_record(&h1, v);
	}
	qsort(vals, N, sizeof(*vals), cmp_u64);
	double pcts[] = {1, 50, 90, 99, 99.9, 99.99};
	for (size_t i = 0; i < sizeof(pcts) / sizeof(pcts[0]); i++) {
		size_t rank = (size_t)(pcts[i] / 100.0 * N + 0.999999);
		uint64_t ref = vals[rank - 1];
		uint64_t got = histogram_percentile(&h1, pcts[i]);
		assert_true(got >= ref);
		assert_true(got - ref <= ref / 128);
	}
	assert_int_equal(histogram_percentile(&h1, 100), vals[N - 1]);
	assert_int_equal(h1.min, vals[0]);
	free(vals);
}

static void exact_small_distribution(void **state)
{
	(void)state;
	histogram_init(&h1);
	for (uint64_t v = 1; v <= 100; v++)
		histogram_record(&h1, v);
	assert_int_equal(histogram_percentile(&h1, 50), 50);
	assert_int_equal(histogram_percentile(&h1, 90), 90);
	assert_int_equal(histogram_percentile(&h1, 99), 99);
	assert_int_equal(histogram_percentile(&h1, 99.9), 100);
	assert_int_equal(histogram_percentile(&h1, 0), 1);
	assert_true(histogram_mean(&h1) == 50.5);
}

/* Recording into two and merging equals recording everything into one. */
static void merge_equals_single(void **state)
{
	(void)state;
	histogram_init(&h1);
	histogram_init(&h2);
	histogram_init(&h3);
	for (uint64_t v = 0; v < 50000; v++) {
		uint64_t val = v * 7919 % 3000000 + 500;
		histogram_record(v % 3 ? &h1 : &h2, val);
		histogram_record(&h3, val);
	}
	histogram_merge(&h1, &h2);
	assert_int_equal(h1.count, h3.count);
	assert_int_equal(h1.min, h3.min);
	assert_int_equal(h1.max, h3.max);
	assert_int_equal(h1.sum, h3.sum);
	assert_memory_equal(h1.buckets, h3.buckets, sizeof(h1.buckets));
	/* merging an empty one changes nothing, into an empty one copies */
	histogram_init(&h2);
	histogram_merge(&h1, &h2);
	assert_int_equal(h1.count, h3.count);
	histogram_merge(&h2, &h3);
	assert_int_equal(h2.min, h3.min);
	assert_int_equal(histogram_percentile(&h2, 99), histogram_percentile(&h3, 99));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(bucket_bounds),
		cmocka_unit_test(clamps_huge_values),
		cmocka_unit_test(empty_is_zero),
		cmocka_unit_test(percentiles_match_sorted_reference),
		cmocka_unit_test(exact_small_distribution),
		cmocka_unit_test(merge_equals_single),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
