/* SPDX-License-Identifier: BSD-3-Clause */
/* The ENI allowance counters (port_xstats.c): increases per reading and
 * the drop epoch from the pure update, then the reader thread fed by a
 * fake source that stalls like the ENA's admin command, handing readings
 * to the "main loop" through the seqlock, pausing for a reset, and
 * reporting a PMD without the counters as unavailable. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "port_xstats.h"

#define ALL ((1u << FERRY_ALLOW_COUNT) - 1)

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(ferry_allowance_name(FERRY_ALLOW_BW_IN), "bw_in_allowance_exceeded");
	assert_string_equal(ferry_allowance_name(FERRY_ALLOW_PPS), "pps_allowance_exceeded");
	assert_string_equal(ferry_allowance_name(FERRY_ALLOW_LINKLOCAL), "linklocal_allowance_exceeded");
	assert_string_equal(ferry_allowance_name(FERRY_ALLOW_COUNT), "unknown");
}

static void test_update(void **state)
{
	(void)state;
	struct ferry_allowance a = {0};
	uint64_t v[FERRY_ALLOW_COUNT] = {100, 200, 300, 0, 5};

	/* the first reading is the baseline: the ENI counted before us */
	assert_int_equal(ferry_allowance_update(&a, v, ALL), 0);
	assert_int_equal(a.epoch, 0);
	assert_int_equal(a.delta[FERRY_ALLOW_PPS], 0);
	/* nothing moved */
	assert_int_equal(ferry_allowance_update(&a, v, ALL), 0);
	/* pps and bw_out rose: one epoch, two deltas */
	v[FERRY_ALLOW_PPS] += 42;
	v[FERRY_ALLOW_BW_OUT] += 1;
	assert_int_equal(ferry_allowance_update(&a, v, ALL),
			 1u << FERRY_ALLOW_PPS | 1u << FERRY_ALLOW_BW_OUT);
	assert_int_equal(a.delta[FERRY_ALLOW_PPS], 42);
	assert_int_equal(a.delta[FERRY_ALLOW_BW_OUT], 1);
	assert_int_equal(a.delta[FERRY_ALLOW_BW_IN], 0);
	assert_int_equal(a.value[FERRY_ALLOW_PPS], 342);
	assert_int_equal(a.epoch, 1);
	/* the next quiet reading clears the deltas, keeps the epoch */
	assert_int_equal(ferry_allowance_update(&a, v, ALL), 0);
	assert_int_equal(a.delta[FERRY_ALLOW_PPS], 0);
	assert_int_equal(a.epoch, 1);
	/* a device reset restarts the count at 0: a new baseline, no epoch */
	uint64_t z[FERRY_ALLOW_COUNT] = {0};
	assert_int_equal(ferry_allowance_update(&a, z, ALL), 0);
	z[FERRY_ALLOW_CONNTRACK] = 3;
	assert_int_equal(ferry_allowance_update(&a, z, ALL), 1u << FERRY_ALLOW_CONNTRACK);
	assert_int_equal(a.epoch, 2);
	/* a counter that vanishes reads 0 and unavailable; when it comes
	 * back, its first reading is a baseline again */
	z[FERRY_ALLOW_CONNTRACK] = 9;
	assert_int_equal(ferry_allowance_update(&a, z, ALL & ~(1u << FERRY_ALLOW_CONNTRACK)), 0);
	assert_int_equal(a.value[FERRY_ALLOW_CONNTRACK], 0);
	assert_int_equal(ferry_allowance_update(&a, z, ALL), 0);
	z[FERRY_ALLOW_CONNTRACK] = 10;
	assert_int_equal(ferry_allowance_update(&a, z, ALL), 1u << FERRY_ALLOW_CONNTRACK);
	assert_int_equal(a.delta[FERRY_ALLOW_CONNTRACK], 1);
}

/* A fake device: counters the test sets, a read that takes stall_ms. */
struct fake {
	_Atomic uint64_t v[FERRY_ALLOW_COUNT];
	uint32_t have;
	_Atomic int lookups, reads, fail;
	unsigned stall_ms;
	_Atomic int in_read; /* a read is running now */
};

static uint32_t fake_lookup(void *arg)
{
	struct fake *f = arg;
	atomic_fetch_add(&f->lookups, 1);
	return f->have;
}

