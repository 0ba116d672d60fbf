/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Paced requests for the latency tools (ferry-perf, udp_pingpong), so
 * sparse traffic can be measured as well as back-to-back:
 *
 *   --rate N    request k is due at t0 + k / N seconds. When the reply to
 *               the one before came too late for that, its round trip is
 *               timed from the instant it was due, not from when it went
 *               out: the lateness the system under test caused counts,
 *               instead of quietly thinning the schedule (no coordinated
 *               omission). Otherwise the tool sleeps until it is due and
 *               times it from when it goes, so the timer's own wake-up
 *               latency (tens of us on a VM) is not charged to the system.
 *   --gap-us N  one request at a time, a pause of N us after each reply;
 *               each round trip is timed from its actual send.
 *
 * One request is in flight at a time in both modes (a client waiting for
 * its answer, as an RPC caller does). Waits are clock_nanosleep() to an
 * absolute time with the timer slack at 1 ns, so the pause is what was
 * asked and the tools compare alike.
 */
#ifndef FERRY_PACE_H
#define FERRY_PACE_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <time.h>

struct pace {
	uint64_t interval_ns; /* --rate: 1e9 / N; 0 otherwise */
	uint64_t gap_ns;      /* --gap-us: the pause; 0 otherwise */
	uint64_t t0, k;       /* --rate: the schedule's start, requests so far */
	uint64_t late;        /* requests sent a whole interval or more late */
};

/** Whether a pace was asked for (then ping-pong is the only test). */
static inline int pace_on(const struct pace *p)
{
	return p->interval_ns || p->gap_ns;
}

static inline uint64_t pace_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline void pace_sleep_until(uint64_t t)
{
	struct timespec ts = {(time_t)(t / 1000000000ull), (long)(t % 1000000000ull)};
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

/** Start the schedule now (call once, before the first pace_next()). */
static inline void pace_start(struct pace *p)
{
	prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
	p->t0 = pace_now();
	p->k = 0;
	p->late = 0;
}

/**
 * Wait until the next request is due and @return the instant its round
 * trip is timed from: now, after the wait, or its slot in the schedule if
 * that has passed (--rate); now, after the pause (--gap-us; none before
 * the first request).
 */
static inline uint64_t pace_next(struct pace *p)
{
	if (p->interval_ns) {
		uint64_t due = p->t0 + p->k++ * p->interval_ns, now = pace_now();
		if (now >= due) {
			if (now - due >= p->interval_ns)
				p->late++;
			return due;
		}
		pace_sleep_until(due);
		return pace_now();
	}
	if (p->gap_ns && p->k++ > 0)
		pace_sleep_until(pace_now() + p->gap_ns);
	return pace_now();
}

/** Describe the pace for a report: JSON members to append to an object
 *  (",\"rate_per_s\":N,\"late\":N" or ",\"gap_us\":N"), or text. */
static inline void pace_str(const struct pace *p, int json, char *buf, size_t len)
{
	if (p->interval_ns && json)
		snprintf(buf, len, ",\"rate_per_s\":%.0f,\"late\":%llu", 1e9 / (double)p->interval_ns,
			 (unsigned long long)p->late);
	else if (p->interval_ns)
		snprintf(buf, len, "paced at %.0f requests/s (%llu sent a whole interval late)",
			 1e9 / (double)p->interval_ns, (unsigned long long)p->late);
	else if (json)
		snprintf(buf, len, ",\"gap_us\":%llu", (unsigned long long)(p->gap_ns / 1000));
	else
		snprintf(buf, len, "one at a time, %llu us apart",
			 (unsigned long long)(p->gap_ns / 1000));
}

#endif
