/* timefmt.c - check and apply untrusted strftime formats, one conversion at a time, so the
 * reply can be bounded exactly and glibc's extensions (%600Y, %Ey) never run. */
#include <stdio.h>
#include <string.h>

#include "timefmt.h"

#define SPEC_SHOWN     16  /* bytes of a refused conversion quoted back in the error */
#define CONVERSION_MAX 128 /* more than any single POSIX conversion produces */

static bool is_modifier(unsigned char c)
{
	/* glibc flags, field widths, and the E/O alternative-representation modifiers */
	return strchr("_-0^#+", c) != NULL || (c >= '0' && c <= '9') || c == 'E' || c == 'O';
}

/* Quote spec (from its '%') for an error: printable ASCII as is, other bytes as \xHH. */
static void quote_spec(const char *spec, size_t len, char *out, size_t outlen)
{
	size_t o = 0;
	for (size_t i = 0; i < len && i < SPEC_SHOWN && o + 5 < outlen; i++) {
		unsigned char c = (unsigned char)spec[i];
		if (c >= 0x20 && c < 0x7f)
			out[o++] = (char)c;
		else
			o += (size_t)snprintf(out + o, outlen - o, "\\x%02x", c);
	}
	if (len > SPEC_SHOWN && o + 4 < outlen) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
}

int timefmt_check(const char *fmt, size_t len, bool single_line, char *err, size_t errlen)
{
	for (size_t i = 0; i < len; i++) {
		if (fmt[i] == '\0') {
			snprintf(err, errlen, "NUL byte in format");
			return -1;
		}
		if (fmt[i] != '%')
			continue;
		size_t start = i++;
		while (i < len && is_modifier((unsigned char)fmt[i]))
			i++;
		if (i == start + 1 && i == len) {
			snprintf(err, errlen, "format ends in a lone %%");
			return -1;
		}
		bool modified = i > start + 1;
		unsigned char conv = i < len ? (unsigned char)fmt[i] : '\0';
		if (modified || conv == '\0' || strchr(TIMEFMT_ALLOWED, conv) == NULL) {
			char shown[SPEC_SHOWN * 4 + 4];
			size_t end = i < len ? i + 1 : len;
			quote_spec(fmt + start, end - start, shown, sizeof(shown));
			snprintf(err, errlen, "unsupported conversion %s", shown);
			return -1;
		}
		if (conv == 'n' && single_line) {
			snprintf(err, errlen, "%%n would split the reply line");
			return -1;
		}
	}
	return 0;
}

size_t timefmt_reply(const char *req, size_t len, bool single_line, const struct tm *tm, char *out,
		     size_t outcap)
{
	char why[TIMEFMT_ERR_MAX];
	char err[TIMEFMT_ERR_MAX + sizeof("error: ")];
	size_t cap = len > TIMEFMT_MIN_REPLY ? len : TIMEFMT_MIN_REPLY;
	if (cap > outcap)
		cap = outcap;
	if (len > TIMEFMT_MAX_REQUEST) {
		snprintf(why, sizeof(why), "request over %d bytes", TIMEFMT_MAX_REQUEST);
		goto refuse;
	}
	if (len == 0) {
		req = TIMEFMT_DEFAULT;
		len = strlen(TIMEFMT_DEFAULT);
	}
	if (timefmt_check(req, len, single_line, why, sizeof(why)) < 0)
		goto refuse;

	size_t o = 0;
	for (size_t i = 0; i < len; i++) {
		char piece[CONVERSION_MAX];
		size_t n;
		if (req[i] == '%') {
			char conv[3] = {'%', req[++i], '\0'}; /* checked: one allowed character */
			/* 0 is also a correct empty result (%p in some locales): both mean "" */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral" /* conv passed timefmt_check */
			n = strftime(piece, sizeof(piece), conv, tm);
#pragma GCC diagnostic pop
		} else {
			piece[0] = req[i];
			n = 1;
		}
		if (o + n > cap) {
			snprintf(why, sizeof(why), "reply would be over %zu bytes", cap);
			goto refuse;
		}
		memcpy(out + o, piece, n);
		o += n;
	}
	return o;

refuse:
	snprintf(err, sizeof(err), "error: %s", why);
	size_t elen = strlen(err);
	if (elen > cap)
		elen = cap;
	memcpy(out, err, elen);
	return elen;
}

static const char *const weekdays[] = {"Sunday",   "Monday", "Tuesday", "Wednesday",
				       "Thursday", "Friday", "Saturday"};
static const char *const months[] = {"January",   "February", "March",    "April",
				     "May",       "June",     "July",     "August",
				     "September", "October",  "November", "December"};

size_t timefmt_daytime(const struct tm *tm, const char *zone, char *out, size_t outcap)
{
	const char *wday = tm->tm_wday >= 0 && tm->tm_wday < 7 ? weekdays[tm->tm_wday] : "?";
	const char *mon = tm->tm_mon >= 0 && tm->tm_mon < 12 ? months[tm->tm_mon] : "?";
	int n = snprintf(out, outcap, "%s, %s %d, %d %02d:%02d:%02d-%s", wday, mon, tm->tm_mday,
			 tm->tm_year + 1900, tm->tm_hour, tm->tm_min, tm->tm_sec, zone);
	if (n < 0)
		return 0;
	return (size_t)n < outcap ? (size_t)n : outcap - 1;
}
