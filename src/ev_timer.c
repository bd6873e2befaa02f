/* ev_timer.c - timers: a binary min-heap of caller-owned structs; the loop's wait times out
 * at the earliest. */
#include <errno.h>
#include <stdlib.h>

#include "ev_internal.h"

#define MAX_WAIT_MS 60000 /* a wait never longer: the int timeout's cap */

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

int ev_timers_next_timeout(const struct ev_loop *loop)
{
	if (loop->heap_len == 0)
		return -1;
	uint64_t due = loop->heap[1]->due_ms;
	if (due <= loop->now_ms)
		return 0;
	uint64_t wait = due - loop->now_ms;
	return wait > MAX_WAIT_MS ? MAX_WAIT_MS : (int)wait;
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
