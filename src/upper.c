/* upper.c - ASCII uppercasing, eight bytes at a time: this is the echo service's hot path. */
#include <string.h>

#include "upper.h"

/* SWAR: for each byte b < 0x80, (b + 0x1f) has bit 7 set iff b >= 'a' (0x61), and (b + 0x05)
 * has it set iff b >= '{' (0x7b); bytes >= 0x80 are masked out first so UTF-8 is untouched. */
static inline uint64_t upper_word(uint64_t w)
{
	const uint64_t ones = 0x0101010101010101ull;
	uint64_t ascii = ~w & (ones * 0x80);
	uint64_t low7 = w & (ones * 0x7f);
	uint64_t ge_a = low7 + ones * (0x80 - 'a');
	uint64_t gt_z = low7 + ones * (0x80 - 'z' - 1);
	uint64_t is_lower = ge_a & ~gt_z & ascii;
	return w ^ ((is_lower >> 2) & (ones * 0x20));
}

void upper_ascii(uint8_t *data, size_t len)
{
	size_t i = 0;
	for (; i + 8 <= len; i += 8) {
		uint64_t w;
		memcpy(&w, data + i, 8);
		w = upper_word(w);
		memcpy(data + i, &w, 8);
	}
	for (; i < len; i++) {
		if (data[i] >= 'a' && data[i] <= 'z')
			data[i] ^= 0x20;
	}
}
