/* SPDX-License-Identifier: BSD-3-Clause */
/* RTT estimator: the RFC 6298 filters worked by hand, the RTO clamps, the
 * granularity term, exponential backoff and its end, Karn's rule, and
 * arithmetic at the extremes. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "rtt.h"

#define US 1000ull
#define MS 1000000ull

static struct ferry_rtt make(void)
{
	struct ferry_rtt_params p = FERRY_RTT_PARAMS_DEFAULT;
	struct ferry_rtt r;
	assert_int_equal(ferry_rtt_init(&r, &p), 0);
	return r;
}

static void test_init(void **state)
{
	struct ferry_rtt_params p = FERRY_RTT_PARAMS_DEFAULT;
	struct ferry_rtt r = make();
	(void)state;

	assert_int_equal(ferry_rtt_rto(&r), 1 * MS);
	assert_false(ferry_rtt_has_sample(&r));
	assert_int_equal(ferry_rtt_srtt(&r), 0);
	assert_int_equal(ferry_rtt_backoff(&r), 0);

	p.rto_initial_ns = 10000 * MS; /* clamped to the ceiling */
	assert_int_equal(ferry_rtt_init(&r, &p), 0);
	assert_int_equal(ferry_rtt_rto(&r), 200 * MS);
	p.rto_initial_ns = 1; /* and to the floor */
	assert_int_equal(ferry_rtt_init(&r, &p), 0);
	assert_int_equal(ferry_rtt_rto(&r), 200 * US);

	p.rto_min_ns = 0;
	assert_int_equal(ferry_rtt_init(&r, &p), -EINVAL);
	p.rto_min_ns = 300 * MS; /* above rto_max */
	assert_int_equal(ferry_rtt_init(&r, &p), -EINVAL);
	p.rto_min_ns = p.rto_max_ns; /* equal is fine: a fixed RTO */
	assert_int_equal(ferry_rtt_init(&r, &p), 0);
	assert_int_equal(ferry_rtt_rto(&r), 200 * MS);
}

/* Three samples through the filters, every value computed by hand. */
static void test_rfc6298_filters(void **state)
{
	struct ferry_rtt r = make();
	(void)state;

	/* 2.2: SRTT = R = 100 us, RTTVAR = R/2 = 50 us,
	 * RTO = 100 + max(1, 4 * 50) = 300 us */
	assert_int_equal(ferry_rtt_sample(&r, 100 * US, false), 0);
	assert_int_equal(ferry_rtt_srtt(&r), 100000);
	assert_int_equal(ferry_rtt_rttvar(&r), 50000);
	assert_int_equal(ferry_rtt_rto(&r), 300000);

	/* 2.3 with R' = 200 us: RTTVAR = 3/4 * 50 + 1/4 * |100 - 200| = 62.5,
	 * SRTT = 7/8 * 100 + 1/8 * 200 = 112.5, RTO = 112.5 + 250 = 362.5 */
	assert_int_equal(ferry_rtt_sample(&r, 200 * US, false), 0);
	assert_int_equal(ferry_rtt_rttvar(&r), 62500);
	assert_int_equal(ferry_rtt_srtt(&r), 112500);
	assert_int_equal(ferry_rtt_rto(&r), 362500);

	/* R' = 50 us: RTTVAR = (3 * 62500 + 62500) / 4 = 62500 (uses the old
	 * SRTT), SRTT = (7 * 112500 + 50000) / 8 = 104687.5, truncated */
	assert_int_equal(ferry_rtt_sample(&r, 50 * US, false), 0);
	assert_int_equal(ferry_rtt_rttvar(&r), 62500);
	assert_int_equal(ferry_rtt_srtt(&r), 104687);
	assert_int_equal(ferry_rtt_rto(&r), 104687 + 250000);
	assert_int_equal(r.samples, 3);
}

static void test_clamps(void **state)
{
	struct ferry_rtt r = make();
	(void)state;

	/* 10 us: 10 + 4 * 5 = 30 us, raised to the 200 us floor */
	ferry_rtt_sample(&r, 10 * US, false);
	assert_int_equal(ferry_rtt_rto(&r), 200 * US);
	assert_int_equal(ferry_rtt_srtt(&r), 10 * US);

	/* 100 ms: 100 + 4 * 50 = 300 ms, lowered to the 200 ms ceiling */
	r = make();
	ferry_rtt_sample(&r, 100 * MS, false);
	assert_int_equal(ferry_rtt_rto(&r), 200 * MS);
}

/* A perfectly steady RTT: RTTVAR decays to 0 and G keeps RTO above SRTT. */
static void test_granularity(void **state)
{
	struct ferry_rtt_params p = FERRY_RTT_PARAMS_DEFAULT;
	struct ferry_rtt r;
	(void)state;

	p.rto_min_ns = 1;
	assert_int_equal(ferry_rtt_init(&r, &p), 0);
	for (int i = 0; i < 200; i++)
		ferry_rtt_sample(&r, 20 * US, false);
	assert_int_equal(ferry_rtt_srtt(&r), 20 * US);
	assert_int_equal(ferry_rtt_rttvar(&r), 0);
	assert_int_equal(ferry_rtt_rto(&r), 20 * US + 1 * US);

	/* a zero RTT (a coarse clock) is a valid sample */
	assert_int_equal(ferry_rtt_init(&r, &p), 0);
	assert_int_equal(ferry_rtt_sample(&r, 0, false), 0);
	assert_int_equal(ferry_rtt_rto(&r), 1 * US);
}

