/* fuzz_irc_msg.c - IRC lines from the network: parse any line in place, format the result
 * back, and check names and case folding on the pieces. */
#include <string.h>

#include "fuzz.h"
#include "irc_msg.h"

#define FUZZ_MAX_INPUT (IRC_LINE_MAX + 64)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > FUZZ_MAX_INPUT)
		return 0;
	char *line = malloc(size + 1); /* exact size: ASan sees any read past the line */
	FUZZ_CHECK(line != NULL);
	memcpy(line, data, size);
	line[size] = '\0';
	struct irc_msg msg;
	int rc = irc_msg_parse(line, size, &msg);
	if (rc == 0) {
		FUZZ_CHECK(msg.command != NULL && msg.nparams <= IRC_PARAMS_MAX);
		char out[IRC_LINE_MAX + 1];
		int n = irc_msg_format(out, sizeof(out), &msg);
		FUZZ_CHECK(n < (int)sizeof(out));
		if (n >= 0)
			FUZZ_CHECK(strlen(out) == (size_t)n);
		char folded[64];
		irc_fold(folded, sizeof(folded), msg.command);
		(void)irc_casecmp(msg.command, folded);
		for (size_t i = 0; i < msg.nparams; i++) {
			(void)irc_nick_valid(msg.params[i], 30);
			(void)irc_room_valid(msg.params[i], 50);
		}
	} else {
		FUZZ_CHECK(rc == IRC_PARSE_EMPTY || rc == IRC_PARSE_BAD ||
			   rc == IRC_PARSE_TOO_LONG);
	}
	size_t cut = irc_utf8_cut((const char *)data, size, size / 2);
	FUZZ_CHECK(cut <= size / 2);
	free(line);
	return 0;
}
