/* timefmt.h - the seed time protocol's formatting: check an untrusted strftime format against
 * the POSIX conversions, then format a time with the reply bounded by the request. Pure. */
#ifndef SOCKIT_TIMEFMT_H
#define SOCKIT_TIMEFMT_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#define TIMEFMT_MAX_REQUEST 256           /* longer requests are refused */
#define TIMEFMT_MIN_REPLY   64            /* a reply may always be this long... */
#define TIMEFMT_DEFAULT     "%Y-%m-%d %X" /* what an empty request means (the seed's) */
#define TIMEFMT_ERR_MAX     64            /* ...and an error reply never is longer */

/* The conversions a format may use: POSIX strftime's, without flags, widths or E/O. */
#define TIMEFMT_ALLOWED "aAbBcCdDeFgGhHIjmMnprRStTuUVwWxXyYzZ%"

/* Check fmt (len bytes, NUL not needed). single_line refuses %n (for line protocols).
 * Returns 0, or -1 with a reason in err such as "unsupported conversion %600Y". */
int timefmt_check(const char *fmt, size_t len, bool single_line, char *err, size_t errlen);

/* The whole request-to-reply step: an empty request means TIMEFMT_DEFAULT; the reply is at
 * most max(len, TIMEFMT_MIN_REPLY) bytes (and outcap), or an "error: ..." reply saying why.
 * Returns the reply length (no NUL written). */
size_t timefmt_reply(const char *req, size_t len, bool single_line, const struct tm *tm, char *out,
		     size_t outcap);

/* The RFC 867 daytime string, "Wednesday, November 25, 2026 11:34:27-UTC", locale-free.
 * zone is the zone's abbreviation. Returns the length (truncated to outcap - 1). */
size_t timefmt_daytime(const struct tm *tm, const char *zone, char *out, size_t outcap);

#endif
