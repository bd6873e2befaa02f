/* irc_msg.c - IRC message lines: parse in place, format with the 512-byte limit, case
 * mapping and name checks. Pure, like picohttpparser: pointers into the caller's buffer. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "escape.h"
#include "irc_msg.h"

static char *skip_spaces(char *p, char *end)
{
	while (p < end && *p == ' ')
		p++;
	return p;
}

/* The next space-separated word; its end becomes NUL. */
static char *take_word(char **pp, char *end)
{
	char *start = *pp, *sp = memchr(start, ' ', (size_t)(end - start));
	char *stop = sp != NULL ? sp : end;
	*stop = '\0';
	*pp = sp != NULL ? skip_spaces(sp + 1, end) : end;
	return start;
}

int irc_msg_parse(char *line, size_t len, struct irc_msg *msg)
{
	char *p = line, *end = line + len;
	memset(msg, 0, sizeof(*msg));
	*end = '\0'; /* line has len + 1 bytes */
	p = skip_spaces(p, end);
	if (p == end)
		return IRC_PARSE_EMPTY;
	if (*p == '@') {
		char *sp = memchr(p, ' ', (size_t)(end - p));
		if ((size_t)((sp != NULL ? sp : end) - p) + 1 > IRC_TAGS_MAX)
			return IRC_PARSE_TOO_LONG;
		p++;
		msg->tags = take_word(&p, end);
	}
	if ((size_t)(end - p) > IRC_BODY_MAX)
		return IRC_PARSE_TOO_LONG;
	if (p < end && *p == ':') {
		p++;
		msg->prefix = take_word(&p, end);
	}
	if (p == end)
		return msg->tags != NULL || msg->prefix != NULL ? IRC_PARSE_BAD : IRC_PARSE_EMPTY;
	msg->command = take_word(&p, end);
	while (p < end) {
		if (*p == ':' || msg->nparams == IRC_PARAMS_MAX - 1) {
			msg->params[msg->nparams++] = *p == ':' ? p + 1 : p;
			break;
		}
		msg->params[msg->nparams++] = take_word(&p, end);
	}
	return 0;
}

size_t irc_utf8_cut(const char *s, size_t len, size_t max)
{
	if (len <= max)
		return len;
	size_t cut = max;
	/* Back up over continuation bytes to the start of the character that straddles max. */
	while (cut > 0 && ((unsigned char)s[cut] & 0xC0) == 0x80)
		cut--;
	return cut;
}

static bool needs_colon(const char *param)
{
	return param[0] == '\0' || param[0] == ':' || strchr(param, ' ') != NULL;
}

int irc_msg_format(char *out, size_t cap, const struct irc_msg *msg)
{
	size_t n = 0;
	if (cap < IRC_BODY_MAX + 3)
		return -1;
	if (msg->tags != NULL) {
		size_t tl = strlen(msg->tags);
		if (tl + 2 + IRC_BODY_MAX + 3 > cap || tl + 2 > IRC_TAGS_MAX)
			return -1;
		out[n++] = '@';
		memcpy(out + n, msg->tags, tl);
		n += tl;
		out[n++] = ' ';
	}
	size_t body_end = n + IRC_BODY_MAX;
	int bl;
	if (msg->prefix != NULL)
		bl = snprintf(out + n, IRC_BODY_MAX + 1, ":%s %s", msg->prefix, msg->command);
	else
		bl = snprintf(out + n, IRC_BODY_MAX + 1, "%s", msg->command);
	if (bl < 0)
		return -1;
	n += (size_t)bl < IRC_BODY_MAX ? (size_t)bl : IRC_BODY_MAX;
	for (size_t i = 0; i < msg->nparams; i++) {
		const char *p = msg->params[i];
		size_t lead = i + 1 == msg->nparams && needs_colon(p) ? 2 : 1;
		if (body_end - n <= lead)
			break;
		out[n++] = ' ';
		if (lead == 2)
			out[n++] = ':';
		size_t pl = irc_utf8_cut(p, strlen(p), body_end - n);
		memcpy(out + n, p, pl);
		n += pl;
	}
	out[n++] = '\r';
	out[n++] = '\n';
	out[n] = '\0';
	return (int)n;
}

char irc_fold_char(char c)
{
	if (c >= 'A' && c <= 'Z')
		return (char)(c + ('a' - 'A'));
	switch (c) {
	case '[':
		return '{';
	case ']':
		return '}';
	case '\\':
		return '|';
	case '~':
		return '^';
	default:
		return c;
	}
}

size_t irc_fold(char *dst, size_t cap, const char *src)
{
	size_t n = 0;
	if (cap == 0)
		return 0;
	for (; src[n] != '\0' && n + 1 < cap; n++)
		dst[n] = irc_fold_char(src[n]);
	dst[n] = '\0';
	return n;
}

int irc_casecmp(const char *a, const char *b)
{
	for (;; a++, b++) {
		unsigned char x = (unsigned char)irc_fold_char(*a),
			      y = (unsigned char)irc_fold_char(*b);
		if (x != y || x == '\0')
			return x - y;
	}
}

static bool nick_special(char c)
{
	return strchr("[]\\`_^{|}", c) != NULL && c != '\0';
}

bool irc_nick_valid(const char *nick, size_t max)
{
	size_t len = strlen(nick);
	if (len == 0 || len > max)
		return false;
	for (size_t i = 0; i < len;) {
		unsigned char c = (unsigned char)nick[i];
		if (c >= 0x80) {
			size_t sl = escape_utf8_len((const uint8_t *)nick + i, len - i);
			if (sl == 0)
				return false;
			i += sl;
			continue;
		}
		bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
		bool ok = letter || nick_special((char)c) ||
			  (i > 0 && ((c >= '0' && c <= '9') || c == '-'));
		if (!ok)
			return false;
		i++;
	}
	return true;
}

bool irc_room_valid(const char *name, size_t max)
{
	size_t len = strlen(name);
	if (len < 2 || len > max || name[0] != '#')
		return false;
	for (size_t i = 1; i < len;) {
		unsigned char c = (unsigned char)name[i];
		if (c <= ' ' || c == ',' || c == 0x7F)
			return false;
		size_t sl = escape_utf8_len((const uint8_t *)name + i, len - i);
		if (sl == 0)
			return false;
		i += sl;
	}
	return true;
}

void irc_format_time(char *out, size_t cap, long long unix_ms)
{
	time_t secs = (time_t)(unix_ms / 1000);
	struct tm tm;
	gmtime_r(&secs, &tm);
	char day[24];
	strftime(day, sizeof(day), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, cap, "%s.%03dZ", day, (int)(unix_ms % 1000));
}
