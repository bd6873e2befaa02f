/* ev_epoll.c - the Linux epoll backend (level-triggered). */
#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "ev_internal.h"

struct epoll_state {
	int epfd;
	struct epoll_event events[EV_MAX_FIRED];
};

static int epoll_init(struct ev_loop *loop)
{
	struct epoll_state *st = calloc(1, sizeof(*st));
	if (st == NULL)
		return -ENOMEM;
	st->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (st->epfd < 0) {
		int rc = -errno;
		free(st);
		return rc;
	}
	loop->backend_state = st;
	return 0;
}

static void epoll_free(struct ev_loop *loop)
{
	struct epoll_state *st = loop->backend_state;
	close(st->epfd);
	free(st);
}

static int epoll_update(struct ev_loop *loop, int fd, int old_events, int new_events)
{
	struct epoll_state *st = loop->backend_state;
	struct epoll_event ev = {.data.fd = fd};
	if (new_events & EV_READ)
		ev.events |= EPOLLIN;
	if (new_events & EV_WRITE)
		ev.events |= EPOLLOUT;
	int op = old_events == EV_NONE ? EPOLL_CTL_ADD
		 : new_events == EV_NONE ? EPOLL_CTL_DEL
					 : EPOLL_CTL_MOD;
	if (old_events == EV_NONE && new_events == EV_NONE)
		return 0;
	if (epoll_ctl(st->epfd, op, fd, &ev) < 0)
		return -errno;
	return 0;
}

static int epoll_wait_events(struct ev_loop *loop, int timeout_ms)
{
	struct epoll_state *st = loop->backend_state;
	int n = epoll_wait(st->epfd, st->events, EV_MAX_FIRED, timeout_ms);
	if (n < 0)
		return -errno;
	for (int i = 0; i < n; i++) {
		uint32_t e = st->events[i].events;
		int events = 0;
		if (e & (EPOLLIN | EPOLLERR | EPOLLHUP))
			events |= EV_READ;
		if (e & (EPOLLOUT | EPOLLERR | EPOLLHUP))
			events |= EV_WRITE;
		loop->fired[i] = (struct ev_fired){.fd = st->events[i].data.fd, .events = events};
	}
	return n;
}

const struct ev_backend ev_backend_epoll = {
	.name = "epoll",
	.init = epoll_init,
	.free = epoll_free,
	.update = epoll_update,
	.wait = epoll_wait_events,
};
