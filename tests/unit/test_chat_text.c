/* test_chat_text.c - incoming chat text is shown escaped on one line; typed lines parse as
 * the seed's flow and the chat commands. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "chat_text.h"

static void render(const char *label, const void *text, size_t len, bool colour, const char *want)
{
	char out[CHAT_RENDER_MAX(64, 256)];
	size_t n = chat_text_render(out, sizeof(out), label, text, len, colour);
	assert_string_equal(out, want);
	assert_int_equal(n, strlen(want));
}

static void plain_and_coloured(void **state)
{
	(void)state;
	render("alex: ", "hi", 2, false, "alex: hi");
	render("alex: ", "hi", 2, true, "alex: \033[1;44mhi\033[0m");
	render("", "hi", 2, false, "hi");
	render("127.0.0.1:5: ", "狗哥alex", strlen("狗哥alex"), false, "127.0.0.1:5: 狗哥alex");
}

static void injection_is_escaped(void **state)
{
	(void)state;
	render("x: ", "\x1b[2Jgone", 8, false, "x: \\x1b[2Jgone");
	render("x: ", "\x1b]0;title\x07", 10, true, "x: \033[1;44m\\x1b]0;title\\x07\033[0m");
	render("x: ", "two\nlines\r", 10, false, "x: two\\nlines\\r");
	render("x: ", "nul\0byte", 8, false, "x: nul\\x00byte");
	render("x: ", "bad\xff\xfe", 5, false, "x: bad\xef\xbf\xbd\xef\xbf\xbd");
	render("x: ",
	       "\xc2\x9b"
	       "31m",
	       5, false, "x: \\u009b31m"); /* C1 CSI */
}

/* A text too long for the buffer is cut at a whole escape, and the colour is still reset. */
static void truncation_keeps_the_reset(void **state)
{
	(void)state;
	char out[24];
	char text[100];
	memset(text, '\x1b', sizeof(text));
	size_t n = chat_text_render(out, sizeof(out), "a: ", text, sizeof(text), true);
	assert_int_equal(n, strlen(out));
	assert_true(n < sizeof(out));
	assert_non_null(strstr(out, "\033[0m"));
	assert_int_equal(strcmp(out + n - 4, "\033[0m"), 0);
	assert_ptr_equal(strchr(out + 10, 0x1b), out + n - 4); /* no raw ESC before the reset */
}

static void colour_policy(void **state)
{
	(void)state;
	assert_true(chat_text_want_colour(true, NULL));
	assert_false(chat_text_want_colour(false, NULL));
	assert_false(chat_text_want_colour(true, ""));
	assert_false(chat_text_want_colour(true, "1"));
}

static void expect_input(const char *line, enum chat_input_kind kind, const char *arg)
{
	struct chat_input in = chat_text_parse_input(line);
	assert_int_equal(in.kind, kind);
	if (arg != NULL) {
		assert_int_equal(in.len, strlen(arg));
		assert_memory_equal(in.arg, arg, in.len);
	}
}

static void input_parsing(void **state)
{
	(void)state;
	expect_input("", CHAT_INPUT_EMPTY, NULL);
	expect_input("  \t ", CHAT_INPUT_EMPTY, NULL);
	expect_input("  hello there  ", CHAT_INPUT_MESSAGE, "hello there");
	expect_input("quit", CHAT_INPUT_BACK, NULL);
	expect_input(" quit ", CHAT_INPUT_BACK, NULL);
	expect_input("quit now", CHAT_INPUT_MESSAGE, "quit now");
	expect_input("/quit", CHAT_INPUT_QUIT, NULL);
	expect_input("/help", CHAT_INPUT_HELP, NULL);
	expect_input("/contacts", CHAT_INPUT_CONTACTS, NULL);
	expect_input("/to 狗哥alex ", CHAT_INPUT_TO, "狗哥alex");
	expect_input("/to   udp:127.0.0.1:5", CHAT_INPUT_TO, "udp:127.0.0.1:5");
	expect_input("/to", CHAT_INPUT_BAD, NULL);
	expect_input("/to  ", CHAT_INPUT_BAD, NULL);
	expect_input("/tox", CHAT_INPUT_BAD, NULL);
	expect_input("/helpme", CHAT_INPUT_BAD, NULL);
	expect_input("/help me", CHAT_INPUT_BAD, NULL);
	expect_input("/", CHAT_INPUT_BAD, NULL);
	expect_input("//etc/passwd", CHAT_INPUT_MESSAGE, "/etc/passwd");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(plain_and_coloured),
		cmocka_unit_test(injection_is_escaped),
		cmocka_unit_test(truncation_keeps_the_reset),
		cmocka_unit_test(colour_policy),
		cmocka_unit_test(input_parsing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
