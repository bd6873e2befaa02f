/* test_irc_msg.c - IRC line parsing and formatting, limits, case mapping and name checks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "irc_msg.h"

static int parse(char *buf, const char *text, struct irc_msg *m)
{
	size_t len = strlen(text);
	memcpy(buf, text, len + 1);
	return irc_msg_parse(buf, len, m);
}

static void parses_full_message(void **state)
{
	(void)state;
	char buf[IRC_LINE_MAX];
	struct irc_msg m;
	assert_int_equal(parse(buf, "@time=x;+typing :nick!u@h PRIVMSG  #room :hello there", &m),
			 0);
	assert_string_equal(m.tags, "time=x;+typing");
	assert_string_equal(m.prefix, "nick!u@h");
	assert_string_equal(m.command, "PRIVMSG");
	assert_int_equal(m.nparams, 2);
	assert_string_equal(m.params[0], "#room");
	assert_string_equal(m.params[1], "hello there");
}

static void parses_plain_and_empty_trailing(void **state)
{
	(void)state;
	char buf[IRC_LINE_MAX];
	struct irc_msg m;
	assert_int_equal(parse(buf, "NICK alice", &m), 0);
	assert_null(m.tags);
	assert_null(m.prefix);
	assert_int_equal(m.nparams, 1);
	assert_string_equal(m.params[0], "alice");

	assert_int_equal(parse(buf, "TOPIC #r :", &m), 0);
	assert_int_equal(m.nparams, 2);
	assert_string_equal(m.params[1], "");

	assert_int_equal(parse(buf, "USER a 0 * :Real Name: x", &m), 0);
	assert_int_equal(m.nparams, 4);
	assert_string_equal(m.params[3], "Real Name: x");

	assert_int_equal(parse(buf, "QUIT", &m), 0);
	assert_int_equal(m.nparams, 0);
	assert_int_equal(parse(buf, "PING x   ", &m), 0); /* trailing spaces add nothing */
	assert_int_equal(m.nparams, 1);
}

static void rejects_empty_and_bad(void **state)
{
	(void)state;
	char buf[IRC_LINE_MAX];
	struct irc_msg m;
	assert_int_equal(parse(buf, "", &m), IRC_PARSE_EMPTY);
	assert_int_equal(parse(buf, "    ", &m), IRC_PARSE_EMPTY);
	assert_int_equal(parse(buf, ":prefix", &m), IRC_PARSE_BAD);
	assert_int_equal(parse(buf, "@a=b", &m), IRC_PARSE_BAD);
	assert_int_equal(parse(buf, ":p  ", &m), IRC_PARSE_BAD);
}

static void extra_params_stay_in_the_last(void **state)
{
	(void)state;
	char buf[IRC_LINE_MAX];
	struct irc_msg m;
	assert_int_equal(parse(buf, "X 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17", &m), 0);
	assert_int_equal(m.nparams, IRC_PARAMS_MAX);
	assert_string_equal(m.params[13], "14");
	assert_string_equal(m.params[14], "15 16 17");
}

static void enforces_body_and_tag_limits(void **state)
{
	(void)state;
	static char buf[IRC_LINE_MAX * 2], text[IRC_LINE_MAX * 2];
	struct irc_msg m;
	/* Exactly 510 body bytes pass, 511 do not. */
	memset(text, 'a', sizeof(text));
	memcpy(text, "PRIVMSG #r :", 12);
	text[IRC_BODY_MAX] = '\0';
	assert_int_equal(parse(buf, text, &m), 0);
	text[IRC_BODY_MAX] = 'a';
	text[IRC_BODY_MAX + 1] = '\0';
	assert_int_equal(parse(buf, text, &m), IRC_PARSE_TOO_LONG);
	/* Tags have their own allowance on top of the body. */
	size_t tl = IRC_TAGS_MAX - 1; /* '@' + tl - 1 chars + ' ' */
	memset(text, 'k', tl);
	text[0] = '@';
	text[tl] = ' ';
	strcpy(text + tl + 1, "PING x");
	assert_int_equal(parse(buf, text, &m), 0);
	memset(text, 'k', tl + 1);
	text[0] = '@';
	text[tl + 1] = ' ';
	strcpy(text + tl + 2, "PING x");
	assert_int_equal(parse(buf, text, &m), IRC_PARSE_TOO_LONG);
}

