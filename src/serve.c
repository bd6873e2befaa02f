/* serve.c - `sockit serve`: start every service on one event loop per worker thread
 * (SO_REUSEPORT listeners) and shut down gracefully on SIGINT/SIGTERM. Options are
 * serve_options.c's; both are generic over service_table. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "activation.h"
#include "cli.h"
#include "guard.h"
#include "i18n.h"
#include "log.h"
#include "metrics.h"
#include "net.h"
#include "serve.h"
#include "service.h"

#include "serve_internal.h"

#define FD_RESERVE        32   /* fds kept for listeners, logs, the loop itself */
#define SHUTDOWN_GRACE_MS 3000 /* in-flight output gets this long after SIGTERM (exit < 5 s) */
#define SHUTDOWN_POLL_MS  20

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
	/* for scripts: not translated */
	fprintf(stderr, "sockit: metrics: listening on %s\n", bound);
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
			 ? activation_adopt(req->inherited_fd, bound, sizeof(bound), err,
					    sizeof(err))
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
	if (w->index == 0) /* not translated: scripts read it */
		fprintf(stderr, "sockit: %s: listening on %s\n", d->name, bound);
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
	if (ev_timer_start(loop, t, SHUTDOWN_POLL_MS) < 0)
		ev_loop_stop(loop); /* cannot wait for the drain: stop now rather than never */
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
	if (ev_timer_start(w->loop, &w->stop_timer, 0) < 0)
		ev_loop_stop(w->loop); /* out of memory: stop without the drain, not never */
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
		log_info("%s: totals: %llu connection(s) accepted, %llu refused; "
			 "%llu datagram(s) in, %llu answered, %llu dropped, %llu rate-limited; "
			 "%llu bytes in, %llu out",
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
	w->loop = ev_loop_new(max_fds, s->cfg.event_loop, err, sizeof(err));
	if (w->loop == NULL) {
		cli_error("%s", err);
		return -1;
	}
	ev_loop_set_busy_poll(w->loop, s->busy_poll_us, s->busy_poll_adaptive);
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
	free(s->cfg.event_loop);
	free(s->cfg.busy_poll);
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
	serve_parse_options(&s, argc, argv);
	if (s.check_config) {
		printf(_("%s: configuration OK\n"),
		       s.config_path ? s.config_path : _("command line"));
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
	char spin[64] = "off";
	if (s.busy_poll_us > 0)
		snprintf(spin, sizeof(spin), s.busy_poll_adaptive ? "auto, up to %u us" : "%u us",
			 s.busy_poll_us);
	log_info("event loop: %s, up to %d fds, %zu worker thread(s), busy polling %s",
		 ev_loop_backend(s.workers[0].loop), max_fds, s.nworkers, spin);
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
