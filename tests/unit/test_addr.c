/* test_addr.c - endpoint specs: every accepted form, and clear errors for bad ones. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "addr.h"

static struct addr_spec parse_ok(const char *text, enum addr_transport def)
{
	struct addr_spec spec;
	char err[256] = "";
	int rc = addr_parse(text, def, &spec, err, sizeof(err));
	if (rc != 0)
		fail_msg("'%s' refused: %s", text, err);
	return spec;
}

static void expect_error(const char *text, const char *message)
{
	struct addr_spec spec;
	char err[256] = "";
	assert_int_equal(addr_parse(text, ADDR_TCP, &spec, err, sizeof(err)), -1);
	assert_string_equal(err, message);
}

static void good_specs(void **state)
{
	(void)state;
	struct addr_spec s = parse_ok("tcp:127.0.0.1:9000", ADDR_UDP);
	assert_int_equal(s.transport, ADDR_TCP);
	assert_string_equal(s.host, "127.0.0.1");
	assert_int_equal(s.port, 9000);

	s = parse_ok("udp:localhost:0", ADDR_TCP);
	assert_int_equal(s.transport, ADDR_UDP);
	assert_string_equal(s.host, "localhost");
	assert_int_equal(s.port, 0);

	s = parse_ok("127.0.0.1:65535", ADDR_TCP);
	assert_int_equal(s.transport, ADDR_TCP);
	assert_int_equal(s.port, 65535);

	s = parse_ok("example.org:7", ADDR_UDP); /* bare HOST:PORT takes the caller's default */
	assert_int_equal(s.transport, ADDR_UDP);

	s = parse_ok("tcp:[::1]:9000", ADDR_TCP);
	assert_string_equal(s.host, "::1");
	assert_int_equal(s.port, 9000);

	s = parse_ok("[fe80::1%lo]:80", ADDR_TCP);
	assert_string_equal(s.host, "fe80::1%lo");

	s = parse_ok(":9000", ADDR_TCP);
	assert_string_equal(s.host, "");

	s = parse_ok("unix:/run/sockit.sock", ADDR_TCP);
	assert_int_equal(s.transport, ADDR_UNIX);
	assert_string_equal(s.path, "/run/sockit.sock");

	s = parse_ok("unix:@abstract", ADDR_TCP);
	assert_string_equal(s.path, "@abstract");
}

static void bad_specs(void **state)
{
	(void)state;
	expect_error("127.0.0.1", "bad address '127.0.0.1': expected HOST:PORT, [IPV6]:PORT or "
				  "unix:/path");
	expect_error("tcp:127.0.0.1:", "bad address 'tcp:127.0.0.1:': missing port");
	expect_error("tcp:127.0.0.1:65536",
		     "bad address 'tcp:127.0.0.1:65536': port 65536 is out of range (0-65535)");
	expect_error("tcp:127.0.0.1:http", "bad address 'tcp:127.0.0.1:http': port 'http' is not a "
					   "number");
	expect_error("tcp:127.0.0.1:-1",
		     "bad address 'tcp:127.0.0.1:-1': port '-1' is not a number");
	expect_error("::1:9000", "bad address '::1:9000': write IPv6 addresses as [::1]:PORT");
	expect_error("[::1:9000", "bad address '[::1:9000': missing ']'");
	expect_error("[::1]9000", "bad address '[::1]9000': expected ':PORT' after ']'");
	expect_error("[localhost]:1",
		     "bad address '[localhost]:1': brackets are for IPv6 addresses");
	expect_error("unix:", "bad address 'unix:': missing socket path");
	expect_error("bad host:1", "bad address 'bad host:1': invalid character in host");

	char longpath[200] = "unix:/";
	memset(longpath + 6, 'a', 150);
	longpath[156] = '\0';
	struct addr_spec spec;
	char err[256];
	assert_int_equal(addr_parse(longpath, ADDR_TCP, &spec, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "socket path longer than 107 bytes"));
}

static void host_port_pair(void **state)
{
	(void)state;
	struct addr_spec s;
	char err[256];
	assert_int_equal(addr_parse_host_port("127.0.0.1", "9000", ADDR_UDP, &s, err, sizeof(err)),
			 0);
	assert_int_equal(s.transport, ADDR_UDP);
	assert_int_equal(s.port, 9000);
	assert_int_equal(addr_parse_host_port("::1", "7", ADDR_TCP, &s, err, sizeof(err)), 0);
	assert_string_equal(s.host, "::1");
	assert_int_equal(addr_parse_host_port("h", "x", ADDR_TCP, &s, err, sizeof(err)), -1);
}

static void format_round_trip(void **state)
{
	(void)state;
	const char *specs[] = {"tcp:127.0.0.1:9000", "udp:[::1]:53", "unix:/tmp/x.sock"};
	for (size_t i = 0; i < 3; i++) {
		struct addr_spec s = parse_ok(specs[i], ADDR_TCP);
		char out[ADDR_TEXT_MAX];
		addr_format(&s, out, sizeof(out));
		assert_string_equal(out, specs[i]);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(good_specs),
		cmocka_unit_test(bad_specs),
		cmocka_unit_test(host_port_pair),
		cmocka_unit_test(format_round_trip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
