/* test_metrics.c - the Prometheus exposition text: names, labels, values, and overflow. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "metrics.h"

static void formats_every_counter_per_service(void **state)
{
	(void)state;
	struct service_stats echo = {.conns_accepted = 3, .bytes_in = 42, .rate_limited = 7};
	struct service_stats time = {.replies = 5, .conns_active = 1};
	struct metrics_ctx m = {.n = 2, .names = {"echo", "time"}, .stats = {&echo, &time}};
	static char out[METRICS_BODY_MAX];
	size_t n = metrics_format(&m, out, sizeof(out));
	assert_true(n > 0);
	assert_int_equal(strlen(out), n);
	assert_non_null(strstr(out, "# HELP sockit_connections_accepted_total Stream connections "
				    "accepted.\n# TYPE sockit_connections_accepted_total counter\n"
				    "sockit_connections_accepted_total{service=\"echo\"} 3\n"
				    "sockit_connections_accepted_total{service=\"time\"} 0\n"));
	assert_non_null(strstr(out, "# TYPE sockit_connections_active gauge\n"));
	assert_non_null(strstr(out, "sockit_connections_active{service=\"time\"} 1\n"));
	assert_non_null(strstr(out, "sockit_received_bytes_total{service=\"echo\"} 42\n"));
	assert_non_null(strstr(out, "sockit_replies_total{service=\"time\"} 5\n"));
	assert_non_null(strstr(out, "sockit_rate_limited_total{service=\"echo\"} 7\n"));
	assert_non_null(strstr(out, "sockit_errors_total{service=\"echo\"} 0\n"));
	assert_int_equal(out[n - 1], '\n');
	assert_non_null(
		strstr(out, "# TYPE sockit_build_info gauge\nsockit_build_info{version=\""));
}

static void large_values_print_in_full(void **state)
{
	(void)state;
	struct service_stats s = {.bytes_out = UINT64_MAX};
	struct metrics_ctx m = {.n = 1, .names = {"echo"}, .stats = {&s}};
	static char out[METRICS_BODY_MAX];
	assert_true(metrics_format(&m, out, sizeof(out)) > 0);
	assert_non_null(strstr(out, "sockit_sent_bytes_total{service=\"echo\"} "
				    "18446744073709551615\n"));
}

static void too_small_a_buffer_gives_zero(void **state)
{
	(void)state;
	struct service_stats s = {0};
	struct metrics_ctx m = {.n = 1, .names = {"echo"}, .stats = {&s}};
	char out[200];
	assert_int_equal(metrics_format(&m, out, sizeof(out)), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(formats_every_counter_per_service),
		cmocka_unit_test(large_values_print_in_full),
		cmocka_unit_test(too_small_a_buffer_gives_zero),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
