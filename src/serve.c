/* serve.c - `sockit serve`: parse options into endpoints, start every service on one event
 * loop per worker thread (SO_REUSEPORT listeners), and shut down gracefully on
 * SIGINT/SIGTERM. Generic over service_table. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "activation.h"
#include "cli.h"
#include "config.h"
#include "guard.h"
#include "i18n.h"
#include "log.h"
#include "metrics.h"
#include "net.h"
#include "serve.h"
#include "service.h"

#define MAX_SERVICES      16
#define MAX_ENDPOINTS     64
#define FD_RESERVE        32   /* fds kept for listeners, logs, the loop itself */
#define SHUTDOWN_GRACE_MS 3000 /* in-flight output gets this long after SIGTERM (exit < 5 s) */
#define SHUTDOWN_POLL_MS  20
#define MAX_WORKERS       64   /* --threads bound */

struct serve_config {
	char *bind;
	char *log_file;
	unsigned max_conns;
	size_t output_cap;
	unsigned idle_timeout_ms;
	unsigned request_timeout_ms;
	unsigned udp_rate;
	unsigned udp_burst;
	bool limit_loopback;
	unsigned threads;
	char *metrics; /* --metrics ADDR, or NULL */
};

static const struct serve_config serve_defaults = {
	.bind = NULL,
	.log_file = NULL,
	.max_conns = 10000,
	.output_cap = 256 * 1024,
	.idle_timeout_ms = 300 * 1000,
	.request_timeout_ms = 30 * 1000,
	.udp_rate = 20,
	.udp_burst = 40,
	.limit_loopback = false,
	.threads = 0,
};

/* --metrics: empty (off), or an address that HTTP can be served on. */
static int metrics_addr_check(const char *value, char *why, size_t whylen)
{
	struct addr_spec spec;
	if (value[0] == '\0')
		return 0;
	if (addr_parse(value, ADDR_TCP, &spec, why, whylen) < 0)
		return -1;
	if (spec.transport == ADDR_UDP) {
		snprintf(why, whylen, _("expected a tcp or unix address, got '%s'"), value);
		return -1;
	}
	return 0;
}

static const struct opt_desc serve_options[] = {
	{.name = "bind", .type = OPT_STRING, .offset = offsetof(struct serve_config, bind),
	 .metavar = "HOST", .help = N_("host for the default endpoints (default: 127.0.0.1)")},
	{.name = "log-file", .type = OPT_STRING, .offset = offsetof(struct serve_config, log_file),
	 .metavar = "FILE", .help = N_("log to FILE instead of stderr; SIGHUP reopens it")},
	{.name = "max-conns", .type = OPT_UINT, .offset = offsetof(struct serve_config, max_conns),
	 .min = 1, .max = 1000000, .metavar = "N",
	 .help = N_("stream connections at once; more are closed at once")},
	{.name = "output-cap", .type = OPT_SIZE, .offset = offsetof(struct serve_config, output_cap),
	 .min = 4096, .max = 1ull << 30, .metavar = "BYTES",
	 .help = N_("unsent bytes per client before sockit stops reading it")},
	{.name = "idle-timeout", .type = OPT_SECONDS,
	 .offset = offsetof(struct serve_config, idle_timeout_ms), .min = 0, .max = 86400000,
	 .metavar = "SECONDS", .help = N_("close connections silent this long; 0 = never")},
	{.name = "request-timeout", .type = OPT_SECONDS,
	 .offset = offsetof(struct serve_config, request_timeout_ms), .min = 0, .max = 86400000,
	 .metavar = "SECONDS", .help = N_("a started request line must end within this; 0 = never")},
	{.name = "udp-rate", .type = OPT_UINT, .offset = offsetof(struct serve_config, udp_rate),
	 .min = 0, .max = 1000000, .metavar = "N",
	 .help = N_("datagrams per second answered per source; 0 = unlimited")},
	{.name = "udp-burst", .type = OPT_UINT, .offset = offsetof(struct serve_config, udp_burst),
	 .min = 1, .max = 1000000, .metavar = "N", .help = N_("burst allowed per source")},
	{.name = "limit-loopback", .type = OPT_BOOL,
	 .offset = offsetof(struct serve_config, limit_loopback),
	 .help = N_("rate-limit loopback sources too (they are exempt by default)")},
	{.name = "threads", .type = OPT_UINT, .offset = offsetof(struct serve_config, threads),
	 .min = 0, .max = MAX_WORKERS, .metavar = "N",
	 .help = N_("worker threads, each with its own loop; 0 = one per CPU")},
	{.name = "metrics", .type = OPT_STRING, .offset = offsetof(struct serve_config, metrics),
	 .metavar = "ADDR", .help = N_("serve Prometheus metrics over HTTP at ADDR (tcp or unix)"),
	 .check = metrics_addr_check},
	OPT_END,
};

