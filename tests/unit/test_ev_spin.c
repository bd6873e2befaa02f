/* test_ev_spin.c - the busy-poll policy: fixed spins always; adaptive backs off after spins
 * that find nothing, starts over after one that finds work, and never spins unprobed, on a
 * crowded machine or on one CPU; the /proc/loadavg probe reads the runnable count. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "ev_spin.h"

#define T0 1000000u /* a made-up clock, in us */

static void fixed_always_spins(void **state)
{
	(void)state;
	struct spin_policy p;
	spin_policy_init(&p, 40, false);
	assert_false(spin_policy_wants_probe(&p, T0));
	for (int i = 0; i < 5; i++) {
		assert_int_equal(spin_policy_budget(&p), 40);
		spin_policy_record(&p, false);
	}
	spin_policy_init(&p, 0, true); /* 0 is off, adaptive or not */
	assert_false(spin_policy_wants_probe(&p, T0));
	assert_int_equal(spin_policy_budget(&p), 0);
}

static void adaptive_needs_a_free_cpu(void **state)
{
	(void)state;
	struct spin_policy p;
	spin_policy_init(&p, 50, true);
	assert_int_equal(spin_policy_budget(&p), 0); /* never probed: no */
	uint64_t t = T0;
	assert_true(spin_policy_wants_probe(&p, t));
	spin_policy_probed(&p, true, t);
	assert_int_equal(spin_policy_budget(&p), 0); /* crowded */
	assert_false(spin_policy_wants_probe(&p, t + SPIN_PROBE_US - 1));
	/* One crowded reading holds spinning off until SPIN_CLEAN_PROBES clean ones in a row. */
	for (int round = 0; round < 2; round++) {
		for (unsigned i = 1; i <= SPIN_CLEAN_PROBES; i++) {
			t += SPIN_PROBE_US;
			assert_true(spin_policy_wants_probe(&p, t));
			spin_policy_probed(&p, false, t);
			assert_int_equal(spin_policy_budget(&p), i < SPIN_CLEAN_PROBES ? 0 : 50);
		}
		t += SPIN_PROBE_US;
		spin_policy_probed(&p, true, t); /* crowded again: off at once */
		assert_int_equal(spin_policy_budget(&p), 0);
	}
}

/* Misses in a row skip 1, 3, 7, ... chances, up to 2^SPIN_MISSES_MAX - 1; a hit resets. */
static void adaptive_backs_off_after_misses(void **state)
{
	(void)state;
	struct spin_policy p;
	spin_policy_init(&p, 50, true);
	for (unsigned i = 0; i < SPIN_CLEAN_PROBES; i++)
		spin_policy_probed(&p, false, T0);
	for (unsigned miss = 1; miss <= SPIN_MISSES_MAX + 2; miss++) {
		assert_int_equal(spin_policy_budget(&p), 50);
		spin_policy_record(&p, false);
		unsigned want = miss > SPIN_MISSES_MAX ? SPIN_MISSES_MAX : miss;
		for (uint32_t k = 0; k < (1u << want) - 1; k++) {
			assert_false(
				spin_policy_wants_probe(&p, T0)); /* skipping: no probe either */
			assert_int_equal(spin_policy_budget(&p), 0);
		}
	}
	assert_int_equal(spin_policy_budget(&p), 50);
	spin_policy_record(&p, true);
	assert_int_equal(spin_policy_budget(&p), 50);
	spin_policy_record(&p, false);
	assert_int_equal(spin_policy_budget(&p), 0); /* one skip: the count started over */
	assert_int_equal(spin_policy_budget(&p), 50);
}

static int text_file(const char *text)
{
	char path[] = "/tmp/sockit-spin-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	unlink(path);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	return fd;
}

static void parsers_take_what_the_kernel_writes(void **state)
{
	(void)state;
	long runnable = 0;
	assert_true(spin_parse_runnable("0.52 0.58 0.59 2/467 12345\n", &runnable));
	assert_int_equal(runnable, 2);
	assert_false(spin_parse_runnable("nonsense\n", &runnable));
	assert_false(spin_parse_runnable("", &runnable));
	uint64_t total = 0;
	assert_true(
		spin_parse_stall_total("some avg10=1.50 avg60=0.20 avg300=0.00 total=5241153385\n"
				       "full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n",
				       &total));
	assert_int_equal(total, 5241153385u);
	assert_false(
		spin_parse_stall_total("full avg10=0.00 avg60=0.00 avg300=0.00 total=7\n", &total));
	assert_false(spin_parse_stall_total("some avg10=0.00\n", &total));
}

/* A probe over files that say what the test wants. */
static struct spin_probe probe_of(const char *loadavg, const char *pressure)
{
	return (struct spin_probe){.loadavg_fd = loadavg ? text_file(loadavg) : -1,
				   .pressure_fd = pressure ? text_file(pressure) : -1};
}

static void pressure_at(struct spin_probe *p, unsigned long long total)
{
	char text[128];
	snprintf(text, sizeof(text),
		 "some avg10=0.00 avg60=0.00 avg300=0.00 total=%llu\n"
		 "full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n",
		 total);
	assert_int_equal(pwrite(p->pressure_fd, text, strlen(text), 0), (ssize_t)strlen(text));
}

static void probe_counts_runnable_threads(void **state)
{
	(void)state;
	const char *calm = "0.52 0.58 0.59 2/467 12345\n", *busy = "3.10 2.00 1.00 3/467 12345\n";
	struct spin_probe p = probe_of(calm, NULL); /* no PSI: the count alone */
	assert_false(spin_probe_crowded(&p, 2, T0));
	assert_true(spin_probe_crowded(&p, 1, T0)); /* one CPU: the peer runs only once we stop */
	spin_probe_close(&p);
	p = probe_of(busy, NULL);
	assert_true(spin_probe_crowded(&p, 2, T0));
	assert_false(spin_probe_crowded(&p, 4, T0));
	spin_probe_close(&p);
	p = probe_of("nonsense\n", NULL);
	assert_true(spin_probe_crowded(&p, 8, T0));
	spin_probe_close(&p);
	p = probe_of(NULL, NULL);
	assert_true(spin_probe_crowded(&p, 8, T0));
}

