/* ev.h - sockit's event loop: fd readiness, timers and signals on one thread (redis ae style). */
#ifndef SOCKIT_EV_H
#define SOCKIT_EV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ev_loop;
struct ev_timer;

enum { EV_NONE = 0, EV_READ = 1, EV_WRITE = 2 };

typedef void ev_io_fn(struct ev_loop *loop, int fd, void *data, int events);
typedef void ev_timer_fn(struct ev_loop *loop, struct ev_timer *timer, void *data);
typedef void ev_signal_fn(struct ev_loop *loop, int signo, void *data);

/* Owned by the caller (usually embedded in a connection) so that arming a timer never
 * allocates. Zero-initialised or ev_timer_init()ed before first use. */
struct ev_timer {
	uint64_t due_ms;
	size_t heap_index; /* 1-based slot in the loop's heap; 0 when not armed */
	ev_timer_fn *fn;
	void *data;
};

/* max_fds bounds the fd numbers the loop can watch. backend is "epoll", "poll" or NULL for
 * the best one available (the SOCKIT_EV_BACKEND environment variable overrides NULL). */
struct ev_loop *ev_loop_new(int max_fds, const char *backend, char *err, size_t errlen);
void ev_loop_free(struct ev_loop *loop);
const char *ev_loop_backend(const struct ev_loop *loop);
int ev_loop_max_fds(const struct ev_loop *loop);

/* Runs until ev_loop_stop(). Returns 0, or -errno if the backend failed. */
int ev_loop_run(struct ev_loop *loop);
void ev_loop_stop(struct ev_loop *loop);

/* Monotonic milliseconds, read once per loop iteration. */
uint64_t ev_now_ms(const struct ev_loop *loop);
void ev_update_time(struct ev_loop *loop);

/* Watch fd for events (EV_READ|EV_WRITE), replacing what was watched. 0 or -errno. */
int ev_io_start(struct ev_loop *loop, int fd, int events, ev_io_fn *fn, void *data);
/* Change only the event mask of a watched fd; EV_NONE keeps the fd registered but quiet. */
int ev_io_set(struct ev_loop *loop, int fd, int events);
int ev_io_events(const struct ev_loop *loop, int fd);
/* Forget fd. Must be called before close(fd). */
void ev_io_stop(struct ev_loop *loop, int fd);

void ev_timer_init(struct ev_timer *timer, ev_timer_fn *fn, void *data);
/* (Re)arm to fire once, after_ms from now. Callbacks may re-arm their own timer. */
int ev_timer_start(struct ev_loop *loop, struct ev_timer *timer, uint64_t after_ms);
void ev_timer_stop(struct ev_loop *loop, struct ev_timer *timer);
bool ev_timer_armed(const struct ev_timer *timer);

/* Deliver signo on this loop instead of asynchronously. One loop per process may do this. */
int ev_signal_start(struct ev_loop *loop, int signo, ev_signal_fn *fn, void *data);

#endif
