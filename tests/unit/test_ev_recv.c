/* test_ev_recv.c - completion receives (the io_uring loop): bytes and end of stream reach
 * the callback, a pause stops further receives but loses nothing in flight, forgetting an
 * fd drops what its old receive brings even when the fd number is reused. Readiness-only
 * loops say -ENOTSUP. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "ev.h"

#define MAX_FDS   1024
#define SETTLE_MS 200 /* how long "nothing more arrives" is watched */

struct received {
	char data[256];
	size_t len;
	int calls;
	bool eof;
	bool stop_after_first; /* the callback pauses receiving after its first call */
	size_t stop_loop_at;   /* stop the loop once this many bytes arrived */
};

static struct ev_loop *uring_loop(void)
{
	char err[256] = "";
	struct ev_loop *loop = ev_loop_new(MAX_FDS, "uring", err, sizeof(err));
	if (loop == NULL)
		fail_msg("uring: %s", err);
	assert_string_equal(ev_loop_backend(loop), "uring");
	return loop;
}

static void on_quiet(struct ev_loop *loop, int fd, void *data, int events)
{
	(void)loop;
	(void)fd;
	(void)data;
	(void)events;
}

static void on_recv(struct ev_loop *loop, int fd, void *data, uint8_t *buf, ssize_t n)
{
	struct received *r = data;
	r->calls++;
	if (n == 0) {
		r->eof = true;
		ev_loop_stop(loop);
		return;
	}
	assert_true(n > 0);
	assert_true(r->len + (size_t)n <= sizeof(r->data));
	memcpy(r->data + r->len, buf, (size_t)n);
	r->len += (size_t)n;
	if (r->stop_after_first)
		ev_recv_stop(loop, fd);
	if (r->len >= r->stop_loop_at)
		ev_loop_stop(loop);
}

static void on_stop_timer(struct ev_loop *loop, struct ev_timer *t, void *data)
{
	(void)t;
	(void)data;
	ev_loop_stop(loop);
}

/* Run until a callback stops the loop or ms pass. */
static void run_for(struct ev_loop *loop, unsigned ms)
{
	struct ev_timer t;
	ev_timer_init(&t, on_stop_timer, NULL);
	assert_int_equal(ev_timer_start(loop, &t, ms), 0);
	assert_int_equal(ev_loop_run(loop), 0);
	ev_timer_stop(loop, &t);
}

static void write_all(int fd, const char *s)
{
	assert_int_equal(write(fd, s, strlen(s)), (ssize_t)strlen(s));
}

static void readiness_loops_have_no_completions(void **state)
{
	(void)state;
	static const char *const names[] = {"epoll", "poll"};
	for (size_t i = 0; i < 2; i++) {
		char err[256];
		struct ev_loop *loop = ev_loop_new(MAX_FDS, names[i], err, sizeof(err));
		assert_non_null(loop);
		int sv[2];
		assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
		assert_int_equal(ev_io_start(loop, sv[0], EV_NONE, on_quiet, NULL), 0);
		assert_int_equal(ev_recv_start(loop, sv[0], on_recv), -ENOTSUP);
		ev_io_stop(loop, sv[0]);
		close(sv[0]);
		close(sv[1]);
		ev_loop_free(loop);
	}
}

static void bytes_then_end_of_stream(void **state)
{
	(void)state;
	struct ev_loop *loop = uring_loop();
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	struct received r = {.stop_loop_at = 5};
	assert_int_equal(ev_io_start(loop, sv[0], EV_NONE, on_quiet, &r), 0);
	assert_int_equal(ev_recv_start(loop, sv[0], on_recv), 0);
	write_all(sv[1], "hello");
	run_for(loop, 3000);
	assert_int_equal(r.len, 5);
	assert_memory_equal(r.data, "hello", 5);
	r.stop_loop_at = 11;
	write_all(sv[1], " world");
	run_for(loop, 3000);
	assert_int_equal(r.len, 11);
	assert_memory_equal(r.data, "hello world", 11);
	close(sv[1]);
	run_for(loop, 3000);
	assert_true(r.eof);
	ev_io_stop(loop, sv[0]);
	close(sv[0]);
	ev_loop_free(loop);
}

