/* SPDX-License-Identifier: BSD-3-Clause */
/* Sequence number comparisons around 0, 2^31 and 2^32. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "seq.h"

static void test_order(void **state)
{
	static const uint32_t bases[] = {0, 1, 0x7fffffffu, 0x80000000u, 0xfffffff0u, 0xffffffffu};
	(void)state;

	for (unsigned i = 0; i < sizeof(bases) / sizeof(bases[0]); i++) {
		uint32_t a = bases[i];
		for (uint32_t d = 1; d < 100000; d = d * 3 + 1) {
			uint32_t b = a + d; /* after a, possibly past 2^32 */
			assert_true(ferry_seq_lt(a, b) && ferry_seq_le(a, b));
			assert_true(ferry_seq_gt(b, a) && ferry_seq_ge(b, a));
			assert_false(ferry_seq_lt(b, a) || ferry_seq_le(b, a));
			assert_false(ferry_seq_gt(a, b) || ferry_seq_ge(a, b));
			assert_int_equal(ferry_seq_diff(b, a), (int32_t)d);
			assert_int_equal(ferry_seq_diff(a, b), -(int32_t)d);
			assert_true(ferry_seq_in(b, a, d + 1));
			assert_false(ferry_seq_in(b, a, d));
			assert_false(ferry_seq_in(a - 1, a, d));
		}
		assert_true(ferry_seq_le(a, a) && ferry_seq_ge(a, a));
		assert_false(ferry_seq_lt(a, a) || ferry_seq_gt(a, a));
	}
	/* the wrap itself */
	assert_true(ferry_seq_lt(0xffffffffu, 0));
	assert_true(ferry_seq_gt(5, 0xfffffffbu));
	assert_int_equal(ferry_seq_diff(5, 0xfffffffbu), 10);
	/* up to 2^31 - 1 apart the order holds; at 2^31 it flips */
	assert_true(ferry_seq_lt(0, 0x7fffffffu));
	assert_true(ferry_seq_lt(0x80000000u, 0xffffffffu));
	assert_true(ferry_seq_gt(0, 0x80000001u));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_order),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
