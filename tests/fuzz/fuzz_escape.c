/* fuzz_escape.c - escape_text on any bytes and any output size: the output is NUL-terminated,
 * within its buffer, and holds no byte a terminal would act on; escape_utf8_len agrees with
 * the lead byte of what it accepts. */
#include <string.h>

#include "escape.h"
#include "fuzz.h"

#define FUZZ_MAX_INPUT 4096

/* The validator's answer agrees with the lead byte and never reads past len. */
static void check_utf8_len(const uint8_t *p, size_t len)
{
	while (len > 0) {
		size_t n = escape_utf8_len(p, len);
		FUZZ_CHECK(n <= 4 && n <= len);
		if (n == 0) {
			FUZZ_CHECK(p[0] >= 0x80);
			n = 1;
		} else {
			size_t want = p[0] < 0x80                    ? 1
				      : p[0] >= 0xc2 && p[0] <= 0xdf ? 2
				      : p[0] >= 0xe0 && p[0] <= 0xef ? 3
				      : p[0] >= 0xf0 && p[0] <= 0xf4 ? 4
								     : 0;
			FUZZ_CHECK(n == want);
			for (size_t i = 1; i < n; i++)
				FUZZ_CHECK((p[i] & 0xc0) == 0x80);
		}
		p += n;
		len -= n;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2 || size > FUZZ_MAX_INPUT)
		return 0;
	/* The first two bytes pick the output size, from 1 to past the worst case. */
	size_t len = size - 2;
	size_t outlen = 1 + ((size_t)data[0] << 8 | data[1]) % (ESCAPE_MAX(len) + 8);
	char *out = malloc(outlen);
	FUZZ_CHECK(out != NULL);
	size_t n = escape_text(out, outlen, data + 2, len);
	FUZZ_CHECK(n < outlen);
	FUZZ_CHECK(out[n] == '\0');
	FUZZ_CHECK(strlen(out) == n);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)out[i];
		FUZZ_CHECK(c >= 0x20 &&
			   c != 0x7f); /* no C0 control, no DEL: ESC can't get through */
		/* no C1 control (U+0080-U+009F, the 8-bit CSI among them) as UTF-8 either */
		FUZZ_CHECK(!(c == 0xc2 && i + 1 < n && (unsigned char)out[i + 1] >= 0x80 &&
			     (unsigned char)out[i + 1] <= 0x9f));
	}
	if (outlen >= ESCAPE_MAX(len)) { /* room for everything: nothing may be cut */
		char *again = malloc(outlen);
		FUZZ_CHECK(again != NULL);
		FUZZ_CHECK(escape_text(again, outlen, data + 2, len) == n);
		FUZZ_CHECK(memcmp(again, out, n + 1) == 0);
		free(again);
	}
	free(out);
	uint8_t *copy = malloc(len ? len : 1); /* exact size: ASan sees a read past the end */
	FUZZ_CHECK(copy != NULL);
	memcpy(copy, data + 2, len);
	check_utf8_len(copy, len);
	free(copy);
	return 0;
}
