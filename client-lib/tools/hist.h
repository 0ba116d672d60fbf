/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Log-linear latency histogram for the tools: values in nanoseconds, each
 * power of two split into 64 linear sub-buckets, so every recorded value is
 * within 1/64 (1.6%) of its bucket's upper edge. Fixed size, no allocation
 * while recording.
 */
#ifndef FERRY_HIST_H
#define FERRY_HIST_H

#include <stdint.h>
#include <string.h>

#define HIST_SUB_BITS 6
#define HIST_SUB (1u << HIST_SUB_BITS)
#define HIST_BUCKETS (64 - HIST_SUB_BITS)

struct hist {
	uint64_t n[HIST_BUCKETS][HIST_SUB];
	uint64_t count, max, min, sum;
};

static inline void hist_reset(struct hist *h)
{
	memset(h, 0, sizeof(*h));
	h->min = UINT64_MAX;
}

static inline void hist_add(struct hist *h, uint64_t v)
{
	unsigned b = 0, s;
	if (v >= HIST_SUB) {
		b = (unsigned)(63 - __builtin_clzll(v)) - HIST_SUB_BITS + 1;
		s = (unsigned)(v >> (b - 1)) & (HIST_SUB - 1);
		s |= 0; /* top bit dropped: the bucket says which power of two */
	} else {
		s = (unsigned)v;
	}
	h->n[b][s]++;
	h->count++;
	h->sum += v;
	if (v > h->max)
		h->max = v;
	if (v < h->min)
		h->min = v;
}

/* Upper edge of bucket (b, s): the largest value that lands there. */
static inline uint64_t hist_edge(unsigned b, unsigned s)
{
	if (b == 0)
		return s;
	return ((uint64_t)(s | HIST_SUB) << (b - 1)) + ((1ull << (b - 1)) - 1);
}

/** Value at quantile q (0..1]: the smallest bucket edge covering q. */
static inline uint64_t hist_pct(const struct hist *h, double q)
{
	if (h->count == 0)
		return 0;
	uint64_t want = (uint64_t)(q * (double)h->count + 0.5);
	if (want < 1)
		want = 1;
	uint64_t seen = 0;
	for (unsigned b = 0; b < HIST_BUCKETS; b++)
		for (unsigned s = 0; s < HIST_SUB; s++) {
			seen += h->n[b][s];
			if (seen >= want) {
				uint64_t e = hist_edge(b, s);
				return e > h->max ? h->max : e;
			}
		}
	return h->max;
}

#endif