struct endpoint_req {
	size_t service;
	struct addr_spec spec;
	bool from_file;   /* a listen line: --NAME on the command line replaces these */
	int inherited_fd; /* a socket from systemd, or -1 */
};

struct server;

/* One event loop on one thread, with its own listeners (SO_REUSEPORT) and service contexts;
 * the udp guard is shared. Worker 0 runs on the main thread and also handles signals. */
struct worker {
	struct server *s;
	size_t index;
	pthread_t thread;
	struct ev_loop *loop;
	void *svc_ctx[MAX_SERVICES];
	struct stream_server *streams[MAX_ENDPOINTS];
	size_t nstreams;
	struct dgram_endpoint *dgrams[MAX_ENDPOINTS];
	size_t ndgrams;
	struct dgram_guard *guard; /* the server's, shared by every worker */
	int ctl[2]; /* main -> worker commands: CTL_DRAIN, CTL_QUIT */
	bool stopping;
	uint64_t stop_deadline_ms;
	struct ev_timer stop_timer;
};

struct server {
	struct serve_config cfg;
	size_t nservices;
	void *svc_config[MAX_SERVICES];
	struct service_stats stats[MAX_SERVICES];
	struct endpoint_req eps[MAX_ENDPOINTS];
	size_t neps;
	size_t active_conns; /* atomic: --max-conns counts every worker's connections */
	size_t nworkers;
	struct worker workers[MAX_WORKERS];
	struct dgram_guard *guard; /* one rate table for all workers */
	struct metrics_ctx metrics;
	struct addr_spec metrics_spec;
	const char *config_path; /* --config FILE */
	bool check_config;       /* --check-config: validate and exit */
};

/* ---- options ---- */

enum opt_kind { KIND_ENDPOINT, KIND_SERVICE_OPT, KIND_SERVE_OPT };
struct opt_ref {
	enum opt_kind kind;
	size_t service;
	const struct opt_desc *desc;
};

#define MAX_OPTS 128
#define OPT_BASE 1000

static void usage(FILE *out, const struct server *s)
{
	fprintf(out, _("Usage: sockit serve [OPTIONS]\n\n"
		     "Run sockit's services on one event loop. With no service option, every\n"
		     "service starts on its default endpoints.\n\nServices:\n"));
	for (size_t i = 0; i < s->nservices; i++) {
		const struct service_def *d = service_table[i];
		char flag[64], defaults[256] = "";
		snprintf(flag, sizeof(flag), "--%s ADDR", d->name);
		for (size_t k = 0; d->defaults[k] != NULL; k++) {
			strncat(defaults, k ? ", " : "", sizeof(defaults) - strlen(defaults) - 1);
			strncat(defaults, d->defaults[k], sizeof(defaults) - strlen(defaults) - 1);
		}
		fprintf(out, _("  %-26s %s (default: %s; repeatable)\n"), flag, _(d->summary), defaults);
		opt_print_help(out, d->options, d->config_defaults);
	}
	fprintf(out, _("\nLimits and general options:\n"));
	opt_print_help(out, serve_options, &serve_defaults);
	fprintf(out, _("  %-26s read settings from FILE (flags override it)\n"), "--config FILE");
	fprintf(out, _("  %-26s check the configuration and exit\n"), "--check-config");
	fprintf(out, _("  %-26s log connections and messages (-vv: debug)\n"), "-v, --verbose");
	fprintf(out, _("  %-26s show this help\n"), "-h, --help");
	fprintf(out, _("\nADDR is tcp:HOST:PORT, udp:HOST:PORT, unix:/path or HOST:PORT (tcp);\n"
		     "write IPv6 hosts as [::1]. Port 0 picks a free port; the bound address\n"
		     "is printed on stderr.\n"));
}

