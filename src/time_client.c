/* time_client.c - `sockit time`: the seed's time client (a strftime format in, the time
 * out, with its prompt loop on a terminal), and queries of daytime, RFC 868 and SNTP. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "client_io.h"
#include "escape.h"
#include "i18n.h"
#include "net.h"
#include "sntp_packet.h"
#include "time_client.h"
#include "timefmt.h"

#define DEFAULT_TIMEOUT_MS 2000
#define REPLY_MAX          65536 /* a udp datagram; the seed's server may send long replies */
#define DAYTIME_REPLY_MAX  1024  /* RFC 867 sets no limit; a date is far shorter */
#define LOCAL_FORMAT       "%a %b %e %H:%M:%S %Z %Y" /* date(1)'s, for received times */

enum time_proto { PROTO_SEED, PROTO_DAYTIME, PROTO_RFC868, PROTO_SNTP };

static const struct {
	const char *name;
	const char *default_addr;
	enum addr_transport transport; /* of a bare HOST:PORT */
} protos[] = {
	[PROTO_SEED] = {"seed", "udp:127.0.0.1:9001", ADDR_UDP},
	[PROTO_DAYTIME] = {"daytime", "tcp:127.0.0.1:9013", ADDR_TCP},
	[PROTO_RFC868] = {"rfc868", "tcp:127.0.0.1:9037", ADDR_TCP},
	[PROTO_SNTP] = {"sntp", "udp:127.0.0.1:9123", ADDR_UDP},
};

#define NPROTOS (sizeof(protos) / sizeof(protos[0]))

struct time_client {
	enum time_proto proto;
	struct addr_spec spec;
	char where[ADDR_TEXT_MAX];
	int timeout_ms;
	int fd;
	int failed_errno; /* of the last exchange that failed: it picks the exit code */
};

static void usage(FILE *out)
{
	fputs(_("Usage: sockit time [OPTIONS] [ADDR | HOST PORT] [FORMAT]\n\n"
		"Ask a time server (default: the seed's protocol at udp:127.0.0.1:9001).\n"
		"  With FORMAT (a strftime format such as '%Y-%m-%d'): one query, print the "
		"reply.\n"
		"  On a terminal without FORMAT: prompt for formats as the seed's client did (an\n"
		"  empty line asks for the server's default; 'quit' or Ctrl-D ends). Otherwise\n"
		"  one query for the server's default format.\n\n"
		"  -p, --proto PROTO      seed (default), daytime (RFC 867, default "
		"tcp:...:9013),\n"
		"                         rfc868 (default tcp:...:9037) or sntp (udp:...:9123);\n"
		"                         for rfc868 and sntp FORMAT formats the received time,\n"
		"                         and sntp also prints the offset and round-trip delay\n"
		"  -t, --timeout SECONDS  connect and reply timeout (default: 2)\n"
		"  -h, --help             show this help\n\n"
		"ADDR is udp:HOST:PORT, tcp:HOST:PORT, unix:/path or HOST:PORT.\n"),
	      out);
	cli_usage_exit_codes(out);
}

static bool is_stream(const struct time_client *tc)
{
	return tc->spec.transport != ADDR_UDP;
}

/* Send one request (an empty datagram on udp when len is 0). */
static int send_request(struct time_client *tc, const void *data, size_t len)
{
	char err[NET_ERR_LEN];
	if (client_send_all(tc->fd, data, len, err, sizeof(err)) < 0) {
		tc->failed_errno = errno;
		cli_error(_("send %s: %s"), tc->where, err);
		return -1;
	}
	return 0;
}

static ssize_t recv_reply(struct time_client *tc, char *buf, size_t cap, int delim)
{
	char err[NET_ERR_LEN];
	ssize_t n = is_stream(tc) ? client_recv_until(tc->fd, buf, cap, delim, tc->timeout_ms, err,
						      sizeof(err))
				  : client_recv_datagram(tc->fd, buf, cap, tc->timeout_ms, err,
							 sizeof(err));
	if (n < 0) {
		tc->failed_errno = errno;
		cli_error("%s: %s", tc->where, err);
	}
	return n;
}

