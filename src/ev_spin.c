/* ev_spin.c - see ev_spin.h. */
#include "ev_spin.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "i18n.h"
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

bool spin_parse_runnable(const char *loadavg, long *runnable)
{
	/* "0.52 0.58 0.59 2/467 12345": the fourth field is runnable/total, the reader included */
	return sscanf(loadavg, "%*s %*s %*s %ld/", runnable) == 1;
}

bool spin_parse_stall_total(const char *pressure, uint64_t *total_us)
{
	/* "some avg10=0.00 avg60=0.00 avg300=0.00 total=12345\nfull ...": the first line */
	unsigned long long total;
	if (sscanf(pressure, "some avg10=%*f avg60=%*f avg300=%*f total=%llu", &total) != 1)
		return false;
	*total_us = total;
	return true;
}

void spin_probe_open(struct spin_probe *p)
{
	*p = (struct spin_probe){.loadavg_fd = open("/proc/loadavg", O_RDONLY | O_CLOEXEC),
				 .pressure_fd = open("/proc/pressure/cpu", O_RDONLY | O_CLOEXEC)};
}

void spin_probe_close(struct spin_probe *p)
{
	if (p->loadavg_fd >= 0)
		close(p->loadavg_fd);
	if (p->pressure_fd >= 0)
		close(p->pressure_fd);
	p->loadavg_fd = p->pressure_fd = -1;
}

static bool read_text(int fd, char *text, size_t size)
{
	ssize_t n = fd >= 0 ? pread(fd, text, size - 1, 0) : -1;
	if (n <= 0)
		return false;
	text[n] = '\0';
	return true;
}

/* Waiting for a CPU since the last reading, over SPIN_STALL_MAX_PERMILLE of the time. A
 * reading with no mark before it, or one older than SPIN_STALL_WINDOW_US (the loop was idle
 * or skipping: an average over that long would hide a hog that started a moment ago), only
 * sets the mark, and the runnable count alone decides this time. */
static bool probe_stalled(struct spin_probe *p, uint64_t now_us)
{
	char text[256];
	uint64_t total;
	if (!read_text(p->pressure_fd, text, sizeof(text)) || !spin_parse_stall_total(text, &total))
		return false; /* no PSI: the runnable count alone decides */
	bool fresh = p->stall_read_us != 0 && now_us > p->stall_read_us &&
		     now_us - p->stall_read_us <= SPIN_STALL_WINDOW_US;
	bool stalled = fresh && total >= p->stall_us &&
		       (total - p->stall_us) * 1000u >
			       (now_us - p->stall_read_us) * SPIN_STALL_MAX_PERMILLE;
	p->stall_us = total;
	p->stall_read_us = now_us;
	return stalled;
}

bool spin_probe_crowded(struct spin_probe *p, long cpus, uint64_t now_us)
{
	char text[128];
	long runnable;
	bool stalled = probe_stalled(p, now_us); /* read every time: its mark moves on */
	if (cpus < 2 || !read_text(p->loadavg_fd, text, sizeof(text)) ||
	    !spin_parse_runnable(text, &runnable))
		return true;
	return runnable > cpus || stalled;
}

void spinner_init(struct spinner *s, unsigned budget_us, bool adaptive)
{
	spin_policy_init(&s->policy, budget_us, adaptive);
	s->probe = (struct spin_probe){.loadavg_fd = -1, .pressure_fd = -1};
	s->cpus = 0;
	if (adaptive && budget_us > 0) {
		spin_probe_open(&s->probe);
		s->cpus = sysconf(_SC_NPROCESSORS_ONLN);
	}
}

void spinner_close(struct spinner *s)
{
	spin_probe_close(&s->probe);
}

unsigned spinner_budget(struct spinner *s, uint64_t now_us)
{
	if (spin_policy_wants_probe(&s->policy, now_us))
		spin_policy_probed(&s->policy, spin_probe_crowded(&s->probe, s->cpus, now_us),
				   now_us);
	return spin_policy_budget(&s->policy);
}

int spin_option_parse(const char *value, unsigned *budget_us, bool *adaptive, char *why,
		      size_t whylen)
{
	if (value == NULL || value[0] == '\0' || strcmp(value, "auto") == 0) {
		*budget_us = SPIN_AUTO_BUDGET_US;
		*adaptive = true;
		return 0;
	}
	unsigned long long v;
	if (opt_parse_uint(value, 0, SPIN_MAX_BUDGET_US, &v) < 0) {
		snprintf(why, whylen, _("expected auto or 0-%u microseconds, got '%s'"),
			 SPIN_MAX_BUDGET_US, value);
		return -1;
	}
	*budget_us = (unsigned)v;
	*adaptive = false;
	return 0;
}
