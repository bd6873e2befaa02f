/* histogram.h - latency histogram with log-linear buckets (HdrHistogram style): constant
 * memory, O(1) record, bounded relative error, mergeable across threads. Pure. */
#ifndef SOCKIT_HISTOGRAM_H
#define SOCKIT_HISTOGRAM_H

#include <stdint.h>

/* 2^HISTOGRAM_SUB_BITS linear sub-buckets per power of two: values are kept to within
 * 1/128 (< 0.8 %) of what was recorded. */
#define HISTOGRAM_SUB_BITS  7
#define HISTOGRAM_MAX_BITS  40 /* values up to 2^40 (18 minutes in ns); larger are clamped */
#define HISTOGRAM_BUCKETS   ((HISTOGRAM_MAX_BITS - HISTOGRAM_SUB_BITS + 1) << HISTOGRAM_SUB_BITS)
#define HISTOGRAM_MAX_VALUE ((UINT64_C(1) << HISTOGRAM_MAX_BITS) - 1)

struct histogram {
	uint64_t count;
	uint64_t min, max; /* exact */
	uint64_t sum;      /* for the mean */
	uint64_t buckets[HISTOGRAM_BUCKETS];
};

void histogram_init(struct histogram *h);
void histogram_record(struct histogram *h, uint64_t value);
/* dst += src: the same as having recorded both into dst. */
void histogram_merge(struct histogram *dst, const struct histogram *src);
/* The smallest value v such that at least pct % of the recorded values are <= v, reported
 * as the top of v's bucket (and never above max). 0 when empty. pct is 0..100. */
uint64_t histogram_percentile(const struct histogram *h, double pct);
double histogram_mean(const struct histogram *h);

/* Bucket arithmetic, exposed for the tests. */
unsigned histogram_bucket_of(uint64_t value);
uint64_t histogram_bucket_top(unsigned bucket);

#endif
