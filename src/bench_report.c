/* bench_report.c - bench results as text for people or as one JSON object. */
#include <inttypes.h>
#include <stdio.h>

#include "bench_internal.h"

#define CLIENT_BUSY_WARN 0.9 /* client CPU share that makes the figures suspect */

static double us(uint64_t ns)
{
	return (double)ns / 1000.0;
}

void bench_print_human(const struct bench_config *cfg, const struct bench_totals *t)
{
	const struct histogram *h = &t->hist;
	uint64_t msgs = t->ok + t->mismatches;
	double rate = t->seconds > 0 ? (double)msgs / t->seconds : 0;
	printf("%s %s: %u conn%s x depth %u, %zu B, %u thread%s, %.2f s\n", cfg->proto->name,
	       cfg->target, cfg->conns, cfg->conns == 1 ? "" : "s", cfg->depth, cfg->size,
	       cfg->threads, cfg->threads == 1 ? "" : "s", t->seconds);
	printf("  messages  %" PRIu64 "  %.0f msgs/s  %.2f MB/s each way\n", msgs, rate,
	       rate * (double)cfg->size / 1e6);
	printf("  latency   p50 %.1f us  p90 %.1f us  p99 %.1f us  p99.9 %.1f us  max %.1f us"
	       "  (mean %.1f us)\n",
	       us(histogram_percentile(h, 50)), us(histogram_percentile(h, 90)),
	       us(histogram_percentile(h, 99)), us(histogram_percentile(h, 99.9)), us(h->max),
	       histogram_mean(h) / 1000.0);
	printf("  problems  %" PRIu64 " mismatches  %" PRIu64 " timeouts  %" PRIu64 " errors",
	       t->mismatches, t->timeouts, t->errors);
	if (t->late > 0)
		printf("  (%" PRIu64 " late replies ignored)", t->late);
	printf("\n  client    %.0f %% busy", t->client_busy * 100);
	if (t->client_polling >= 0.005)
		printf(", %.0f %% polling for replies", t->client_polling * 100);
	printf("%s\n", t->client_busy > CLIENT_BUSY_WARN ? " (near saturation: add --threads, or "
							   "the client limits these figures)"
							 : "");
}

void bench_print_json(const struct bench_config *cfg, const struct bench_totals *t)
{
	const struct histogram *h = &t->hist;
	uint64_t msgs = t->ok + t->mismatches;
	double rate = t->seconds > 0 ? (double)msgs / t->seconds : 0;
	printf("{\"proto\":\"%s\",\"target\":\"", cfg->proto->name);
	for (const char *p = cfg->target; *p; p++) { /* a unix path may hold anything */
		if (*p == '"' || *p == '\\')
			printf("\\%c", *p);
		else if ((unsigned char)*p < 0x20)
			printf("\\u%04x", (unsigned char)*p);
		else
			putchar(*p);
	}
	printf("\",\"transport\":\"%s\",\"conns\":%u,\"depth\":%u,\"size\":%zu,\"threads\":%u,"
	       "\"plain\":%s,\"seconds\":%.6f,\"messages\":%" PRIu64 ",\"msgs_per_s\":%.1f,"
	       "\"mb_per_s\":%.3f,\"latency_us\":{\"p50\":%.3f,\"p90\":%.3f,\"p99\":%.3f,"
	       "\"p99.9\":%.3f,\"max\":%.3f,\"mean\":%.3f,\"min\":%.3f},\"mismatches\":%" PRIu64
	       ",\"timeouts\":%" PRIu64 ",\"errors\":%" PRIu64 ",\"late\":%" PRIu64
	       ",\"client_busy\":%.3f,\"client_polling\":%.3f}\n",
	       addr_transport_name(cfg->spec.transport), cfg->conns, cfg->depth, cfg->size,
	       cfg->threads, cfg->plain ? "true" : "false", t->seconds, msgs, rate,
	       rate * (double)cfg->size / 1e6, us(histogram_percentile(h, 50)),
	       us(histogram_percentile(h, 90)), us(histogram_percentile(h, 99)),
	       us(histogram_percentile(h, 99.9)), us(h->max), histogram_mean(h) / 1000.0,
	       us(h->min), t->mismatches, t->timeouts, t->errors, t->late, t->client_busy,
	       t->client_polling);
}