/* ---- the seed's protocol ---- */

/* One format in, the reply (without a stream's line end) out. Returns its length or -1. */
static ssize_t seed_query(struct time_client *tc, const char *fmt, char *reply, size_t cap)
{
	size_t len = strlen(fmt);
	if (is_stream(tc)) {
		if (strchr(fmt, '\n') != NULL) {
			cli_error(_("a format sent over %s cannot contain a newline"),
				  addr_transport_name(tc->spec.transport));
			return -1;
		}
		char line[TIMEFMT_MAX_REQUEST + 2];
		if (len > TIMEFMT_MAX_REQUEST) /* the server would refuse it; say so here */
			len = TIMEFMT_MAX_REQUEST + 1;
		memcpy(line, fmt, len);
		line[len] = '\n';
		if (send_request(tc, line, len + 1) < 0)
			return -1;
	} else if (send_request(tc, fmt, len) < 0) {
		return -1;
	}
	ssize_t n = recv_reply(tc, reply, cap, '\n');
	if (n < 0)
		return -1;
	if (is_stream(tc)) {
		if (n == 0 || reply[n - 1] != '\n') {
			cli_error(_("%s: reply line over %zu bytes or cut short"), tc->where, cap);
			return -1;
		}
		n--;
		if (n > 0 && reply[n - 1] == '\r')
			n--;
	}
	return n;
}

static int run_seed_prompt(struct time_client *tc)
{
	static char reply[REPLY_MAX];
	char *line;
	/* xgettext:no-c-format */
	const char *prompt = _("Time format (e.g. %Y %m %d)>>: ");
	while ((line = client_readline(prompt)) != NULL) {
		char *fmt = client_strip(line);
		if (strcmp(fmt, "quit") == 0) {
			free(line);
			break;
		}
		if (fmt[0] != '\0')
			client_history_add(fmt);
		/* like the seed, an empty line is sent too: it asks for the default format */
		ssize_t n = seed_query(tc, fmt, reply, sizeof(reply));
		free(line);
		if (n < 0)
			return cli_exit_for_errno(tc->failed_errno);
		client_print_text(stdout, reply, (size_t)n);
		fflush(stdout);
	}
	return 0;
}

static int run_seed_once(struct time_client *tc, const char *fmt)
{
	static char reply[REPLY_MAX];
	ssize_t n = seed_query(tc, fmt, reply, sizeof(reply));
	if (n < 0)
		return cli_exit_for_errno(tc->failed_errno);
	if (n >= 7 && memcmp(reply, "error: ", 7) == 0) {
		char shown[ESCAPE_MAX(TIMEFMT_ERR_MAX)];
		escape_text(shown, sizeof(shown), reply,
			    (size_t)n < TIMEFMT_ERR_MAX ? (size_t)n : TIMEFMT_ERR_MAX);
		cli_error("%s: %s", tc->where, shown);
		return EXIT_DATAERR;
	}
	client_print_text(stdout, reply, (size_t)n);
	return 0;
}

/* ---- daytime, RFC 868, SNTP ---- */

/* Print a received time in FORMAT (checked like the server checks) or date(1)'s format. */
static int print_time(struct timespec t, const char *fmt)
{
	struct tm tm;
	char out[REPLY_MAX];
	localtime_r(&t.tv_sec, &tm);
	const char *f = fmt != NULL ? fmt : LOCAL_FORMAT;
	size_t n = timefmt_reply(f, strlen(f), false, &tm, out, sizeof(out));
	if (n >= 7 && memcmp(out, "error: ", 7) == 0) {
		cli_error(_("FORMAT: %.*s"), (int)(n - 7), out + 7);
		return EXIT_USAGE;
	}
	client_print_text(stdout, out, n);
	return 0;
}