/* Stall time since the last reading over SPIN_STALL_MAX_PERMILLE of the time is crowded,
 * whatever the instant count says; the first reading only sets the mark. */
static void probe_counts_time_spent_waiting_for_a_cpu(void **state)
{
	(void)state;
	struct spin_probe p = probe_of("0.52 0.58 0.59 2/467 12345\n", "");
	uint64_t t = T0, step = SPIN_PROBE_US, allowed = step * SPIN_STALL_MAX_PERMILLE / 1000;
	pressure_at(&p, 1000000);
	assert_false(spin_probe_crowded(&p, 2, t)); /* the mark */
	pressure_at(&p, 1000000 + allowed);
	assert_false(spin_probe_crowded(&p, 2, t += step)); /* at the limit: not over it */
	pressure_at(&p, 1000000 + allowed + allowed + 1);
	assert_true(spin_probe_crowded(&p, 2, t += step));
	assert_false(spin_probe_crowded(&p, 2, t += step)); /* no more waiting since */
	/* after a gap longer than the window the reading is only a new mark, however much
	 * waiting it holds: that may all be from long ago */
	pressure_at(&p, 9000000);
	assert_false(spin_probe_crowded(&p, 2, t += SPIN_STALL_WINDOW_US + 1));
	pressure_at(&p, 9000000 + allowed + 1);
	assert_true(spin_probe_crowded(&p, 2, t += step));
	spin_probe_close(&p);
	struct spin_probe real;
	spin_probe_open(&real);
	assert_true(real.loadavg_fd >= 0);
	/* The kernel's own files parse: with more CPUs than threads and a first PSI reading,
	 * never crowded (an unparsable loadavg would answer crowded). */
	assert_false(spin_probe_crowded(&real, 1L << 30, T0));
	if (real.pressure_fd >= 0)
		assert_int_not_equal(real.stall_read_us, 0);
	spin_probe_close(&real);
	assert_int_equal(real.loadavg_fd, -1);
}

/* The spinner probes on its own: a fixed budget never opens the probe; an adaptive one opens
 * the real files, and over files that say the CPUs are free reaches its full budget after
 * SPIN_CLEAN_PROBES readings taken as they fall due, never on one CPU. */
static void spinner_probes_when_due(void **state)
{
	(void)state;
	struct spinner s;
	spinner_init(&s, 30, false);
	assert_int_equal(s.probe.loadavg_fd, -1);
	assert_int_equal(spinner_budget(&s, T0), 30);
	spinner_close(&s);
	spinner_init(&s, 50, true);
	assert_true(s.probe.loadavg_fd >= 0);
	spin_probe_close(&s.probe); /* the machine's load is the test's to choose */
	s.probe = probe_of("0.52 0.58 0.59 2/467 12345\n", "");
	pressure_at(&s.probe, 1000);
	s.cpus = 2;
	for (unsigned i = 0; i < SPIN_CLEAN_PROBES; i++) { /* probed each time: 100 ms apart */
		unsigned budget = spinner_budget(&s, T0 + (uint64_t)i * SPIN_PROBE_US);
		assert_int_equal(budget, i + 1 == SPIN_CLEAN_PROBES ? 50 : 0);
		/* not due again a microsecond later: the same answer, unprobed */
		assert_int_equal(spinner_budget(&s, T0 + (uint64_t)i * SPIN_PROBE_US + 1), budget);
	}
	assert_int_equal(s.policy.probed_us, T0 + (SPIN_CLEAN_PROBES - 1) * SPIN_PROBE_US);
	s.cpus = 1; /* the probe says crowded on one CPU */
	assert_int_equal(spinner_budget(&s, T0 + SPIN_CLEAN_PROBES * SPIN_PROBE_US), 0);
	spinner_close(&s);
	assert_int_equal(s.probe.loadavg_fd, -1);
}

static void option_values(void **state)
{
	(void)state;
	unsigned usec = 7;
	bool adaptive = false;
	char why[128];
	const char *autos[] = {NULL, "", "auto"};
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(spin_option_parse(autos[i], &usec, &adaptive, why, sizeof(why)),
				 0);
		assert_true(adaptive);
		assert_int_equal(usec, SPIN_AUTO_BUDGET_US);
	}
	assert_int_equal(spin_option_parse("0", &usec, &adaptive, why, sizeof(why)), 0);
	assert_false(adaptive);
	assert_int_equal(usec, 0);
	assert_int_equal(spin_option_parse("10000", &usec, &adaptive, why, sizeof(why)), 0);
	assert_int_equal(usec, SPIN_MAX_BUDGET_US);
	const char *bad[] = {"10001", "-1", "1.5", "50us", "Auto", " 5", "x"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(spin_option_parse(bad[i], &usec, &adaptive, why, sizeof(why)), -1);
	assert_string_equal(why, "expected auto or 0-10000 microseconds, got 'x'");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(fixed_always_spins),
		cmocka_unit_test(adaptive_needs_a_free_cpu),
		cmocka_unit_test(adaptive_backs_off_after_misses),
		cmocka_unit_test(parsers_take_what_the_kernel_writes),
		cmocka_unit_test(probe_counts_runnable_threads),
		cmocka_unit_test(probe_counts_time_spent_waiting_for_a_cpu),
		cmocka_unit_test(spinner_probes_when_due),
		cmocka_unit_test(option_values),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
