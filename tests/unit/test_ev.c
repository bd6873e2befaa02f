/* test_ev.c - the event loop on both backends: timer order, stop and re-arm, fd readiness
 * on pipes and socketpairs, quiet fds, and signals delivered on the loop. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "ev.h"

#define MAX_FDS 1024
#define GUARD_MS                                                                                   \
	3000 /* every test loop is stopped by this timer if the test's event never comes           \
	      */

static const char *const backends[] = {"epoll", "poll", "uring"};
#define NBACKENDS (sizeof(backends) / sizeof(backends[0]))

static struct ev_loop *loop_new(const char *backend)
{
	char err[256] = "";
	struct ev_loop *loop = ev_loop_new(MAX_FDS, backend, err, sizeof(err));
	if (loop == NULL)
		fail_msg("%s: %s", backend, err);
	assert_string_equal(ev_loop_backend(loop), backend);
	assert_int_equal(ev_loop_max_fds(loop), MAX_FDS);
	return loop;
}

static bool guard_fired;
static void on_guard(struct ev_loop *loop, struct ev_timer *t, void *data)
{
	(void)t;
	(void)data;
	guard_fired = true;
	ev_loop_stop(loop);
}

/* Run the loop with a safety timer; fails the test if the safety timer had to stop it. */
static void run_bounded(struct ev_loop *loop)
{
	struct ev_timer guard;
	ev_timer_init(&guard, on_guard, NULL);
	assert_int_equal(ev_timer_start(loop, &guard, GUARD_MS), 0);
	guard_fired = false;
	assert_int_equal(ev_loop_run(loop), 0);
	ev_timer_stop(loop, &guard);
	assert_false(guard_fired);
}

/* ---- timers ---- */

struct order {
	int seen[16];
	int n, stop_after;
	uint64_t fired_at[16];
};

struct tagged_timer {
	struct ev_timer t;
	int tag;
	struct order *order;
};

static void on_tagged(struct ev_loop *loop, struct ev_timer *t, void *data)
{
	struct tagged_timer *tt = data;
	assert_ptr_equal(&tt->t, t);
	assert_false(ev_timer_armed(t)); /* a fired timer is disarmed before its callback */
	struct order *o = tt->order;
	o->fired_at[o->n] = ev_now_ms(loop);
	o->seen[o->n++] = tt->tag;
	if (o->n == o->stop_after)
		ev_loop_stop(loop);
}

static void timers_fire_in_due_order(void **state)
{
	(void)state;
	for (size_t b = 0; b < NBACKENDS; b++) {
		struct ev_loop *loop = loop_new(backends[b]);
		static const int delays[] = {50, 10, 40, 0, 30, 20};
		struct tagged_timer tt[6];
		struct order o = {.stop_after = 6};
		uint64_t start = ev_now_ms(loop);
		for (int i = 0; i < 6; i++) {
			tt[i].tag = delays[i];
			tt[i].order = &o;
			ev_timer_init(&tt[i].t, on_tagged, &tt[i]);
			assert_false(ev_timer_armed(&tt[i].t));
			assert_int_equal(ev_timer_start(loop, &tt[i].t, (uint64_t)delays[i]), 0);
			assert_true(ev_timer_armed(&tt[i].t));
		}
		run_bounded(loop);
		assert_int_equal(o.n, 6);
		for (int i = 0; i < 6; i++) {
			assert_int_equal(o.seen[i], i * 10);
			assert_true(o.fired_at[i] >= start + (uint64_t)(i * 10)); /* never early */
		}
		ev_loop_free(loop);
	}
}

