/* fuzz_timefmt.c - the time service's request-to-reply step on any request: the reply stays
 * within max(request, TIMEFMT_MIN_REPLY) and the buffer, for both line and datagram rules. */
#include <string.h>
#include <time.h>

#include "fuzz.h"
#include "timefmt.h"

#define FUZZ_MAX_INPUT (TIMEFMT_MAX_REQUEST * 2) /* past the limit: must be refused */
#define REPLY_CAP      4096

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > FUZZ_MAX_INPUT)
		return 0;
	bool single_line = data[0] & 1;
	const char *req = (const char *)data + 1;
	size_t len = size - 1;
	/* A time that moves with the input, so every field width gets exercised. */
	time_t t = (time_t)(data[0]) * 86400 * 53 + 1700000000;
	struct tm tm;
	gmtime_r(&t, &tm);
	char out[REPLY_CAP + 1];
	size_t cap = (data[0] & 2) ? REPLY_CAP : TIMEFMT_MIN_REPLY;
	size_t n = timefmt_reply(req, len, single_line, &tm, out, cap);
	size_t bound = len > TIMEFMT_MIN_REPLY ? len : TIMEFMT_MIN_REPLY;
	FUZZ_CHECK(n <= cap);
	FUZZ_CHECK(n <= bound);
	if (single_line)
		FUZZ_CHECK(memchr(out, '\n', n) == NULL || memchr(req, '\n', len) != NULL);
	char err[128];
	(void)timefmt_check(req, len, single_line, err, sizeof(err));
	char day[128];
	size_t d = timefmt_daytime(&tm, "UTC", day, sizeof(day));
	FUZZ_CHECK(d < sizeof(day));
	return 0;
}