static int run_daytime(struct time_client *tc)
{
	char reply[DAYTIME_REPLY_MAX];
	if (!is_stream(tc) && send_request(tc, "", 0) < 0)
		return cli_exit_for_errno(tc->failed_errno);
	ssize_t n = recv_reply(tc, reply, sizeof(reply), -1);
	if (n < 0)
		return cli_exit_for_errno(tc->failed_errno);
	while (n > 0 && (reply[n - 1] == '\n' || reply[n - 1] == '\r'))
		n--;
	if (n == 0) {
		cli_error(_("%s: empty daytime reply"), tc->where);
		return EXIT_DATAERR;
	}
	client_print_text(stdout, reply, (size_t)n);
	return 0;
}

static int run_rfc868(struct time_client *tc, const char *fmt)
{
	uint8_t t[RFC868_LEN + 1];
	char err[NET_ERR_LEN];
	ssize_t n;
	if (is_stream(tc)) {
		n = client_recv_exact(tc->fd, t, RFC868_LEN, tc->timeout_ms, err, sizeof(err));
		if (n < 0) {
			tc->failed_errno = errno;
			cli_error("%s: %s", tc->where, err);
		}
	} else {
		n = send_request(tc, "", 0) < 0 ? -2 : recv_reply(tc, (char *)t, sizeof(t), -1);
	}
	if (n < 0)
		return cli_exit_for_errno(tc->failed_errno);
	if (n != RFC868_LEN) {
		cli_error(_("%s: expected a %d-byte RFC 868 reply, got %zd bytes"), tc->where,
			  RFC868_LEN, n);
		return EXIT_DATAERR;
	}
	return print_time(sntp_ts_to_timespec(sntp_rfc868_decode(t)), fmt);
}

static void format_refid(const struct sntp_packet *p, char *out, size_t outlen)
{
	uint8_t b[4] = {(uint8_t)(p->refid >> 24), (uint8_t)(p->refid >> 16),
			(uint8_t)(p->refid >> 8), (uint8_t)p->refid};
	bool text = p->stratum <= 1 || (b[0] >= 'A' && b[0] <= 'Z'); /* LOCL, GPS, kiss codes */
	for (size_t i = 0; text && i < 4; i++)
		text = b[i] == 0 || (b[i] >= 0x20 && b[i] < 0x7f);
	if (text)
		snprintf(out, outlen, "%.4s", (const char *)b);
	else
		snprintf(out, outlen, "%u.%u.%u.%u", b[0], b[1], b[2], b[3]);
}

static int run_sntp(struct time_client *tc, const char *fmt)
{
	uint8_t req[SNTP_PACKET_LEN], reply[SNTP_PACKET_LEN + SNTP_MAC_SHA1_LEN + 1];
	struct timespec t1, t4;
	clock_gettime(CLOCK_REALTIME, &t1);
	struct sntp_packet q = {
		.version = 4, .mode = SNTP_MODE_CLIENT, .tx_ts = sntp_ts_from_timespec(t1)};
	sntp_packet_encode(&q, req);
	if (send_request(tc, req, sizeof(req)) < 0)
		return cli_exit_for_errno(tc->failed_errno);
	ssize_t n = recv_reply(tc, (char *)reply, sizeof(reply), -1);
	clock_gettime(CLOCK_REALTIME, &t4);
	if (n < 0)
		return cli_exit_for_errno(tc->failed_errno);
	struct sntp_packet r;
	if (sntp_packet_decode(reply, (size_t)n, &r) < 0 || r.mode != SNTP_MODE_SERVER ||
	    r.orig_ts != q.tx_ts) {
		cli_error(_("%s: not an SNTP answer to our request (%zd bytes)"), tc->where, n);
		return EXIT_DATAERR;
	}
	char refid[16];
	format_refid(&r, refid, sizeof(refid));
	if (r.stratum == 0) {
		cli_error(_("%s: kiss-o'-death %s"), tc->where, refid);
		return EXIT_UNAVAIL;
	}
	if (r.leap == SNTP_LEAP_ALARM) {
		cli_error(_("%s: the server's clock is not synchronized"), tc->where);
		return EXIT_UNAVAIL;
	}
	uint64_t T1 = q.tx_ts, T4 = sntp_ts_from_timespec(t4);
	double offset = (sntp_ts_diff(r.rx_ts, T1) + sntp_ts_diff(r.tx_ts, T4)) / 2;
	double delay = sntp_ts_diff(T4, T1) - sntp_ts_diff(r.tx_ts, r.rx_ts);
	double whole;
	double frac = modf(offset, &whole);
	struct timespec server = {.tv_sec = t4.tv_sec + (time_t)whole,
				  .tv_nsec = t4.tv_nsec + (long)(frac * 1e9)};
	if (server.tv_nsec < 0) {
		server.tv_nsec += 1000000000L;
		server.tv_sec--;
	} else if (server.tv_nsec >= 1000000000L) {
		server.tv_nsec -= 1000000000L;
		server.tv_sec++;
	}
	int rc = print_time(server, fmt);
	if (rc != 0)
		return rc;
	printf(_("offset %+.6f s, delay %.6f s, stratum %u, refid %s\n"), offset, delay, r.stratum,
	       refid);
	return 0;
}

