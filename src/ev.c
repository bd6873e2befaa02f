/* ev.c - the event loop core: watches, a timer heap and signals; backends do the waiting. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ev_internal.h"
#include "log.h"
#include "mono_clock.h"

static struct ev_loop *signal_loop; /* the loop watching the signal self-pipe, if any */

/* The first is the default. */
static const struct ev_backend *const backends[] = {&ev_backend_epoll, &ev_backend_poll,
#ifdef HAVE_LIBURING
						    &ev_backend_uring,
#endif
						    NULL};

/* io_uring refused (seccomp, io_uring_disabled, an old kernel): every worker's loop falls
 * back to epoll, and the log says so once, not once per loop. */
static void note_uring_refused(int rc)
{
	static int logged;
	if (__atomic_exchange_n(&logged, 1, __ATOMIC_RELAXED) == 0)
		log_warn("event loop: io_uring unavailable (%s); using epoll", strerror(-rc));
}

struct ev_loop *ev_loop_new(int max_fds, const char *backend, char *err, size_t errlen)
{
	if (backend == NULL)
		backend = getenv("SOCKIT_EV_BACKEND");
	if (backend != NULL && *backend == '\0')
		backend = NULL;

	struct ev_loop *loop = calloc(1, sizeof(*loop));
	if (loop == NULL)
		goto out_nomem;
	loop->max_fds = max_fds;
	spinner_init(&loop->spin, 0, false);
	loop->watches = calloc((size_t)max_fds, sizeof(*loop->watches));
	if (loop->watches == NULL)
		goto out_free_loop;
	ev_update_time(loop);

	int rc = -ENOENT;
	for (size_t i = 0; backends[i] != NULL; i++) {
		if (backend != NULL && strcmp(backend, backends[i]->name) != 0)
			continue;
		loop->backend = backends[i];
		rc = backends[i]->init(loop);
		if (rc == 0)
			return loop;
	}
	if (rc != -ENOENT && backend != NULL && strcmp(backend, "uring") == 0) {
		note_uring_refused(rc);
		loop->backend = &ev_backend_epoll;
		rc = ev_backend_epoll.init(loop);
		if (rc == 0)
			return loop;
	}
	if (rc == -ENOENT && backend != NULL)
		snprintf(err, errlen, "event loop: unknown backend '%s' (epoll, poll%s)", backend,
#ifdef HAVE_LIBURING
			 ", uring"
#else
			 ""
#endif
		);
	else
		snprintf(err, errlen, "event loop: %s", strerror(-rc));
	free(loop->watches);
	free(loop);
	return NULL;

out_free_loop:
	free(loop->watches);
	free(loop);
out_nomem:
	snprintf(err, errlen, "event loop: %s", strerror(ENOMEM));
	return NULL;
}

bool ev_backend_known(const char *name)
{
	for (size_t i = 0; backends[i] != NULL; i++) {
		if (strcmp(name, backends[i]->name) == 0)
			return true;
	}
	return false;
}

void ev_loop_free(struct ev_loop *loop)
{
	if (loop == NULL)
		return;
	if (signal_loop == loop)
		signal_loop = NULL;
	loop->backend->free(loop);
	spinner_close(&loop->spin);
	free(loop->heap);
	free(loop->watches);
	free(loop);
}

const char *ev_loop_backend(const struct ev_loop *loop)
{
	return loop->backend->name;
}

int ev_loop_max_fds(const struct ev_loop *loop)
{
	return loop->max_fds;
}

uint64_t ev_now_ms(const struct ev_loop *loop)
{
	return loop->now_ms;
}

