/* ev_poll.c - the portable poll(2) backend: a dense pollfd array plus fd -> slot index. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>

#include "ev_internal.h"

struct poll_state {
	struct pollfd *fds; /* dense: slots 0..count-1 */
	int *slot_of;       /* fd -> slot, -1 if absent */
	int count;
	int scan_start; /* rotate where reporting starts, so no fd starves past EV_MAX_FIRED */
};

static int poll_init(struct ev_loop *loop)
{
	struct poll_state *st = calloc(1, sizeof(*st));
	if (st == NULL)
		return -ENOMEM;
	st->fds = calloc((size_t)loop->max_fds, sizeof(*st->fds));
	st->slot_of = malloc((size_t)loop->max_fds * sizeof(*st->slot_of));
	if (st->fds == NULL || st->slot_of == NULL) {
		free(st->fds);
		free(st->slot_of);
		free(st);
		return -ENOMEM;
	}
	for (int i = 0; i < loop->max_fds; i++)
		st->slot_of[i] = -1;
	loop->backend_state = st;
	return 0;
}

static void poll_free(struct ev_loop *loop)
{
	struct poll_state *st = loop->backend_state;
	free(st->fds);
	free(st->slot_of);
	free(st);
}

static int poll_update(struct ev_loop *loop, int fd, int old_events, int new_events)
{
	struct poll_state *st = loop->backend_state;
	(void)old_events;
	int slot = st->slot_of[fd];
	if (new_events == EV_NONE) {
		if (slot < 0)
			return 0;
		st->count--;
		if (slot != st->count) { /* move the last slot into the hole */
			st->fds[slot] = st->fds[st->count];
			st->slot_of[st->fds[slot].fd] = slot;
		}
		st->slot_of[fd] = -1;
		return 0;
	}
	if (slot < 0) {
		slot = st->count++;
		st->slot_of[fd] = slot;
		st->fds[slot] = (struct pollfd){.fd = fd};
	}
	st->fds[slot].events = (short)(((new_events & EV_READ) ? POLLIN : 0) |
				       ((new_events & EV_WRITE) ? POLLOUT : 0));
	return 0;
}

static int poll_wait_events(struct ev_loop *loop, int timeout_ms)
{
	struct poll_state *st = loop->backend_state;
	int ready = poll(st->fds, (nfds_t)st->count, timeout_ms);
	if (ready < 0)
		return -errno;
	int n = 0;
	if (st->scan_start >= st->count)
		st->scan_start = 0;
	for (int k = 0; k < st->count && n < ready && n < EV_MAX_FIRED; k++) {
		struct pollfd *p = &st->fds[(st->scan_start + k) % st->count];
		if (p->revents == 0)
			continue;
		int events = 0;
		if (p->revents & (POLLIN | POLLERR | POLLHUP | POLLNVAL))
			events |= EV_READ;
		if (p->revents & (POLLOUT | POLLERR | POLLHUP | POLLNVAL))
			events |= EV_WRITE;
		loop->fired[n++] = (struct ev_fired){.fd = p->fd, .events = events};
	}
	st->scan_start++;
	return n;
}

const struct ev_backend ev_backend_poll = {
	.name = "poll",
	.init = poll_init,
	.free = poll_free,
	.update = poll_update,
	.wait = poll_wait_events,
};
