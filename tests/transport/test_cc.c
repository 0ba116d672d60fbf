/* SPDX-License-Identifier: BSD-3-Clause */
/* Swift-style congestion window: the increase and decrease arithmetic
 * worked by hand, the once-per-RTT spacing of decreases, loss and timeout
 * reactions, clamps, pacing below one packet, the per-hop target, and a
 * fixed-seed fuzz of the invariants. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "cc.h"

#define US 1000ull

#define assert_cwnd(cc, want)                                                      \
	do {                                                                       \
		double got_ = ferry_cc_cwnd(cc), want_ = (want);                   \
		if (fabs(got_ - want_) > 1e-9 * (1 + fabs(want_)))                 \
			fail_msg("cwnd %.12f, want %.12f", got_, want_);           \
	} while (0)

static struct ferry_cc make(void)
{
	struct ferry_cc_params p = FERRY_CC_PARAMS_DEFAULT;
	struct ferry_cc cc;
	assert_int_equal(ferry_cc_init(&cc, &p), 0);
	return cc;
}

static void test_init(void **state)
{
	struct ferry_cc_params p = FERRY_CC_PARAMS_DEFAULT, q;
	struct ferry_cc cc = make();
	(void)state;

	assert_cwnd(&cc, 16);
	assert_int_equal(ferry_cc_window(&cc), 16);
	assert_int_equal(ferry_cc_pacing_delay_ns(&cc), 0);
	assert_int_equal(ferry_cc_target_ns(&cc), 50 * US);

	q = p, q.min_cwnd = 0;
	assert_int_equal(ferry_cc_init(&cc, &q), -EINVAL);
	q = p, q.init_cwnd = 0.001; /* below min */
	assert_int_equal(ferry_cc_init(&cc, &q), -EINVAL);
	q = p, q.init_cwnd = 2000; /* above max */
	assert_int_equal(ferry_cc_init(&cc, &q), -EINVAL);
	q = p, q.ai = 0;
	assert_int_equal(ferry_cc_init(&cc, &q), -EINVAL);
	q = p, q.beta = 1.5;
	assert_int_equal(ferry_cc_init(&cc, &q), -EINVAL);
	q = p, q.max_mdf = 1;
	assert_int_equal(ferry_cc_init(&cc, &q), -EINVAL);
	q = p, q.target_delay_ns = 0;
	assert_int_equal(ferry_cc_init(&cc, &q), -EINVAL);
	q = p, q.ai = NAN;
	assert_int_equal(ferry_cc_init(&cc, &q), -EINVAL);
}

static void test_additive_increase(void **state)
{
	struct ferry_cc cc = make();
	double w = 16;
	(void)state;

	/* cwnd >= 1: + ai * acked / cwnd */
	ferry_cc_on_ack(&cc, 10 * US, 1, 0);
	assert_cwnd(&cc, 16 + 1.0 / 16);
	ferry_cc_on_ack(&cc, 10 * US, 4, 0);
	assert_cwnd(&cc, 16.0625 + 4 / 16.0625);

	/* one window of single acks adds just under ai */
	cc = make();
	for (int i = 0; i < 16; i++) {
		w += 1 / w;
		ferry_cc_on_ack(&cc, 10 * US, 1, 0);
	}
	assert_cwnd(&cc, w);
	assert_true(w > 16.96 && w < 17);
	assert_int_equal(ferry_cc_window(&cc), 16);

	/* an ack of nothing below the target changes nothing */
	ferry_cc_on_ack(&cc, 10 * US, 0, 0);
	assert_cwnd(&cc, w);
	assert_int_equal(cc.increases, 16);
}

static void test_increase_below_one(void **state)
{
	struct ferry_cc_params p = FERRY_CC_PARAMS_DEFAULT;
	struct ferry_cc cc;
	(void)state;

	p.init_cwnd = 0.5;
	assert_int_equal(ferry_cc_init(&cc, &p), 0);
	/* cwnd < 1: + ai * acked, not divided */
	ferry_cc_on_ack(&cc, 10 * US, 1, 0);
	assert_cwnd(&cc, 1.5);
	ferry_cc_on_ack(&cc, 10 * US, 1, 0);
	assert_cwnd(&cc, 1.5 + 1 / 1.5);
}

