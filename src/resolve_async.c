/* resolve_async.c - getaddrinfo on detached threads, answers back to the loop by socket. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "resolve_async.h"

#define RESOLVE_ID_MAX 0x7fffffff /* ids wrap to 1, never 0 or negative */

/* One lookup, shared by its thread and the loop side until both let go of it. */
struct lookup {
	struct addr_spec spec;
	int id;
	int wfd;  /* the thread's own copy of the answer socket: outlives resolve_async_free */
	int refs; /* 2 while both hold it; atomic, as the thread drops its own */
	struct resolve_answer answer;
};

struct resolve_async {
	struct ev_loop *loop;
	resolve_async_fn *fn;
	void *data;
	int sock[2]; /* datagrams of one struct lookup pointer each, thread to loop */
	int next_id;
	struct lookup *running[RESOLVE_ASYNC_MAX];
};

static void lookup_release(struct lookup *lk)
{
	if (__atomic_sub_fetch(&lk->refs, 1, __ATOMIC_ACQ_REL) == 0)
		free(lk);
}

static void *lookup_run(void *arg)
{
	struct lookup *lk = arg;
	struct resolve_answer *a = &lk->answer;
	a->ok = net_resolve(&lk->spec, &a->ss, &a->len, a->err, sizeof(a->err)) == 0;
	/* After resolve_async_free the loop's end is closed: this send fails, quietly. */
	send(lk->wfd, &lk, sizeof(lk), MSG_NOSIGNAL | MSG_DONTWAIT);
	close(lk->wfd);
	lookup_release(lk);
	return NULL;
}

static void on_answers(struct ev_loop *loop, int fd, void *data, int events)
{
	(void)loop, (void)events;
	struct resolve_async *ra = data;
	struct lookup *lk;
	while (recv(fd, &lk, sizeof(lk), MSG_DONTWAIT) == (ssize_t)sizeof(lk)) {
		for (size_t i = 0; i < RESOLVE_ASYNC_MAX; i++) {
			if (ra->running[i] == lk)
				ra->running[i] = NULL;
		}
		ra->fn(ra->data, &lk->answer);
		lookup_release(lk);
	}
}

struct resolve_async *resolve_async_new(struct ev_loop *loop, resolve_async_fn *fn, void *data,
					char *err, size_t errlen)
{
	struct resolve_async *ra = calloc(1, sizeof(*ra));
	if (ra == NULL) {
		snprintf(err, errlen, "resolver: %s", strerror(ENOMEM));
		return NULL;
	}
	*ra = (struct resolve_async){.loop = loop, .fn = fn, .data = data, .sock = {-1, -1}};
	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, ra->sock) < 0) {
		snprintf(err, errlen, "resolver: socketpair: %s", strerror(errno));
		goto out_free;
	}
	int rc = ev_io_start(loop, ra->sock[0], EV_READ, on_answers, ra);
	if (rc < 0) {
		snprintf(err, errlen, "resolver: event loop: %s", strerror(-rc));
		goto out_close;
	}
	return ra;
out_close:
	close(ra->sock[0]);
	close(ra->sock[1]);
out_free:
	free(ra);
	return NULL;
}

void resolve_async_free(struct resolve_async *ra)
{
	if (ra == NULL)
		return;
	ev_io_stop(ra->loop, ra->sock[0]);
	close(ra->sock[0]);
	close(ra->sock[1]);
	for (size_t i = 0; i < RESOLVE_ASYNC_MAX; i++) {
		if (ra->running[i] != NULL)
			lookup_release(ra->running[i]);
	}
	free(ra);
}

int resolve_async_start(struct resolve_async *ra, const struct addr_spec *spec)
{
	size_t slot = 0;
	while (slot < RESOLVE_ASYNC_MAX && ra->running[slot] != NULL)
		slot++;
	if (slot == RESOLVE_ASYNC_MAX)
		return -EBUSY;
	struct lookup *lk = calloc(1, sizeof(*lk));
	if (lk == NULL)
		return -ENOMEM;
	ra->next_id = ra->next_id == RESOLVE_ID_MAX ? 1 : ra->next_id + 1;
	*lk = (struct lookup){.spec = *spec, .id = ra->next_id, .refs = 2};
	lk->answer.id = lk->id;
	lk->wfd = fcntl(ra->sock[1], F_DUPFD_CLOEXEC, 0);
	if (lk->wfd < 0) {
		int e = errno;
		free(lk);
		return -e;
	}
	/* The thread takes no signals: they stay with the loop's thread. */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_attr_t attr;
	pthread_t thread;
	int e = pthread_attr_init(&attr);
	if (e == 0) {
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		e = pthread_create(&thread, &attr, lookup_run, lk);
		pthread_attr_destroy(&attr);
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (e != 0) {
		close(lk->wfd);
		free(lk);
		return -e;
	}
	ra->running[slot] = lk;
	return lk->id;
}
