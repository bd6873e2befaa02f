/* test_resolve_async.c - lookups answered on the loop: an address and an /etc/hosts name, a
 * name that does not resolve, the bound on lookups at once, and freeing with lookups running;
 * plus net_resolve_numeric, which never looks a name up. */
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "addr.h"
#include "ev.h"
#include "net.h"
#include "resolve_async.h"

#define MAX_FDS  1024
#define GUARD_MS 10000 /* the loop stops by then if answers never come */

struct answers {
	struct ev_loop *loop;
	size_t want, got;
	struct resolve_answer last[RESOLVE_ASYNC_MAX];
};

static void on_answer(void *data, const struct resolve_answer *answer)
{
	struct answers *a = data;
	if (a->got < RESOLVE_ASYNC_MAX)
		a->last[a->got] = *answer;
	if (++a->got == a->want)
		ev_loop_stop(a->loop);
}

static void on_guard(struct ev_loop *loop, struct ev_timer *t, void *data)
{
	(void)t, (void)data;
	ev_loop_stop(loop);
}

static struct addr_spec spec_of(const char *text)
{
	struct addr_spec spec;
	char err[NET_ERR_LEN];
	assert_int_equal(addr_parse(text, ADDR_UDP, &spec, err, sizeof(err)), 0);
	return spec;
}

/* Run the loop until want answers came (or the guard fired). */
static void run_until(struct answers *a, size_t want)
{
	struct ev_timer guard;
	ev_timer_init(&guard, on_guard, NULL);
	ev_timer_start(a->loop, &guard, GUARD_MS);
	a->want = want;
	assert_int_equal(ev_loop_run(a->loop), 0);
	ev_timer_stop(a->loop, &guard);
	assert_int_equal(a->got, want);
}

static struct resolve_async *setup(struct answers *a)
{
	char err[NET_ERR_LEN] = "";
	*a = (struct answers){.loop = ev_loop_new(MAX_FDS, NULL, err, sizeof(err))};
	assert_non_null(a->loop);
	struct resolve_async *ra = resolve_async_new(a->loop, on_answer, a, err, sizeof(err));
	assert_non_null(ra);
	return ra;
}

static void test_answers_come_on_the_loop(void **state)
{
	(void)state;
	struct answers a;
	struct resolve_async *ra = setup(&a);
	struct addr_spec byname = spec_of("udp:localhost:7"),
			 bad = spec_of("udp:no-such-host.invalid:9");
	int id1 = resolve_async_start(ra, &byname), id2 = resolve_async_start(ra, &bad);
	assert_true(id1 > 0 && id2 > 0 && id1 != id2);
	assert_int_equal(a.got, 0); /* never called back from inside start */
	run_until(&a, 2);
	const struct resolve_answer *name = a.last[0].id == id1 ? &a.last[0] : &a.last[1];
	const struct resolve_answer *none = a.last[0].id == id1 ? &a.last[1] : &a.last[0];
	assert_int_equal(name->id, id1);
	assert_true(name->ok);
	assert_true(net_sockaddr_is_loopback((const struct sockaddr *)&name->ss));
	assert_int_equal(net_sockaddr_port((const struct sockaddr *)&name->ss), 7);
	assert_int_equal(none->id, id2);
	assert_false(none->ok);
	static const char why[] = "resolve udp:no-such-host.invalid:9: ";
	assert_memory_equal(none->err, why, sizeof(why) - 1);
	resolve_async_free(ra);
	ev_loop_free(a.loop);
}

/* Slots come free when the loop takes the answer, not when the thread ends, so the bound
 * holds until then whatever the threads' timing. */
static void test_lookups_at_once_are_bounded(void **state)
{
	(void)state;
	struct answers a;
	struct resolve_async *ra = setup(&a);
	struct addr_spec spec = spec_of("udp:localhost:9");
	for (int i = 0; i < RESOLVE_ASYNC_MAX; i++)
		assert_true(resolve_async_start(ra, &spec) > 0);
	assert_int_equal(resolve_async_start(ra, &spec), -EBUSY);
	run_until(&a, RESOLVE_ASYNC_MAX);
	a.got = 0;
	assert_true(resolve_async_start(ra, &spec) > 0);
	run_until(&a, 1);
	resolve_async_free(ra);
	ev_loop_free(a.loop);
}

static void test_free_with_lookups_running(void **state)
{
	(void)state;
	struct answers a;
	struct resolve_async *ra = setup(&a);
	struct addr_spec spec = spec_of("udp:localhost:9");
	assert_true(resolve_async_start(ra, &spec) > 0);
	assert_true(resolve_async_start(ra, &spec) > 0);
	resolve_async_free(ra); /* the threads finish on their own; no answer, no leak */
	ev_loop_free(a.loop);
	usleep(200 * 1000); /* let them, before the leak check at exit */
	assert_int_equal(a.got, 0);
}

static void test_numeric_never_looks_up(void **state)
{
	(void)state;
	struct sockaddr_storage ss;
	socklen_t len;
	struct addr_spec v4 = spec_of("udp:127.0.0.1:5"), v6 = spec_of("udp:[::1]:6"),
			 name = spec_of("udp:localhost:7");
	assert_int_equal(net_resolve_numeric(&v4, &ss, &len), 0);
	assert_int_equal(ss.ss_family, AF_INET);
	assert_int_equal(net_sockaddr_port((const struct sockaddr *)&ss), 5);
	assert_int_equal(net_resolve_numeric(&v6, &ss, &len), 0);
	assert_int_equal(ss.ss_family, AF_INET6);
	assert_int_equal(net_resolve_numeric(&name, &ss, &len), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_answers_come_on_the_loop),
		cmocka_unit_test(test_lookups_at_once_are_bounded),
		cmocka_unit_test(test_free_with_lookups_running),
		cmocka_unit_test(test_numeric_never_looks_up),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
