/* test_ev_recv.c - completion receives (the io_uring loop): bytes and end of stream reach
 * the callback, a pause stops further receives but loses nothing in flight, forgetting an
 * fd drops what its old receive brings even when the fd number is reused, and datagrams
 * arrive whole with their source and arrival time. Readiness-only loops say -ENOTSUP. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "ev.h"

#define MAX_FDS 1024
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
		assert_int_equal(ev_datagrams_start(loop, sv[0], NULL), -ENOTSUP);
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

struct datagrams {
	int count;
	char payload[3][16];
	in_port_t from_port[3];
	bool timed[3];
};

static void on_datagram(struct ev_loop *loop, int fd, void *data, const struct ev_datagram *dg)
{
	(void)fd;
	struct datagrams *d = data;
	assert_true(d->count < 3);
	assert_false(dg->truncated);
	assert_true(dg->len < sizeof(d->payload[0]));
	memcpy(d->payload[d->count], dg->data, dg->len);
	assert_int_equal(dg->peerlen, sizeof(struct sockaddr_in));
	d->from_port[d->count] = ((const struct sockaddr_in *)dg->peer)->sin_port;
	d->timed[d->count] = dg->has_rx_time;
	if (++d->count == 3)
		ev_loop_stop(loop);
}

static int udp_socket(struct sockaddr_in *bound)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	assert_true(fd >= 0);
	*bound = (struct sockaddr_in){.sin_family = AF_INET,
				      .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	assert_int_equal(bind(fd, (struct sockaddr *)bound, sizeof(*bound)), 0);
	socklen_t len = sizeof(*bound);
	assert_int_equal(getsockname(fd, (struct sockaddr *)bound, &len), 0);
	return fd;
}

static void datagrams_arrive_whole_with_source_and_time(void **state)
{
	(void)state;
	struct ev_loop *loop = uring_loop();
	struct sockaddr_in srv_addr, cli_addr;
	int srv = udp_socket(&srv_addr);
	int cli = udp_socket(&cli_addr);
	int one = 1;
	assert_int_equal(setsockopt(srv, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one)), 0);
	struct datagrams d = {0};
	assert_int_equal(ev_io_start(loop, srv, EV_NONE, on_quiet, &d), 0);
	assert_int_equal(ev_datagrams_start(loop, srv, on_datagram), 0);
	static const char *const sent[] = {"one", "two!", "three"};
	for (int i = 0; i < 3; i++)
		assert_int_equal(sendto(cli, sent[i], strlen(sent[i]), 0,
					(struct sockaddr *)&srv_addr, sizeof(srv_addr)),
				 (ssize_t)strlen(sent[i]));
	run_for(loop, 3000);
	assert_int_equal(d.count, 3);
	for (int i = 0; i < 3; i++) {
		assert_string_equal(d.payload[i], sent[i]);
		assert_int_equal(d.from_port[i], cli_addr.sin_port);
		assert_true(d.timed[i]);
	}
	ev_io_stop(loop, srv);
	close(srv);
	close(cli);
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
	    cmocka_unit_test(datagrams_arrive_whole_with_source_and_time),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
