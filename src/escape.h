/* escape.h - make untrusted bytes safe to show on a terminal. Pure. */
#ifndef SOCKIT_ESCAPE_H
#define SOCKIT_ESCAPE_H

#include <stddef.h>
#include <stdint.h>

/* Copies in to out as text a terminal shows literally: valid UTF-8 printable characters pass,
 * control bytes become \n \r \t \\ or \xHH (so ESC is "\x1b"), DEL is \x7f, C1 controls are
 * \u0080 style, and each byte of invalid UTF-8 becomes U+FFFD. The output is always
 * NUL-terminated and truncated at a whole escape; returns the length written. */
size_t escape_text(char *out, size_t outlen, const void *in, size_t len);

/* Length of the valid UTF-8 sequence at p (1-4, len > 0 bytes available), or 0 if it is
 * not one (overlongs, surrogates and code points past U+10FFFF are invalid too). */
size_t escape_utf8_len(const uint8_t *p, size_t len);

/* Worst-case output size for len input bytes, including the NUL. */
#define ESCAPE_MAX(len) ((len)*4 + 1)

#endif
