/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fmap: the id -> pointer map. Collisions are made on purpose: keys are
 * chosen by their home bucket (fmap_hash(k) & mask), so the probe runs,
 * their wrap-around and the backward shift on delete are exercised exactly.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "fmap.h"

#define VAL(k) ((void *)(uintptr_t)(0x10000000u + (k)))

/* The first @p n keys >= 1 whose home bucket in a map of @p cap slots is
 * @p bucket. */
static void keys_homed_at(uint32_t *out, int n, uint32_t cap, uint32_t bucket)
{
	int got = 0;
	for (uint32_t k = 1; got < n; k++)
		if ((fmap_hash(k) & (cap - 1)) == bucket)
			out[got++] = k;
}

/* Every slot of a run of @p len from @p start is full, the one after is
 * empty: deletes left no hole. */
static void expect_run(const struct fmap *m, uint32_t start, uint32_t len)
{
	for (uint32_t i = 0; i < len; i++)
		if (m->s[(start + i) & m->mask].key == 0)
			fail_msg("hole at slot %u inside the run from %u", (start + i) & m->mask,
				 start);
	assert_int_equal(m->s[(start + len) & m->mask].key, 0);
}

static void test_put_get_del(void **state)
{
	(void)state;
	struct fmap m;
	assert_int_equal(fmap_init(&m, 16), 0);
	assert_int_equal(m.mask, 15);
	assert_int_equal(m.n, 0);
	assert_null(fmap_get(&m, 1));

	assert_int_equal(fmap_put(&m, 1, VAL(1)), 0);
	assert_int_equal(fmap_put(&m, 2, VAL(2)), 0);
	assert_int_equal(fmap_put(&m, 0xffffffffu, VAL(3)), 0);
	assert_int_equal(m.n, 3);
	assert_ptr_equal(fmap_get(&m, 1), VAL(1));
	assert_ptr_equal(fmap_get(&m, 2), VAL(2));
	assert_ptr_equal(fmap_get(&m, 0xffffffffu), VAL(3));
	assert_null(fmap_get(&m, 3));

	/* replace keeps the count */
	assert_int_equal(fmap_put(&m, 2, VAL(22)), 0);
	assert_int_equal(m.n, 3);
	assert_ptr_equal(fmap_get(&m, 2), VAL(22));

	fmap_del(&m, 2);
	assert_int_equal(m.n, 2);
	assert_null(fmap_get(&m, 2));
	fmap_del(&m, 2); /* absent: no change */
	fmap_del(&m, 12345);
	assert_int_equal(m.n, 2);
	assert_ptr_equal(fmap_get(&m, 1), VAL(1));
	assert_ptr_equal(fmap_get(&m, 0xffffffffu), VAL(3));

	/* a NULL value is stored like any other */
	assert_int_equal(fmap_put(&m, 9, NULL), 0);
	assert_int_equal(m.n, 3);

	fmap_fini(&m);
	assert_null(m.s);
	assert_int_equal(m.n, 0);
	assert_null(fmap_get(&m, 1));
	fmap_del(&m, 1);
}

static void test_key_zero_rejected(void **state)
{
	(void)state;
	struct fmap m;
	assert_int_equal(fmap_init(&m, 4), 0);
	assert_int_equal(fmap_put(&m, 0, VAL(0)), -EINVAL);
	assert_int_equal(m.n, 0);
	for (uint32_t i = 0; i <= m.mask; i++)
		assert_int_equal(m.s[i].key, 0);
	assert_null(fmap_get(&m, 0));
	assert_int_equal(fmap_put(&m, 5, VAL(5)), 0);
	fmap_del(&m, 0);
	assert_int_equal(m.n, 1);
	assert_ptr_equal(fmap_get(&m, 5), VAL(5));
	fmap_fini(&m);
}

/* Growth doubles when an insert would pass 3/4 full, and keeps every key. */
static void test_growth(void **state)
{
	(void)state;
	struct fmap m;
	assert_int_equal(fmap_init(&m, 4), 0);
	/* 4 slots hold 3; the 4th insert grows to 8 */
	for (uint32_t k = 1; k <= 3; k++)
		assert_int_equal(fmap_put(&m, k, VAL(k)), 0);
	assert_int_equal(m.mask, 3);
	assert_int_equal(fmap_put(&m, 4, VAL(4)), 0);
	assert_int_equal(m.mask, 7);
	for (uint32_t k = 5; k <= 1000; k++) {
		assert_int_equal(fmap_put(&m, k * 2654435761u, VAL(k)), 0);
		assert_int_equal(m.n, k);
		/* never more than 3/4 full */
		assert_true((uint64_t)m.n * 4 <= ((uint64_t)m.mask + 1) * 3);
	}
	/* 1000 keys: 1024 * 3/4 = 768 < 1000 <= 2048 * 3/4 */
	assert_int_equal(m.mask + 1, 2048);
	for (uint32_t k = 1; k <= 4; k++)
		assert_ptr_equal(fmap_get(&m, k), VAL(k));
	for (uint32_t k = 5; k <= 1000; k++)
		assert_ptr_equal(fmap_get(&m, k * 2654435761u), VAL(k));
	uint32_t filled = 0;
	for (uint32_t i = 0; i <= m.mask; i++)
		filled += m.s[i].key != 0;
	assert_int_equal(filled, 1000);
	fmap_fini(&m);
}

