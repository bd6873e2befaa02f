/* test_stream.c - stream connection lifetimes: a callback that closes other connections (a
 * broadcast, a kick) never frees them under its feet, and on_close may write to its own conn. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "addr.h"
#include "ev.h"
#include "net.h"
#include "stream.h"

#define MAX_FDS   1024
#define MAX_PEERS 8
#define POLL_MS   5
#define WAIT_MS   10000 /* for a step a loaded box may delay; loopback needs far less */

static const char *const backends[] = {"epoll", "poll", "uring"};

/* The service's own view: open conns in an array compacted on close, as a room would be. */
struct room {
	struct stream_conn *members[MAX_PEERS];
	size_t nmembers;
	size_t closes;
	size_t lines;
};

static void room_on_open(struct stream_conn *c, void *ctx, void *state)
{
	(void)state;
	struct room *r = ctx;
	r->members[r->nmembers++] = c;
}

static void room_on_close(struct stream_conn *c, void *ctx, void *state)
{
	(void)state;
	struct room *r = ctx;
	assert_int_equal(stream_write(c, "bye\n", 4), -EPIPE); /* closing: a no-op, no recursion */
	for (size_t i = 0; i < r->nmembers; i++) {
		if (r->members[i] == c) {
			r->members[i] = r->members[--r->nmembers];
			break;
		}
	}
	r->closes++;
}

/* "kick": abort every other member, then write to each (a late broadcast). "quit-others":
 * the same with stream_close. Both walk the array that on_close compacts. */
static void room_on_line(struct stream_conn *c, void *ctx, void *state, char *line, size_t len,
			 bool too_long)
{
	(void)state;
	(void)len;
	(void)too_long;
	struct room *r = ctx;
	r->lines++;
	bool kick = strcmp(line, "kick") == 0;
	for (size_t i = 0; i < r->nmembers; i++) {
		struct stream_conn *m = r->members[i];
		if (m == c)
			continue;
		if (kick)
			stream_abort(m);
		else
			stream_close(m);
		stream_write(m, "late\n", 5);
	}
	stream_write(c, "done\n", 5);
}

static const struct stream_service room_service = {
	.name = "room",
	.max_line = 64,
	.on_open = room_on_open,
	.on_line = room_on_line,
	.on_close = room_on_close,
};

struct wait {
	const size_t *value;
	size_t want;
	uint64_t deadline_ms;
};

static void on_poll(struct ev_loop *loop, struct ev_timer *t, void *data)
{
	struct wait *w = data;
	if (*w->value == w->want || ev_now_ms(loop) >= w->deadline_ms)
		ev_loop_stop(loop);
	else
		ev_timer_start(loop, t, POLL_MS);
}

/* Run the loop until *value is want (or WAIT_MS pass: the caller's assert then fails). */
static void run_until(struct ev_loop *loop, const size_t *value, size_t want)
{
	struct wait w = {.value = value, .want = want, .deadline_ms = ev_now_ms(loop) + WAIT_MS};
	struct ev_timer poll;
	ev_timer_init(&poll, on_poll, &w);
	assert_int_equal(ev_timer_start(loop, &poll, 0), 0);
	assert_int_equal(ev_loop_run(loop), 0);
	ev_timer_stop(loop, &poll);
	assert_int_equal(*value, want);
}

static void read_all(int fd, char *out, size_t cap)
{
	size_t used = 0;
	ssize_t n;
	while (used + 1 < cap && (n = recv(fd, out + used, cap - 1 - used, MSG_DONTWAIT)) > 0)
		used += (size_t)n;
	out[used] = '\0';
}

static void check_close_others(const char *command, const char *backend)
{
	char err[256] = "";
	struct ev_loop *loop = ev_loop_new(MAX_FDS, backend, err, sizeof(err));
	assert_non_null(loop);
	struct addr_spec spec;
	assert_int_equal(addr_parse("tcp:127.0.0.1:0", ADDR_TCP, &spec, err, sizeof(err)), 0);
	char bound[ADDR_TEXT_MAX];
	int lfd = net_listen(&spec, NULL, bound, sizeof(bound), err, sizeof(err));
	assert_true(lfd >= 0);
	assert_int_equal(addr_parse(bound, ADDR_TCP, &spec, err, sizeof(err)), 0);

	struct room room = {0};
	size_t active = 0;
	struct service_stats stats = {0};
	struct stream_limits limits = {
		.max_conns = 64, .output_cap = 65536, .active_conns = &active};
	struct stream_server *srv =
		stream_server_new(loop, lfd, bound, &room_service, &room, &limits, &stats);
	assert_non_null(srv);

	int peers[4];
	for (size_t i = 0; i < 4; i++) {
		peers[i] = net_connect(&spec, 1000, err, sizeof(err));
		assert_true(peers[i] >= 0);
	}
	run_until(loop, &room.nmembers, 4);

	char line[32];
	snprintf(line, sizeof(line), "%s\n", command);
	assert_int_equal(send(peers[0], line, strlen(line), 0), (ssize_t)strlen(line));
	if (strcmp(command, "kick") != 0) { /* a close waits for the peers' FIN (linger) */
		run_until(loop, &room.lines, 1);
		for (size_t i = 1; i < 4; i++)
			shutdown(peers[i], SHUT_WR);
	}
	run_until(loop, &room.closes, 3);

	/* Every other member closed exactly once, none skipped by the compaction. */
	assert_int_equal(room.closes, 3);
	assert_int_equal(room.nmembers, 1);
	assert_int_equal(stream_server_conn_count(srv), 1);
	char got[256];
	read_all(peers[0], got, sizeof(got));
	assert_string_equal(got, "done\n");
	for (size_t i = 1; i < 4; i++) {
		read_all(peers[i], got, sizeof(got));
		assert_null(strstr(got, "late")); /* written after the close: dropped */
	}

	stream_server_free(srv);
	assert_int_equal(room.closes, 4);
	assert_int_equal(active, 0);
	for (size_t i = 0; i < 4; i++)
		close(peers[i]);
	ev_loop_free(loop);
}

static void test_abort_others_in_callback(void **state)
{
	(void)state;
	for (size_t b = 0; b < 2; b++)
		check_close_others("kick", backends[b]);
}

static void test_close_others_in_callback(void **state)
{
	(void)state;
	for (size_t b = 0; b < 2; b++)
		check_close_others("quit-others", backends[b]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_abort_others_in_callback),
		cmocka_unit_test(test_close_others_in_callback),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