static void test_multiplicative_decrease(void **state)
{
	struct ferry_cc cc = make();
	(void)state;

	/* delay 100 us, target 50 us: 1 - 0.8 * 50/100 = 0.6 */
	ferry_cc_on_ack(&cc, 100 * US, 1, 1000 * US);
	assert_cwnd(&cc, 16 * 0.6);
	assert_int_equal(cc.decreases, 1);
	/* within one RTT (100 us, the latest delay) of it: no decrease */
	ferry_cc_on_ack(&cc, 100 * US, 1, 1099 * US);
	assert_cwnd(&cc, 9.6);
	/* one RTT later: 9.6 * 0.6 */
	ferry_cc_on_ack(&cc, 100 * US, 1, 1100 * US);
	assert_cwnd(&cc, 5.76);
	/* 62.5 us: 1 - 0.8 * 12.5/62.5 = 0.84, the RTT now 62.5 us */
	ferry_cc_on_ack(&cc, 62500, 1, 1100 * US + 62500);
	assert_cwnd(&cc, 5.76 * 0.84);
	/* a delay of exactly the target neither increases nor decreases */
	ferry_cc_on_ack(&cc, 50 * US, 3, 2000 * US);
	assert_cwnd(&cc, 5.76 * 0.84);
	assert_int_equal(cc.decreases, 3);
}

static void test_max_mdf(void **state)
{
	struct ferry_cc cc = make();
	(void)state;

	/* 1 ms: 1 - 0.8 * 950/1000 = 0.24, held at 1 - max_mdf = 0.5 */
	ferry_cc_on_ack(&cc, 1000 * US, 1, 0);
	assert_cwnd(&cc, 8);
	/* 250 us: 1 - 0.8 * 200/250 = 0.36, held at 0.5 too */
	ferry_cc_on_ack(&cc, 250 * US, 1, 1000 * US);
	assert_cwnd(&cc, 4);
	/* 150 us: 1 - 0.8 * 100/150 = 0.4666..., still capped at 0.5 */
	ferry_cc_on_ack(&cc, 150 * US, 1, 2000 * US);
	assert_cwnd(&cc, 2);
	/* 125 us: 1 - 0.8 * 75/125 = 0.52, just above the cap */
	ferry_cc_on_ack(&cc, 125 * US, 1, 3000 * US);
	assert_cwnd(&cc, 1.04);
}

static void test_loss(void **state)
{
	struct ferry_cc cc = make();
	(void)state;

	ferry_cc_on_ack(&cc, 20 * US, 0, 0); /* RTT 20 us */
	ferry_cc_on_loss(&cc, 100 * US);
	assert_cwnd(&cc, 8);
	/* a second loss in the same RTT is the same congestion event */
	ferry_cc_on_loss(&cc, 110 * US);
	assert_cwnd(&cc, 8);
	/* and so is a high delay */
	ferry_cc_on_ack(&cc, 20 * US, 0, 110 * US);
	ferry_cc_on_ack(&cc, 100 * US, 1, 119 * US); /* RTT becomes 100 us */
	assert_cwnd(&cc, 8);
	ferry_cc_on_loss(&cc, 200 * US);
	assert_cwnd(&cc, 4);
	assert_int_equal(cc.losses, 3);
	assert_int_equal(cc.decreases, 2);
}

