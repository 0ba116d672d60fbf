/* SPDX-License-Identifier: BSD-3-Clause */
/* When the port is recovered after a device reset (port_recover.c), on a
 * stepped clock: a request from another thread, a request during an
 * attempt, retries a second apart, giving up after three failures. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "port_recover.h"

#define S 1000000000ull

static void test_idle_until_requested(void **state)
{
	(void)state;
	struct ferry_recover r;
	ferry_recover_init(&r, 3, S);
	for (uint64_t t = 0; t < 10 * S; t += S)
		assert_false(ferry_recover_due(&r, t));
	ferry_recover_request(&r);
	assert_true(ferry_recover_due(&r, 10 * S));
	ferry_recover_begin(&r);
	assert_false(ferry_recover_due(&r, 10 * S));
	assert_int_equal(ferry_recover_end(&r, 10 * S, 0), FERRY_RECOVER_OK);
	assert_false(ferry_recover_due(&r, 11 * S));
	assert_int_equal(r.attempts, 1);
	assert_int_equal(r.recovered, 1);
	assert_int_equal(r.failed, 0);
}

static void test_request_during_attempt_runs_again(void **state)
{
	(void)state;
	struct ferry_recover r;
	ferry_recover_init(&r, 3, S);
	ferry_recover_request(&r);
	ferry_recover_begin(&r);
	ferry_recover_request(&r); /* the device asks again meanwhile */
	assert_int_equal(ferry_recover_end(&r, 0, 0), FERRY_RECOVER_OK);
	assert_true(ferry_recover_due(&r, 0));
	ferry_recover_begin(&r);
	assert_int_equal(ferry_recover_end(&r, 0, 0), FERRY_RECOVER_OK);
	assert_false(ferry_recover_due(&r, 0));
	assert_int_equal(r.recovered, 2);
}

static void test_retry_then_give_up(void **state)
{
	(void)state;
	struct ferry_recover r;
	ferry_recover_init(&r, 3, S);
	ferry_recover_request(&r);
	uint64_t t = 5 * S;
	ferry_recover_begin(&r);
	assert_int_equal(ferry_recover_end(&r, t, -EIO), FERRY_RECOVER_RETRY);
	/* not before the retry time */
	assert_false(ferry_recover_due(&r, t));
	assert_false(ferry_recover_due(&r, t + S - 1));
	assert_true(ferry_recover_due(&r, t + S));
	ferry_recover_begin(&r);
	assert_int_equal(ferry_recover_end(&r, t + S, -EIO), FERRY_RECOVER_RETRY);
	/* a success in between starts the count again */
	ferry_recover_begin(&r);
	assert_int_equal(ferry_recover_end(&r, t + 2 * S, 0), FERRY_RECOVER_OK);
	assert_int_equal(r.failures_in_row, 0);
	for (int i = 0; i < 2; i++) {
		ferry_recover_request(&r);
		ferry_recover_begin(&r);
		assert_int_equal(ferry_recover_end(&r, t + 3 * S, -EIO), FERRY_RECOVER_RETRY);
	}
	ferry_recover_begin(&r);
	assert_int_equal(ferry_recover_end(&r, t + 4 * S, -ENODEV), FERRY_RECOVER_GAVE_UP);
	assert_true(r.gave_up);
	/* given up: further events change nothing */
	ferry_recover_request(&r);
	assert_false(ferry_recover_due(&r, 100 * S));
	assert_int_equal(r.failed, 5);
	assert_int_equal(r.recovered, 1);
	assert_int_equal(r.attempts, 6);
}

static void *requester(void *arg)
{
	ferry_recover_request(arg);
	return NULL;
}

static void test_request_from_another_thread(void **state)
{
	(void)state;
	struct ferry_recover r;
	pthread_t th;
	ferry_recover_init(&r, 0, S); /* 0 tries means 1 */
	assert_int_equal(r.max_tries, 1);
	assert_int_equal(pthread_create(&th, NULL, requester, &r), 0);
	pthread_join(th, NULL);
	assert_true(ferry_recover_due(&r, 0));
	ferry_recover_begin(&r);
	assert_int_equal(ferry_recover_end(&r, 0, -EIO), FERRY_RECOVER_GAVE_UP);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_idle_until_requested),
		cmocka_unit_test(test_request_during_attempt_runs_again),
		cmocka_unit_test(test_retry_then_give_up),
		cmocka_unit_test(test_request_from_another_thread),
	};
	return cmocka_run_group_tests_name("port_recover", tests, NULL, NULL);
}
