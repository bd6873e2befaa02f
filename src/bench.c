/* bench.c - `sockit bench`: a closed-loop load generator for the echo service. Each
 * connection keeps --depth messages in flight, every reply is checked, latencies go to a
 * histogram; one epoll loop per --threads thread (a thread with one connection blocks in
 * send and recv instead), no allocation once it runs. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "bench_internal.h"
#include "cli.h"
#include "i18n.h"
#include "sntp_packet.h"

#define DEFAULT_SPEC        "tcp:127.0.0.1:9000"
#define DEFAULT_DGRAM_SPEC  "udp:127.0.0.1:9123" /* sockit serve's sntp */
#define DEFAULT_SIZE        64
#define DEFAULT_DURATION_MS 5000
#define DEFAULT_TIMEOUT_MS  2000
#define MAX_CONNS           100000
#define MAX_DEPTH           1024
#define MAX_SIZE            (1u << 20)
#define MAX_UDP_SIZE        65507 /* the largest udp payload over IPv4 */
#define MAX_THREADS         64
#define PROGRESS_MS         1000

static bool echo_check(const struct bench_msg *m, uint64_t seq, const uint8_t *data, size_t len)
{
	return len == m->size && bench_msg_check(m, seq, 0, data, len);
}

static const struct bench_proto protos[] = {
	{.name = "echo",
	 .stream = true,
	 .fill = bench_msg_fill,
	 .reply_seq = bench_msg_reply_seq,
	 .check = echo_check},
	{.name = "sntp",
	 .fixed_size = SNTP_PACKET_LEN,
	 .seq_mod = UINT64_C(1) << BENCH_SNTP_SEQ_BITS,
	 .fill = bench_sntp_fill,
	 .reply_seq = bench_sntp_reply_seq,
	 .check = bench_sntp_check},
	{.name = "time",
	 .fixed_size = BENCH_TIME_REQ_LEN,
	 .reply_max = BENCH_TIME_REPLY_LEN,
	 .fill = bench_time_fill,
	 .reply_seq = bench_time_reply_seq,
	 .check = bench_time_check},
	{.name = "daytime",
	 .fixed_size = 1,
	 .reply_max = BENCH_DAYTIME_REPLY_MAX,
	 .fill = bench_daytime_fill,
	 .check = bench_daytime_check},
	{.name = "rfc868",
	 .fixed_size = 1,
	 .reply_max = 4,
	 .fill = bench_daytime_fill,
	 .check = bench_rfc868_check},
};
#define NPROTOS (sizeof(protos) / sizeof(protos[0]))

/* ---- options and report ---- */

static void usage(FILE *out)
{
	fprintf(out,
		_("Usage: sockit bench [OPTIONS] [ADDR | HOST PORT]\n\n"
		  "Load an echo server (default %s) with a closed loop: every\n"
		  "connection keeps --depth messages in flight and sends the next as soon as a\n"
		  "reply is back. Every reply is checked (the uppercase of what was sent, or the\n"
		  "same bytes with --plain); mismatches, timeouts and errors make the exit status\n"
		  "non-zero.\n\n"
		  "  -c, --conns N          connections (udp: sockets) (default: 1)\n"
		  "  -d, --depth N          messages in flight per connection (default: 1)\n"
		  "  -s, --size BYTES       message size (default: %d)\n"
		  "  -D, --duration SECONDS run this long (default: %g)\n"
		  "  -n, --count N          or send exactly N messages in all\n"
		  "  -T, --threads N        client threads, connections spread over them\n"
		  "                         (default: 1)\n"
		  "  -t, --timeout SECONDS  a reply later than this is a timeout (default: %g)\n"
		  "  -p, --plain            expect replies unchanged (RFC 862 echo, socat, inetd)\n"
		  "      --busy-poll USEC   with one connection per thread, poll for a reply this\n"
		  "                         long before sleeping (0: never); auto (default) polls\n"
		  "                         up to %u us while it pays and CPUs are free\n"
		  "      --proto NAME       echo (default), or over udp: sntp (each reply must\n"
		  "                         answer its request, not be a KoD), time (the seed's\n"
		  "                         strftime service), daytime, rfc868 (depth 1)\n"
		  "  -j, --json             print the result as one JSON object\n"
		  "  -h, --help             show this help\n\n"
		  "ADDR is tcp:HOST:PORT, udp:HOST:PORT, unix:/path or HOST:PORT.\n"
		  "Latency is from a message's first byte sent to its reply's last byte "
		  "received.\n"),
		DEFAULT_SPEC, DEFAULT_SIZE, DEFAULT_DURATION_MS / 1000.0,
		DEFAULT_TIMEOUT_MS / 1000.0, SPIN_AUTO_BUDGET_US);
	cli_usage_exit_codes(out);
}

