/* mono_clock.h - the monotonic clock, for deadlines and spin budgets: it never jumps when
 * the wall clock is set. */
#ifndef SOCKIT_MONO_CLOCK_H
#define SOCKIT_MONO_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline long long mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static inline uint64_t mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

#endif