static int add_endpoint(struct server *s, size_t service, const char *text, char *err,
			size_t errlen)
{
	if (s->neps == MAX_ENDPOINTS) {
		snprintf(err, errlen, "too many endpoints (at most %d)", MAX_ENDPOINTS);
		return -1;
	}
	struct endpoint_req *ep = &s->eps[s->neps];
	char why[256];
	if (addr_parse(text, ADDR_TCP, &ep->spec, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "%s", why);
		return -1;
	}
	const struct service_def *d = service_table[service];
	bool stream = ep->spec.transport != ADDR_UDP;
	if ((stream && d->stream == NULL) || (!stream && d->dgram == NULL)) {
		snprintf(err, errlen, "%s does not speak %s", d->name,
			 addr_transport_name(ep->spec.transport));
		return -1;
	}
	ep->service = service;
	ep->from_file = false;
	ep->inherited_fd = -1;
	s->neps++;
	return 0;
}

/* ---- the configuration file: [serve] holds serve_options, [NAME] a service's ---- */

static int config_listen(void *arg, size_t section, const char *value, char *err, size_t errlen)
{
	struct server *s = arg;
	if (add_endpoint(s, section - 1, value, err, errlen) < 0)
		return -1;
	s->eps[s->neps - 1].from_file = true;
	return 0;
}

static void load_config_file(struct server *s)
{
	struct config_section sections[MAX_SERVICES + 1];
	sections[0] = (struct config_section){"serve", serve_options, &s->cfg, false};
	for (size_t i = 0; i < s->nservices; i++)
		sections[i + 1] = (struct config_section){service_table[i]->name,
							  service_table[i]->options,
							  s->svc_config[i], true};
	struct config_schema schema = {sections, s->nservices + 1, config_listen, s};
	char err[CONFIG_ERR_LEN];
	if (config_load(&schema, s->config_path, err, sizeof(err)) < 0) {
		cli_error("%s", err);
		exit(EXIT_CONFIG);
	}
}

/* Fill metrics_spec from --metrics, which opt_set checked with metrics_addr_check. */
static void metrics_addr_parse(struct server *s)
{
	char why[256];
	if (s->cfg.metrics == NULL || s->cfg.metrics[0] == '\0' ||
	    addr_parse(s->cfg.metrics, ADDR_TCP, &s->metrics_spec, why, sizeof(why)) < 0)
		return;
	if (s->metrics_spec.transport != ADDR_UNIX && s->metrics_spec.host[0] == '\0')
		snprintf(s->metrics_spec.host, sizeof(s->metrics_spec.host), "127.0.0.1");
}
/* Sockets from systemd become endpoints of the service their FileDescriptorName= names. */
static void add_inherited_endpoints(struct server *s)
{
	struct activation_socket socks[ACTIVATION_MAX];
	char err[NET_ERR_LEN + 64];
	int n = activation_take(socks, ACTIVATION_MAX, err, sizeof(err));
	if (n < 0) {
		cli_error("%s", err);
		exit(EXIT_CONFIG);
	}
	for (int i = 0; i < n; i++) {
		size_t k = 0;
		while (k < s->nservices && strcmp(service_table[k]->name, socks[i].name) != 0)
			k++;
		if (k == s->nservices) {
			cli_error(_("systemd socket %s is named '%s', which is no service of sockit"),
				  socks[i].bound, socks[i].name);
			exit(EXIT_CONFIG);
		}
		if (add_endpoint(s, k, socks[i].bound, err, sizeof(err)) < 0) {
			cli_error(_("systemd socket %s: %s"), socks[i].bound, err);
			exit(EXIT_CONFIG);
		}
		s->eps[s->neps - 1].inherited_fd = socks[i].fd;
	}
}

