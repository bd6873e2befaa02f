/* fuzz_chat_text.c - chat lines: what a user types (parsed) and what the network sends
 * (rendered): rendering never overflows and never lets a control byte through. */
#include <string.h>

#include "chat_text.h"
#include "escape.h"
#include "fuzz.h"

#define FUZZ_MAX_INPUT 4096

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > FUZZ_MAX_INPUT)
		return 0;
	char *line = malloc(size + 1);
	FUZZ_CHECK(line != NULL);
	memcpy(line, data, size);
	line[size] = '\0';
	struct chat_input in = chat_text_parse_input(line);
	if (in.kind == CHAT_INPUT_MESSAGE || in.kind == CHAT_INPUT_TO)
		FUZZ_CHECK(in.arg >= line && in.arg + in.len <= line + size);
	static char out[CHAT_RENDER_MAX(16, FUZZ_MAX_INPUT)];
	size_t n = chat_text_render(out, sizeof(out), "peer: ", data, size, size & 1);
	FUZZ_CHECK(n < sizeof(out) && out[n] == '\0');
	for (size_t i = 0; i < n; i++) /* only the colour's own ESC may appear */
		FUZZ_CHECK((unsigned char)out[i] >= 0x20 || out[i] == '\033');
	if (!(size & 1))
		FUZZ_CHECK(memchr(out, '\033', n) == NULL);
	free(line);
	return 0;
}
