/* escape.c - untrusted bytes to terminal-safe text, UTF-8 aware. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "escape.h"

size_t escape_utf8_len(const uint8_t *p, size_t len)
{
	uint8_t c = p[0];
	size_t need;
	uint32_t cp;
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		need = 2;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		need = 3;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		need = 4;
		cp = c & 0x07;
	} else {
		return 0;
	}
	if (len < need)
		return 0;
	for (size_t i = 1; i < need; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if ((need == 3 && cp < 0x800) || (need == 4 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return need;
}

size_t escape_text(char *out, size_t outlen, const void *in, size_t len)
{
	const uint8_t *p = in;
	size_t o = 0;
	if (outlen == 0)
		return 0;
	for (size_t i = 0; i < len;) {
		char piece[8];
		size_t plen, consumed = 1;
		uint8_t c = p[i];
		size_t ulen = escape_utf8_len(p + i, len - i);
		if (c == '\n' || c == '\r' || c == '\t' || c == '\\') {
			piece[0] = '\\';
			piece[1] = c == '\n' ? 'n' : c == '\r' ? 'r' : c == '\t' ? 't' : '\\';
			plen = 2;
		} else if (c < 0x20 || c == 0x7f) {
			plen = (size_t)snprintf(piece, sizeof(piece), "\\x%02x", c);
		} else if (ulen == 0) {
			memcpy(piece, "\xef\xbf\xbd", 3); /* U+FFFD REPLACEMENT CHARACTER */
			plen = 3;
		} else if (ulen == 2 && c == 0xc2 && p[i + 1] < 0xa0) {
			/* C1 controls (U+0080-U+009F): some terminals act on them, like ESC. */
			plen = (size_t)snprintf(piece, sizeof(piece), "\\u%04x", p[i + 1]);
			consumed = 2;
		} else {
			memcpy(piece, p + i, ulen);
			plen = ulen;
			consumed = ulen;
		}
		if (o + plen + 1 > outlen)
			break;
		memcpy(out + o, piece, plen);
		o += plen;
		i += consumed;
	}
	out[o] = '\0';
	return o;
}