/* A service named on the command line runs only on the endpoints given there. */
static void drop_file_endpoints(struct server *s, size_t service)
{
	size_t kept = 0;
	for (size_t i = 0; i < s->neps; i++) {
		if (!(s->eps[i].from_file && s->eps[i].service == service))
			s->eps[kept++] = s->eps[i];
	}
	s->neps = kept;
}

static void parse_options(struct server *s, int argc, char **argv)
{
	struct option longopts[MAX_OPTS];
	struct opt_ref refs[MAX_OPTS];
	size_t n = 0;
	longopts[n++] = (struct option){"help", no_argument, NULL, 'h'};
	longopts[n++] = (struct option){"verbose", no_argument, NULL, 'v'};
	longopts[n++] = (struct option){"config", required_argument, NULL, 'c'};
	longopts[n++] = (struct option){"check-config", no_argument, NULL, 'C'};
	for (size_t i = 0; i < s->nservices; i++) {
		const struct service_def *d = service_table[i];
		refs[n] = (struct opt_ref){KIND_ENDPOINT, i, NULL};
		longopts[n] = (struct option){d->name, required_argument, NULL, OPT_BASE + (int)n};
		n++;
		for (const struct opt_desc *o = d->options; o && o->name; o++) {
			refs[n] = (struct opt_ref){KIND_SERVICE_OPT, i, o};
			longopts[n] = (struct option){o->name,
						      o->type == OPT_BOOL ? no_argument
									  : required_argument,
						      NULL, OPT_BASE + (int)n};
			n++;
		}
	}
	for (const struct opt_desc *o = serve_options; o->name; o++) {
		refs[n] = (struct opt_ref){KIND_SERVE_OPT, 0, o};
		longopts[n] = (struct option){o->name,
					      o->type == OPT_BOOL ? no_argument : required_argument,
					      NULL, OPT_BASE + (int)n};
		n++;
	}
	longopts[n] = (struct option){0};

	/* The file first, so that flags override it: a quiet pass looks for --config. */
	int c;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "hv", longopts, NULL)) != -1) {
		if (c == 'c')
			s->config_path = optarg;
	}
	optind = 0;
	if (s->config_path != NULL)
		load_config_file(s);

	int verbosity = 0;
	char err[512];
	while ((c = getopt_long(argc, argv, ":hv", longopts, NULL)) != -1) {
		if (c == 'h') {
			usage(stdout, s);
			exit(0);
		}
		if (c == 'v') {
			verbosity++;
			continue;
		}
		if (c == 'c')
			continue;
		if (c == 'C') {
			s->check_config = true;
			continue;
		}
		if (c < OPT_BASE)
			cli_bad_option("serve", c, argv, longopts);
		struct opt_ref *r = &refs[c - OPT_BASE];
		const char *value = r->desc && r->desc->type == OPT_BOOL ? "true" : optarg;
		int rc = 0;
		if (r->kind == KIND_ENDPOINT) {
			drop_file_endpoints(s, r->service);
			char why[256];
			rc = add_endpoint(s, r->service, optarg, why, sizeof(why));
			if (rc < 0)
				snprintf(err, sizeof(err), "--%s: %s", service_table[r->service]->name,
					 why);
		} else if (r->kind == KIND_SERVICE_OPT)
			rc = opt_set(r->desc, s->svc_config[r->service], value, false, err,
				     sizeof(err));
		else
			rc = opt_set(r->desc, &s->cfg, value, false, err, sizeof(err));
		if (rc < 0)
			cli_usage_error("serve", "%s", err);
	}
	if (optind < argc)
		cli_usage_error("serve", _("unexpected argument '%s'"), argv[optind]);
	log_set_level(verbosity == 0 ? LOG_WARN : verbosity == 1 ? LOG_INFO : LOG_DEBUG);

	metrics_addr_parse(s);
	add_inherited_endpoints(s);
	if (s->neps == 0) { /* no service option: everything on its defaults */
		for (size_t i = 0; i < s->nservices; i++) {
			for (size_t k = 0; service_table[i]->defaults[k] != NULL; k++) {
				if (add_endpoint(s, i, service_table[i]->defaults[k], err,
						 sizeof(err)) < 0)
					cli_usage_error("serve", "%s: %s", service_table[i]->name, err);
				if (s->cfg.bind != NULL)
					snprintf(s->eps[s->neps - 1].spec.host, ADDR_HOST_MAX + 1,
						 "%s", s->cfg.bind);
			}
		}
	}
	for (size_t i = 0; i < s->neps; i++) { /* "tcp::9000" means the default host */
		struct addr_spec *sp = &s->eps[i].spec;
		if (sp->transport != ADDR_UNIX && sp->host[0] == '\0')
			snprintf(sp->host, sizeof(sp->host), "%s",
				 s->cfg.bind ? s->cfg.bind : "127.0.0.1");
	}
}

