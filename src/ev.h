/* ev.h - sockit's event loop: fd readiness, timers and signals on one thread (redis ae style). */
#ifndef SOCKIT_EV_H
#define SOCKIT_EV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct ev_loop;
struct ev_timer;

enum { EV_NONE = 0, EV_READ = 1, EV_WRITE = 2 };

typedef void ev_io_fn(struct ev_loop *loop, int fd, void *data, int events);
typedef void ev_timer_fn(struct ev_loop *loop, struct ev_timer *timer, void *data);
typedef void ev_signal_fn(struct ev_loop *loop, int signo, void *data);
/* A completed receive: n bytes in buf (which the callback may modify, valid only during the
 * call), 0 at end of stream, or -errno. */
typedef void ev_recv_fn(struct ev_loop *loop, int fd, void *data, uint8_t *buf, ssize_t n);

/* Owned by the caller (usually embedded in a connection) so that arming a timer never
 * allocates. Zero-initialised or ev_timer_init()ed before first use. */
struct ev_timer {
	uint64_t due_ms;
	size_t heap_index; /* 1-based slot in the loop's heap; 0 when not armed */
	ev_timer_fn *fn;
	void *data;
};

/* max_fds bounds the fd numbers the loop can watch. backend is "epoll", "poll", "uring" or
 * NULL for the default, epoll (the SOCKIT_EV_BACKEND environment variable overrides NULL).
 * When the kernel or a seccomp filter refuses io_uring, "uring" falls back to epoll and says
 * so once per process on the log. */
struct ev_loop *ev_loop_new(int max_fds, const char *backend, char *err, size_t errlen);
void ev_loop_free(struct ev_loop *loop);
/* Whether this build has the backend called name. */
bool ev_backend_known(const char *name);
const char *ev_loop_backend(const struct ev_loop *loop);
int ev_loop_max_fds(const struct ev_loop *loop);

/* Busy polling: after a wait that found work, poll without sleeping for up to usec
 * microseconds before blocking. A peer that answers within that window finds the loop
 * awake, so neither side pays the sleep and the wake-up (on a VM an inter-processor
 * interrupt, the largest single cost of a small round trip). The price is a CPU spinning
 * while traffic flows; an idle loop still sleeps. adaptive spins only while spinning pays
 * and the machine has a CPU to spare (ev_spin.h). usec 0 turns it off (the default). */
void ev_loop_set_busy_poll(struct ev_loop *loop, unsigned usec, bool adaptive);

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

/* Completion receives, where the backend has them (io_uring): the loop itself receives on
 * the watched fd (ev_io_start first, with the events still wanted as readiness) into its
 * own buffers and calls fn with the bytes, so a busy connection costs no recv call or
 * readiness report. One receive is in flight at a time and the next is armed after fn
 * returns, until ev_recv_stop(). A receive already in flight when ev_recv_stop() is
 * called may still complete: fn then gets those bytes, so none are lost. ev_io_stop()
 * cancels everything. Returns -ENOTSUP where the backend has no completions: use EV_READ
 * readiness and recv() then. */
int ev_recv_start(struct ev_loop *loop, int fd, ev_recv_fn *fn);
void ev_recv_stop(struct ev_loop *loop, int fd);

void ev_timer_init(struct ev_timer *timer, ev_timer_fn *fn, void *data);
/* (Re)arm to fire once, after_ms from now. Callbacks may re-arm their own timer. Only
 * arming a timer that is not armed can fail (-ENOMEM, growing the heap): re-arming an armed
 * one, or one from its own callback, reuses its slot and never allocates. */
int ev_timer_start(struct ev_loop *loop, struct ev_timer *timer, uint64_t after_ms);
void ev_timer_stop(struct ev_loop *loop, struct ev_timer *timer);
bool ev_timer_armed(const struct ev_timer *timer);

/* Deliver signo on this loop instead of asynchronously. One loop per process may do this. */
int ev_signal_start(struct ev_loop *loop, int signo, ev_signal_fn *fn, void *data);

#endif
