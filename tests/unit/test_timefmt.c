/* test_timefmt.c - the format checker refuses all but POSIX conversions, and replies stay
 * within max(request, 64) bytes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "timefmt.h"

static const struct tm fixed = {
	.tm_year = 126,
	.tm_mon = 10,
	.tm_mday = 25,
	.tm_hour = 9,
	.tm_min = 5,
	.tm_sec = 7,
	.tm_wday = 3,
	.tm_yday = 328,
};

static int check(const char *fmt, char *err)
{
	return timefmt_check(fmt, strlen(fmt), false, err, 128);
}

static void every_allowed_conversion_passes(void **state)
{
	(void)state;
	char err[128], fmt[3] = "%";
	for (const char *c = TIMEFMT_ALLOWED; *c; c++) {
		fmt[1] = *c;
		assert_int_equal(check(fmt, err), 0);
	}
	assert_int_equal(check("", err), 0);
	assert_int_equal(check("plain text", err), 0);
	assert_int_equal(check("%Y年%m月%d日", err), 0);
	assert_int_equal(check("100%% at %H:%M", err), 0);
}

static void every_other_conversion_is_refused(void **state)
{
	(void)state;
	char err[128], fmt[3] = "%";
	for (int c = 1; c < 256; c++) {
		if (strchr(TIMEFMT_ALLOWED, c) != NULL)
			continue;
		fmt[1] = (char)c;
		assert_int_equal(timefmt_check(fmt, 2, false, err, sizeof(err)), -1);
		assert_non_null(strstr(err, "unsupported conversion %"));
	}
}

static void flags_widths_and_modifiers_are_refused(void **state)
{
	(void)state;
	static const char *const bad[][2] = {
		{"%600Y", "unsupported conversion %600Y"},
		{"%Ey", "unsupported conversion %Ey"},
		{"%Od", "unsupported conversion %Od"},
		{"%-d", "unsupported conversion %-d"},
		{"%_H", "unsupported conversion %_H"},
		{"%^a", "unsupported conversion %^a"},
		{"%#Z", "unsupported conversion %#Z"},
		{"%010Y", "unsupported conversion %010Y"},
		{"%+Y", "unsupported conversion %+Y"},
		{"%E", "unsupported conversion %E"},
		{"x%s", "unsupported conversion %s"},
		{"%Y%", "format ends in a lone %"},
		{"%", "format ends in a lone %"},
		{"%00000000000000000000000000Y", "unsupported conversion %000000000000000..."},
	};
	char err[128];
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(check(bad[i][0], err), -1);
		assert_string_equal(err, bad[i][1]);
	}
	assert_int_equal(timefmt_check("%Y\0%m", 6, false, err, sizeof(err)), -1);
	assert_string_equal(err, "NUL byte in format");
	assert_int_equal(timefmt_check("\x1b%\x01", 3, false, err, sizeof(err)), -1);
	assert_string_equal(err, "unsupported conversion %\\x01");
	assert_int_equal(timefmt_check("%n", 2, true, err, sizeof(err)), -1);
	assert_int_equal(timefmt_check("%n", 2, false, err, sizeof(err)), 0);
}

static size_t reply(const char *req, char *out, size_t cap)
{
	size_t n = timefmt_reply(req, strlen(req), false, &fixed, out, cap);
	out[n] = '\0';
	return n;
}

static void formats_and_defaults(void **state)
{
	(void)state;
	char out[1024];
	reply("", out, sizeof(out));
	assert_string_equal(out, "2026-11-25 09:05:07");
	reply("%Y %m %d", out, sizeof(out));
	assert_string_equal(out, "2026 11 25");
	reply("%Y年%m月%d日", out, sizeof(out));
	assert_string_equal(out, "2026年11月25日");
	reply("%%%H", out, sizeof(out));
	assert_string_equal(out, "%09");
	reply("%600Y", out, sizeof(out));
	assert_string_equal(out, "error: unsupported conversion %600Y");
}

static void reply_never_exceeds_the_cap(void **state)
{
	(void)state;
	char req[TIMEFMT_MAX_REQUEST + 2], out[4096];
	/* 32 x "%c" is 64 bytes of request asking for ~24 x 32 bytes */
	for (int i = 0; i < 32; i++)
		memcpy(req + 2 * i, "%c", 2);
	req[64] = '\0';
	size_t n = reply(req, out, sizeof(out));
	assert_true(n <= 64);
	assert_string_equal(out, "error: reply would be over 64 bytes");
	/* every request length: the reply is within max(len, 64) */
	for (size_t len = 0; len <= TIMEFMT_MAX_REQUEST + 1; len++) {
		for (size_t i = 0; i < len; i++)
			req[i] = i % 2 ? 'A' : '%';
		req[len] = '\0';
		n = reply(req, out, sizeof(out));
		assert_true(n <= (len > 64 ? len : 64));
	}
	/* the outcap given by the caller wins */
	n = timefmt_reply("%Y-%m-%d", 8, false, &fixed, out, 5);
	assert_true(n <= 5);
}

static void oversized_request_is_refused(void **state)
{
	(void)state;
	char req[TIMEFMT_MAX_REQUEST + 1], out[1024];
	memset(req, 'x', sizeof(req));
	size_t n = timefmt_reply(req, sizeof(req), false, &fixed, out, sizeof(out));
	out[n] = '\0';
	assert_string_equal(out, "error: request over 256 bytes");
	n = timefmt_reply(req, TIMEFMT_MAX_REQUEST, false, &fixed, out, sizeof(out));
	assert_int_equal(n, TIMEFMT_MAX_REQUEST);
	assert_memory_equal(out, req, n);
}

static void daytime_text(void **state)
{
	(void)state;
	char out[80];
	size_t n = timefmt_daytime(&fixed, "CET", out, sizeof(out));
	assert_string_equal(out, "Wednesday, November 25, 2026 09:05:07-CET");
	assert_int_equal(n, strlen(out));
	n = timefmt_daytime(&fixed, "CET", out, 10);
	assert_int_equal(n, 9);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_allowed_conversion_passes),
		cmocka_unit_test(every_other_conversion_is_refused),
		cmocka_unit_test(flags_widths_and_modifiers_are_refused),
		cmocka_unit_test(formats_and_defaults),
		cmocka_unit_test(reply_never_exceeds_the_cap),
		cmocka_unit_test(oversized_request_is_refused),
		cmocka_unit_test(daytime_text),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
