/* irc_msg.h - IRC message lines (RFC 1459/2812 with IRCv3 message-tags): parse, format,
 * case mapping and name checks. Pure: no allocation, the caller owns buffers and limits. */
#ifndef SOCKIT_IRC_MSG_H
#define SOCKIT_IRC_MSG_H

#include <stdbool.h>
#include <stddef.h>

#define IRC_BODY_MAX   510  /* RFC 1459: 512 bytes with the CRLF, tags excluded */
#define IRC_TAGS_MAX   8191 /* IRCv3 message-tags: the "@..." part with its space */
#define IRC_LINE_MAX   (IRC_TAGS_MAX + IRC_BODY_MAX + 2) /* a whole line with CRLF */
#define IRC_PARAMS_MAX 15                                /* RFC 1459: at most 15 parameters */

enum irc_parse_error {
	IRC_PARSE_EMPTY = -1,    /* blank line: ignore it */
	IRC_PARSE_BAD = -2,      /* no command, or a prefix with nothing after it */
	IRC_PARSE_TOO_LONG = -3, /* tags or body past their limit (ERR_INPUTTOOLONG) */
};

struct irc_msg {
	const char *tags;    /* raw "k=v;k2" without '@', still escaped; NULL if none */
	const char *prefix;  /* without ':'; NULL if none */
	const char *command; /* as sent; compare with strcasecmp */
	size_t nparams;
	const char *params[IRC_PARAMS_MAX]; /* the last one may have come as ":trailing" */
};

/* Split line (len bytes, no CR/LF, and a writable byte at line[len]) in place: separators
 * become NULs and msg's pointers point into line. Runs of spaces count as one. A 16th parameter and
 * beyond are kept in the 15th, as ircds do. Returns 0 or an irc_parse_error. */
int irc_msg_parse(char *line, size_t len, struct irc_msg *msg);

/* Write "[@tags ][:prefix ]COMMAND p1 ... :last\r\n" into out (cap bytes, NUL-terminated).
 * The last parameter gets ':' when needed (empty, has a space or starts with ':'); earlier ones
 * must not. The body is cut to IRC_BODY_MAX on a UTF-8 character boundary. Returns the length
 * written, or -1 if out is too small for the tags plus a complete body. */
int irc_msg_format(char *out, size_t cap, const struct irc_msg *msg);

/* The length of s[0..len) cut to at most max bytes without splitting a UTF-8 character. */
size_t irc_utf8_cut(const char *s, size_t len, size_t max);

/* CASEMAPPING=rfc1459: ASCII letters plus []\~ as the capitals of {}|^. */
char irc_fold_char(char c);
/* Fold src into dst (cap bytes, NUL-terminated, truncated). Returns the length. */
size_t irc_fold(char *dst, size_t cap, const char *src);
int irc_casecmp(const char *a, const char *b);

/* RFC 2812 nicknames (letter or []\`_^{|} first, then also digits and '-'), up to max bytes;
 * non-ASCII UTF-8 letters are allowed too, as modern ircds do. */
bool irc_nick_valid(const char *nick, size_t max);
/* "#name": no space, comma, BEL or control characters, valid UTF-8, up to max bytes. */
bool irc_room_valid(const char *name, size_t max);

/* "2026-11-25T11:30:00.123Z" for the server-time tag; out needs IRC_TIME_LEN bytes. */
#define IRC_TIME_LEN 32
void irc_format_time(char *out, size_t cap, long long unix_ms);

#endif