/* ---- start and stop ---- */

enum { CTL_DRAIN = 'd', CTL_QUIT = 'q' };

static int raise_fd_limit(unsigned want)
{
	int have = cli_raise_fd_limit();
	if ((unsigned)have < want + FD_RESERVE)
		log_warn("open-file limit is %d, below --max-conns %u + %d: connections past the "
			 "limit will wait for free fds",
			 have, want, FD_RESERVE);
	return have;
}

static size_t default_threads(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n < 1 ? 1 : n > MAX_WORKERS ? MAX_WORKERS : (size_t)n;
}

/* Services with state shared by all their clients (a chat room) and unix sockets, which
 * have no SO_REUSEPORT, live on worker 0 only. */
static bool endpoint_on_worker(const struct endpoint_req *req, size_t w)
{
	return w == 0 || (req->spec.transport != ADDR_UNIX && req->inherited_fd < 0 &&
			  !service_table[req->service]->single_worker);
}

static struct stream_limits server_stream_limits(struct server *s)
{
	return (struct stream_limits){
		.max_conns = s->cfg.max_conns,
		.output_cap = s->cfg.output_cap,
		.idle_timeout_ms = s->cfg.idle_timeout_ms,
		.request_timeout_ms = s->cfg.request_timeout_ms,
		.active_conns = &s->active_conns,
	};
}

/* --metrics: on worker 0, reading every service's shared counters. */
static int start_metrics(struct server *s)
{
	struct worker *w = &s->workers[0];
	for (size_t i = 0; i < s->nservices && i < METRICS_SERVICES_MAX; i++) {
		s->metrics.names[i] = service_table[i]->name;
		s->metrics.stats[i] = &s->stats[i];
		s->metrics.n = i + 1;
	}
	char bound[ADDR_TEXT_MAX], err[NET_ERR_LEN];
	int fd = net_listen(&s->metrics_spec, NULL, bound, sizeof(bound), err, sizeof(err));
	if (fd < 0) {
		cli_error(_("metrics: %s"), err);
		return -1;
	}
	struct stream_limits limits = server_stream_limits(s);
	struct stream_server *srv = stream_server_new(w->loop, fd, bound, &metrics_stream,
						      &s->metrics, &limits, &s->metrics.self);
	if (srv == NULL) {
		cli_error(_("metrics: %s: cannot start: %s"), bound, strerror(ENOMEM));
		return -1;
	}
	w->streams[w->nstreams++] = srv;
	fprintf(stderr, "sockit: metrics: listening on %s\n", bound); /* for scripts: not translated */
	return 0;
}

/* Start req on worker w. Worker 0 binds first and rewrites req->spec to the bound address,
 * so that port 0 resolves once and every other worker joins that port. */