static void parse_options(struct bench_config *cfg, int argc, char **argv)
{
	enum { OPT_PROTO = 1000, OPT_BUSY_POLL };
	static const struct option longopts[] = {
		{"conns", required_argument, NULL, 'c'},
		{"depth", required_argument, NULL, 'd'},
		{"size", required_argument, NULL, 's'},
		{"duration", required_argument, NULL, 'D'},
		{"count", required_argument, NULL, 'n'},
		{"threads", required_argument, NULL, 'T'},
		{"timeout", required_argument, NULL, 't'},
		{"plain", no_argument, NULL, 'p'},
		{"proto", required_argument, NULL, OPT_PROTO},
		{"busy-poll", required_argument, NULL, OPT_BUSY_POLL},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	*cfg = (struct bench_config){.proto = &protos[0],
				     .conns = 1,
				     .depth = 1,
				     .threads = 1,
				     .size = DEFAULT_SIZE,
				     .duration_ms = DEFAULT_DURATION_MS,
				     .timeout_ms = DEFAULT_TIMEOUT_MS};
	char why[128];
	spin_option_parse(NULL, &cfg->busy_poll_us, &cfg->busy_poll_adaptive, why, sizeof(why));
	int c;
	while ((c = getopt_long(argc, argv, "+c:d:s:D:n:T:t:pjh", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			cfg->conns =
				(unsigned)cli_parse_uint("bench", "conns", optarg, 1, MAX_CONNS);
			break;
		case 'd':
			cfg->depth =
				(unsigned)cli_parse_uint("bench", "depth", optarg, 1, MAX_DEPTH);
			break;
		case 's':
			cfg->size = (size_t)cli_parse_uint("bench", "size", optarg, 1, MAX_SIZE);
			break;
		case 'n':
			cfg->count = cli_parse_uint("bench", "count", optarg, 1, UINT64_MAX / 2);
			break;
		case 'T':
			cfg->threads = (unsigned)cli_parse_uint("bench", "threads", optarg, 1,
								MAX_THREADS);
			break;
		case 'D':
		case 't': {
			long ms = cli_parse_seconds(optarg);
			if (ms <= 0)
				cli_usage_error("bench",
						_("--%s: '%s' is not a positive number of seconds"),
						c == 'D' ? "duration" : "timeout", optarg);
			*(c == 'D' ? &cfg->duration_ms : &cfg->timeout_ms) = ms;
			break;
		}
		case 'p':
			cfg->plain = true;
			break;
		case 'j':
			cfg->json = true;
			break;
		case OPT_PROTO: {
			size_t i;
			for (i = 0; i < NPROTOS && strcmp(protos[i].name, optarg) != 0; i++)
				;
			if (i == NPROTOS)
				cli_usage_error("bench",
						_("--proto: unknown protocol '%s' (echo, sntp, "
						  "time, daytime, rfc868)"),
						optarg);
			cfg->proto = &protos[i];
			break;
		}
		case OPT_BUSY_POLL:
			if (spin_option_parse(optarg, &cfg->busy_poll_us, &cfg->busy_poll_adaptive,
					      why, sizeof(why)) < 0)
				cli_usage_error("bench", "--busy-poll: %s", why);
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			cli_usage_error("bench", _("unknown option"));
		}
	}
	argc -= optind;
	argv += optind;
	bool stream = cfg->proto->stream;
	cli_parse_client_addr("bench", &argc, &argv, stream ? DEFAULT_SPEC : DEFAULT_DGRAM_SPEC,
			      stream ? ADDR_TCP : ADDR_UDP, &cfg->spec);
	if (!stream && cfg->spec.transport != ADDR_UDP)
		cli_usage_error("bench", _("--proto %s speaks udp only"), cfg->proto->name);
	if (cfg->proto->fixed_size)
		cfg->size = cfg->proto->fixed_size;
	if (cfg->proto->reply_seq == NULL && cfg->depth > 1)
		cli_usage_error("bench",
				_("--proto %s: replies do not name their request, so --depth must "
				  "be 1 (use more --conns)"),
				cfg->proto->name);
	if (argc > 0)
		cli_usage_error("bench", _("unexpected argument '%s'"), argv[0]);
	if (cfg->spec.transport == ADDR_UDP && cfg->size > MAX_UDP_SIZE)
		cli_usage_error("bench", _("--size: udp carries at most %d bytes"), MAX_UDP_SIZE);
	if (cfg->count != 0 && cfg->count < cfg->conns)
		cli_usage_error("bench", _("--count %" PRIu64 " is less than --conns %u"),
				cfg->count, cfg->conns);
	if (cfg->threads > cfg->conns)
		cfg->threads = cfg->conns;
	addr_format(&cfg->spec, cfg->target, sizeof(cfg->target));
}

static volatile sig_atomic_t interrupted;

static void on_interrupt(int signo)
{
	(void)signo;
	interrupted = 1;
}

/* On a terminal, a line rewritten once a second while the run goes on. Ctrl-C ends the
 * run early but still reports what was measured; a second one kills. */
static void watch_progress(struct worker *ws, size_t n, bool live)
{
	struct sigaction sa = {.sa_handler = on_interrupt, .sa_flags = SA_RESETHAND};
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	uint64_t start = bench_now_ns(), last_print = start, last_done = 0;
	for (;;) {
		bool all = true;
		uint64_t done = 0, bad = 0;
		for (size_t i = 0; i < n; i++) {
			all &= __atomic_load_n(&ws[i].finished, __ATOMIC_ACQUIRE);
			done += __atomic_load_n(&ws[i].done_pub, __ATOMIC_RELAXED);
			bad += __atomic_load_n(&ws[i].errors_pub, __ATOMIC_RELAXED);
		}
		if (all)
			break;
		if (interrupted) {
			for (size_t i = 0; i < n; i++)
				__atomic_store_n(&ws[i].interrupt, true, __ATOMIC_RELAXED);
		}
		uint64_t now = bench_now_ns();
		if (live && now - last_print >= PROGRESS_MS * 1000000ull) {
			double dt = (double)(now - last_print) / 1e9;
			fprintf(stderr,
				"\r  %5.1f s  %12" PRIu64 " msgs  %10.0f msgs/s  %" PRIu64
				" problems   ",
				(double)(now - start) / 1e9, done, (double)(done - last_done) / dt,
				bad);
			last_print = now;
			last_done = done;
		}
		struct timespec ts = {0, 20 * 1000000};
		nanosleep(&ts, NULL);
	}
	if (live && last_print != start)
		fprintf(stderr, "\r%*s\r", 72, "");
}

static double cpu_seconds(const struct rusage *ru)
{
	return (double)(ru->ru_utime.tv_sec + ru->ru_stime.tv_sec) +
	       (double)(ru->ru_utime.tv_usec + ru->ru_stime.tv_usec) / 1e6;
}

/* Like serve: many connections need the hard fd limit, not the soft one. */
static void raise_fd_limit(unsigned conns)
{
	int have = cli_raise_fd_limit();
	if ((unsigned)have < conns + 16)
		cli_error(_("warning: open-file limit %d is below --conns %u"), have, conns);
}

int cmd_bench(int argc, char **argv)
{
	struct bench_config cfg;
	parse_options(&cfg, argc, argv);
	signal(SIGPIPE, SIG_IGN);
	raise_fd_limit(cfg.conns);

	struct bench_msg msg;
	struct worker *ws = calloc(cfg.threads, sizeof(*ws));
	if (ws == NULL || bench_msg_init(&msg, cfg.size, cfg.plain) < 0) {
		cli_error(_("bench: %s"), strerror(ENOMEM));
		free(ws);
		return EXIT_OSERR;
	}
	int rc = EXIT_UNAVAIL;
	size_t nready = 0;
	for (size_t t = 0; t < cfg.threads; t++) {
		size_t nconns = cfg.conns / cfg.threads + (t < cfg.conns % cfg.threads);
		nready = t + 1;
		if (bench_worker_setup(&ws[t], &cfg, &msg, t, nconns) < 0) {
			rc = EXIT_OSERR;
			goto out_free;
		}
	}
	for (size_t i = 0; i < cfg.conns; i++) { /* connection i goes to thread i % threads */
		struct worker *w = &ws[i % cfg.threads];
		uint64_t limit = cfg.count ? cfg.count / cfg.conns + (i < cfg.count % cfg.conns)
					   : UINT64_MAX;
		if (bench_conn_open(w, &w->conns[i / cfg.threads], limit) < 0)
			goto out_free;
	}
	struct rusage ru0, ru1;
	getrusage(RUSAGE_SELF, &ru0);
	size_t started = 0;
	for (; started < cfg.threads; started++) {
		int e = pthread_create(&ws[started].thread, NULL, bench_worker_main, &ws[started]);
		if (e != 0) {
			cli_error(_("bench: cannot start thread: %s"), strerror(e));
			break;
		}
	}
	watch_progress(ws, started, !cfg.json && isatty(STDERR_FILENO));
	struct bench_totals t = {0};
	histogram_init(&t.hist);
	uint64_t first = UINT64_MAX, last = 0;
	for (size_t i = 0; i < started; i++) {
		struct worker *w = &ws[i];
		pthread_join(w->thread, NULL);
		t.ok += w->ok;
		t.mismatches += w->mismatches;
		t.timeouts += w->timeouts;
		t.errors += w->errors;
		t.late += w->late;
		t.client_polling += (double)w->spin_ns / 1e9;
		histogram_merge(&t.hist, &w->hist);
		if (w->start_ns < first)
			first = w->start_ns;
		if (w->end_ns > last)
			last = w->end_ns;
		if (t.first_error == NULL && w->err[0] != '\0')
			t.first_error = w->err;
	}
	if (started < cfg.threads) {
		rc = EXIT_OSERR;
		goto out_free;
	}
	t.seconds = last > first ? (double)(last - first) / 1e9 : 0;
	getrusage(RUSAGE_SELF, &ru1);
	if (t.seconds > 0) {
		double cpu = cpu_seconds(&ru1) - cpu_seconds(&ru0);
		t.client_busy = cpu > t.client_polling ? cpu - t.client_polling : 0;
		t.client_busy /= t.seconds * cfg.threads;
		t.client_polling /= t.seconds * cfg.threads;
	} else {
		t.client_polling = 0;
	}
	if (cfg.json)
		bench_print_json(&cfg, &t);
	else
		bench_print_human(&cfg, &t);
	fflush(stdout);
	if (t.first_error != NULL)
		cli_error("%s", t.first_error);
	if (t.mismatches > 0)
		cli_error("%" PRIu64 " replies did not match what was sent%s", t.mismatches,
			  cfg.plain || cfg.proto != &protos[0]
				  ? ""
				  : " (try --plain for an RFC 862 echo)");
	if (t.timeouts > 0)
		cli_error("%" PRIu64 " messages got no reply within %g s", t.timeouts,
			  (double)cfg.timeout_ms / 1000.0);
	rc = t.mismatches || t.timeouts ? EXIT_DATAERR : t.errors ? EXIT_UNAVAIL : 0;

out_free:
	for (size_t i = 0; i < nready; i++)
		bench_worker_free(&ws[i]);
	free(ws);
	bench_msg_free(&msg);
	return rc;
}
