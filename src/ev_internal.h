/* ev_internal.h - the loop's private state, shared only with its backends. */
#ifndef SOCKIT_EV_INTERNAL_H
#define SOCKIT_EV_INTERNAL_H

#include "ev.h"

struct ev_io_watch {
	int events; /* EV_READ | EV_WRITE; EV_NONE with fn set = registered but quiet */
	ev_io_fn *fn;
	void *data;
};

struct ev_fired {
	int fd;
	int events;
};

/* Each backend is the same four functions over the loop's state. */
struct ev_backend {
	const char *name;
	int (*init)(struct ev_loop *loop);
	void (*free)(struct ev_loop *loop);
	/* fd's events change from old to new; EV_NONE means not in the kernel's set at all,
	 * so a quiet fd can never report a hang-up in a busy loop. */
	int (*update)(struct ev_loop *loop, int fd, int old_events, int new_events);
	/* Wait up to timeout_ms (-1 = forever); fill loop->fired with at most EV_MAX_FIRED
	 * entries, errors and hang-ups reported as EV_READ|EV_WRITE; return the count or -errno. */
	int (*wait)(struct ev_loop *loop, int timeout_ms);
};

#define EV_MAX_FIRED 1024

struct ev_loop {
	const struct ev_backend *backend;
	void *backend_state;
	int max_fds;
	struct ev_io_watch *watches; /* indexed by fd */
	struct ev_fired fired[EV_MAX_FIRED];
	struct ev_timer **heap;      /* 1-based binary min-heap on due_ms */
	size_t heap_len, heap_cap;
	uint64_t now_ms;
	bool stopped;
};

extern const struct ev_backend ev_backend_epoll;
extern const struct ev_backend ev_backend_poll;

#endif