static void stopped_timer_never_fires(void **state)
{
	(void)state;
	for (size_t b = 0; b < NBACKENDS; b++) {
		struct ev_loop *loop = loop_new(backends[b]);
		struct order o = {.stop_after = 2};
		struct tagged_timer tt[4];
		for (int i = 0; i < 4; i++) {
			tt[i] = (struct tagged_timer){.tag = i, .order = &o};
			ev_timer_init(&tt[i].t, on_tagged, &tt[i]);
			ev_timer_start(loop, &tt[i].t, (uint64_t)(5 + i * 5));
		}
		ev_timer_stop(loop, &tt[1].t); /* from the middle of the heap */
		ev_timer_stop(loop, &tt[0].t); /* the head */
		assert_false(ev_timer_armed(&tt[0].t));
		ev_timer_stop(loop, &tt[0].t); /* stopping twice is harmless */
		run_bounded(loop);
		assert_int_equal(o.n, 2);
		assert_int_equal(o.seen[0], 2);
		assert_int_equal(o.seen[1], 3);
		ev_loop_free(loop);
	}
}

static void restart_moves_the_deadline(void **state)
{
	(void)state;
	for (size_t b = 0; b < NBACKENDS; b++) {
		struct ev_loop *loop = loop_new(backends[b]);
		struct order o = {.stop_after = 2};
		struct tagged_timer a = {.tag = 1, .order = &o}, c = {.tag = 2, .order = &o};
		ev_timer_init(&a.t, on_tagged, &a);
		ev_timer_init(&c.t, on_tagged, &c);
		ev_timer_start(loop, &a.t, 5);
		ev_timer_start(loop, &c.t, 30);
		ev_timer_start(loop, &a.t, 60); /* re-arming an armed timer replaces its deadline */
		run_bounded(loop);
		assert_int_equal(o.seen[0], 2);
		assert_int_equal(o.seen[1], 1);
		ev_loop_free(loop);
	}
}

struct rearm {
	struct ev_timer t;
	int count, want;
};

static void on_rearm(struct ev_loop *loop, struct ev_timer *t, void *data)
{
	struct rearm *r = data;
	if (++r->count == r->want) {
		ev_loop_stop(loop);
		return;
	}
	assert_int_equal(ev_timer_start(loop, t, 1), 0);
}

static void callbacks_rearm_their_own_timer(void **state)
{
	(void)state;
	for (size_t b = 0; b < NBACKENDS; b++) {
		struct ev_loop *loop = loop_new(backends[b]);
		struct rearm r = {.want = 20};
		ev_timer_init(&r.t, on_rearm, &r);
		ev_timer_start(loop, &r.t, 0);
		run_bounded(loop);
		assert_int_equal(r.count, 20);
		assert_false(ev_timer_armed(&r.t));
		ev_loop_free(loop);
	}
}

/* A pipe callback starts one timer and moves another while the loop waits for a later or
 * an earlier deadline: each must fire at its own deadline, never before it and not at the
 * stale one. */
struct moved {
	struct ev_timer early, later;
	uint64_t early_ms, later_ms; /* what the pipe callback sets */
	uint64_t start_ms, early_at, later_at;
};

static void on_moved_early(struct ev_loop *loop, struct ev_timer *t, void *data)
{
	(void)t;
	struct moved *m = data;
	ev_update_time(loop);
	m->early_at = ev_now_ms(loop) - m->start_ms;
}

static void on_moved_later(struct ev_loop *loop, struct ev_timer *t, void *data)
{
	(void)t;
	struct moved *m = data;
	ev_update_time(loop);
	m->later_at = ev_now_ms(loop) - m->start_ms;
	ev_loop_stop(loop);
}

static void on_moved_pipe(struct ev_loop *loop, int fd, void *data, int events)
{
	(void)events;
	struct moved *m = data;
	ev_io_stop(loop, fd);
	assert_int_equal(ev_timer_start(loop, &m->early, m->early_ms), 0);
	assert_int_equal(ev_timer_start(loop, &m->later, m->later_ms), 0);
}

