/* test_net.c - net_connect_addrinfo over loopback: the timeout bounds the whole list of
 * addresses (nc -w), a refused address passes on to the next, a live one connects. */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "mono_clock.h"
#include "net.h"

#define DEAD_ADDRS   4    /* addresses that never answer, in one list */
#define TIMEOUT_MS   500  /* for the whole list: N x TIMEOUT_MS before the fix */
#define SLACK_MS     1000 /* a loaded box: still well under DEAD_ADDRS x TIMEOUT_MS */
#define FILLERS_MAX  16
#define FILL_WAIT_MS 200

struct dead_listener {
	int fd;
	int fillers[FILLERS_MAX];
	size_t nfillers;
	struct sockaddr_in sin;
};

static struct sockaddr_in loopback_any_port(void)
{
	struct sockaddr_in sin = {.sin_family = AF_INET};
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return sin;
}

static int bound_socket(struct sockaddr_in *sin)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	*sin = loopback_any_port();
	socklen_t len = sizeof(*sin);
	assert_int_equal(bind(fd, (struct sockaddr *)sin, len), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)sin, &len), 0);
	return fd;
}

/* A listener whose accept queue is full: the kernel drops further SYNs, so a connect to it
 * neither succeeds nor fails until its timeout, like a host that is down. */
static void dead_listener_open(struct dead_listener *d)
{
	d->fd = bound_socket(&d->sin);
	assert_int_equal(listen(d->fd, 0), 0);
	d->nfillers = 0;
	while (d->nfillers < FILLERS_MAX) {
		int c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		assert_true(c >= 0);
		d->fillers[d->nfillers++] = c;
		if (connect(c, (struct sockaddr *)&d->sin, sizeof(d->sin)) == 0)
			continue;
		assert_true(errno == EINPROGRESS);
		struct pollfd p = {.fd = c, .events = POLLOUT};
		if (poll(&p, 1, FILL_WAIT_MS) == 0)
			return; /* this one hangs: the queue is full */
	}
	fail_msg("the accept queue never filled up");
}

static void dead_listener_close(struct dead_listener *d)
{
	for (size_t i = 0; i < d->nfillers; i++)
		close(d->fillers[i]);
	close(d->fd);
}

static void list_set(struct addrinfo *ai, size_t n, struct sockaddr_in *const *addrs)
{
	for (size_t i = 0; i < n; i++) {
		ai[i] = (struct addrinfo){.ai_family = AF_INET,
					  .ai_socktype = SOCK_STREAM,
					  .ai_addr = (struct sockaddr *)addrs[i],
					  .ai_addrlen = sizeof(*addrs[i]),
					  .ai_next = i + 1 < n ? &ai[i + 1] : NULL};
	}
}

static void test_timeout_bounds_whole_list(void **state)
{
	(void)state;
	struct dead_listener dead;
	dead_listener_open(&dead);
	struct sockaddr_in *addrs[DEAD_ADDRS];
	for (size_t i = 0; i < DEAD_ADDRS; i++)
		addrs[i] = &dead.sin;
	struct addrinfo list[DEAD_ADDRS];
	list_set(list, DEAD_ADDRS, addrs);

	long long start = mono_ms();
	int fd = net_connect_addrinfo(list, TIMEOUT_MS);
	long long took = mono_ms() - start;
	assert_int_equal(fd, -ETIMEDOUT);
	assert_true(took >= TIMEOUT_MS);
	if (took >= TIMEOUT_MS + SLACK_MS)
		fail_msg("%d dead addresses took %lld ms with a %d ms timeout", DEAD_ADDRS, took,
			 TIMEOUT_MS);
	dead_listener_close(&dead);
}

static void test_refused_then_live_connects(void **state)
{
	(void)state;
	struct sockaddr_in refused, live;
	int closed = bound_socket(&refused); /* bound, not listening: the port is ours, shut */
	int listener = bound_socket(&live);
	assert_int_equal(listen(listener, 4), 0);
	struct sockaddr_in *addrs[] = {&refused, &live};
	struct addrinfo list[2];
	list_set(list, 2, addrs);

	int fd = net_connect_addrinfo(list, TIMEOUT_MS);
	assert_true(fd >= 0);
	struct sockaddr_in peer;
	socklen_t len = sizeof(peer);
	assert_int_equal(getpeername(fd, (struct sockaddr *)&peer, &len), 0);
	assert_int_equal(peer.sin_port, live.sin_port);
	close(fd);

	list[0].ai_next = NULL; /* the refused one alone: its error comes back */
	assert_int_equal(net_connect_addrinfo(list, TIMEOUT_MS), -ECONNREFUSED);
	close(listener);
	close(closed);
}

/* The deadline is for the call: an address tried after it passed is not tried at all. */
static void test_no_time_left_after_dead_address(void **state)
{
	(void)state;
	struct dead_listener dead;
	dead_listener_open(&dead);
	struct sockaddr_in live;
	int listener = bound_socket(&live);
	assert_int_equal(listen(listener, 4), 0);
	struct sockaddr_in *addrs[] = {&dead.sin, &live};
	struct addrinfo list[2];
	list_set(list, 2, addrs);

	assert_int_equal(net_connect_addrinfo(list, TIMEOUT_MS), -ETIMEDOUT);
	int fd = net_connect_addrinfo(&list[1], TIMEOUT_MS);
	assert_true(fd >= 0);
	close(fd);
	close(listener);
	dead_listener_close(&dead);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_timeout_bounds_whole_list),
		cmocka_unit_test(test_refused_then_live_connects),
		cmocka_unit_test(test_no_time_left_after_dead_address),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
