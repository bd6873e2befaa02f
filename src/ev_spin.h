/* ev_spin.h - when to busy-poll before sleeping: the event loop before its wait, the
 * bench's one-connection threads before a blocking receive.
 *
 * Fixed (--busy-poll USEC): after every wakeup that found work, poll without sleeping for
 * up to USEC. Adaptive (--busy-poll auto, the default): the same, only while it pays and
 * costs no one else:
 *   - a spin that ends without work wasted a CPU, so the next 1, 3, 7, ... (at most
 *     2^SPIN_MISSES_MAX - 1) chances to spin are skipped; a spin that finds work resets this;
 *   - never while the CPUs are crowded, where a spinning worker takes the CPU its own
 *     clients or other programs wait for. The probe (read at most every SPIN_PROBE_US) asks
 *     the kernel twice: more runnable threads than CPUs in /proc/loadavg, or threads kept
 *     waiting for a CPU for more than SPIN_STALL_MAX_PERMILLE of the time since the last
 *     reading in /proc/pressure/cpu (where the kernel has it). The first is one instant and
 *     misses a thread still being woken, the second sees every such wait; one crowded
 *     reading stops spinning until SPIN_CLEAN_PROBES readings in a row are not;
 *   - never on a single CPU, where the peer can only run once we stop.
 * The policy is pure (times and probe results come in as arguments); the probe is
 * spin_probe_crowded(). */
#ifndef SOCKIT_EV_SPIN_H
#define SOCKIT_EV_SPIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SPIN_AUTO_BUDGET_US     50 /* past a loopback round trip's turnaround (BENCHMARKS.md) */
#define SPIN_MISSES_MAX         10
#define SPIN_PROBE_US           100000 /* how stale the crowding probe may be */
#define SPIN_CLEAN_PROBES       3
#define SPIN_STALL_MAX_PERMILLE 50                   /* of the time some thread waited for a CPU */
#define SPIN_STALL_WINDOW_US    (10 * SPIN_PROBE_US) /* older marks say nothing of now */
#define SPIN_MAX_BUDGET_US      10000 /* --busy-poll's bound: spinning longer only burns CPU */

struct spin_policy {
	unsigned budget_us; /* 0: never spin */
	bool adaptive;
	unsigned misses;       /* spins in a row that found nothing */
	uint32_t skip;         /* chances to spin still to skip after them */
	unsigned clean_probes; /* uncrowded readings in a row */
	uint64_t probed_us;    /* when the last was taken; 0: never */
};

void spin_policy_init(struct spin_policy *p, unsigned budget_us, bool adaptive);

/* True if the caller should run the probe and report it with spin_policy_probed() before
 * asking for a budget. */
bool spin_policy_wants_probe(const struct spin_policy *p, uint64_t now_us);
void spin_policy_probed(struct spin_policy *p, bool crowded, uint64_t now_us);

/* How long to spin now, the last wait having found work; 0: sleep at once. */
unsigned spin_policy_budget(struct spin_policy *p);

/* What the spin it allowed came to. */
void spin_policy_record(struct spin_policy *p, bool found_work);

/* The probe's files and what it read last. */
struct spin_probe {
	int loadavg_fd;    /* /proc/loadavg, or -1 */
	int pressure_fd;   /* /proc/pressure/cpu, or -1: a kernel without PSI, or booted psi=0 */
	uint64_t stall_us; /* its "some" total at the last reading */
	uint64_t stall_read_us; /* when that was; 0: never */
};

/* Parsers of the two files' text: false if it is not what the kernel writes. */
bool spin_parse_runnable(const char *loadavg, long *runnable);
bool spin_parse_stall_total(const char *pressure, uint64_t *total_us);

void spin_probe_open(struct spin_probe *p);
void spin_probe_close(struct spin_probe *p);
/* More runnable threads than cpus now, or more waiting for a CPU since the last reading
 * than SPIN_STALL_MAX_PERMILLE allows. An unreadable /proc/loadavg, or one CPU, counts as
 * crowded: the safe answer. */
bool spin_probe_crowded(struct spin_probe *p, long cpus, uint64_t now_us);

/* The policy with its probe, as a loop or a blocking client holds it. */
struct spinner {
	struct spin_policy policy;
	struct spin_probe probe; /* opened only when adaptive */
	long cpus;               /* online, for the probe */
};

/* Budget 0 is off and opens nothing; spinner_close undoes either. */
void spinner_init(struct spinner *s, unsigned budget_us, bool adaptive);
void spinner_close(struct spinner *s);
/* How long to spin now (the last wait found work), probing first when the probe is due. */
unsigned spinner_budget(struct spinner *s, uint64_t now_us);

/* --busy-poll's value: "auto" (also NULL or empty: the adaptive default) or microseconds,
 * 0-SPIN_MAX_BUDGET_US, fixed (0: off). 0, or -1 with why ("expected ..., got '...'"). */
int spin_option_parse(const char *value, unsigned *budget_us, bool *adaptive, char *why,
		      size_t whylen);

#endif
