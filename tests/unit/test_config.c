/* test_config.c - the config file parser: what it accepts, and each error word for word. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"

struct general {
	unsigned max_conns;
	size_t output_cap;
	unsigned idle_ms;
	bool loopback;
	char *bind;
};

struct svc {
	bool plain;
};

static const struct opt_desc general_options[] = {
	{.name = "max-conns",
	 .type = OPT_UINT,
	 .offset = offsetof(struct general, max_conns),
	 .min = 1,
	 .max = 1000},
	{.name = "output-cap",
	 .type = OPT_SIZE,
	 .offset = offsetof(struct general, output_cap),
	 .min = 4096,
	 .max = 1u << 30},
	{.name = "idle-timeout",
	 .type = OPT_SECONDS,
	 .offset = offsetof(struct general, idle_ms),
	 .min = 0,
	 .max = 86400000},
	{.name = "limit-loopback", .type = OPT_BOOL, .offset = offsetof(struct general, loopback)},
	{.name = "bind", .type = OPT_STRING, .offset = offsetof(struct general, bind)},
	OPT_END,
};

static const struct opt_desc svc_options[] = {
	{.name = "plain", .type = OPT_BOOL, .offset = offsetof(struct svc, plain)},
	OPT_END,
};

struct fixture {
	struct general general;
	struct svc echo, time;
	char listens[8][64];
	size_t listen_section[8];
	size_t nlistens;
	struct config_section sections[3];
	struct config_schema schema;
};

static struct fixture fx;

/* Accepts anything but "bad", as serve.c's endpoint check would refuse an address. */
static int record_listen(void *arg, size_t section, const char *value, char *err, size_t errlen)
{
	struct fixture *f = arg;
	if (strcmp(value, "bad") == 0) {
		snprintf(err, errlen, "expected tcp:HOST:PORT, got 'bad'");
		return -1;
	}
	snprintf(f->listens[f->nlistens], sizeof(f->listens[0]), "%s", value);
	f->listen_section[f->nlistens++] = section;
	return 0;
}

static int setup(void **state)
{
	(void)state;
	free(fx.general.bind);
	memset(&fx, 0, sizeof(fx));
	fx.general.max_conns = 10;
	fx.sections[0] = (struct config_section){"serve", general_options, &fx.general, false};
	fx.sections[1] = (struct config_section){"echo", svc_options, &fx.echo, true};
	fx.sections[2] = (struct config_section){"time", NULL, &fx.time, true};
	fx.schema = (struct config_schema){fx.sections, 3, record_listen, &fx};
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	free(fx.general.bind);
	fx.general.bind = NULL;
	return 0;
}

static int parse(const char *text, char *err, size_t errlen)
{
	err[0] = '\0';
	return config_parse(&fx.schema, "t.conf", text, strlen(text), err, errlen);
}

static void expect_error(const char *text, const char *message)
{
	char err[CONFIG_ERR_LEN];
	assert_int_equal(parse(text, err, sizeof(err)), -1);
	assert_string_equal(err, message);
}

static void accepts_every_form(void **state)
{
	(void)state;
	char err[CONFIG_ERR_LEN];
	const char *text = "# a comment\n"
			   "; another\n"
			   "\n"
			   "[serve]\n"
			   "  max-conns = 500  \r\n"
			   "output-cap=64K\n"
			   "idle-timeout = 1.5\n"
			   "limit-loopback = yes\n"
			   "bind = ::1\n"
			   "[ echo ]\n"
			   "listen = tcp:127.0.0.1:7\n"
			   "listen = udp:127.0.0.1:7\n"
			   "plain = off\n"
			   "[time]\n"
			   "listen = tcp::37"; /* no final newline */
	assert_int_equal(parse(text, err, sizeof(err)), 0);
	assert_int_equal(fx.general.max_conns, 500);
	assert_int_equal(fx.general.output_cap, 64 * 1024);
	assert_int_equal(fx.general.idle_ms, 1500);
	assert_true(fx.general.loopback);
	assert_string_equal(fx.general.bind, "::1");
	assert_false(fx.echo.plain);
	assert_int_equal(fx.nlistens, 3);
	assert_string_equal(fx.listens[0], "tcp:127.0.0.1:7");
	assert_int_equal(fx.listen_section[0], 1);
	assert_string_equal(fx.listens[1], "udp:127.0.0.1:7");
	assert_string_equal(fx.listens[2], "tcp::37");
	assert_int_equal(fx.listen_section[2], 2);
}

static void empty_text_is_valid(void **state)
{
	(void)state;
	char err[CONFIG_ERR_LEN];
	assert_int_equal(parse("", err, sizeof(err)), 0);
	assert_int_equal(parse("\n\n# only comments\n", err, sizeof(err)), 0);
	assert_int_equal(fx.general.max_conns, 10);
}

static void a_later_line_wins(void **state)
{
	(void)state;
	char err[CONFIG_ERR_LEN];
	assert_int_equal(
		parse("[serve]\nmax-conns = 1\n[echo]\n[serve]\nmax-conns = 2\n", err, sizeof(err)),
		0);
	assert_int_equal(fx.general.max_conns, 2);
}