static void test_backoff(void **state)
{
	static const uint64_t want[] = {600, 1200, 2400, 4800, 9600, 19200, 38400, 76800,
					153600, 200000, 200000, 200000};
	struct ferry_rtt r = make();
	(void)state;

	ferry_rtt_sample(&r, 100 * US, false);
	assert_int_equal(ferry_rtt_rto(&r), 300 * US);
	for (unsigned i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		assert_int_equal(ferry_rtt_on_timeout(&r), want[i] * US);
		assert_int_equal(ferry_rtt_rto(&r), want[i] * US);
		assert_int_equal(ferry_rtt_backoff(&r), i + 1);
	}
	/* the estimator itself is untouched by timeouts */
	assert_int_equal(ferry_rtt_srtt(&r), 100 * US);

	/* Karn: the ack of a retransmitted packet neither samples nor ends
	 * the backoff */
	assert_int_equal(ferry_rtt_sample(&r, 150 * US, true), FERRY_RTT_KARN);
	assert_int_equal(ferry_rtt_rto(&r), 200 * MS);
	assert_int_equal(ferry_rtt_backoff(&r), 12);
	assert_int_equal(ferry_rtt_srtt(&r), 100 * US);
	assert_int_equal(r.karn_dropped, 1);

	/* a valid sample recomputes the RTO from the filters: RTTVAR =
	 * (3 * 50 + 0) / 4 = 37.5, RTO = 100 + 150 = 250 us */
	assert_int_equal(ferry_rtt_sample(&r, 100 * US, false), 0);
	assert_int_equal(ferry_rtt_backoff(&r), 0);
	assert_int_equal(ferry_rtt_rto(&r), 250 * US);
}

/* Backoff before any sample starts from the initial RTO. */
static void test_backoff_initial(void **state)
{
	struct ferry_rtt r = make();
	(void)state;

	assert_int_equal(ferry_rtt_on_timeout(&r), 2 * MS);
	assert_int_equal(ferry_rtt_on_timeout(&r), 4 * MS);
	/* Karn's rule holds before the first sample too */
	assert_int_equal(ferry_rtt_sample(&r, 100 * US, true), FERRY_RTT_KARN);
	assert_false(ferry_rtt_has_sample(&r));
	assert_int_equal(ferry_rtt_rto(&r), 4 * MS);
}

static void test_reset(void **state)
{
	struct ferry_rtt r = make();
	(void)state;

	ferry_rtt_sample(&r, 100 * US, false);
	ferry_rtt_on_timeout(&r);
	ferry_rtt_reset(&r);
	assert_false(ferry_rtt_has_sample(&r));
	assert_int_equal(ferry_rtt_rto(&r), 1 * MS);
	assert_int_equal(ferry_rtt_backoff(&r), 0);
	/* the next sample is a first sample again */
	ferry_rtt_sample(&r, 40 * US, false);
	assert_int_equal(ferry_rtt_rttvar(&r), 20 * US);
}

/* No overflow at the extremes of uint64. */
static void test_extremes(void **state)
{
	struct ferry_rtt_params p = FERRY_RTT_PARAMS_DEFAULT;
	struct ferry_rtt r;
	(void)state;

	p.rto_max_ns = UINT64_MAX;
	assert_int_equal(ferry_rtt_init(&r, &p), 0);
	ferry_rtt_sample(&r, UINT64_MAX, false); /* capped at 2^56 */
	assert_int_equal(ferry_rtt_srtt(&r), 1ull << 56);
	assert_int_equal(ferry_rtt_rto(&r), (1ull << 56) + 4 * (1ull << 55));
	ferry_rtt_sample(&r, UINT64_MAX, false);
	assert_int_equal(ferry_rtt_srtt(&r), 1ull << 56);
	for (int i = 0; i < 100; i++)
		ferry_rtt_on_timeout(&r);
	assert_int_equal(ferry_rtt_rto(&r), UINT64_MAX);

	/* an odd ceiling: doubling stops at it exactly */
	p.rto_max_ns = 1001;
	p.rto_min_ns = 1;
	p.rto_initial_ns = 500;
	assert_int_equal(ferry_rtt_init(&r, &p), 0);
	assert_int_equal(ferry_rtt_on_timeout(&r), 1000);
	assert_int_equal(ferry_rtt_on_timeout(&r), 1001);
	assert_int_equal(ferry_rtt_on_timeout(&r), 1001);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init),
		cmocka_unit_test(test_rfc6298_filters),
		cmocka_unit_test(test_clamps),
		cmocka_unit_test(test_granularity),
		cmocka_unit_test(test_backoff),
		cmocka_unit_test(test_backoff_initial),
		cmocka_unit_test(test_reset),
		cmocka_unit_test(test_extremes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