static void timer_wakeups_follow_moved_deadlines(void **state)
{
	(void)state;
	static const struct {
		uint64_t armed_ms, early_ms, later_ms;
	} cases[] = {
		{0, 30,
		 120}, /* waiting for 1500 ms: the earlier deadline must cut the wait short */
		{60, 90, 150}, /* waiting for 60 ms, moved to 150: that wake-up finds nothing due */
	};
	for (size_t b = 0; b < NBACKENDS; b++) {
		for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
			struct ev_loop *loop = loop_new(backends[b]);
			struct moved m = {.early_ms = cases[c].early_ms,
					  .later_ms = cases[c].later_ms};
			int p[2];
			assert_int_equal(pipe(p), 0);
			ev_timer_init(&m.early, on_moved_early, &m);
			ev_timer_init(&m.later, on_moved_later, &m);
			struct ev_timer far;
			ev_timer_init(&far, on_guard, NULL);
			ev_update_time(loop);
			m.start_ms = ev_now_ms(loop);
			assert_int_equal(ev_timer_start(loop, &far, 1500), 0);
			if (cases[c].armed_ms > 0)
				assert_int_equal(ev_timer_start(loop, &m.later, cases[c].armed_ms),
						 0);
			assert_int_equal(ev_io_start(loop, p[0], EV_READ, on_moved_pipe, &m), 0);
			assert_int_equal(write(p[1], "x", 1), 1);
			run_bounded(loop);
			assert_true(m.early_at >= m.early_ms && m.early_at < 1000);
			assert_true(m.later_at >= m.later_ms && m.later_at < 1000);
			ev_timer_stop(loop, &far);
			close(p[0]);
			close(p[1]);
			ev_loop_free(loop);
		}
	}
}

enum { HEAP_N = 500 };
struct heap_log {
	struct ev_timer t[HEAP_N];
	uint64_t due[HEAP_N];
	int fired[HEAP_N];
	int count, expected;
	uint64_t last_due;
	bool out_of_order;
};
static struct heap_log heap_log;

static void on_heap_timer(struct ev_loop *loop, struct ev_timer *t, void *data)
{
	(void)data;
	int i = (int)(t - heap_log.t);
	if (heap_log.due[i] < heap_log.last_due)
		heap_log.out_of_order = true;
	heap_log.last_due = heap_log.due[i];
	heap_log.fired[i]++;
	if (++heap_log.count == heap_log.expected)
		ev_loop_stop(loop);
}

static void many_timers_keep_heap_order(void **state)
{
	(void)state;
	for (size_t b = 0; b < NBACKENDS; b++) {
		struct ev_loop *loop = loop_new(backends[b]);
		memset(&heap_log, 0, sizeof(heap_log));
		uint32_t x = 12345; /* pseudo-random deadlines; every third stopped again */
		for (int i = 0; i < HEAP_N; i++) {
			x = x * 1103515245u + 12345u;
			ev_timer_init(&heap_log.t[i], on_heap_timer, NULL);
			ev_timer_start(loop, &heap_log.t[i], (x >> 16) % 40);
			heap_log.due[i] = heap_log.t[i].due_ms;
		}
		for (int i = 0; i < HEAP_N; i += 3)
			ev_timer_stop(loop, &heap_log.t[i]);
		heap_log.expected = HEAP_N - (HEAP_N + 2) / 3;
		run_bounded(loop);
		assert_int_equal(heap_log.count, heap_log.expected);
		assert_false(heap_log.out_of_order);
		for (int i = 0; i < HEAP_N; i++)
			assert_int_equal(heap_log.fired[i], i % 3 == 0 ? 0 : 1);
		ev_loop_free(loop);
	}
}

/* ---- fds ---- */

struct io_log {
	int calls;
	int last_fd, last_events;
	char got[64];
	size_t got_len;
	bool stop_on_call;
};

static void on_io(struct ev_loop *loop, int fd, void *data, int events)
{
	struct io_log *l = data;
	l->calls++;
	l->last_fd = fd;
	l->last_events = events;
	if (events & EV_READ) {
		ssize_t n = read(fd, l->got + l->got_len, sizeof(l->got) - 1 - l->got_len);
		if (n > 0)
			l->got_len += (size_t)n;
	}
	if (l->stop_on_call)
		ev_loop_stop(loop);
}

