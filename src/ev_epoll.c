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

int ev_epoll_change(int epfd, int fd, int old_events, int new_events)
{
	struct epoll_event ev = {.data.fd = fd};
	if (new_events & EV_READ)
		ev.events |= EPOLLIN;
	if (new_events & EV_WRITE)
		ev.events |= EPOLLOUT;
	int op = old_events == EV_NONE   ? EPOLL_CTL_ADD
		 : new_events == EV_NONE ? EPOLL_CTL_DEL
					 : EPOLL_CTL_MOD;
	if (old_events == EV_NONE && new_events == EV_NONE)
		return 0;
	if (epoll_ctl(epfd, op, fd, &ev) < 0)
		return -errno;
	return 0;
}

int ev_epoll_collect(int epfd, struct epoll_event *events, struct ev_fired *fired, int max,
		     int timeout_ms)
{
	int n = epoll_wait(epfd, events, max, timeout_ms);
	if (n < 0)
		return -errno;
	for (int i = 0; i < n; i++) {
		uint32_t e = events[i].events;
		int ev = 0;
		if (e & (EPOLLIN | EPOLLERR | EPOLLHUP))
			ev |= EV_READ;
		if (e & (EPOLLOUT | EPOLLERR | EPOLLHUP))
			ev |= EV_WRITE;
		fired[i] = (struct ev_fired){.fd = events[i].data.fd, .events = ev};
	}
	return n;
}

static int epoll_update(struct ev_loop *loop, int fd, int old_events, int new_events)
{
	struct epoll_state *st = loop->backend_state;
	return ev_epoll_change(st->epfd, fd, old_events, new_events);
}

static int epoll_wait_events(struct ev_loop *loop, int timeout_ms)
{
	struct epoll_state *st = loop->backend_state;
	return ev_epoll_collect(st->epfd, st->events, loop->fired, EV_MAX_FIRED, timeout_ms);
}

const struct ev_backend ev_backend_epoll = {
	.name = "epoll",
	.init = epoll_init,
	.free = epoll_free,
	.update = epoll_update,
	.wait = epoll_wait_events,
};
