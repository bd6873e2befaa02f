/* client_io.h - blocking I/O with timeouts and line input, shared by the clients. */
#ifndef SOCKIT_CLIENT_IO_H
#define SOCKIT_CLIENT_IO_H

#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

/* Each returns >= 0 on success, or -1 with a reason in err ("no reply within 2 s") and errno
 * set: the socket's error, ETIMEDOUT when time ran out, ECONNRESET when the server closed. */
int client_send_all(int fd, const void *data, size_t len, char *err, size_t errlen);
/* Read exactly len bytes within timeout_ms (for the whole reply). */
ssize_t client_recv_exact(int fd, void *buf, size_t len, int timeout_ms, char *err, size_t errlen);
/* Read one datagram within timeout_ms. */
ssize_t client_recv_datagram(int fd, void *buf, size_t cap, int timeout_ms, char *err,
			     size_t errlen);
/* Read until the byte delim (kept) arrives, or with delim < 0 until the server closes; at most
 * cap bytes, all within timeout_ms. A close before any byte of a delimited reply is an error. */
ssize_t client_recv_until(int fd, void *buf, size_t cap, int delim, int timeout_ms, char *err,
			  size_t errlen);
int client_write_all(int fd, const void *data, size_t len);
/* Show untrusted reply text on out: each line made terminal-safe by escape_text (a server
 * must not drive the user's terminal with escape sequences), newlines kept, one at the end. */
void client_print_text(FILE *out, const char *data, size_t len);

/* A line from the terminal with editing and history (libedit), without its newline;
 * NULL at end of input. The caller frees it. */
char *client_readline(const char *prompt);
void client_history_add(const char *line);

/* Python's str.strip(): trim ASCII whitespace at both ends, in place. */
char *client_strip(char *s);

#endif