static void errors_name_file_line_and_expectation(void **state)
{
	(void)state;
	expect_error("[serve]\nmax-conns\n", "t.conf:2: expected 'key = value', got 'max-conns'");
	expect_error("[serve\n", "t.conf:1: expected '[section]', got '[serve'");
	expect_error("\n[dns]\n",
		     "t.conf:2: unknown section [dns]; expected one of: [serve], [echo], [time]");
	expect_error(
		"max-conns = 5\n",
		"t.conf:1: key 'max-conns' is outside any section; expected a [section] first");
	expect_error("[serve]\n= 5\n", "t.conf:2: expected a key before '=', got '= 5'");
	expect_error("[echo]\nplian = yes\n",
		     "t.conf:2: [echo] unknown key 'plian'; expected one of: listen, plain");
	expect_error("[time]\nplain = yes\n",
		     "t.conf:2: [time] unknown key 'plain'; expected one of: listen");
	expect_error("[serve]\nlisten = tcp::7\n",
		     "t.conf:2: [serve] unknown key 'listen'; expected one of: max-conns, "
		     "output-cap, idle-timeout, limit-loopback, bind");
	expect_error("[echo]\nlisten = bad\n",
		     "t.conf:2: [echo] listen: expected tcp:HOST:PORT, got 'bad'");
}

static void value_errors_come_from_the_option_table(void **state)
{
	(void)state;
	expect_error("[serve]\nmax-conns = lots\n",
		     "t.conf:2: [serve] max-conns: expected a whole number from 1 to 1000, got "
		     "'lots'");
	expect_error(
		"[serve]\nmax-conns = 0\n",
		"t.conf:2: [serve] max-conns: expected a whole number from 1 to 1000, got '0'");
	expect_error("[serve]\nmax-conns =\n",
		     "t.conf:2: [serve] max-conns: expected a whole number from 1 to 1000, got ''");
	expect_error("[serve]\noutput-cap = 1X\n",
		     "t.conf:2: [serve] output-cap: expected a size from 4096 to 1073741824 bytes "
		     "(K, M, G suffixes), got '1X'");
	expect_error("[serve]\nidle-timeout = -1\n",
		     "t.conf:2: [serve] idle-timeout: expected seconds from 0 to 86400, got '-1'");
	expect_error("[echo]\nplain = maybe\n",
		     "t.conf:2: [echo] plain: expected true or false, got 'maybe'");
}

static void long_lines_and_nul_bytes_are_refused(void **state)
{
	(void)state;
	static char text[CONFIG_LINE_MAX + 64];
	memcpy(text, "[serve]\n", 8);
	memset(text + 8, '#', CONFIG_LINE_MAX + 1);
	text[CONFIG_LINE_MAX + 1 + 8] = '\0';
	char err[CONFIG_ERR_LEN];
	assert_int_equal(parse(text, err, sizeof(err)), -1);
	assert_string_equal(err, "t.conf:2: line longer than 4096 bytes");

	memset(text + 8, '#', CONFIG_LINE_MAX);
	text[CONFIG_LINE_MAX + 8] = '\0';
	assert_int_equal(parse(text, err, sizeof(err)), 0);

	assert_int_equal(
		config_parse(&fx.schema, "t.conf", "[serve]\n#\0x\n", 11, err, sizeof(err)), -1);
	assert_string_equal(err, "t.conf:2: NUL byte in line; expected text");
}

static void load_reads_a_file_and_names_missing_ones(void **state)
{
	(void)state;
	char path[] = "/tmp/test_config_XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	const char text[] = "[serve]\nmax-conns = 7\n";
	assert_int_equal(write(fd, text, sizeof(text) - 1), (ssize_t)(sizeof(text) - 1));
	close(fd);
	char err[CONFIG_ERR_LEN];
	assert_int_equal(config_load(&fx.schema, path, err, sizeof(err)), 0);
	assert_int_equal(fx.general.max_conns, 7);
	unlink(path);
	assert_int_equal(config_load(&fx.schema, path, err, sizeof(err)), -1);
	char want[128];
	snprintf(want, sizeof(want), "%s: No such file or directory", path);
	assert_string_equal(err, want);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(accepts_every_form, setup, teardown),
		cmocka_unit_test_setup_teardown(empty_text_is_valid, setup, teardown),
		cmocka_unit_test_setup_teardown(a_later_line_wins, setup, teardown),
		cmocka_unit_test_setup_teardown(errors_name_file_line_and_expectation, setup,
						teardown),
		cmocka_unit_test_setup_teardown(value_errors_come_from_the_option_table, setup,
						teardown),
		cmocka_unit_test_setup_teardown(long_lines_and_nul_bytes_are_refused, setup,
						teardown),
		cmocka_unit_test_setup_teardown(load_reads_a_file_and_names_missing_ones, setup,
						teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