/* ---- command line ---- */

static enum time_proto parse_proto(const char *name)
{
	for (size_t i = 0; i < NPROTOS; i++) {
		if (strcmp(name, protos[i].name) == 0)
			return (enum time_proto)i;
	}
	cli_usage_error("time", _("--proto: expected seed, daytime, rfc868 or sntp, got '%s'"),
			name);
}

int cmd_time(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"proto", required_argument, NULL, 'p'},
		{"timeout", required_argument, NULL, 't'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	struct time_client tc = {.proto = PROTO_SEED, .timeout_ms = DEFAULT_TIMEOUT_MS, .fd = -1};
	int c;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":p:t:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'p':
			tc.proto = parse_proto(optarg);
			break;
		case 't':
			tc.timeout_ms = cli_parse_timeout("time", optarg);
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			cli_bad_option("time", c, argv, longopts);
		}
	}
	int rest = argc - optind;
	char **operands = argv + optind;
	/* A last operand with a '%' (or empty) is the FORMAT; the rest name the server. */
	const char *fmt = NULL;
	if (rest > 0 && (operands[rest - 1][0] == '\0' || strchr(operands[rest - 1], '%'))) {
		fmt = operands[--rest];
	}
	cli_parse_client_addr("time", &rest, &operands, protos[tc.proto].default_addr,
			      protos[tc.proto].transport, &tc.spec);
	if (rest == 1 && fmt == NULL)
		fmt = operands[0];
	else if (rest > 0)
		cli_usage_error("time", _("unexpected argument '%s'"), operands[0]);
	if (tc.proto == PROTO_SNTP && tc.spec.transport != ADDR_UDP)
		cli_usage_error("time", _("sntp is spoken over udp only"));
	if (tc.proto == PROTO_DAYTIME && fmt != NULL)
		cli_usage_error("time", _("FORMAT does not apply to daytime, which sends text"));
	addr_format(&tc.spec, tc.where, sizeof(tc.where));

	signal(SIGPIPE, SIG_IGN);
	char err[NET_ERR_LEN];
	tc.fd = net_connect(&tc.spec, tc.timeout_ms, err, sizeof(err));
	if (tc.fd < 0) {
		cli_error("%s", err);
		return EXIT_UNAVAIL;
	}
	int rc;
	switch (tc.proto) {
	case PROTO_DAYTIME:
		rc = run_daytime(&tc);
		break;
	case PROTO_RFC868:
		rc = run_rfc868(&tc, fmt);
		break;
	case PROTO_SNTP:
		rc = run_sntp(&tc, fmt);
		break;
	default:
		if (fmt != NULL)
			rc = run_seed_once(&tc, fmt);
		else if (isatty(STDIN_FILENO))
			rc = run_seed_prompt(&tc);
		else
			rc = run_seed_once(&tc, "");
	}
	close(tc.fd);
	if (fflush(stdout) != 0 && rc == 0)
		rc = 1;
	return rc;
}
