/* client_io.c - the clients' blocking I/O: every wait has a deadline, so nothing hangs. */
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <editline/readline.h>

#include "client_io.h"
#include "escape.h"
#include "i18n.h"
#include "mono_clock.h"

/* Wait for fd to be readable before the deadline: 1 ready, 0 timed out, -1 error. */
static int wait_readable(int fd, long long deadline)
{
	for (;;) {
		long long left = deadline - mono_ms();
		if (left <= 0)
			return 0;
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int r = poll(&p, 1, (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		return r < 0 ? -1 : r;
	}
}

/* The reason in err, and errno kept for the caller (snprintf may change it). */
static void failed(char *err, size_t errlen, int errnum)
{
	snprintf(err, errlen, "%s", strerror(errnum));
	errno = errnum;
}

static void timed_out(char *err, size_t errlen, int timeout_ms)
{
	snprintf(err, errlen, _("no reply within %g s"), timeout_ms / 1000.0);
	errno = ETIMEDOUT;
}

static void closed_by_server(char *err, size_t errlen)
{
	snprintf(err, errlen, _("connection closed by the server"));
	errno = ECONNRESET;
}

int client_send_all(int fd, const void *data, size_t len, char *err, size_t errlen)
{
	const char *p = data;
	do { /* a zero-length send still sends an empty datagram on udp */
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			failed(err, errlen, errno);
			return -1;
		}
		p += n;
		len -= (size_t)n;
	} while (len > 0);
	return 0;
}

/* One receive before the deadline: bytes read (> 0), 0 when the server closed, or -1 with the
 * reason in err. */
static ssize_t recv_some(int fd, void *buf, size_t cap, long long deadline, int timeout_ms,
			 char *err, size_t errlen)
{
	for (;;) {
		int r = wait_readable(fd, deadline);
		if (r == 0) {
			timed_out(err, errlen, timeout_ms);
			return -1;
		}
		ssize_t n = r < 0 ? -1 : recv(fd, buf, cap, MSG_DONTWAIT);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0)
			failed(err, errlen, errno);
		return n;
	}
}

ssize_t client_recv_exact(int fd, void *buf, size_t len, int timeout_ms, char *err, size_t errlen)
{
	long long deadline = mono_ms() + timeout_ms;
	size_t got = 0;
	while (got < len) {
		ssize_t n = recv_some(fd, (char *)buf + got, len - got, deadline, timeout_ms, err,
				      errlen);
		if (n < 0)
			return -1;
		if (n == 0) {
			closed_by_server(err, errlen);
			return -1;
		}
		got += (size_t)n;
	}
	return (ssize_t)got;
}

ssize_t client_recv_datagram(int fd, void *buf, size_t cap, int timeout_ms, char *err,
			     size_t errlen)
{
	/* an empty datagram is a reply of length 0, not a close */
	return recv_some(fd, buf, cap, mono_ms() + timeout_ms, timeout_ms, err, errlen);
}

ssize_t client_recv_until(int fd, void *buf, size_t cap, int delim, int timeout_ms, char *err,
			  size_t errlen)
{
	long long deadline = mono_ms() + timeout_ms;
	size_t got = 0;
	while (got < cap) {
		ssize_t n = recv_some(fd, (char *)buf + got, cap - got, deadline, timeout_ms, err,
				      errlen);
		if (n < 0)
			return -1;
		if (n == 0) {
			if (delim >= 0 && got == 0) {
				closed_by_server(err, errlen);
				return -1;
			}
			break;
		}
		bool done = delim >= 0 && memchr((char *)buf + got, delim, (size_t)n) != NULL;
		got += (size_t)n;
		if (done)
			break;
	}
	return (ssize_t)got;
}

int client_write_all(int fd, const void *data, size_t len)
{
	const char *p = data;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Pieces of a long line are escaped this many bytes at a time, into a fixed buffer. */
#define PRINT_CHUNK 256

void client_print_text(FILE *out, const char *data, size_t len)
{
	char shown[ESCAPE_MAX(PRINT_CHUNK)];
	while (len > 0) {
		const char *nl = memchr(data, '\n', len);
		size_t line = nl ? (size_t)(nl - data) : len;
		for (size_t off = 0; off < line; off += PRINT_CHUNK) {
			size_t n = line - off < PRINT_CHUNK ? line - off : PRINT_CHUNK;
			escape_text(shown, sizeof(shown), data + off, n);
			fputs(shown, out);
		}
		fputc('\n', out);
		if (nl == NULL)
			break;
		data = nl + 1;
		len -= line + 1;
	}
}

char *client_readline(const char *prompt)
{
	return readline(prompt);
}

void client_history_add(const char *line)
{
	add_history(line);
}

char *client_strip(char *s)
{
	static const char space[] = " \t\n\r\v\f";
	while (*s != '\0' && strchr(space, *s) != NULL)
		s++;
	size_t n = strlen(s);
	while (n > 0 && strchr(space, s[n - 1]) != NULL)
		s[--n] = '\0';
	return s;
}
