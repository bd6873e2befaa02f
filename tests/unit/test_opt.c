/* test_opt.c - typed option tables: every type, its bounds, and its error text word for word. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "opt.h"

struct cfg {
	bool plain;
	unsigned max_conns;
	size_t output_cap;
	unsigned timeout_ms;
	char *name;
};

static const struct opt_desc table[] = {
	{.name = "plain",
	 .type = OPT_BOOL,
	 .offset = offsetof(struct cfg, plain),
	 .help = "echo unchanged"},
	{.name = "max-conns",
	 .type = OPT_UINT,
	 .offset = offsetof(struct cfg, max_conns),
	 .min = 1,
	 .max = 1000000,
	 .metavar = "N",
	 .help = "connections at once"},
	{.name = "output-cap",
	 .type = OPT_SIZE,
	 .offset = offsetof(struct cfg, output_cap),
	 .min = 4096,
	 .max = 1ull << 30,
	 .metavar = "BYTES",
	 .help = "unsent bytes"},
	{.name = "idle-timeout",
	 .type = OPT_SECONDS,
	 .offset = offsetof(struct cfg, timeout_ms),
	 .min = 0,
	 .max = 86400000,
	 .metavar = "SECONDS",
	 .help = "idle limit"},
	{.name = "name",
	 .type = OPT_STRING,
	 .offset = offsetof(struct cfg, name),
	 .metavar = "TEXT",
	 .help = "a name"},
	OPT_END,
};

static const struct opt_desc *find(const char *name)
{
	const struct opt_desc *d = opt_find(table, name);
	assert_non_null(d);
	return d;
}

static void set_ok(struct cfg *c, const char *name, const char *value)
{
	char err[256] = "";
	if (opt_set(find(name), c, value, false, err, sizeof(err)) != 0)
		fail_msg("--%s %s refused: %s", name, value, err);
}

static void set_bad(const char *name, const char *value, bool for_config, const char *want)
{
	struct cfg c = {.max_conns = 7, .output_cap = 8192, .timeout_ms = 5};
	char err[256] = "";
	assert_int_equal(opt_set(find(name), &c, value, for_config, err, sizeof(err)), -1);
	assert_string_equal(err, want);
	/* a refused value leaves the config as it was */
	assert_int_equal(c.max_conns, 7);
	assert_int_equal(c.output_cap, 8192);
	assert_int_equal(c.timeout_ms, 5);
	assert_false(c.plain);
	assert_null(c.name);
}

static void find_by_name(void **state)
{
	(void)state;
	assert_ptr_equal(opt_find(table, "max-conns"), &table[1]);
	assert_null(opt_find(table, "max"));
	assert_null(opt_find(table, "max-conns-x"));
	assert_null(opt_find(NULL, "plain"));
}

static void bools(void **state)
{
	(void)state;
	static const char *const yes[] = {"1", "true", "yes", "on", "TRUE", "Yes", "ON"};
	static const char *const no[] = {"0", "false", "no", "off", "FALSE", "No", "Off"};
	struct cfg c = {0};
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		c.plain = false;
		set_ok(&c, "plain", yes[i]);
		assert_true(c.plain);
		set_ok(&c, "plain", no[i]);
		assert_false(c.plain);
	}
	set_bad("plain", "maybe", false, "--plain: expected true or false, got 'maybe'");
	set_bad("plain", "", true, "plain: expected true or false, got ''");
}

static void uints(void **state)
{
	(void)state;
	struct cfg c = {0};
	set_ok(&c, "max-conns", "1");
	assert_int_equal(c.max_conns, 1);
	set_ok(&c, "max-conns", "1000000");
	assert_int_equal(c.max_conns, 1000000);
	set_ok(&c, "max-conns", "00042");
	assert_int_equal(c.max_conns, 42);
	static const char *const bad[] = {"0",
					  "1000001",
					  "-5",
					  " 5",
					  "5 ",
					  "+5",
					  "5x",
					  "",
					  "1e3",
					  "0x10",
					  "99999999999999999999999"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char want[256];
		snprintf(want, sizeof(want),
			 "--max-conns: expected a whole number from 1 to 1000000, got '%s'",
			 bad[i]);
		set_bad("max-conns", bad[i], false, want);
	}
	set_bad("max-conns", "x", true,
		"max-conns: expected a whole number from 1 to 1000000, got 'x'");
}

