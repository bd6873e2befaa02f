/* echo_client.c - `sockit echo`: the seed's echo clients (interactive, one-shot) plus a
 * pipe mode that streams stdin through the server, over tcp, udp or unix sockets. */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cli.h"
#include "client_io.h"
#include "echo_client.h"
#include "i18n.h"
#include "mono_clock.h"
#include "net.h"

#define DEFAULT_TIMEOUT_MS 2000
#define MAX_MESSAGE        65507 /* the largest udp payload over IPv4 */

struct echo_client {
	struct addr_spec spec;
	char where[ADDR_TEXT_MAX];
	int timeout_ms;
	int fd;
	int failed_errno; /* of the last round trip that failed: it picks the exit code */
};

static void usage(FILE *out)
{
	fprintf(out,
		_("Usage: sockit echo [OPTIONS] [ADDR | HOST PORT] [-- WORDS...]\n\n"
		  "Talk to an echo server (default tcp:127.0.0.1:9000).\n"
		  "  On a terminal: prompt '>>: ', send each line, print the reply; 'quit' or\n"
		  "  Ctrl-D ends. With WORDS: send them once, print the reply. Otherwise stdin is\n"
		  "  streamed to the server and its replies to stdout (udp: one datagram a "
		  "line).\n\n"
		  "  -u, --udp              use udp (as a udp: address does)\n"
		  "  -t, --timeout SECONDS  connect and reply timeout (default: 2)\n"
		  "  -h, --help             show this help\n\n"
		  "ADDR is tcp:HOST:PORT, udp:HOST:PORT, unix:/path or HOST:PORT.\n"));
	cli_usage_exit_codes(out);
}

/* Send one message and wait for its reply: as many bytes as were sent (tcp, unix), or
 * one datagram (udp). Returns the reply length, or -1 after printing why. */
static ssize_t round_trip(struct echo_client *ec, const char *msg, size_t len, char *reply,
			  size_t replycap)
{
	char err[NET_ERR_LEN];
	if (client_send_all(ec->fd, msg, len, err, sizeof(err)) < 0) {
		ec->failed_errno = errno;
		cli_error(_("send %s: %s"), ec->where, err);
		return -1;
	}
	ssize_t got;
	if (ec->spec.transport == ADDR_UDP)
		got = client_recv_datagram(ec->fd, reply, replycap, ec->timeout_ms, err,
					   sizeof(err));
	else
		got = client_recv_exact(ec->fd, reply, len, ec->timeout_ms, err, sizeof(err));
	if (got < 0) {
		ec->failed_errno = errno;
		cli_error("%s: %s", ec->where, err);
	}
	return got;
}

static int run_interactive(struct echo_client *ec)
{
	static char reply[MAX_MESSAGE + 1];
	char *line;
	while ((line = client_readline(_(">>: "))) != NULL) {
		char *msg = client_strip(line);
		if (strcmp(msg, "quit") == 0) {
			free(line);
			break;
		}
		size_t len = strlen(msg);
		if (len == 0) { /* the seed skips empty input, and so do we */
			free(line);
			continue;
		}
		if (len > MAX_MESSAGE) {
			cli_error(_("message of %zu bytes is over the %d-byte limit"), len,
				  MAX_MESSAGE);
			free(line);
			continue;
		}
		client_history_add(msg);
		ssize_t got = round_trip(ec, msg, len, reply, sizeof(reply));
		free(line);
		if (got < 0)
			return cli_exit_for_errno(ec->failed_errno);
		/* A terminal: the reply is shown, not passed on, so it must not drive the terminal
		 * (pipe and one-shot modes pass bytes on unchanged, for scripts). */
		client_print_text(stdout, reply, (size_t)got);
		fflush(stdout);
	}
	return 0;
}

static int run_words(struct echo_client *ec, int nwords, char **words)
{
	static char msg[MAX_MESSAGE + 1], reply[MAX_MESSAGE + 1];
	size_t len = 0;
	for (int i = 0; i < nwords; i++) {
		size_t w = strlen(words[i]);
		if (len + w + (i > 0) > MAX_MESSAGE) {
			cli_error(_("message is over the %d-byte limit"), MAX_MESSAGE);
			return EXIT_USAGE;
		}
		if (i > 0)
			msg[len++] = ' ';
		memcpy(msg + len, words[i], w);
		len += w;
	}
	ssize_t got = round_trip(ec, msg, len, reply, sizeof(reply));
	if (got < 0)
		return cli_exit_for_errno(ec->failed_errno);
	fwrite(reply, 1, (size_t)got, stdout);
	fputc('\n', stdout);
	return fflush(stdout) == 0 ? 0 : 1;
}

/* One line of in (NUL bytes included, newline dropped) into buf: its length, or -1 at the end
 * of input. A line over cap is counted to its end but not stored, so memory stays bounded
 * whatever the input: the length is returned and buf holds only its first cap bytes. */
static ssize_t read_line_bounded(FILE *in, char *buf, size_t cap)
{
	size_t n = 0;
	int c;
	while ((c = getc_unlocked(in)) != EOF && c != '\n') {
		if (n < cap)
			buf[n] = (char)c;
		n++;
	}
	if (c == EOF && n == 0)
		return -1;
	return (ssize_t)n;
}

/* udp pipe: each input line (without its newline) is one datagram, each reply one line. */
static int run_udp_lines(struct echo_client *ec)
{
	static char line[MAX_MESSAGE], reply[MAX_MESSAGE + 1];
	ssize_t n;
	int rc = 0;
	while ((n = read_line_bounded(stdin, line, sizeof(line))) >= 0) {
		if (n == 0)
			continue;
		if (n > MAX_MESSAGE) {
			cli_error(_("line of %zd bytes is over the udp limit of %d"), n,
				  MAX_MESSAGE);
			rc = 1;
			break;
		}
		ssize_t got = round_trip(ec, line, (size_t)n, reply, sizeof(reply));
		if (got < 0) {
			rc = cli_exit_for_errno(ec->failed_errno);
			break;
		}
		fwrite(reply, 1, (size_t)got, stdout);
		fputc('\n', stdout);
	}
	if (fflush(stdout) != 0)
		rc = 1;
	return rc;
}

