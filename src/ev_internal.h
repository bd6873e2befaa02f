/* ev_internal.h - the loop's private state, shared only with its backends. */
#ifndef SOCKIT_EV_INTERNAL_H
#define SOCKIT_EV_INTERNAL_H

#include <sys/types.h>

#include "ev.h"
#include "ev_spin.h"

struct ev_io_watch {
	int events; /* EV_READ | EV_WRITE; EV_NONE with fn set = registered but quiet */
	ev_io_fn *fn;
	void *data;
	ev_recv_fn *recv_fn; /* completion receives (ev_recv_start), or NULL */
	uint32_t recv_gen;   /* bumped whenever the fd is forgotten or watched anew, so a
			      * receive completing for an earlier owner of the fd is dropped */
};

/* What a wait found: readiness of fd, or (recv) a completed receive into buf. */
struct ev_fired {
	int fd;
	int events;
	bool recv;
	uint32_t recv_gen; /* the watch's recv_gen when the receive was armed */
	ssize_t res;       /* bytes received, 0 at end of stream, or -errno */
	uint8_t *buf;
	int buf_id; /* the backend's buffer, given back after the callback; -1 none */
};

/* Each backend is these functions over the loop's state; the receive ones are optional. */
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
	/* Optional (NULL: readiness only). Arm receives on fd until recv_stop; gone means the
	 * fd is being forgotten and a receive in flight must be cancelled, not completed. */
	int (*recv_start)(struct ev_loop *loop, int fd);
	void (*recv_stop)(struct ev_loop *loop, int fd, bool gone);
	void (*buffer_release)(struct ev_loop *loop, int buf_id);
};

#define EV_MAX_FIRED 1024

struct ev_loop {
	const struct ev_backend *backend;
	void *backend_state;
	int max_fds;
	struct ev_io_watch *watches; /* indexed by fd */
	struct ev_fired fired[EV_MAX_FIRED];
	struct ev_timer **heap; /* 1-based binary min-heap on due_ms */
	size_t heap_len, heap_cap;
	uint64_t now_ms;
	struct spinner spin; /* busy polling: see ev_spin.h */
	bool had_events;     /* the last wait found work: worth spinning before the next */
	bool stopped;
};

/* ev_timer.c, for the loop: */
int ev_timers_next_timeout(const struct ev_loop *loop); /* ms to the earliest; -1: none */
void ev_timers_run_due(struct ev_loop *loop);

/* epoll helpers, shared with the io_uring backend, which watches readiness through epoll. */
struct epoll_event;
int ev_epoll_change(int epfd, int fd, int old_events, int new_events);
int ev_epoll_collect(int epfd, struct epoll_event *events, struct ev_fired *fired, int max,
		     int timeout_ms);

extern const struct ev_backend ev_backend_epoll;
extern const struct ev_backend ev_backend_poll;
#ifdef HAVE_LIBURING
extern const struct ev_backend ev_backend_uring;
#endif

#endif
