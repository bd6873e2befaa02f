/* test_escape.c - untrusted bytes to terminal-safe text: nothing that a terminal acts on
 * survives, valid UTF-8 does, and truncation never cuts an escape in half. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "escape.h"

#define FFFD "\xef\xbf\xbd"

static void expect_escaped(const char *in, size_t len, const char *want)
{
	char out[ESCAPE_MAX(256)];
	memset(out, 'Z', sizeof(out));
	size_t n = escape_text(out, sizeof(out), in, len);
	assert_string_equal(out, want);
	assert_int_equal(n, strlen(want));
}

#define EXPECT(lit, want) expect_escaped(lit, sizeof(lit) - 1, want)

static void printable_ascii_and_utf8_pass_unchanged(void **state)
{
	(void)state;
	EXPECT("linhaifeng nb", "linhaifeng nb");
	EXPECT("h\xc3\xa9llo \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80",
	       "h\xc3\xa9llo \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80");
	EXPECT("\xc2\xa0nbsp", "\xc2\xa0nbsp"); /* U+00A0 is printable, only U+0080-9F are not */
	EXPECT("", "");
}

static void control_bytes_become_escapes(void **state)
{
	(void)state;
	EXPECT("a\nb\rc\td\\e", "a\\nb\\rc\\td\\\\e");
	EXPECT("\x00\x01\x07\x08\x1f", "\\x00\\x01\\x07\\x08\\x1f");
	EXPECT("del\x7f", "del\\x7f");
}

static void every_control_byte_is_escaped(void **state)
{
	(void)state;
	for (int c = 0; c < 0x20; c++) {
		char in = (char)c, out[16];
		escape_text(out, sizeof(out), &in, 1);
		assert_int_equal(out[0], '\\');
		for (const char *p = out; *p; p++)
			assert_true(*p >= 0x20 && *p < 0x7f);
	}
}

static void terminal_sequences_are_defused(void **state)
{
	(void)state;
	EXPECT("\x1b[2J", "\\x1b[2J");                          /* clear screen */
	EXPECT("\x1b]0;title\x07", "\\x1b]0;title\\x07");       /* OSC: set window title */
	EXPECT("\x1b]0;title\x1b\\", "\\x1b]0;title\\x1b\\\\"); /* OSC ended by ST */
	EXPECT("\x1bP1$r\x1b\\", "\\x1bP1$r\\x1b\\\\");         /* DCS */
}

static void c1_controls_are_escaped(void **state)
{
	(void)state;
	EXPECT("\xc2\x9b"
	       "2J",
	       "\\u009b2J"); /* CSI as a code point */
	EXPECT("\xc2\x80\xc2\x85\xc2\x9f", "\\u0080\\u0085\\u009f");
	EXPECT("\x9b"
	       "2J",
	       FFFD "2J"); /* a raw C1 byte is invalid UTF-8 */
}

static void invalid_utf8_becomes_replacement_characters(void **state)
{
	(void)state;
	EXPECT("\xff", FFFD);
	EXPECT("a\xfe"
	       "b",
	       "a" FFFD "b");
	EXPECT("\xc0\xaf", FFFD FFFD);                   /* overlong '/' */
	EXPECT("\xe0\x80\xaf", FFFD FFFD FFFD);          /* overlong, 3 bytes */
	EXPECT("\xed\xa0\x80", FFFD FFFD FFFD);          /* a UTF-16 surrogate */
	EXPECT("\xf4\x90\x80\x80", FFFD FFFD FFFD FFFD); /* past U+10FFFF */
	EXPECT("\xe6\x97", FFFD FFFD);                   /* cut short at the end */
	EXPECT("\xe6x", FFFD "x");                       /* cut short by ASCII */
	EXPECT("\x80", FFFD);                            /* lone continuation byte */
}

static void truncation_keeps_whole_escapes(void **state)
{
	(void)state;
	char out[64];
	memset(out, 'Z', sizeof(out));
	/* "ab" fits in 5 with its NUL; "\x1b" (4 chars) would not, so none of it is written. */
	assert_int_equal(escape_text(out, 5,
				     "ab\x1b"
				     "cd",
				     5),
			 2);
	assert_string_equal(out, "ab");
	assert_int_equal(escape_text(out, 7, "ab\x1b", 3), 6);
	assert_string_equal(out, "ab\\x1b");
	assert_int_equal(escape_text(out, 4, "\xe6\x97\xa5!", 4), 3); /* whole character only */
	assert_string_equal(out, "\xe6\x97\xa5");
	assert_int_equal(escape_text(out, 3, "\xe6\x97\xa5", 3), 0);
	assert_string_equal(out, "");
	assert_int_equal(escape_text(out, 6, "\xc2\x9b", 2), 0); /* \u009b needs 7 */
	assert_string_equal(out, "");
	out[0] = 'Z';
	assert_int_equal(escape_text(out, 0, "abc", 3), 0); /* no room even for the NUL */
	assert_int_equal(out[0], 'Z');
}

static void worst_case_fits_escape_max(void **state)
{
	(void)state;
	uint8_t in[256];
	char out[ESCAPE_MAX(sizeof(in))];
	for (int fill = 0; fill < 256; fill++) {
		memset(in, fill, sizeof(in));
		size_t n = escape_text(out, sizeof(out), in, sizeof(in));
		assert_true(n < sizeof(out));
		assert_int_equal(out[n], '\0');
		/* nothing was cut: the last input byte's rendering is at the end */
		char one[8];
		size_t m = escape_text(one, sizeof(one), in, 1);
		assert_true(n >= m);
		assert_memory_equal(out + n - m, one, m);
	}
	for (size_t i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)i;
	size_t n = escape_text(out, sizeof(out), in, sizeof(in));
	for (size_t i = 0; i < n; i++) /* every byte 0-255: no raw control byte comes out */
		assert_false((uint8_t)out[i] < 0x20 || (uint8_t)out[i] == 0x7f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(printable_ascii_and_utf8_pass_unchanged),
		cmocka_unit_test(control_bytes_become_escapes),
		cmocka_unit_test(every_control_byte_is_escaped),
		cmocka_unit_test(terminal_sequences_are_defused),
		cmocka_unit_test(c1_controls_are_escaped),
		cmocka_unit_test(invalid_utf8_becomes_replacement_characters),
		cmocka_unit_test(truncation_keeps_whole_escapes),
		cmocka_unit_test(worst_case_fits_escape_max),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