static int start_endpoint(struct worker *w, struct endpoint_req *req)
{
	struct server *s = w->s;
	const struct service_def *d = service_table[req->service];
	char bound[ADDR_TEXT_MAX], err[NET_ERR_LEN];
	struct net_opts opts = {.reuseport = s->nworkers > 1 && req->spec.transport != ADDR_UNIX};
	int fd = req->inherited_fd >= 0
			 ? activation_adopt(req->inherited_fd, bound, sizeof(bound), err, sizeof(err))
			 : net_listen(&req->spec, &opts, bound, sizeof(bound), err, sizeof(err));
	if (fd < 0) {
		cli_error("%s: %s", d->name, err);
		return -1;
	}
	if (w->index == 0 && req->spec.transport != ADDR_UNIX)
		addr_parse(bound, req->spec.transport, &req->spec, err, sizeof(err));
	void *ctx = w->svc_ctx[req->service];
	struct service_stats *stats = &s->stats[req->service];
	if (req->spec.transport == ADDR_UDP) {
		if (w->index == 0) { /* the guard knows every endpoint of ours */
			struct sockaddr_storage ss;
			socklen_t len = sizeof(ss);
			getsockname(fd, (struct sockaddr *)&ss, &len);
			guard_add_own(s->guard, (struct sockaddr *)&ss);
		}
		struct dgram_endpoint *ep =
			dgram_endpoint_new(w->loop, fd, bound, d->dgram, ctx, w->guard, stats);
		if (ep == NULL) {
			cli_error(_("%s: %s: cannot start: %s"), d->name, bound, strerror(ENOMEM));
			return -1;
		}
		w->dgrams[w->ndgrams++] = ep;
	} else {
		struct stream_limits limits = server_stream_limits(s);
		struct stream_server *srv =
			stream_server_new(w->loop, fd, bound, d->stream, ctx, &limits, stats);
		if (srv == NULL) {
			cli_error(_("%s: %s: cannot start: %s"), d->name, bound, strerror(ENOMEM));
			return -1;
		}
		w->streams[w->nstreams++] = srv;
	}
	if (w->index == 0)
		fprintf(stderr, "sockit: %s: listening on %s\n", d->name, bound); /* not translated */
	return 0;
}

static size_t open_conns(const struct worker *w)
{
	size_t n = 0;
	for (size_t i = 0; i < w->nstreams; i++)
		n += stream_server_conn_count(w->streams[i]);
	return n;
}

static void on_stop_timer(struct ev_loop *loop, struct ev_timer *t, void *data)
{
	struct worker *w = data;
	if (open_conns(w) == 0 || ev_now_ms(loop) >= w->stop_deadline_ms) {
		ev_loop_stop(loop);
		return;
	}
	ev_timer_start(loop, t, SHUTDOWN_POLL_MS);
}

/* No longer accept or answer; let queued output drain, then stop this worker's loop. */
static void worker_drain(struct worker *w)
{
	if (w->stopping)
		return;
	w->stopping = true;
	for (size_t i = 0; i < w->ndgrams; i++)
		dgram_endpoint_free(w->dgrams[i]);
	w->ndgrams = 0;
	for (size_t i = 0; i < w->nstreams; i++)
		stream_server_drain(w->streams[i]);
	w->stop_deadline_ms = ev_now_ms(w->loop) + SHUTDOWN_GRACE_MS;
	ev_timer_start(w->loop, &w->stop_timer, 0);
}

static void on_ctl(struct ev_loop *loop, int fd, void *data, int events)
{
	(void)events;
	struct worker *w = data;
	unsigned char cmds[16];
	ssize_t n;
	while ((n = read(fd, cmds, sizeof(cmds))) > 0) {
		for (ssize_t i = 0; i < n; i++) {
			if (cmds[i] == CTL_DRAIN)
				worker_drain(w);
			else if (cmds[i] == CTL_QUIT)
				ev_loop_stop(loop);
		}
	}
}

static void workers_tell(struct server *s, unsigned char cmd)
{
	for (size_t i = 1; i < s->nworkers; i++) {
		ssize_t n = write(s->workers[i].ctl[1], &cmd, 1);
		(void)n; /* a full pipe already holds a command that stops it */
	}
}

static void on_stop_signal(struct ev_loop *loop, int signo, void *data)
{
	struct server *s = data;
	struct worker *w0 = &s->workers[0];
	activation_notify_stopping();
	if (w0->stopping) { /* a second signal: stop now */
		workers_tell(s, CTL_QUIT);
		ev_loop_stop(loop);
		return;
	}
	size_t conns = __atomic_load_n(&s->active_conns, __ATOMIC_RELAXED);
	log_info("%s: no longer accepting; finishing %zu connection(s)", strsignal(signo), conns);
	workers_tell(s, CTL_DRAIN);
	worker_drain(w0);
}