static void a_pause_stops_receiving_and_resume_gets_the_rest(void **state)
{
	(void)state;
	struct ev_loop *loop = uring_loop();
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	struct received r = {.stop_after_first = true, .stop_loop_at = sizeof(r.data)};
	assert_int_equal(ev_io_start(loop, sv[0], EV_NONE, on_quiet, &r), 0);
	assert_int_equal(ev_recv_start(loop, sv[0], on_recv), 0);
	write_all(sv[1], "first");
	run_for(loop, SETTLE_MS);
	assert_int_equal(r.calls, 1);
	write_all(sv[1], "second"); /* paused: nothing may be taken in */
	run_for(loop, SETTLE_MS);
	assert_int_equal(r.calls, 1);
	assert_int_equal(r.len, 5);
	r.stop_after_first = false;
	r.stop_loop_at = 11;
	assert_int_equal(ev_recv_start(loop, sv[0], on_recv), 0);
	run_for(loop, 3000);
	assert_int_equal(r.len, 11);
	assert_memory_equal(r.data, "firstsecond", 11);
	ev_io_stop(loop, sv[0]);
	close(sv[0]);
	close(sv[1]);
	ev_loop_free(loop);
}

/* A receive armed before the pause completes after it: its bytes still arrive, once. */
static void a_receive_in_flight_at_the_pause_is_not_lost(void **state)
{
	(void)state;
	struct ev_loop *loop = uring_loop();
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	struct received r = {.stop_loop_at = sizeof(r.data)};
	assert_int_equal(ev_io_start(loop, sv[0], EV_NONE, on_quiet, &r), 0);
	assert_int_equal(ev_recv_start(loop, sv[0], on_recv), 0);
	run_for(loop, 50); /* the receive is now waiting in the kernel */
	ev_recv_stop(loop, sv[0]);
	write_all(sv[1], "late");
	run_for(loop, SETTLE_MS);
	assert_int_equal(r.calls, 1);
	assert_int_equal(r.len, 4);
	assert_memory_equal(r.data, "late", 4);
	write_all(sv[1], "more");
	run_for(loop, SETTLE_MS);
	assert_int_equal(r.calls, 1); /* and nothing after it */
	ev_io_stop(loop, sv[0]);
	close(sv[0]);
	close(sv[1]);
	ev_loop_free(loop);
}

/* ev_io_stop, close, and a new socket on the same fd number: what the old one had queued
 * must never reach the new one's callback. */
static void a_forgotten_fd_never_delivers_to_its_successor(void **state)
{
	(void)state;
	struct ev_loop *loop = uring_loop();
	int old[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, old), 0);
	struct received was = {.stop_loop_at = sizeof(was.data)};
	assert_int_equal(ev_io_start(loop, old[0], EV_NONE, on_quiet, &was), 0);
	assert_int_equal(ev_recv_start(loop, old[0], on_recv), 0);
	write_all(old[1], "stale");
	int fd = old[0];
	ev_io_stop(loop, fd);
	close(fd);
	close(old[1]);
	int fresh[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fresh), 0);
	assert_int_equal(fresh[0], fd); /* the lowest free number: the one just closed */
	struct received now = {.stop_loop_at = 5};
	assert_int_equal(ev_io_start(loop, fresh[0], EV_NONE, on_quiet, &now), 0);
	assert_int_equal(ev_recv_start(loop, fresh[0], on_recv), 0);
	write_all(fresh[1], "fresh");
	run_for(loop, 3000);
	run_for(loop, SETTLE_MS);
	assert_int_equal(was.calls, 0);
	assert_int_equal(now.len, 5);
	assert_memory_equal(now.data, "fresh", 5);
	ev_io_stop(loop, fresh[0]);
	close(fresh[0]);
	close(fresh[1]);
	ev_loop_free(loop);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(readiness_loops_have_no_completions),
		cmocka_unit_test(bytes_then_end_of_stream),
		cmocka_unit_test(a_pause_stops_receiving_and_resume_gets_the_rest),
		cmocka_unit_test(a_receive_in_flight_at_the_pause_is_not_lost),
		cmocka_unit_test(a_forgotten_fd_never_delivers_to_its_successor),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
