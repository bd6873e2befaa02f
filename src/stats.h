/* stats.h - per-service counters, read by the metrics endpoint. */
#ifndef SOCKIT_STATS_H
#define SOCKIT_STATS_H

#include <stdint.h>

/* Relaxed atomics: worker threads add, the metrics reader sums; no ordering is needed. */
#define STAT_ADD(stats, field, n) __atomic_add_fetch(&(stats)->field, (n), __ATOMIC_RELAXED)
#define STAT_GET(stats, field)    __atomic_load_n(&(stats)->field, __ATOMIC_RELAXED)

struct service_stats {
	uint64_t conns_accepted;
	uint64_t conns_refused; /* over --max-conns or out of fds */
	uint64_t conns_active;
	uint64_t bytes_in;
	uint64_t bytes_out;
	uint64_t dgrams_in;
	uint64_t replies;
	uint64_t drops;        /* datagrams not answered: policy, send failure */
	uint64_t rate_limited; /* datagrams dropped by the per-source limit */
	uint64_t errors;
};

#endif