/* stream pipe: stdin to the server, the server to stdout, until every byte sent has come
 * back (an echo answers byte for byte) or the server closes. */
static int run_stream_pipe(struct echo_client *ec)
{
	static char in[65536], out[65536];
	size_t in_len = 0, in_off = 0;
	unsigned long long sent = 0, received = 0;
	bool stdin_open = true;
	/* Replies owed must keep coming: the timeout runs while any are outstanding, even
	 * with stdin still open, so a server that stops answering cannot hang us. */
	long long quiet_since = mono_ms();
	for (;;) {
		if (!stdin_open && received >= sent && in_len == 0)
			return 0;
		bool owed = received < sent || in_len > 0;
		if (!owed)
			quiet_since = mono_ms();
		long long left = quiet_since + ec->timeout_ms - mono_ms();
		if (owed && left <= 0) {
			cli_error(_("%s: timed out waiting for replies (%llu of %llu bytes back)"),
				  ec->where, received, sent);
			return 1;
		}
		struct pollfd p[2] = {
			{.fd = stdin_open && in_len == 0 ? STDIN_FILENO : -1, .events = POLLIN},
			{.fd = ec->fd, .events = POLLIN | (in_len > 0 ? POLLOUT : 0)},
		};
		int r = poll(p, 2, owed ? (int)left : -1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			cli_error(_("poll: %s"), strerror(errno));
			return 1;
		}
		if (p[0].revents) {
			ssize_t n = read(STDIN_FILENO, in, sizeof(in));
			if (n > 0) {
				in_len = (size_t)n;
				in_off = 0;
			} else if (n == 0 || errno != EINTR) {
				stdin_open = false;
				shutdown(ec->fd,
					 SHUT_WR); /* the server echoes the rest and closes */
			}
		}
		if (in_len > 0 && (p[1].revents & (POLLOUT | POLLERR | POLLHUP))) {
			/* POLLOUT promises room for some bytes, not all: a blocking send of the
			 * rest would stall the loop, and with it the reply timeout. */
			ssize_t n = send(ec->fd, in + in_off, in_len, MSG_NOSIGNAL | MSG_DONTWAIT);
			if (n < 0 && errno != EAGAIN && errno != EINTR) {
				cli_error(_("send %s: %s"), ec->where, strerror(errno));
				return 1;
			}
			if (n > 0) {
				in_off += (size_t)n;
				in_len -= (size_t)n;
				sent += (unsigned long long)n;
			}
		}
		if (p[1].revents & (POLLIN | POLLERR | POLLHUP)) {
			ssize_t n = recv(ec->fd, out, sizeof(out), MSG_DONTWAIT);
			if (n < 0 && errno != EAGAIN && errno != EINTR) {
				cli_error(_("recv %s: %s"), ec->where, strerror(errno));
				return 1;
			}
			if (n == 0) {
				if (received < sent || stdin_open || in_len > 0) {
					cli_error(
						_("%s: connection closed after %llu of %llu bytes"),
						ec->where, received, sent);
					return 1;
				}
				return 0;
			}
			if (n > 0) {
				received += (unsigned long long)n;
				quiet_since = mono_ms();
				if (client_write_all(STDOUT_FILENO, out, (size_t)n) < 0) {
					cli_error(_("write stdout: %s"), strerror(errno));
					return 1;
				}
			}
		}
	}
}

int cmd_echo(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"udp", no_argument, NULL, 'u'},
		{"timeout", required_argument, NULL, 't'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	struct echo_client ec = {.timeout_ms = DEFAULT_TIMEOUT_MS, .fd = -1};
	enum addr_transport transport = ADDR_TCP;

	/* Words after "--" are the message; options and the address come before it. */
	int nwords = -1;
	char **words = NULL;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0) {
			words = argv + i + 1;
			nwords = argc - i - 1;
			argc = i;
			break;
		}
	}
	int c;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":ut:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'u':
			transport = ADDR_UDP;
			break;
		case 't':
			ec.timeout_ms = cli_parse_timeout("echo", optarg);
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			cli_bad_option("echo", c, argv, longopts);
		}
	}
	int rest = argc - optind;
	char **operands = argv + optind;
	cli_parse_client_addr("echo", &rest, &operands, "tcp:127.0.0.1:9000", transport, &ec.spec);
	if (rest > 0)
		cli_usage_error("echo", _("unexpected argument '%s' (put message words after --)"),
				operands[0]);
	if (nwords == 0) /* a usage error, found before connecting anywhere */
		cli_usage_error("echo", _("nothing to send after --"));
	addr_format(&ec.spec, ec.where, sizeof(ec.where));

	signal(SIGPIPE, SIG_IGN);
	char err[NET_ERR_LEN];
	ec.fd = net_connect(&ec.spec, ec.timeout_ms, err, sizeof(err));
	if (ec.fd < 0) {
		cli_error("%s", err);
		return EXIT_UNAVAIL;
	}
	int rc;
	if (nwords > 0)
		rc = run_words(&ec, nwords, words);
	else if (isatty(STDIN_FILENO))
		rc = run_interactive(&ec);
	else if (ec.spec.transport == ADDR_UDP)
		rc = run_udp_lines(&ec);
	else
		rc = run_stream_pipe(&ec);
	close(ec.fd);
	return rc;
}
