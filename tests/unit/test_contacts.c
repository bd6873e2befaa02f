/* test_contacts.c - the contact book parser: the seed's names, comments, and errors that
 * name the file and line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "contacts.h"

static int setup(void **state)
{
	*state = calloc(1, sizeof(struct contact_book));
	return *state == NULL ? -1 : 0;
}

static int teardown(void **state)
{
	free(*state);
	return 0;
}

static int parse(struct contact_book *book, const char *text, char *err, size_t errlen)
{
	return contacts_parse_text(book, text, strlen(text), "book", err, errlen);
}

static void seed_names_and_comments(void **state)
{
	struct contact_book *book = *state;
	char err[CONTACTS_ERR_LEN] = "";
	const char *text = "# the seed's contacts\n"
			   "\n"
			   "狗哥alex udp:127.0.0.1:8081\n"
			   "  瞎驴\t127.0.0.1:8082   # trailing comment\n"
			   "ipv6 udp:[::1]:9\r\n"
			   "last localhost:7"; /* no final newline */
	assert_int_equal(parse(book, text, err, sizeof(err)), 0);
	assert_int_equal(book->count, 4);
	const struct contact *c = contacts_find(book, "狗哥alex");
	assert_non_null(c);
	assert_int_equal(c->spec.transport, ADDR_UDP);
	assert_string_equal(c->spec.host, "127.0.0.1");
	assert_int_equal(c->spec.port, 8081);
	c = contacts_find(book, "瞎驴");
	assert_non_null(c);
	assert_int_equal(c->spec.port, 8082);
	c = contacts_find(book, "ipv6");
	assert_non_null(c);
	assert_string_equal(c->spec.host, "::1");
	c = contacts_find(book, "last");
	assert_non_null(c);
	assert_string_equal(c->spec.host, "localhost");
	assert_null(contacts_find(book, "狗哥"));
	assert_null(contacts_find(book, "nobody"));
}

static void expect_error(struct contact_book *book, const char *text, const char *want)
{
	char err[CONTACTS_ERR_LEN] = "";
	assert_int_equal(parse(book, text, err, sizeof(err)), -1);
	if (strstr(err, want) == NULL)
		fail_msg("error '%s' lacks '%s'", err, want);
}

static void errors_name_file_and_line(void **state)
{
	struct contact_book *book = *state;
	expect_error(book, "a udp:127.0.0.1:1\n# ok\nlonely\n", "book:3: expected 'NAME ADDR'");
	book->count = 0;
	expect_error(book, "\n\nx tcp:127.0.0.1:5\n",
		     "book:3: contact 'x': 'tcp:127.0.0.1:5' is "
		     "not a udp address");
	book->count = 0;
	expect_error(book, "x udp:127.0.0.1:99999\n", "book:1: contact 'x': ");
	book->count = 0;
	expect_error(book, "x 127.0.0.1:5 extra\n", "book:1: unexpected 'extra'");
	book->count = 0;
	expect_error(book, "x 127.0.0.1:5\ny 1.2.3.4:6\nx 127.0.0.1:7\n",
		     "book:3: contact 'x' is already defined");
	book->count = 0;
	expect_error(book, "bad\xffname 127.0.0.1:5\n", "book:1: contact name 'bad\xef\xbf\xbd");
	book->count = 0;
	expect_error(book, "a\x1b[2J 127.0.0.1:5\n",
		     "book:1: contact name 'a\\x1b[2J' has control");
	book->count = 0;
	expect_error(book, "/to 127.0.0.1:5\n", "book:1: contact name '/to' must not start");
	book->count = 0;
	expect_error(book, "a=b 127.0.0.1:5\n", "must not contain '='");
	book->count = 0;
	expect_error(book, "x 127.0.0.1:0\n", "needs a host and a port");
	book->count = 0;
	expect_error(book, "x\0y 127.0.0.1:5\n", "expected 'NAME ADDR'"); /* strlen stops */
	char big[CONTACTS_LINE_MAX + 20];
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	book->count = 0;
	expect_error(book, big, "book:1: line of");
	char longname[CONTACT_NAME_MAX + 20];
	memset(longname, 'n', CONTACT_NAME_MAX + 1);
	strcpy(longname + CONTACT_NAME_MAX + 1, " 1.2.3.4:5");
	book->count = 0;
	expect_error(book, longname, "over the 64-byte limit");
}

static void nul_inside_a_line(void **state)
{
	struct contact_book *book = *state;
	char err[CONTACTS_ERR_LEN] = "";
	static const char text[] = "a 1.2.3.4:5\nb\0c 1.2.3.4:6\n";
	assert_int_equal(contacts_parse_text(book, text, sizeof(text) - 1, "f", err, sizeof(err)),
			 -1);
	assert_string_equal(err, "f:2: NUL byte in the line");
}

static void too_many_contacts(void **state)
{
	struct contact_book *book = *state;
	char err[CONTACTS_ERR_LEN] = "", opt[64];
	for (int i = 0; i < CONTACTS_MAX; i++) {
		snprintf(opt, sizeof(opt), "c%d=127.0.0.1:%d", i, i + 1);
		assert_int_equal(contacts_parse_option(book, opt, err, sizeof(err)), 0);
	}
	assert_int_equal(contacts_parse_option(book, "one=1.2.3.4:5", err, sizeof(err)), -1);
	assert_string_equal(err, "more than 256 contacts");
}

static void option_form(void **state)
{
	struct contact_book *book = *state;
	char err[CONTACTS_ERR_LEN] = "";
	assert_int_equal(
		contacts_parse_option(book, "狗哥alex=udp:127.0.0.1:8081", err, sizeof(err)), 0);
	assert_int_equal(contacts_find(book, "狗哥alex")->spec.port, 8081);
	assert_int_equal(contacts_parse_option(book, "noequals", err, sizeof(err)), -1);
	assert_string_equal(err, "expected NAME=ADDR, got 'noequals'");
	assert_int_equal(contacts_parse_option(book, "=1.2.3.4:5", err, sizeof(err)), -1);
	assert_string_equal(err, "empty contact name");
	assert_int_equal(contacts_parse_option(book, "sp ace=1.2.3.4:5", err, sizeof(err)), -1);
	assert_string_equal(err, "contact name 'sp ace' must not contain ' '");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(seed_names_and_comments, setup, teardown),
		cmocka_unit_test_setup_teardown(errors_name_file_and_line, setup, teardown),
		cmocka_unit_test_setup_teardown(nul_inside_a_line, setup, teardown),
		cmocka_unit_test_setup_teardown(too_many_contacts, setup, teardown),
		cmocka_unit_test_setup_teardown(option_form, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
