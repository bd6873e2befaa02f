/* ev_timer.c - timers: a binary min-heap of caller-owned structs, and a timerfd that wakes
 * the loop for the earliest of them. The backend's wait itself gets no timeout: a wait with
 * one starts and cancels a kernel timer on every sleep, which on this project's VM cost a
 * worker more CPU per small round trip than all of its user-space work (about 1.4 us:
 * bench/baseline_echo itself, given a 60 s timeout, fell to 0.89x of its -1 self). */
#include <errno.h>
#include <stdlib.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "ev_internal.h"

#define MAX_WAIT_MS 60000 /* the longest wait without the timerfd, and the int timeout's cap */

static void heap_set(struct ev_loop *loop, size_t i, struct ev_timer *t)
{
	loop->heap[i] = t;
	t->heap_index = i;
}

static void heap_sift_up(struct ev_loop *loop, size_t i)
{
	struct ev_timer *t = loop->heap[i];
	while (i > 1 && loop->heap[i / 2]->due_ms > t->due_ms) {
		heap_set(loop, i, loop->heap[i / 2]);
		i /= 2;
	}
	heap_set(loop, i, t);
}

static void heap_sift_down(struct ev_loop *loop, size_t i)
{
	struct ev_timer *t = loop->heap[i];
	for (;;) {
		size_t child = i * 2;
		if (child > loop->heap_len)
			break;
		if (child + 1 <= loop->heap_len &&
		    loop->heap[child + 1]->due_ms < loop->heap[child]->due_ms)
			child++;
		if (loop->heap[child]->due_ms >= t->due_ms)
			break;
		heap_set(loop, i, loop->heap[child]);
		i = child;
	}
	heap_set(loop, i, t);
}

void ev_timer_init(struct ev_timer *timer, ev_timer_fn *fn, void *data)
{
	*timer = (struct ev_timer){.fn = fn, .data = data};
}

bool ev_timer_armed(const struct ev_timer *timer)
{
	return timer->heap_index != 0;
}

int ev_timer_start(struct ev_loop *loop, struct ev_timer *timer, uint64_t after_ms)
{
	if (timer->heap_index != 0)
		ev_timer_stop(loop, timer);
	if (loop->heap_len + 1 >= loop->heap_cap) {
		size_t cap = loop->heap_cap ? loop->heap_cap * 2 : 64;
		struct ev_timer **heap = realloc(loop->heap, cap * sizeof(*heap));
		if (heap == NULL)
			return -ENOMEM;
		loop->heap = heap;
		loop->heap_cap = cap;
	}
	timer->due_ms = loop->now_ms + after_ms;
	loop->heap_len++;
	heap_set(loop, loop->heap_len, timer);
	heap_sift_up(loop, loop->heap_len);
	return 0;
}

void ev_timer_stop(struct ev_loop *loop, struct ev_timer *timer)
{
	size_t i = timer->heap_index;
	if (i == 0)
		return;
	struct ev_timer *last = loop->heap[loop->heap_len--];
	timer->heap_index = 0;
	if (last == timer)
		return;
	heap_set(loop, i, last);
	heap_sift_down(loop, i);
	heap_sift_up(loop, last->heap_index);
}

int ev_timers_ms_left(const struct ev_loop *loop)
{
	if (loop->heap_len == 0)
		return -1;
	uint64_t due = loop->heap[1]->due_ms;
	if (due <= loop->now_ms)
		return 0;
	uint64_t wait = due - loop->now_ms;
	return wait > MAX_WAIT_MS ? MAX_WAIT_MS : (int)wait;
}

/* Timers move later all the time (every message pushes its connection's idle deadline
 * back), so the wake fd is re-armed only when the earliest deadline moves earlier than the
 * one it holds; waking early for a deadline that moved costs one read and one re-arm. */
int ev_timers_prepare_wait(struct ev_loop *loop)
{
	int left = ev_timers_ms_left(loop);
	if (left <= 0 || loop->timer_fd < 0)
		return left;
	uint64_t due = loop->heap[1]->due_ms;
	if (loop->timer_fd_due_ms != 0 && loop->timer_fd_due_ms <= due)
		return -1;
	/* At the end of due's millisecond, not its start: now_ms is rounded down, so a timer
	 * started at now_ms + 500 could otherwise fire up to 1 ms before 500 ms had passed. */
	uint64_t wake_ms = due + 1;
	struct itimerspec at = {.it_value = {.tv_sec = (time_t)(wake_ms / 1000u),
					     .tv_nsec = (long)(wake_ms % 1000u) * 1000000L}};
	if (timerfd_settime(loop->timer_fd, TFD_TIMER_ABSTIME, &at, NULL) < 0)
		return left; /* the kernel's wait times out instead */
	loop->timer_fd_due_ms = due;
	return -1;
}

static void on_timer_fd(struct ev_loop *loop, int fd, void *data, int events)
{
	(void)data;
	(void)events;
	uint64_t expirations;
	ssize_t n = read(fd, &expirations, sizeof(expirations));
	(void)n; /* EAGAIN: already read; either way the deadline it held has passed */
	loop->timer_fd_due_ms = 0;
}

struct ev_loop *ev_timers_open(struct ev_loop *loop)
{
	loop->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (loop->timer_fd >= 0 && ev_io_start(loop, loop->timer_fd, EV_READ, on_timer_fd, NULL) < 0) {
		close(loop->timer_fd);
		loop->timer_fd = -1;
	}
	return loop; /* without the fd, the kernel's wait times out at the next deadline */
}

void ev_timers_close(struct ev_loop *loop)
{
	if (loop->timer_fd < 0)
		return;
	ev_io_stop(loop, loop->timer_fd);
	close(loop->timer_fd);
	loop->timer_fd = -1;
}

void ev_timers_run_due(struct ev_loop *loop)
{
	/* Bounded by what is due now, so a timer re-arming itself at 0 ms cannot starve I/O. */
	uint64_t now = loop->now_ms;
	size_t budget = loop->heap_len;
	while (budget-- > 0 && loop->heap_len > 0 && loop->heap[1]->due_ms <= now) {
		struct ev_timer *t = loop->heap[1];
		ev_timer_stop(loop, t);
		t->fn(loop, t, t->data);
	}
}