static void test_external_signal(void **state)
{
	struct ferry_cc cc = make();
	(void)state;

	ferry_cc_on_ack(&cc, 20 * US, 0, 0); /* RTT 20 us, delay far below target */
	/* the same epoch as the session started with: nothing */
	assert_false(ferry_cc_on_signal(&cc, 0, 10 * US));
	assert_cwnd(&cc, 16);
	/* the cloud dropped packets: back off though the delay is low */
	assert_true(ferry_cc_on_signal(&cc, 1, 100 * US));
	assert_cwnd(&cc, 8);
	/* the same epoch read again (every ack passes it): once only */
	for (uint64_t t = 200; t < 2000; t += 100)
		assert_false(ferry_cc_on_signal(&cc, 1, t * US));
	assert_cwnd(&cc, 8);
	/* a new epoch within the RTT of the decrease: seen, not acted on */
	ferry_cc_on_ack(&cc, 20 * US, 0, 2000 * US);
	assert_true(ferry_cc_on_signal(&cc, 2, 2000 * US));
	assert_true(ferry_cc_on_signal(&cc, 3, 2010 * US));
	assert_cwnd(&cc, 4);
	assert_true(ferry_cc_on_signal(&cc, 4, 2015 * US));
	assert_cwnd(&cc, 4);
	assert_true(ferry_cc_on_signal(&cc, 5, 2031 * US));
	assert_cwnd(&cc, 2);
	assert_int_equal(cc.signals, 5);
	assert_int_equal(cc.decreases, 3);
	/* acks below the target grow it again as usual */
	ferry_cc_on_ack(&cc, 20 * US, 2, 3000 * US);
	assert_cwnd(&cc, 3);

	/* a session opened after drops records the epoch and does not react */
	struct ferry_cc late = make();
	ferry_cc_init_signal(&late, 5);
	assert_false(ferry_cc_on_signal(&late, 5, 0));
	assert_cwnd(&late, 16);
	/* and never goes below min_cwnd however many epochs pass */
	for (uint64_t e = 6; e < 200; e++)
		ferry_cc_on_signal(&late, e, e * 1000 * US);
	assert_cwnd(&late, 0.01);
}

static void test_timeout(void **state)
{
	struct ferry_cc cc = make();
	(void)state;

	ferry_cc_on_ack(&cc, 40 * US, 0, 0);
	ferry_cc_on_timeout(&cc, 10 * US);
	assert_cwnd(&cc, 0.01);
	assert_int_equal(ferry_cc_window(&cc), 1);
	/* one packet per RTT / cwnd = 40 us / 0.01 (to a ns: 0.01 is inexact) */
	assert_in_range(ferry_cc_pacing_delay_ns(&cc), 4000 * US - 1, 4000 * US + 1);
	/* a single ack below the target brings the window back over 1 */
	ferry_cc_on_ack(&cc, 40 * US, 1, 20 * US);
	assert_cwnd(&cc, 1.01);
	assert_int_equal(ferry_cc_pacing_delay_ns(&cc), 0);
}

/* Swift's softer rule: decrease until the third timeout in a row. */
static void test_timeout_threshold(void **state)
{
	struct ferry_cc_params p = FERRY_CC_PARAMS_DEFAULT;
	struct ferry_cc cc;
	(void)state;

	p.rto_reset_threshold = 3;
	assert_int_equal(ferry_cc_init(&cc, &p), 0);
	ferry_cc_on_ack(&cc, 40 * US, 0, 0);
	ferry_cc_on_timeout(&cc, 1000 * US);
	assert_cwnd(&cc, 8);
	ferry_cc_on_timeout(&cc, 1010 * US); /* within the RTT: held */
	assert_cwnd(&cc, 8);
	/* an ack ends the run */
	ferry_cc_on_ack(&cc, 40 * US, 0, 1020 * US);
	ferry_cc_on_timeout(&cc, 2000 * US);
	ferry_cc_on_timeout(&cc, 3000 * US);
	assert_cwnd(&cc, 2);
	ferry_cc_on_timeout(&cc, 3001 * US); /* third in a row: no spacing */
	assert_cwnd(&cc, 0.01);
	assert_int_equal(cc.timeouts, 5);
}

static void test_clamps(void **state)
{
	struct ferry_cc_params p = FERRY_CC_PARAMS_DEFAULT;
	struct ferry_cc cc;
	(void)state;

	p.init_cwnd = 1023.9;
	assert_int_equal(ferry_cc_init(&cc, &p), 0);
	ferry_cc_on_ack(&cc, 10 * US, 1000, 0);
	assert_cwnd(&cc, 1024);
	assert_int_equal(ferry_cc_window(&cc), 1024);

	p.init_cwnd = 1.2;
	p.min_cwnd = 1;
	assert_int_equal(ferry_cc_init(&cc, &p), 0);
	ferry_cc_on_loss(&cc, 0);
	assert_cwnd(&cc, 1);
	assert_int_equal(cc.decreases, 1);
	/* already at the floor: a further "decrease" is no decrease ... */
	ferry_cc_on_loss(&cc, 100 * US);
	assert_cwnd(&cc, 1);
	assert_int_equal(cc.decreases, 1);
	assert_int_equal(cc.last_decrease_ns, 0);
	/* ... and does not hold back the next real one: RTT 40 us, 30 us
	 * after the no-op but 130 us after the last decrease */
	ferry_cc_on_ack(&cc, 40 * US, 10, 120 * US);
	assert_cwnd(&cc, 11);
	ferry_cc_on_loss(&cc, 130 * US);
	assert_cwnd(&cc, 5.5);
}

