/* SPDX-License-Identifier: BSD-3-Clause */
/* The timer queue: order, moving, cancelling, and a random workload
 * checked against a plain array. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "timerq.h"

static void test_order(void **state)
{
	(void)state;
	struct ftq q;
	struct ftimer t[5] = {{0}};
	uint64_t at[5] = {50, 10, 40, 20, 30};
	ftq_init(&q);
	assert_int_equal(ftq_next(&q), UINT64_MAX);
	for (int i = 0; i < 5; i++)
		assert_int_equal(ftq_set(&q, &t[i], at[i]), 0);
	assert_int_equal(ftq_next(&q), 10);
	assert_null(ftq_pop_due(&q, 9));
	assert_ptr_equal(ftq_pop_due(&q, 25), &t[1]);
	assert_ptr_equal(ftq_pop_due(&q, 25), &t[3]);
	assert_null(ftq_pop_due(&q, 25));
	assert_false(ftq_queued(&t[1]));
	/* move 50 to 5, cancel 40 */
	ftq_set(&q, &t[0], 5);
	ftq_cancel(&q, &t[2]);
	ftq_cancel(&q, &t[2]); /* twice: a no-op */
	assert_ptr_equal(ftq_pop_due(&q, 100), &t[0]);
	assert_ptr_equal(ftq_pop_due(&q, 100), &t[4]);
	assert_null(ftq_pop_due(&q, 100));
	ftq_fini(&q);
}

static void test_random(void **state)
{
	(void)state;
	enum { N = 2000 };
	struct ftq q;
	struct ftimer *t = calloc(N, sizeof(*t));
	assert_non_null(t);
	ftq_init(&q);
	uint64_t x = 12345, now = 0;
	for (int round = 0; round < 200000; round++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		struct ftimer *k = &t[x % N];
		switch ((x >> 20) % 4) {
		case 0:
		case 1:
			assert_int_equal(ftq_set(&q, k, now + (x >> 32) % 1000), 0);
			break;
		case 2:
			ftq_cancel(&q, k);
			break;
		default: {
			now += (x >> 40) % 50;
			struct ftimer *d;
			uint64_t last = 0;
			while ((d = ftq_pop_due(&q, now)) != NULL) {
				assert_true(d->at <= now && d->at >= last);
				last = d->at;
			}
			/* nothing queued is due */
			for (int i = 0; i < N; i++)
				if (ftq_queued(&t[i]))
					assert_true(t[i].at > now);
		}
		}
		if (round % 1000 == 0)
			assert_int_equal(ftq_check(&q), 0);
	}
	ftq_fini(&q);
	for (int i = 0; i < N; i++)
		assert_false(ftq_queued(&t[i]));
	free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_order),
		cmocka_unit_test(test_random),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
