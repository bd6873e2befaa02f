/* ev_spin.c - see ev_spin.h. */
#include "ev_spin.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "opt.h"

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

void spinner_init(struct spinner *s, unsigned budget_us, bool adaptive)
{
	spin_policy_init(&s->policy, budget_us, adaptive);
	if (adaptive && budget_us > 0 && s->probe_fd < 0) {
		s->probe_fd = spin_probe_open();
		s->cpus = sysconf(_SC_NPROCESSORS_ONLN);
	}
}

void spinner_close(struct spinner *s)
{
	if (s->probe_fd >= 0)
		close(s->probe_fd);
	s->probe_fd = -1;
}

unsigned spinner_budget(struct spinner *s, uint64_t now_us)
{
	if (spin_policy_wants_probe(&s->policy, now_us))
		spin_policy_probed(&s->policy, spin_probe_crowded(s->probe_fd, s->cpus), now_us);
	return spin_policy_budget(&s->policy);
}

int spin_option_parse(const char *value, unsigned *budget_us, bool *adaptive)
{
	if (value == NULL || value[0] == '\0' || strcmp(value, "auto") == 0) {
		*budget_us = SPIN_AUTO_BUDGET_US;
		*adaptive = true;
		return 0;
	}
	unsigned long long v;
	if (opt_parse_uint(value, 0, SPIN_MAX_BUDGET_US, &v) < 0)
		return -1;
	*budget_us = (unsigned)v;
	*adaptive = false;
	return 0;
}
