/* serve_options.c - `sockit serve`'s options: the serve-wide limits, each service's
 * --NAME ADDR and own flags, the config file and inherited (systemd) sockets, all
 * turned into one list of endpoints. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "activation.h"
#include "cli.h"
#include "config.h"
#include "ev_spin.h"
#include "i18n.h"
#include "log.h"
#include "metrics.h"
#include "net.h"
#include "service.h"

#include "serve_internal.h"

const struct serve_config serve_defaults = {
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
	.busy_poll = NULL,
	.event_loop = NULL,
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

/* --busy-poll: auto, or microseconds (0: off). */
static int busy_poll_check(const char *value, char *why, size_t whylen)
{
	unsigned usec;
	bool adaptive;
	return spin_option_parse(value, &usec, &adaptive, why, whylen);
}

/* --event-loop: a backend this build has. */
static int event_loop_check(const char *value, char *why, size_t whylen)
{
	if (value[0] == '\0' || ev_backend_known(value))
		return 0; /* empty: the default */
	snprintf(why, whylen, _("expected epoll, poll or uring, got '%s'"), value);
	return -1;
}

const struct opt_desc serve_options[] = {
	{.name = "bind",
	 .type = OPT_STRING,
	 .offset = offsetof(struct serve_config, bind),
	 .metavar = "HOST",
	 .help = N_("host for the default endpoints (default: 127.0.0.1)")},
	{.name = "log-file",
	 .type = OPT_STRING,
	 .offset = offsetof(struct serve_config, log_file),
	 .metavar = "FILE",
	 .help = N_("log to FILE instead of stderr; SIGHUP reopens it")},
	{.name = "max-conns",
	 .type = OPT_UINT,
	 .offset = offsetof(struct serve_config, max_conns),
	 .min = 1,
	 .max = 1000000,
	 .metavar = "N",
	 .help = N_("stream connections at once; more are closed at once")},
	{.name = "output-cap",
	 .type = OPT_SIZE,
	 .offset = offsetof(struct serve_config, output_cap),
	 .min = 4096,
	 .max = 1ull << 30,
	 .metavar = "BYTES",
	 .help = N_("unsent bytes per client before sockit stops reading it")},
	{.name = "idle-timeout",
	 .type = OPT_SECONDS,
	 .offset = offsetof(struct serve_config, idle_timeout_ms),
	 .min = 0,
	 .max = 86400000,
	 .metavar = "SECONDS",
	 .help = N_("close connections silent this long; 0 = never")},
	{.name = "request-timeout",
	 .type = OPT_SECONDS,
	 .offset = offsetof(struct serve_config, request_timeout_ms),
	 .min = 0,
	 .max = 86400000,
	 .metavar = "SECONDS",
	 .help = N_("a started request line must end within this; 0 = never")},
	{.name = "udp-rate",
	 .type = OPT_UINT,
	 .offset = offsetof(struct serve_config, udp_rate),
	 .min = 0,
	 .max = 1000000,
	 .metavar = "N",
	 .help = N_("datagrams per second answered per source; 0 = unlimited")},
	{.name = "udp-burst",
	 .type = OPT_UINT,
	 .offset = offsetof(struct serve_config, udp_burst),
	 .min = 1,
	 .max = 1000000,
	 .metavar = "N",
	 .help = N_("burst allowed per source")},
	{.name = "limit-loopback",
	 .type = OPT_BOOL,
	 .offset = offsetof(struct serve_config, limit_loopback),
	 .help = N_("rate-limit loopback sources too (they are exempt by default)")},
	{.name = "threads",
	 .type = OPT_UINT,
	 .offset = offsetof(struct serve_config, threads),
	 .min = 0,
	 .max = MAX_WORKERS,
	 .metavar = "N",
	 .help = N_("worker threads, each with its own loop; 0 = one per CPU")},
	{.name = "busy-poll",
	 .type = OPT_STRING,
	 .offset = offsetof(struct serve_config, busy_poll),
	 .metavar = "USEC",
	 .check = busy_poll_check,
	 .help = N_("spin up to USEC after traffic before sleeping; 0 = off; auto (default): "
		    "50, only while it pays and a CPU is free")},
	{.name = "event-loop",
	 .type = OPT_STRING,
	 .offset = offsetof(struct serve_config, event_loop),
	 .metavar = "NAME",
	 .help = N_("epoll (default), poll or uring (io_uring, else epoll)"),
	 .check = event_loop_check},
	{.name = "metrics",
	 .type = OPT_STRING,
	 .offset = offsetof(struct serve_config, metrics),
	 .metavar = "ADDR",
	 .help = N_("serve Prometheus metrics over HTTP at ADDR (tcp or unix)"),
	 .check = metrics_addr_check},
	OPT_END,
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
		fprintf(out, _("  %-26s %s (default: %s; repeatable)\n"), flag, _(d->summary),
			defaults);
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
		sections[i + 1] = (struct config_section){
			service_table[i]->name, service_table[i]->options, s->svc_config[i], true};
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

/* Fill busy_poll_us and busy_poll_adaptive from --busy-poll, which busy_poll_check checked. */
static void busy_poll_resolve(struct server *s)
{
	char why[128];
	if (spin_option_parse(s->cfg.busy_poll, &s->busy_poll_us, &s->busy_poll_adaptive, why,
			      sizeof(why)) < 0)
		s->busy_poll_us = 0;
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
			cli_error(
				_("systemd socket %s is named '%s', which is no service of sockit"),
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

void serve_parse_options(struct server *s, int argc, char **argv)
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
			longopts[n] = (struct option){
				o->name, o->type == OPT_BOOL ? no_argument : required_argument,
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
				snprintf(err, sizeof(err), "--%s: %s",
					 service_table[r->service]->name, why);
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
	busy_poll_resolve(s);
	add_inherited_endpoints(s);
	if (s->neps == 0) { /* no service option: everything on its defaults */
		for (size_t i = 0; i < s->nservices; i++) {
			for (size_t k = 0; service_table[i]->defaults[k] != NULL; k++) {
				if (add_endpoint(s, i, service_table[i]->defaults[k], err,
						 sizeof(err)) < 0)
					cli_usage_error("serve", "%s: %s", service_table[i]->name,
							err);
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