void ev_update_time(struct ev_loop *loop)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	loop->now_ms = (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void ev_loop_set_busy_poll(struct ev_loop *loop, unsigned usec, bool adaptive)
{
	spinner_close(&loop->spin);
	spinner_init(&loop->spin, usec, adaptive);
}

/* The backend's wait, preceded by non-blocking polls when the loop was busy a moment ago
 * and the spin policy allows. Never spins past the next timer. */
static int loop_wait(struct ev_loop *loop, int timeout_ms)
{
	if (loop->spin.policy.budget_us == 0 || !loop->had_events || timeout_ms == 0)
		return loop->backend->wait(loop, timeout_ms);
	uint64_t start = mono_us();
	uint64_t spin = spinner_budget(&loop->spin, start);
	if (spin == 0)
		return loop->backend->wait(loop, timeout_ms);
	if (timeout_ms > 0 && (uint64_t)timeout_ms * 1000u < spin)
		spin = (uint64_t)timeout_ms * 1000u;
	uint64_t waited = 0;
	do {
		int n = loop->backend->wait(loop, 0);
		if (n != 0) {
			if (n > 0)
				spin_policy_record(&loop->spin.policy, true);
			return n;
		}
		waited = mono_us() - start;
	} while (waited < spin && !loop->stopped);
	spin_policy_record(&loop->spin.policy, false);
	if (timeout_ms > 0) { /* what is left of the timeout, rounded up */
		uint64_t left_ms = (waited + 999u) / 1000u;
		timeout_ms = left_ms >= (uint64_t)timeout_ms ? 0 : timeout_ms - (int)left_ms;
	}
	return loop->backend->wait(loop, timeout_ms);
}

void ev_loop_stop(struct ev_loop *loop)
{
	loop->stopped = true;
}

/* ---- fd watches ---- */

int ev_io_start(struct ev_loop *loop, int fd, int events, ev_io_fn *fn, void *data)
{
	if (fd < 0 || fd >= loop->max_fds)
		return -EMFILE;
	struct ev_io_watch *w = &loop->watches[fd];
	if (w->recv_fn != NULL)
		loop->backend->recv_stop(loop, fd, true);
	int rc = loop->backend->update(loop, fd, w->events, events);
	if (rc < 0)
		return rc;
	*w = (struct ev_io_watch){
		.events = events, .fn = fn, .data = data, .recv_gen = w->recv_gen + 1};
	return 0;
}

int ev_recv_start(struct ev_loop *loop, int fd, ev_recv_fn *fn)
{
	if (loop->backend->recv_start == NULL)
		return -ENOTSUP;
	if (fd < 0 || fd >= loop->max_fds || loop->watches[fd].fn == NULL)
		return -EBADF;
	int rc = loop->backend->recv_start(loop, fd);
	if (rc == 0)
		loop->watches[fd].recv_fn = fn;
	return rc;
}

void ev_recv_stop(struct ev_loop *loop, int fd)
{
	if (fd < 0 || fd >= loop->max_fds || loop->watches[fd].recv_fn == NULL)
		return;
	loop->backend->recv_stop(loop, fd, false);
}

int ev_io_set(struct ev_loop *loop, int fd, int events)
{
	if (fd < 0 || fd >= loop->max_fds || loop->watches[fd].fn == NULL)
		return -EBADF;
	struct ev_io_watch *w = &loop->watches[fd];
	if (w->events == events)
		return 0;
	int rc = loop->backend->update(loop, fd, w->events, events);
	if (rc == 0)
		w->events = events;
	return rc;
}

int ev_io_events(const struct ev_loop *loop, int fd)
{
	if (fd < 0 || fd >= loop->max_fds)
		return EV_NONE;
	return loop->watches[fd].events;
}

/* An event for fd may still wait in this iteration's fired list, and the fd number may be
 * reused by then. That is harmless: every watched fd is non-blocking, so a stale readiness
 * costs one EAGAIN. */
void ev_io_stop(struct ev_loop *loop, int fd)
{
	if (fd < 0 || fd >= loop->max_fds)
		return;
	struct ev_io_watch *w = &loop->watches[fd];
	if (w->recv_fn != NULL)
		loop->backend->recv_stop(loop, fd, true);
	loop->backend->update(loop, fd, w->events, EV_NONE);
	*w = (struct ev_io_watch){.recv_gen = w->recv_gen + 1};
}

/* ---- signals: the self-pipe trick, so handlers run on the loop, not in signal context ---- */

#define MAX_SIGNAL 65

static int signal_pipe[2] = {-1, -1}; /* process-wide: a signal handler can reach only globals */
static struct {
	ev_signal_fn *fn;
	void *data;
} signal_watch[MAX_SIGNAL];

static void signal_note(int signo)
{
	int saved = errno;
	unsigned char b = (unsigned char)signo;
	ssize_t n = write(signal_pipe[1], &b, 1); /* full pipe: the signal is already pending */
	(void)n;
	errno = saved;
}

static void signal_dispatch(struct ev_loop *loop, int fd, void *data, int events)
{
	(void)data;
	(void)events;
	unsigned char sigs[64];
	ssize_t n;
	while ((n = read(fd, sigs, sizeof(sigs))) > 0) {
		for (ssize_t i = 0; i < n; i++) {
			if (sigs[i] < MAX_SIGNAL && signal_watch[sigs[i]].fn != NULL)
				signal_watch[sigs[i]].fn(loop, sigs[i], signal_watch[sigs[i]].data);
		}
	}
}

int ev_signal_start(struct ev_loop *loop, int signo, ev_signal_fn *fn, void *data)
{
	if (signo <= 0 || signo >= MAX_SIGNAL)
		return -EINVAL;
	if (signal_pipe[0] < 0 && pipe2(signal_pipe, O_NONBLOCK | O_CLOEXEC) < 0)
		return -errno;
	if (signal_loop != loop) { /* the pipe outlives a freed loop; a new one must watch it */
		int rc = ev_io_start(loop, signal_pipe[0], EV_READ, signal_dispatch, NULL);
		if (rc < 0)
			return rc;
		signal_loop = loop;
	}
	signal_watch[signo].fn = fn;
	signal_watch[signo].data = data;
	struct sigaction sa = {.sa_handler = signal_note, .sa_flags = SA_RESTART};
	sigemptyset(&sa.sa_mask);
	if (sigaction(signo, &sa, NULL) < 0)
		return -errno;
	return 0;
}

/* ---- the loop ---- */

int ev_loop_run(struct ev_loop *loop)
{
	loop->stopped = false;
	while (!loop->stopped) {
		int n = loop_wait(loop, ev_timers_next_timeout(loop));
		ev_update_time(loop);
		loop->had_events = n > 0;
		if (n < 0) {
			if (n == -EINTR)
				continue;
			return n;
		}
		for (int i = 0; i < n; i++) {
			struct ev_fired *f = &loop->fired[i];
			int fd = f->fd;
			struct ev_io_watch *w = &loop->watches[fd];
			if (f->recv) {
				/* Checked now, not when harvested: an earlier callback of this
				 * batch may have closed fd and a new connection taken it. */
				if (w->recv_gen == f->recv_gen && w->recv_fn != NULL)
					w->recv_fn(loop, fd, w->data, f->buf, f->res);
				if (f->buf_id >= 0)
					loop->backend->buffer_release(loop, f->buf_id);
				continue;
			}
			int events = f->events & w->events;
			if (events != 0 && w->fn != NULL)
				w->fn(loop, fd, w->data, events);
		}
		ev_timers_run_due(loop);
	}
	return 0;
}
