/* histogram.c - log-linear latency buckets: the exponent picks a power of two, the next
 * HISTOGRAM_SUB_BITS bits pick a linear slot inside it. */
#include <string.h>

#include "histogram.h"

#define SUB_COUNT (1u << HISTOGRAM_SUB_BITS)

void histogram_init(struct histogram *h)
{
	memset(h, 0, sizeof(*h));
}

/* Values below 2*SUB_COUNT are their own bucket (exact); above, the bucket keeps the top
 * HISTOGRAM_SUB_BITS+1 significant bits: index = shift * SUB_COUNT + (value >> shift). */
unsigned histogram_bucket_of(uint64_t value)
{
	if (value > HISTOGRAM_MAX_VALUE)
		value = HISTOGRAM_MAX_VALUE;
	unsigned msb = value ? 63u - (unsigned)__builtin_clzll(value) : 0;
	unsigned shift = msb > HISTOGRAM_SUB_BITS ? msb - HISTOGRAM_SUB_BITS : 0;
	return shift * SUB_COUNT + (unsigned)(value >> shift);
}

uint64_t histogram_bucket_top(unsigned bucket)
{
	if (bucket < 2 * SUB_COUNT)
		return bucket;
	unsigned shift = bucket / SUB_COUNT - 1;
	uint64_t sub = bucket - shift * SUB_COUNT; /* in [SUB_COUNT, 2*SUB_COUNT) */
	return ((sub + 1) << shift) - 1;
}

void histogram_record(struct histogram *h, uint64_t value)
{
	if (h->count == 0 || value < h->min)
		h->min = value;
	if (value > h->max)
		h->max = value;
	h->count++;
	h->sum += value;
	h->buckets[histogram_bucket_of(value)]++;
}

void histogram_merge(struct histogram *dst, const struct histogram *src)
{
	if (src->count == 0)
		return;
	if (dst->count == 0 || src->min < dst->min)
		dst->min = src->min;
	if (src->max > dst->max)
		dst->max = src->max;
	dst->count += src->count;
	dst->sum += src->sum;
	for (unsigned i = 0; i < HISTOGRAM_BUCKETS; i++)
		dst->buckets[i] += src->buckets[i];
}

uint64_t histogram_percentile(const struct histogram *h, double pct)
{
	if (h->count == 0)
		return 0;
	if (pct >= 100.0)
		return h->max;
	double want = pct / 100.0 * (double)h->count;
	uint64_t rank = (uint64_t)want;
	if ((double)rank < want || rank == 0)
		rank++; /* ceil, and at least the first value */
	uint64_t seen = 0;
	for (unsigned i = 0; i < HISTOGRAM_BUCKETS; i++) {
		seen += h->buckets[i];
		if (seen >= rank) {
			uint64_t top = histogram_bucket_top(i);
			if (top > h->max)
				top = h->max;
			return top < h->min ? h->min : top;
		}
	}
	return h->max;
}

double histogram_mean(const struct histogram *h)
{
	return h->count ? (double)h->sum / (double)h->count : 0.0;
}