static void test_pacing(void **state)
{
	struct ferry_cc_params p = FERRY_CC_PARAMS_DEFAULT;
	struct ferry_cc cc;
	(void)state;

	p.init_cwnd = 0.25;
	assert_int_equal(ferry_cc_init(&cc, &p), 0);
	/* before any delay, the RTT is taken to be the target */
	assert_int_equal(ferry_cc_pacing_delay_ns(&cc), 200 * US);
	/* 60 us >= target: 0.25 * (1 - 0.8 * 10/60) = 0.25 * 0.8666... */
	ferry_cc_on_ack(&cc, 60 * US, 1, 0);
	assert_cwnd(&cc, 0.25 * (1 - 0.8 / 6));
	assert_int_equal(ferry_cc_pacing_delay_ns(&cc),
			 (uint64_t)(60000.0 / (0.25 * (1 - 0.8 / 6))));
	assert_int_equal(ferry_cc_window(&cc), 1);
}

static void test_hops(void **state)
{
	struct ferry_cc_params p = FERRY_CC_PARAMS_DEFAULT;
	struct ferry_cc cc;
	(void)state;

	p.per_hop_ns = 2 * US;
	assert_int_equal(ferry_cc_init(&cc, &p), 0);
	ferry_cc_set_hops(&cc, 5);
	assert_int_equal(ferry_cc_target_ns(&cc), 60 * US);
	/* 55 us is above the base target but below 50 + 5 * 2 */
	ferry_cc_on_ack(&cc, 55 * US, 1, 0);
	assert_cwnd(&cc, 16 + 1.0 / 16);
	/* 120 us: 1 - 0.8 * 60/120 = 0.6 */
	ferry_cc_on_ack(&cc, 120 * US, 1, 0);
	assert_cwnd(&cc, (16 + 1.0 / 16) * 0.6);
}

/* Random inputs: cwnd stays within its bounds and never decreases twice
 * within one RTT. */
static void test_fuzz(void **state)
{
	struct ferry_cc cc = make();
	uint64_t now = 0, last_dec = 0;
	unsigned seed = 12345;
	bool dec = false;
	(void)state;

	for (int i = 0; i < 200000; i++) {
		double before = ferry_cc_cwnd(&cc);
		uint64_t rtt = cc.rtt_ns;
		int what = rand_r(&seed) % 100;
		now += (uint64_t)(rand_r(&seed) % 30) * US;
		if (what < 90)
			ferry_cc_on_ack(&cc, (uint64_t)(rand_r(&seed) % 120) * US,
					(uint32_t)(rand_r(&seed) % 8), now);
		else if (what < 97)
			ferry_cc_on_loss(&cc, now);
		else
			ferry_cc_on_timeout(&cc, now);
		assert_true(ferry_cc_cwnd(&cc) >= 0.01 && ferry_cc_cwnd(&cc) <= 1024);
		if (ferry_cc_cwnd(&cc) < before && what < 97) {
			/* the spacing uses the RTT as of the decision */
			uint64_t gap = what < 90 ? cc.rtt_ns : rtt;
			assert_true(!dec || now - last_dec >= gap);
			dec = true;
			last_dec = now;
		} else if (ferry_cc_cwnd(&cc) < before) {
			dec = true;
			last_dec = now;
		}
	}
	assert_true(cc.decreases > 1000 && cc.increases > 1000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init),
		cmocka_unit_test(test_additive_increase),
		cmocka_unit_test(test_increase_below_one),
		cmocka_unit_test(test_multiplicative_decrease),
		cmocka_unit_test(test_max_mdf),
		cmocka_unit_test(test_loss),
		cmocka_unit_test(test_external_signal),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_timeout_threshold),
		cmocka_unit_test(test_clamps),
		cmocka_unit_test(test_pacing),
		cmocka_unit_test(test_hops),
		cmocka_unit_test(test_fuzz),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
