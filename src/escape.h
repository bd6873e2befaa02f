/* escape.h - make untrusted bytes safe to show on a terminal. Pure. */
#ifndef SOCKIT_ESCAPE_H
#define SOCKIT_ESCAPE_H

#include <stddef.h>

/* Copies in to out as text a terminal shows literally: valid UTF-8 printable characters pass,
 * control bytes become \n \r \t \\ or \xHH (so ESC is "\x1b"), DEL is \x7f, C1 controls are
 * \u0080 style, and each byte of invalid UTF-8 becomes U+FFFD. The output is always
 * NUL-terminated and truncated at a whole escape; returns the length written. */
size_t escape_text(char *out, size_t outlen, const void *in, size_t len);

/* Worst-case output size for len input bytes, including the NUL. */
#define ESCAPE_MAX(len) ((len) * 4 + 1)

#endif