/* The parser must not read past len: put the line's end against a PROT_NONE page. */
static void stops_at_page_boundary(void **state)
{
	(void)state;
	long page = sysconf(_SC_PAGESIZE);
	char *mem = mmap(NULL, (size_t)page * 2, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(mem != MAP_FAILED);
	assert_int_equal(mprotect(mem + page, (size_t)page, PROT_NONE), 0);
	const char *samples[] = {"PRIVMSG #a :hi", ":p CMD", "@t CMD a b", "CMD a ", "X"};
	for (size_t i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
		size_t len = strlen(samples[i]);
		char *line = mem + page - len - 1; /* line[len] is the last writable byte */
		memcpy(line, samples[i], len);
		struct irc_msg m;
		assert_int_equal(irc_msg_parse(line, len, &m), 0);
	}
	munmap(mem, (size_t)page * 2);
}

static void formats_with_colon_when_needed(void **state)
{
	(void)state;
	char out[IRC_LINE_MAX];
	struct irc_msg m = {.prefix = "srv",
			    .command = "001",
			    .nparams = 2,
			    .params = {"alice", "Welcome home"}};
	int len = irc_msg_format(out, sizeof(out), &m);
	assert_int_equal(len, (int)strlen(out));
	assert_string_equal(out, ":srv 001 alice :Welcome home\r\n");
	struct irc_msg m2 = {.command = "PING", .nparams = 1, .params = {"tok"}};
	irc_msg_format(out, sizeof(out), &m2);
	assert_string_equal(out, "PING tok\r\n");
	struct irc_msg m3 = {
		.tags = "time=1", .command = "TOPIC", .nparams = 2, .params = {"#r", ""}};
	irc_msg_format(out, sizeof(out), &m3);
	assert_string_equal(out, "@time=1 TOPIC #r :\r\n");
	struct irc_msg m4 = {.command = "X", .nparams = 1, .params = {":colon"}};
	irc_msg_format(out, sizeof(out), &m4);
	assert_string_equal(out, "X ::colon\r\n");
}

/* A long UTF-8 text is cut to 510 body bytes without splitting a character. */
static void formats_cut_on_character(void **state)
{
	(void)state;
	char text[1200], out[IRC_LINE_MAX];
	size_t n = 0;
	while (n + 3 < sizeof(text) - 1) {
		memcpy(text + n, "\xe4\xbd\xa0", 3); /* 你 */
		n += 3;
	}
	text[n] = '\0';
	for (size_t pad = 0; pad < 4; pad++) {
		char target[8] = "#abcdef";
		target[1 + pad] = '\0';
		struct irc_msg m = {.command = "PRIVMSG", .nparams = 2, .params = {target, text}};
		int len = irc_msg_format(out, sizeof(out), &m);
		assert_true(len <= IRC_BODY_MAX + 2);
		assert_true(len >= IRC_BODY_MAX + 2 - 2);
		assert_memory_equal(out + len - 2, "\r\n", 2);
		/* "PRIVMSG " target " " text: no colon, the text has no space */
		size_t body = (size_t)len - 2 - strlen("PRIVMSG ") - strlen(target) - 1;
		assert_int_equal(body % 3, 0);
	}
	assert_int_equal(irc_msg_format(out, 100, &(struct irc_msg){.command = "X"}), -1);
}

static void round_trips(void **state)
{
	(void)state;
	const char *lines[] = {":a!b@c PRIVMSG #r :hi there\r\n", "NICK bob\r\n",
			       "@time=2026 :s 353 me = #r :a b c\r\n", "JOIN #a,#b\r\n"};
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		char buf[IRC_LINE_MAX], out[IRC_LINE_MAX];
		size_t len = strlen(lines[i]) - 2;
		memcpy(buf, lines[i], len);
		struct irc_msg m;
		assert_int_equal(irc_msg_parse(buf, len, &m), 0);
		irc_msg_format(out, sizeof(out), &m);
		assert_string_equal(out, lines[i]);
	}
}