/*
 * Twelve keys with the same home bucket, then three homed one, two and
 * three slots later that the run displaces. Deleting any one of them, from
 * the front, the middle or the end of the run, must leave every other key
 * reachable and the run without holes.
 */
static void test_delete_backward_shift(void **state)
{
	(void)state;
	enum { CAP = 64, HOME = 20, SAME = 12 };
	uint32_t keys[SAME + 3];
	keys_homed_at(keys, SAME, CAP, HOME);
	keys_homed_at(&keys[SAME], 1, CAP, HOME + 1);
	keys_homed_at(&keys[SAME + 1], 1, CAP, HOME + 2);
	keys_homed_at(&keys[SAME + 2], 1, CAP, HOME + 3);
	const int n = SAME + 3;

	for (int del = 0; del < n; del++) {
		struct fmap m;
		assert_int_equal(fmap_init(&m, CAP), 0);
		for (int i = 0; i < n; i++)
			assert_int_equal(fmap_put(&m, keys[i], VAL(keys[i])), 0);
		assert_int_equal(m.mask, CAP - 1); /* 15 < 48: no growth */
		/* the first twelve sit in insertion order from HOME */
		for (int i = 0; i < SAME; i++)
			assert_int_equal(m.s[HOME + i].key, keys[i]);
		expect_run(&m, HOME, n);

		fmap_del(&m, keys[del]);
		assert_int_equal(m.n, n - 1);
		assert_null(fmap_get(&m, keys[del]));
		for (int i = 0; i < n; i++)
			if (i != del && fmap_get(&m, keys[i]) != VAL(keys[i]))
				fail_msg("after deleting key %d of the run, key %d (%u) is lost", del,
					 i, keys[i]);
		expect_run(&m, HOME, n - 1);
		/* and the freed slot is reusable */
		assert_int_equal(fmap_put(&m, keys[del], VAL(keys[del])), 0);
		for (int i = 0; i < n; i++)
			assert_ptr_equal(fmap_get(&m, keys[i]), VAL(keys[i]));
		fmap_fini(&m);
	}
}

/* The same across the end of the table: a run from slot 61 wraps to 0. A
 * key homed at 0 sits behind the wrapped part and must not be shifted in
 * front of its home. */
static void test_delete_backward_shift_wrapping(void **state)
{
	(void)state;
	enum { CAP = 64, HOME = 61, SAME = 6 };
	uint32_t keys[SAME + 2];
	keys_homed_at(keys, SAME, CAP, HOME);
	keys_homed_at(&keys[SAME], 1, CAP, 0);
	keys_homed_at(&keys[SAME + 1], 1, CAP, 3);
	const int n = SAME + 2;

	for (int del = 0; del < n; del++) {
		struct fmap m;
		assert_int_equal(fmap_init(&m, CAP), 0);
		for (int i = 0; i < n; i++)
			assert_int_equal(fmap_put(&m, keys[i], VAL(keys[i])), 0);
		/* 61, 62, 63, 0, 1, 2 hold the six; 3 the key homed at 0; 4
		 * the key homed at 3 */
		assert_int_equal(m.s[63].key, keys[2]);
		assert_int_equal(m.s[0].key, keys[3]);
		assert_int_equal(m.s[3].key, keys[SAME]);
		assert_int_equal(m.s[4].key, keys[SAME + 1]);
		fmap_del(&m, keys[del]);
		for (int i = 0; i < n; i++)
			if (i != del && fmap_get(&m, keys[i]) != VAL(keys[i]))
				fail_msg("after deleting key %d of the wrapping run, key %d is lost",
					 del, i);
		assert_null(fmap_get(&m, keys[del]));
		expect_run(&m, HOME, n - 1);
		fmap_fini(&m);
	}
}

/* Random puts and deletes against a plain array, in a small table whose
 * runs are long. */
static void test_random_against_model(void **state)
{
	(void)state;
	enum { KEYS = 300 };
	void *model[KEYS + 1] = {0};
	uint8_t present[KEYS + 1] = {0};
	struct fmap m;
	assert_int_equal(fmap_init(&m, 2), 0);
	uint64_t s = 0x9E3779B97F4A7C15ull;
	uint32_t n = 0;
	for (int step = 0; step < 200000; step++) {
		s ^= s << 13;
		s ^= s >> 7;
		s ^= s << 17;
		uint32_t k = 1 + (uint32_t)(s % KEYS);
		if ((s >> 32) % 3) {
			void *v = (void *)(uintptr_t)(s >> 8);
			assert_int_equal(fmap_put(&m, k, v), 0);
			n += !present[k];
			present[k] = 1;
			model[k] = v;
		} else {
			fmap_del(&m, k);
			n -= present[k];
			present[k] = 0;
		}
		assert_int_equal(m.n, n);
		if (step % 997 == 0)
			for (uint32_t j = 1; j <= KEYS; j++)
				assert_ptr_equal(fmap_get(&m, j), present[j] ? model[j] : NULL);
	}
	fmap_fini(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_put_get_del),
		cmocka_unit_test(test_key_zero_rejected),
		cmocka_unit_test(test_growth),
		cmocka_unit_test(test_delete_backward_shift),
		cmocka_unit_test(test_delete_backward_shift_wrapping),
		cmocka_unit_test(test_random_against_model),
	};
	return cmocka_run_group_tests_name("fmap", tests, NULL, NULL);
}