static void on_hup(struct ev_loop *loop, int signo, void *data)
{
	(void)loop;
	(void)signo;
	struct server *s = data;
	int rc = log_reopen();
	if (rc < 0) /* the old file stays open: logging goes on there */
		log_error("reopen log file %s: %s", s->cfg.log_file, strerror(-rc));
	else
		log_info("SIGHUP: log file reopened");
}

/* The counters at exit, so that what limits refused is visible without a metrics reader. */
static void log_totals(const struct server *s)
{
	for (size_t i = 0; i < s->nservices; i++) {
		const struct service_stats *st = &s->stats[i];
		log_info("%s: totals: %llu connection(s) accepted, %llu refused; %llu datagram(s) in, "
			 "%llu answered, %llu dropped, %llu rate-limited; %llu bytes in, %llu out",
			 service_table[i]->name, (unsigned long long)STAT_GET(st, conns_accepted),
			 (unsigned long long)STAT_GET(st, conns_refused),
			 (unsigned long long)STAT_GET(st, dgrams_in),
			 (unsigned long long)STAT_GET(st, replies),
			 (unsigned long long)STAT_GET(st, drops),
			 (unsigned long long)STAT_GET(st, rate_limited),
			 (unsigned long long)STAT_GET(st, bytes_in),
			 (unsigned long long)STAT_GET(st, bytes_out));
	}
}

static int worker_init(struct server *s, struct worker *w, size_t index, int max_fds)
{
	char err[NET_ERR_LEN];
	*w = (struct worker){.s = s, .index = index, .ctl = {-1, -1}};
	w->loop = ev_loop_new(max_fds, NULL, err, sizeof(err));
	if (w->loop == NULL) {
		cli_error("%s", err);
		return -1;
	}
	w->guard = s->guard;
	if (pipe2(w->ctl, O_NONBLOCK | O_CLOEXEC) < 0 ||
	    ev_io_start(w->loop, w->ctl[0], EV_READ, on_ctl, w) < 0) {
		cli_error(_("worker %zu: %s"), index, strerror(errno));
		return -1;
	}
	ev_timer_init(&w->stop_timer, on_stop_timer, w);
	for (size_t i = 0; i < s->nservices; i++) {
		const struct service_def *d = service_table[i];
		w->svc_ctx[i] = d->create ? d->create(w->loop, s->svc_config[i]) : s->svc_config[i];
		if (w->svc_ctx[i] == NULL) {
			cli_error(_("%s: cannot start"), d->name);
			return -1;
		}
	}
	return 0;
}

static void worker_free(struct server *s, struct worker *w)
{
	for (size_t i = 0; i < w->nstreams; i++)
		stream_server_free(w->streams[i]);
	for (size_t i = 0; i < w->ndgrams; i++)
		dgram_endpoint_free(w->dgrams[i]);
	for (size_t i = 0; i < s->nservices; i++) {
		const struct service_def *d = service_table[i];
		if (d->create != NULL && d->destroy != NULL && w->svc_ctx[i] != NULL)
			d->destroy(w->svc_ctx[i]);
	}
	if (w->ctl[0] >= 0) {
		ev_io_stop(w->loop, w->ctl[0]);
		close(w->ctl[0]);
		close(w->ctl[1]);
	}
	ev_loop_free(w->loop);
}

static void server_free(struct server *s)
{
	for (size_t i = 0; i < s->nworkers; i++)
		worker_free(s, &s->workers[i]);
	for (size_t i = 0; i < s->nservices; i++) {
		const struct service_def *d = service_table[i];
		for (const struct opt_desc *o = d->options; o && o->name; o++) {
			if (o->type == OPT_STRING)
				free(*(char **)(void *)((char *)s->svc_config[i] + o->offset));
		}
		free(s->svc_config[i]);
	}
	guard_free(s->guard);
	log_close();
	free(s->cfg.bind);
	free(s->cfg.metrics);
	free(s->cfg.log_file);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	int rc = ev_loop_run(w->loop);
	if (rc < 0)
		cli_error(_("worker %zu: event loop: %s"), w->index, strerror(-rc));
	return NULL;
}