static int fake_read(void *arg, uint64_t v[FERRY_ALLOW_COUNT])
{
	struct fake *f = arg;
	atomic_store(&f->in_read, 1);
	nanosleep(&(struct timespec){0, (long)f->stall_ms * 1000000}, NULL);
	for (unsigned i = 0; i < FERRY_ALLOW_COUNT; i++)
		v[i] = atomic_load(&f->v[i]);
	atomic_fetch_add(&f->reads, 1);
	atomic_store(&f->in_read, 0);
	return atomic_load(&f->fail) ? -EIO : 0;
}

/* Poll like the main loop (every 5 ms) until @p want or 3 s. */
static uint32_t poll_until(struct ferry_xstats *x, uint64_t reads)
{
	uint32_t moved = 0;
	for (int i = 0; i < 600 && x->seen_reads < reads; i++) {
		moved |= ferry_xstats_poll(x);
		nanosleep(&(struct timespec){0, 5000000}, NULL);
	}
	assert_true(x->seen_reads >= reads);
	return moved;
}

static void test_reader_thread(void **state)
{
	(void)state;
	struct fake f = {.have = ALL, .stall_ms = 30};
	struct ferry_xstats x;
	struct ferry_xstats_ops ops = {.arg = &f, .lookup = fake_lookup, .read = fake_read};
	atomic_store(&f.v[FERRY_ALLOW_BW_IN], 1000);

	assert_int_equal(ferry_xstats_start(&x, &ops, 40000000ull, false), 0);
	assert_int_equal(poll_until(&x, 1), 0);
	assert_int_equal(x.allow.avail, ALL);
	assert_int_equal(x.allow.value[FERRY_ALLOW_BW_IN], 1000);
	/* the cloud drops: the next readings carry it, one epoch */
	atomic_store(&f.v[FERRY_ALLOW_BW_IN], 1500);
	uint64_t r = x.seen_reads;
	assert_int_equal(poll_until(&x, r + 2) & (1u << FERRY_ALLOW_BW_IN), 1u << FERRY_ALLOW_BW_IN);
	assert_int_equal(x.allow.value[FERRY_ALLOW_BW_IN], 1500);
	assert_int_equal(x.allow.epoch, 1);

	/* paused for a reset: no read runs while paused, and afterwards the
	 * counters are looked up again */
	ferry_xstats_pause(&x);
	assert_int_equal(atomic_load(&f.in_read), 0);
	int reads = atomic_load(&f.reads), lookups = atomic_load(&f.lookups);
	nanosleep(&(struct timespec){0, 150000000}, NULL);
	assert_int_equal(atomic_load(&f.reads), reads);
	ferry_xstats_resume(&x, true);
	poll_until(&x, x.seen_reads + 1);
	assert_true(atomic_load(&f.lookups) > lookups);

	/* failed reads publish nothing and count as errors */
	atomic_store(&f.fail, 1);
	uint64_t errs = atomic_load(&x.snap_errors);
	for (int i = 0; i < 200 && atomic_load(&x.snap_errors) < errs + 2; i++)
		nanosleep(&(struct timespec){0, 5000000}, NULL);
	assert_true(atomic_load(&x.snap_errors) >= errs + 2);
	ferry_xstats_stop(&x);
	ferry_xstats_stop(&x); /* twice is harmless */
}

static void test_pmd_without_counters(void **state)
{
	(void)state;
	struct fake f = {.have = 0};
	struct ferry_xstats x;
	struct ferry_xstats_ops ops = {.arg = &f, .lookup = fake_lookup, .read = fake_read};
	assert_int_equal(ferry_xstats_start(&x, &ops, 10000000ull, false), 0);
	assert_int_equal(poll_until(&x, 2), 0);
	assert_true(x.allow.primed);
	assert_int_equal(x.allow.avail, 0);
	assert_int_equal(atomic_load(&f.reads), 0); /* nothing to read */
	ferry_xstats_stop(&x);

	/* never started: every call is a no-op */
	struct ferry_xstats idle;
	memset(&idle, 0, sizeof(idle));
	assert_int_equal(ferry_xstats_poll(&idle), 0);
	ferry_xstats_pause(&idle);
	ferry_xstats_resume(&idle, true);
	ferry_xstats_stop(&idle);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_update),
		cmocka_unit_test(test_reader_thread),
		cmocka_unit_test(test_pmd_without_counters),
	};
	return cmocka_run_group_tests_name("port_xstats", tests, NULL, NULL);
}