static void pipe_readiness(void **state)
{
	(void)state;
	for (size_t b = 0; b < NBACKENDS; b++) {
		struct ev_loop *loop = loop_new(backends[b]);
		int p[2];
		assert_int_equal(pipe2(p, O_NONBLOCK | O_CLOEXEC), 0);
		struct io_log l = {.stop_on_call = true};
		assert_int_equal(ev_io_start(loop, p[0], EV_READ, on_io, &l), 0);
		assert_int_equal(ev_io_events(loop, p[0]), EV_READ);
		assert_int_equal(write(p[1], "ping", 4), 4);
		run_bounded(loop);
		assert_int_equal(l.calls, 1);
		assert_int_equal(l.last_fd, p[0]);
		assert_true(l.last_events & EV_READ);
		assert_memory_equal(l.got, "ping", 4);

		/* writer closes: the hang-up is reported as readable (read returns 0) */
		close(p[1]);
		run_bounded(loop);
		assert_int_equal(l.calls, 2);
		assert_true(l.last_events & EV_READ);

		ev_io_stop(loop, p[0]);
		assert_int_equal(ev_io_events(loop, p[0]), EV_NONE);
		close(p[0]);
		ev_loop_free(loop);
	}
}

static void socketpair_read_write_and_quiet(void **state)
{
	(void)state;
	for (size_t b = 0; b < NBACKENDS; b++) {
		struct ev_loop *loop = loop_new(backends[b]);
		int sv[2];
		assert_int_equal(
			socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
		struct io_log l = {.stop_on_call = true};
		assert_int_equal(ev_io_start(loop, sv[0], EV_WRITE, on_io, &l), 0);
		run_bounded(loop);
		assert_int_equal(l.calls, 1);
		assert_int_equal(l.last_events, EV_WRITE);

		/* EV_NONE: registered but quiet, even with input waiting and the peer gone */
		assert_int_equal(ev_io_set(loop, sv[0], EV_NONE), 0);
		assert_int_equal(write(sv[1], "x", 1), 1);
		close(sv[1]);
		struct rearm r = {.want = 3};
		ev_timer_init(&r.t, on_rearm, &r);
		ev_timer_start(loop, &r.t, 10);
		run_bounded(loop);
		assert_int_equal(r.count, 3);
		assert_int_equal(l.calls, 1);

		/* back to reading: the waiting byte arrives, with its callback and data kept */
		assert_int_equal(ev_io_set(loop, sv[0], EV_READ), 0);
		run_bounded(loop);
		assert_int_equal(l.calls, 2);
		assert_true(l.last_events & EV_READ);
		assert_memory_equal(l.got, "x", 1);
		ev_io_stop(loop, sv[0]);
		assert_int_equal(ev_io_set(loop, sv[0], EV_READ), -EBADF);
		close(sv[0]);
		ev_loop_free(loop);
	}
}

static void fds_out_of_range_are_refused(void **state)
{
	(void)state;
	for (size_t b = 0; b < NBACKENDS; b++) {
		struct ev_loop *loop = loop_new(backends[b]);
		struct io_log l = {0};
		assert_int_equal(ev_io_start(loop, MAX_FDS, EV_READ, on_io, &l), -EMFILE);
		assert_int_equal(ev_io_start(loop, -1, EV_READ, on_io, &l), -EMFILE);
		assert_int_equal(ev_io_set(loop, MAX_FDS + 5, EV_READ), -EBADF);
		assert_int_equal(ev_io_events(loop, -3), EV_NONE);
		ev_io_stop(loop, MAX_FDS); /* harmless */
		ev_loop_free(loop);
	}
}

struct many {
	int fds[2 * 300];
	int seen[300];
	int remaining;
};

static void on_many(struct ev_loop *loop, int fd, void *data, int events)
{
	(void)events;
	struct many *m = data;
	char c;
	if (read(fd, &c, 1) == 1) {
		m->seen[(unsigned char)c]++;
		ev_io_stop(loop, fd);
		if (--m->remaining == 0)
			ev_loop_stop(loop);
	}
}

static void many_fds_all_served(void **state)
{
	(void)state;
	for (size_t b = 0; b < NBACKENDS; b++) {
		struct ev_loop *loop = loop_new(backends[b]);
		enum { N = 200 };
		struct many m = {.remaining = N};
		for (int i = 0; i < N; i++) {
			assert_int_equal(
				socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, &m.fds[2 * i]),
				0);
			assert_int_equal(ev_io_start(loop, m.fds[2 * i], EV_READ, on_many, &m), 0);
		}
		for (int i = N - 1; i >= 0; i--) {
			char c = (char)(i % 200);
			assert_int_equal(write(m.fds[2 * i + 1], &c, 1), 1);
		}
		run_bounded(loop);
		assert_int_equal(m.remaining, 0);
		for (int i = 0; i < N; i++) {
			close(m.fds[2 * i]);
			close(m.fds[2 * i + 1]);
		}
		ev_loop_free(loop);
	}
}

