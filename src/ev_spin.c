/* ev_spin.c - see ev_spin.h. */
#include "ev_spin.h"

#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

void spin_policy_init(struct spin_policy *p, unsigned budget_us, bool adaptive)
{
	*p = (struct spin_policy){.budget_us = budget_us, .adaptive = adaptive};
}

bool spin_policy_wants_probe(const struct spin_policy *p, uint64_t now_us)
{
	return p->adaptive && p->budget_us > 0 && p->skip == 0 &&
	       (p->probed_us == 0 || now_us - p->probed_us >= SPIN_PROBE_US);
}

void spin_policy_probed(struct spin_policy *p, bool crowded, uint64_t now_us)
{
	if (crowded)
		p->clean_probes = 0;
	else if (p->clean_probes < SPIN_CLEAN_PROBES)
		p->clean_probes++;
	p->probed_us = now_us;
}

unsigned spin_policy_budget(struct spin_policy *p)
{
	if (!p->adaptive)
		return p->budget_us;
	if (p->skip > 0) {
		p->skip--;
		return 0;
	}
	return p->clean_probes < SPIN_CLEAN_PROBES ? 0 : p->budget_us;
}

void spin_policy_record(struct spin_policy *p, bool found_work)
{
	if (!p->adaptive)
		return;
	if (found_work) {
		p->misses = 0;
		return;
	}
	if (p->misses < SPIN_MISSES_MAX)
		p->misses++;
	p->skip = (1u << p->misses) - 1;
}

int spin_probe_open(void)
{
	return open("/proc/loadavg", O_RDONLY | O_CLOEXEC);
}

bool spin_probe_crowded(int fd, long cpus)
{
	if (fd < 0 || cpus < 2)
		return true;
	char text[128];
	ssize_t n = pread(fd, text, sizeof(text) - 1, 0);
	if (n <= 0)
		return true;
	text[n] = '\0';
	long running;
	/* "0.52 0.58 0.59 2/467 12345": the fourth field is runnable/total, this thread included */
	if (sscanf(text, "%*s %*s %*s %ld/", &running) != 1)
		return true;
	return running > cpus;
}
