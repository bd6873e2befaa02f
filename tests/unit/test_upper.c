/* test_upper.c - uppercasing matches Python's bytes.upper() for every byte, at every offset. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "upper.h"

static uint8_t python_upper(uint8_t b)
{
	return b >= 'a' && b <= 'z' ? (uint8_t)(b - 32) : b;
}

static void every_byte_value(void **state)
{
	(void)state;
	uint8_t buf[256];
	for (int i = 0; i < 256; i++)
		buf[i] = (uint8_t)i;
	upper_ascii(buf, sizeof(buf));
	for (int i = 0; i < 256; i++)
		assert_int_equal(buf[i], python_upper((uint8_t)i));
}

/* The word-at-a-time path and the byte tail must agree at every length and alignment. */
static void every_length_and_offset(void **state)
{
	(void)state;
	uint8_t src[64], buf[80];
	for (size_t i = 0; i < sizeof(src); i++)
		src[i] = (uint8_t)(i * 37 + 11);
	for (size_t off = 0; off < 8; off++) {
		for (size_t len = 0; len <= sizeof(src); len++) {
			memset(buf, 0xAA, sizeof(buf));
			memcpy(buf + off, src, len);
			upper_ascii(buf + off, len);
			for (size_t i = 0; i < len; i++)
				assert_int_equal(buf[off + i], python_upper(src[i]));
			assert_int_equal(buf[off + len], 0xAA); /* nothing past the end */
		}
	}
}

static void utf8_untouched(void **state)
{
	(void)state;
	uint8_t text[] = "linhaifeng nb \xe7\x8b\x97\xe5\x93\xa5"
			 "alex \xc3\xa9";
	upper_ascii(text, sizeof(text) - 1);
	assert_string_equal((char *)text, "LINHAIFENG NB \xe7\x8b\x97\xe5\x93\xa5"
					  "ALEX \xc3\xa9");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_byte_value),
		cmocka_unit_test(every_length_and_offset),
		cmocka_unit_test(utf8_untouched),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