static void folds_rfc1459(void **state)
{
	(void)state;
	char out[32];
	irc_fold(out, sizeof(out), "Nick[A]\\~z");
	assert_string_equal(out, "nick{a}|^z");
	assert_int_equal(irc_casecmp("FOO[]", "foo{}"), 0);
	assert_true(irc_casecmp("a", "b") < 0);
	assert_int_equal(irc_fold(out, 4, "ABCDEF"), 3);
	assert_string_equal(out, "abc");
}

static void checks_nicks_and_rooms(void **state)
{
	(void)state;
	assert_true(irc_nick_valid("alice", 30));
	assert_true(irc_nick_valid("[bot]_9-x", 30));
	assert_true(irc_nick_valid("\xe5\xb0\x8f\xe6\x98\x8e", 30)); /* 小明 */
	assert_false(irc_nick_valid("", 30));
	assert_false(irc_nick_valid("9lives", 30));
	assert_false(irc_nick_valid("-dash", 30));
	assert_false(irc_nick_valid("a b", 30));
	assert_false(irc_nick_valid("a,b", 30));
	assert_false(irc_nick_valid("#room", 30));
	assert_false(irc_nick_valid("toolongnick", 5));
	assert_false(irc_nick_valid("bad\xff", 30));
	assert_false(irc_nick_valid("\xc0\xaf", 30)); /* overlong '/' */

	assert_true(irc_room_valid("#room", 50));
	assert_true(irc_room_valid("#\xe8\x81\x8a\xe5\xa4\xa9", 50));
	assert_false(irc_room_valid("#", 50));
	assert_false(irc_room_valid("room", 50));
	assert_false(irc_room_valid("#a,b", 50));
	assert_false(irc_room_valid("#a\x07", 50));
	assert_false(irc_room_valid("#abcdef", 4));
}

static void cuts_utf8(void **state)
{
	(void)state;
	const char *s = "a\xe4\xbd\xa0z"; /* a 你 z */
	assert_int_equal(irc_utf8_cut(s, 5, 10), 5);
	assert_int_equal(irc_utf8_cut(s, 5, 4), 4);
	assert_int_equal(irc_utf8_cut(s, 5, 3), 1);
	assert_int_equal(irc_utf8_cut(s, 5, 2), 1);
	assert_int_equal(irc_utf8_cut(s, 5, 1), 1);
}

static void formats_server_time(void **state)
{
	(void)state;
	char out[IRC_TIME_LEN];
	irc_format_time(out, sizeof(out), 1764070200123LL);
	assert_string_equal(out, "2025-11-25T11:30:00.123Z");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parses_full_message),
		cmocka_unit_test(parses_plain_and_empty_trailing),
		cmocka_unit_test(rejects_empty_and_bad),
		cmocka_unit_test(extra_params_stay_in_the_last),
		cmocka_unit_test(enforces_body_and_tag_limits),
		cmocka_unit_test(stops_at_page_boundary),
		cmocka_unit_test(formats_with_colon_when_needed),
		cmocka_unit_test(formats_cut_on_character),
		cmocka_unit_test(round_trips),
		cmocka_unit_test(folds_rfc1459),
		cmocka_unit_test(checks_nicks_and_rooms),
		cmocka_unit_test(cuts_utf8),
		cmocka_unit_test(formats_server_time),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