/* ---- signals ---- */

struct sig_log {
	int signo, count;
};

static void on_signal(struct ev_loop *loop, int signo, void *data)
{
	struct sig_log *s = data;
	s->signo = signo;
	s->count++;
	ev_loop_stop(loop);
}

static void signals_arrive_on_the_loop(void **state)
{
	(void)state;
	for (size_t b = 0; b < NBACKENDS; b++) {
		struct ev_loop *loop = loop_new(backends[b]);
		struct sig_log s = {0};
		assert_int_equal(ev_signal_start(loop, SIGUSR1, on_signal, &s), 0);
		assert_int_equal(ev_signal_start(loop, 0, on_signal, &s), -EINVAL);
		assert_int_equal(ev_signal_start(loop, 1000, on_signal, &s), -EINVAL);
		assert_int_equal(raise(SIGUSR1), 0); /* the handler only writes to the pipe */
		assert_int_equal(s.count, 0);
		run_bounded(loop);
		assert_int_equal(s.count, 1);
		assert_int_equal(s.signo, SIGUSR1);
		assert_int_equal(ev_signal_start(loop, SIGUSR2, on_signal, &s), 0);
		kill(getpid(), SIGUSR2);
		run_bounded(loop);
		assert_int_equal(s.count, 2);
		assert_int_equal(s.signo, SIGUSR2);
		signal(SIGUSR1, SIG_DFL);
		signal(SIGUSR2, SIG_DFL);
		ev_loop_free(loop);
	}
}

static void unknown_backend_is_a_clear_error(void **state)
{
	(void)state;
	char err[256] = "";
	assert_null(ev_loop_new(MAX_FDS, "kqueue", err, sizeof(err)));
	assert_string_equal(err, "event loop: unknown backend 'kqueue' (epoll, poll, uring)");

	setenv("SOCKIT_EV_BACKEND", "poll", 1);
	struct ev_loop *loop = ev_loop_new(MAX_FDS, NULL, err, sizeof(err));
	assert_non_null(loop);
	assert_string_equal(ev_loop_backend(loop), "poll");
	ev_loop_free(loop);
	unsetenv("SOCKIT_EV_BACKEND");
	loop = ev_loop_new(MAX_FDS, NULL, err, sizeof(err));
	assert_string_equal(ev_loop_backend(loop), "epoll");
	ev_loop_free(loop);
}

static void now_is_monotonic(void **state)
{
	(void)state;
	struct ev_loop *loop = loop_new("epoll");
	uint64_t a = ev_now_ms(loop);
	usleep(20000);
	assert_int_equal(ev_now_ms(loop), a); /* cached until the loop updates it */
	ev_update_time(loop);
	assert_true(ev_now_ms(loop) >= a + 20);
	ev_loop_free(loop);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(timers_fire_in_due_order),
		cmocka_unit_test(stopped_timer_never_fires),
		cmocka_unit_test(restart_moves_the_deadline),
		cmocka_unit_test(callbacks_rearm_their_own_timer),
		cmocka_unit_test(timer_wakeups_follow_moved_deadlines),
		cmocka_unit_test(many_timers_keep_heap_order),
		cmocka_unit_test(pipe_readiness),
		cmocka_unit_test(socketpair_read_write_and_quiet),
		cmocka_unit_test(fds_out_of_range_are_refused),
		cmocka_unit_test(many_fds_all_served),
		cmocka_unit_test(signals_arrive_on_the_loop),
		cmocka_unit_test(unknown_backend_is_a_clear_error),
		cmocka_unit_test(now_is_monotonic),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