static void sizes(void **state)
{
	(void)state;
	struct cfg c = {0};
	static const struct {
		const char *text;
		size_t value;
	} ok[] = {
		{"4096", 4096},  {"4k", 4096},
		{"4K", 4096},    {"64KB", 65536},
		{"1m", 1 << 20}, {"256M", 256 << 20},
		{"1G", 1 << 30}, {"1g", 1 << 30},
		{"5000b", 5000}, {"1073741824", 1ull << 30},
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		set_ok(&c, "output-cap", ok[i].text);
		assert_int_equal(c.output_cap, ok[i].value);
	}
	static const char *const bad[] = {"4095", "3k",  "2G", "1073741825", "-4k",         "k",
					  "4 k",  "4kk", "4T", "",           "17179869184G"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char want[256];
		snprintf(want, sizeof(want),
			 "--output-cap: expected a size from 4096 to 1073741824 bytes (K, M, G "
			 "suffixes), got '%s'",
			 bad[i]);
		set_bad("output-cap", bad[i], false, want);
	}
}

static void seconds(void **state)
{
	(void)state;
	struct cfg c = {0};
	static const struct {
		const char *text;
		unsigned ms;
	} ok[] = {{"0", 0},      {"2", 2000},         {"0.5", 500},   {".25", 250},
		  {"1.5", 1500}, {"86400", 86400000}, {"300", 300000}};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		set_ok(&c, "idle-timeout", ok[i].text);
		assert_int_equal(c.timeout_ms, ok[i].ms);
	}
	static const char *const bad[] = {"-1",  "86400.001", "1s", "",    ".",
					  "nan", "inf",       " 1", "1e10"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char want[256];
		snprintf(want, sizeof(want),
			 "--idle-timeout: expected seconds from 0 to 86400, got '%s'", bad[i]);
		set_bad("idle-timeout", bad[i], false, want);
	}
	set_bad("idle-timeout", "soon", true,
		"idle-timeout: expected seconds from 0 to 86400, got 'soon'");
}

static void strings(void **state)
{
	(void)state;
	struct cfg c = {0};
	set_ok(&c, "name", "first");
	assert_string_equal(c.name, "first");
	set_ok(&c, "name", "second"); /* replaces and frees the old copy */
	assert_string_equal(c.name, "second");
	char value[] = "mutable";
	set_ok(&c, "name", value);
	value[0] = 'X'; /* a copy, not the caller's buffer */
	assert_string_equal(c.name, "mutable");
	set_ok(&c, "name", "");
	assert_string_equal(c.name, "");
	free(c.name);
}

static void help_lines_show_defaults(void **state)
{
	(void)state;
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	assert_non_null(f);
	struct cfg defaults = {.max_conns = 10000,
			       .output_cap = 262144,
			       .timeout_ms = 300500,
			       .name = (char *)"sockit"};
	opt_print_help(f, table, &defaults);
	fclose(f);
	assert_string_equal(text,
			    "  --plain                    echo unchanged\n"
			    "  --max-conns N              connections at once (default: 10000)\n"
			    "  --output-cap BYTES         unsent bytes (default: 262144)\n"
			    "  --idle-timeout SECONDS     idle limit (default: 300.5)\n"
			    "  --name TEXT                a name (default: sockit)\n");
	free(text);
}

/* The whole-number check OPT_UINT uses, for option checks of their own (--busy-poll). */
static void parse_uint_digits_only_in_range(void **state)
{
	(void)state;
	unsigned long long v = 0;
	assert_int_equal(opt_parse_uint("0", 0, 10, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(opt_parse_uint("10", 0, 10, &v), 0);
	assert_int_equal(v, 10);
	const char *bad[] = {"11", "",    "-1",  " 5", "+5",
			     "5 ", "1.5", "5us", "x",  "99999999999999999999999"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(opt_parse_uint(bad[i], 0, 10, &v), -1);
	assert_int_equal(opt_parse_uint("3", 4, 10, &v), -1); /* below min */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(find_by_name), cmocka_unit_test(bools),
		cmocka_unit_test(uints),        cmocka_unit_test(parse_uint_digits_only_in_range),
		cmocka_unit_test(sizes),        cmocka_unit_test(seconds),
		cmocka_unit_test(strings),      cmocka_unit_test(help_lines_show_defaults),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
