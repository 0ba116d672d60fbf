/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Cheap timestamps for the tools: the TSC on x86 (constant and invariant on
 * any machine ferry targets), calibrated once against CLOCK_MONOTONIC;
 * CLOCK_MONOTONIC itself elsewhere.
 */
#ifndef FERRY_TSC_H
#define FERRY_TSC_H

#include <stdint.h>
#include <time.h>

static double tsc_ns_per_tick = 1.0;

static inline uint64_t mono_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

#if defined(__x86_64__)
#include <x86intrin.h>
static inline uint64_t tsc_now(void)
{
	return __rdtsc();
}
static inline void tsc_init(void)
{
	uint64_t n0 = mono_now_ns(), t0 = __rdtsc();
	struct timespec d = {0, 50000000};
	nanosleep(&d, NULL);
	uint64_t n1 = mono_now_ns(), t1 = __rdtsc();
	tsc_ns_per_tick = (double)(n1 - n0) / (double)(t1 - t0);
}
#else
static inline uint64_t tsc_now(void)
{
	return mono_now_ns();
}
static inline void tsc_init(void)
{
}
#endif

static inline uint64_t tsc_ns(uint64_t ticks)
{
	return (uint64_t)((double)ticks * tsc_ns_per_tick);
}

#endif