/* Threads start with every signal blocked, so signals reach only the main thread's loop. */
static int workers_spawn(struct server *s)
{
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	int rc = 0;
	for (size_t i = 1; i < s->nworkers && rc == 0; i++) {
		rc = pthread_create(&s->workers[i].thread, NULL, worker_main, &s->workers[i]);
		if (rc != 0) {
			cli_error(_("worker %zu: cannot start thread: %s"), i, strerror(rc));
			s->nworkers = i; /* the rest were never started */
		}
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc == 0 ? 0 : -1;
}

static void workers_join(struct server *s)
{
	for (size_t i = 1; i < s->nworkers; i++)
		pthread_join(s->workers[i].thread, NULL);
}

int cmd_serve(int argc, char **argv)
{
	static struct server s; /* large (per-service tables); one per process */
	s.cfg = serve_defaults;
	while (service_table[s.nservices] != NULL && s.nservices < MAX_SERVICES) {
		const struct service_def *d = service_table[s.nservices];
		s.svc_config[s.nservices] = malloc(d->config_size ? d->config_size : 1);
		if (s.svc_config[s.nservices] == NULL) {
			cli_error(_("out of memory"));
			return 1;
		}
		if (d->config_size > 0) /* a service without options has no defaults */
			memcpy(s.svc_config[s.nservices], d->config_defaults, d->config_size);
		s.nservices++;
	}
	parse_options(&s, argc, argv);
	if (s.check_config) {
		printf(_("%s: configuration OK\n"), s.config_path ? s.config_path : _("command line"));
		server_free(&s);
		return 0;
	}
	if (s.cfg.log_file != NULL) {
		int lrc = log_open_file(s.cfg.log_file);
		if (lrc < 0) {
			cli_error(_("--log-file %s: %s"), s.cfg.log_file, strerror(-lrc));
			server_free(&s);
			return 1;
		}
	}

	signal(SIGPIPE, SIG_IGN);
	int max_fds = raise_fd_limit(s.cfg.max_conns);
	size_t nworkers = s.cfg.threads ? s.cfg.threads : default_threads();
	struct guard_config gc = {.rate = s.cfg.udp_rate,
				  .burst = s.cfg.udp_burst,
				  .limit_loopback = s.cfg.limit_loopback};
	s.guard = guard_new(&gc);
	if (s.guard == NULL) {
		cli_error("%s", strerror(ENOMEM));
		goto out_free;
	}
	for (size_t i = 0; i < nworkers; i++) {
		s.nworkers = i + 1;
		if (worker_init(&s, &s.workers[i], i, max_fds) < 0)
			goto out_free;
	}
	log_info("event loop: %s, up to %d fds, %zu worker thread(s)",
		 ev_loop_backend(s.workers[0].loop), max_fds, s.nworkers);
	for (size_t i = 0; i < s.neps; i++) {
		for (size_t k = 0; k < s.nworkers; k++) {
			if (endpoint_on_worker(&s.eps[i], k) &&
			    start_endpoint(&s.workers[k], &s.eps[i]) < 0)
				goto out_free;
		}
	}
	if (s.cfg.metrics != NULL && s.cfg.metrics[0] != '\0' && start_metrics(&s) < 0)
		goto out_free;
	struct ev_loop *main_loop = s.workers[0].loop;
	ev_signal_start(main_loop, SIGINT, on_stop_signal, &s);
	ev_signal_start(main_loop, SIGTERM, on_stop_signal, &s);
	ev_signal_start(main_loop, SIGHUP, on_hup, &s);
	if (workers_spawn(&s) < 0) {
		workers_tell(&s, CTL_QUIT);
		workers_join(&s);
		goto out_free;
	}

	activation_notify_ready();
	int rc = ev_loop_run(main_loop);
	if (rc < 0) {
		cli_error(_("event loop: %s"), strerror(-rc));
		workers_tell(&s, CTL_QUIT);
	}
	workers_join(&s);
	log_totals(&s);
	server_free(&s);
	return rc < 0 ? 1 : 0;

out_free:
	server_free(&s);
	return 1;
}
