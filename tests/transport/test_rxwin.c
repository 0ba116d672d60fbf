/* SPDX-License-Identifier: BSD-3-Clause */
/* Receiver window: in-order and out-of-order arrival, duplicates, the
 * refusal edge and how popping moves it, the exact ack bitmaps (around the
 * bitmap's own ring, across 2^32, with the window full), release on reset,
 * and a fixed-seed comparison against a naive model. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "rxwin.h"

static uint32_t isn_zero = 0, isn_wrap = 0xffffffd0u, isn_half = 0x7fffffe0u;

/* Packets are their sequence number + 1 cast to a pointer, never NULL. */
#define PKT(seq) ((void *)(uintptr_t)((uint64_t)(seq) + 1))

static struct ferry_rxwin *make(uint32_t window, uint32_t isn)
{
	struct ferry_rxwin *w = NULL;
	assert_int_equal(ferry_rxwin_create(&w, window, isn), 0);
	return w;
}

static void assert_ack(const struct ferry_rxwin *w, uint32_t cum, uint64_t bits)
{
	uint32_t c;
	uint64_t b;

	ferry_rxwin_ack(w, &c, &b);
	assert_int_equal(c, cum);
	assert_int_equal(b, bits);
}

static void assert_pop(struct ferry_rxwin *w, uint32_t want)
{
	uint32_t seq = 0;
	void *p = ferry_rxwin_pop(w, &seq);
	assert_ptr_equal(p, PKT(want));
	assert_int_equal(seq, want);
}

static void test_create(void **state)
{
	struct ferry_rxwin *w;
	(void)state;

	assert_int_equal(ferry_rxwin_create(&w, 32, 0), -EINVAL);
	assert_int_equal(ferry_rxwin_create(&w, 100, 0), -EINVAL);
	assert_int_equal(ferry_rxwin_create(&w, 65536, 0), -EINVAL);
	w = make(FERRY_RXWIN_WINDOW_DEFAULT, 5);
	assert_int_equal(ferry_rxwin_cum(w), 5);
	assert_int_equal(ferry_rxwin_limit(w), 5 + 1024);
	assert_null(ferry_rxwin_pop(w, NULL));
	assert_ack(w, 5, 0);
	assert_int_equal(ferry_rxwin_receive(w, 5, NULL), -EINVAL);
	ferry_rxwin_destroy(w, NULL, NULL);
	ferry_rxwin_destroy(NULL, NULL, NULL);
	assert_string_equal(ferry_rxwin_stat_name(FERRY_RXWIN_STATS_COUNT - 1), "rxwin_delivered");
	assert_string_equal(ferry_rxwin_stat_name(99), "unknown");
}

static void test_in_order(void **state)
{
	uint32_t isn = *(uint32_t *)*state;
	struct ferry_rxwin *w = make(1024, isn);

	for (uint32_t i = 0; i < 100; i++) {
		assert_int_equal(ferry_rxwin_receive(w, isn + i, PKT(isn + i)),
				 FERRY_RXWIN_IN_ORDER);
		assert_ack(w, isn + i + 1, 0);
		assert_pop(w, isn + i);
		assert_null(ferry_rxwin_pop(w, NULL));
	}
	assert_int_equal(ferry_rxwin_stats(w)->delivered, 100);
	assert_int_equal(ferry_rxwin_stats(w)->out_of_order, 0);
	assert_int_equal(ferry_rxwin_held(w), 0);
	ferry_rxwin_destroy(w, NULL, NULL);
}

static void test_reorder_and_dups(void **state)
{
	uint32_t isn = *(uint32_t *)*state;
	struct ferry_rxwin *w = make(1024, isn);

	assert_int_equal(ferry_rxwin_receive(w, isn + 2, PKT(isn + 2)), FERRY_RXWIN_HELD);
	assert_ack(w, isn, 0x2); /* isn+2 is bit 1 */
	assert_int_equal(ferry_rxwin_receive(w, isn + 5, PKT(isn + 5)), FERRY_RXWIN_HELD);
	assert_ack(w, isn, 0x12);
	assert_int_equal(ferry_rxwin_receive(w, isn + 2, PKT(isn + 2)), FERRY_RXWIN_DUP);
	assert_null(ferry_rxwin_pop(w, NULL));
	assert_int_equal(ferry_rxwin_ready(w), 0);
	assert_int_equal(ferry_rxwin_receive(w, isn + 1, PKT(isn + 1)), FERRY_RXWIN_HELD);
	assert_ack(w, isn, 0x13);
	/* isn fills the gap: cum jumps over isn+1 and isn+2 */
	assert_int_equal(ferry_rxwin_receive(w, isn, PKT(isn)), FERRY_RXWIN_IN_ORDER);
	assert_ack(w, isn + 3, 0x2); /* isn+5 is now bit 1 */
	assert_int_equal(ferry_rxwin_ready(w), 3);
	assert_int_equal(ferry_rxwin_held(w), 4);
	/* arrived but not yet popped: still a duplicate */
	assert_int_equal(ferry_rxwin_receive(w, isn + 1, PKT(isn + 1)), FERRY_RXWIN_DUP);
	assert_pop(w, isn);
	assert_pop(w, isn + 1);
	assert_pop(w, isn + 2);
	assert_null(ferry_rxwin_pop(w, NULL));
	/* long gone: still a duplicate */
	assert_int_equal(ferry_rxwin_receive(w, isn, PKT(isn)), FERRY_RXWIN_DUP);
	assert_int_equal(ferry_rxwin_receive(w, isn - 1000, PKT(0)), FERRY_RXWIN_DUP);
	assert_int_equal(ferry_rxwin_receive(w, isn + 4, PKT(isn + 4)), FERRY_RXWIN_HELD);
	assert_ack(w, isn + 3, 0x3);
	assert_int_equal(ferry_rxwin_receive(w, isn + 3, PKT(isn + 3)), FERRY_RXWIN_IN_ORDER);
	assert_ack(w, isn + 6, 0);
	assert_int_equal(ferry_rxwin_stats(w)->duplicates, 4);
	assert_int_equal(ferry_rxwin_stats(w)->out_of_order, 4);
	assert_int_equal(ferry_rxwin_stats(w)->accepted, 6);
	ferry_rxwin_destroy(w, NULL, NULL);
}

static void test_edge(void **state)
{
	uint32_t isn = *(uint32_t *)*state;
	struct ferry_rxwin *w = make(64, isn);

	assert_int_equal(ferry_rxwin_receive(w, isn + 64, PKT(0)), FERRY_RXWIN_BEYOND);
	assert_int_equal(ferry_rxwin_receive(w, isn + 63, PKT(isn + 63)), FERRY_RXWIN_HELD);
	assert_ack(w, isn, 1ull << 62);
	/* 0..9 arrive and are not popped: the edge stays at isn + 64, and the
	 * slots past it (aliasing 0..9) do not show in the ack */
	for (uint32_t i = 0; i < 10; i++)
		ferry_rxwin_receive(w, isn + i, PKT(isn + i));
	assert_ack(w, isn + 10, 1ull << 52);
	assert_int_equal(ferry_rxwin_receive(w, isn + 64, PKT(0)), FERRY_RXWIN_BEYOND);
	assert_int_equal(ferry_rxwin_limit(w), isn + 64);
	/* popping three moves the edge by three */
	assert_pop(w, isn);
	assert_pop(w, isn + 1);
	assert_pop(w, isn + 2);
	assert_int_equal(ferry_rxwin_limit(w), isn + 67);
	assert_int_equal(ferry_rxwin_receive(w, isn + 66, PKT(isn + 66)), FERRY_RXWIN_HELD);
	assert_int_equal(ferry_rxwin_receive(w, isn + 67, PKT(0)), FERRY_RXWIN_BEYOND);
	/* bits: isn+63 is cum+1+52, isn+66 is cum+1+55 */
	assert_ack(w, isn + 10, (1ull << 52) | (1ull << 55));
	assert_int_equal(ferry_rxwin_stats(w)->beyond, 3);
	ferry_rxwin_destroy(w, NULL, NULL);
}

/* All 64 slots held in order, none popped: cum is the edge, nothing past. */
static void test_full(void **state)
{
	uint32_t isn = *(uint32_t *)*state;
	struct ferry_rxwin *w = make(64, isn);

	for (uint32_t i = 0; i < 64; i++)
		ferry_rxwin_receive(w, isn + 63 - i, PKT(isn + 63 - i));
	assert_int_equal(ferry_rxwin_ready(w), 64);
	assert_ack(w, isn + 64, 0);
	assert_int_equal(ferry_rxwin_receive(w, isn + 64, PKT(0)), FERRY_RXWIN_BEYOND);
	assert_pop(w, isn);
	assert_ack(w, isn + 64, 0);
	assert_int_equal(ferry_rxwin_receive(w, isn + 64, PKT(isn + 64)),
			 FERRY_RXWIN_IN_ORDER);
	assert_ack(w, isn + 65, 0);
	ferry_rxwin_destroy(w, NULL, NULL);
}

/* Bits that straddle a word of the bitmap and the end of the ring. */
static void test_ack_words(void **state)
{
	uint32_t isn = *(uint32_t *)*state;
	struct ferry_rxwin *w = make(128, isn);
	uint64_t want = 0;

	/* move head and cum to isn + 100: the 64 bits after it run from slot
	 * (isn+101) & 127 round the end of the ring */
	for (uint32_t i = 0; i < 100; i++) {
		ferry_rxwin_receive(w, isn + i, PKT(isn + i));
		assert_pop(w, isn + i);
	}
	for (uint32_t i = 0; i < 64; i += 3) {
		ferry_rxwin_receive(w, isn + 101 + i, PKT(isn + 101 + i));
		want |= 1ull << i;
	}
	assert_ack(w, isn + 100, want);
	/* isn+100 and isn+101 make cum isn+102: bit j is isn+103+j, held
	 * when j + 2 is a multiple of 3 */
	ferry_rxwin_receive(w, isn + 100, PKT(isn + 100));
	assert_int_equal(ferry_rxwin_cum(w), isn + 102);
	want = 0;
	for (uint32_t j = 0; j + 2 < 64; j++)
		if ((j + 2) % 3 == 0)
			want |= 1ull << j;
	assert_ack(w, isn + 102, want);
	ferry_rxwin_destroy(w, NULL, NULL);
}

struct released {
	unsigned n;
	uint64_t sum;
};

static void release(void *arg, uint32_t seq, void *pkt)
{
	struct released *r = arg;
	assert_ptr_equal(pkt, PKT(seq));
	r->n++;
	r->sum += seq;
}

static void test_reset(void **state)
{
	uint32_t isn = *(uint32_t *)*state;
	struct ferry_rxwin *w = make(64, isn);
	struct released r = {0};

	ferry_rxwin_receive(w, isn, PKT(isn));
	ferry_rxwin_receive(w, isn + 1, PKT(isn + 1));
	ferry_rxwin_receive(w, isn + 40, PKT(isn + 40));
	assert_pop(w, isn);
	assert_int_equal(ferry_rxwin_reset(w, 7, release, &r), 2);
	assert_int_equal(r.n, 2);
	assert_int_equal((uint32_t)r.sum, (uint32_t)(2 * isn + 41));
	assert_int_equal(ferry_rxwin_held(w), 0);
	assert_ack(w, 7, 0);
	/* the old numbers are gone with their bits */
	assert_int_equal(ferry_rxwin_receive(w, 8, PKT(8)), FERRY_RXWIN_HELD);
	assert_ack(w, 7, 1);
	r = (struct released){0};
	ferry_rxwin_destroy(w, release, &r);
	assert_int_equal(r.n, 1);
}

/* Random arrivals and pops against a model: the set of numbers seen. */
static void test_model(void **state)
{
	uint32_t isn = *(uint32_t *)*state;
	static uint8_t seen[1 << 16]; /* by offset from isn */
	uint32_t head = 0, cum = 0, window = 128;
	struct ferry_rxwin *w = make(window, isn);
	unsigned seed = 4242;

	memset(seen, 0, sizeof(seen));
	for (int step = 0; step < 200000 && cum < sizeof(seen) - 300; step++) {
		uint32_t off = head + (uint32_t)(rand_r(&seed) % (window + 40)) - 20;
		int r, want;
		uint32_t c;
		uint64_t b, wb = 0;

		if (rand_r(&seed) % 4 == 0) {
			void *p = ferry_rxwin_pop(w, NULL);
			assert_true((p != NULL) == (head != cum));
			if (p) {
				assert_ptr_equal(p, PKT(isn + head));
				head++;
			}
			continue;
		}
		if ((int32_t)(off - cum) < 0)
			want = FERRY_RXWIN_DUP;
		else if (off - head >= window)
			want = FERRY_RXWIN_BEYOND;
		else if (seen[off])
			want = FERRY_RXWIN_DUP;
		else
			want = off == cum ? FERRY_RXWIN_IN_ORDER : FERRY_RXWIN_HELD;
		r = ferry_rxwin_receive(w, isn + off, PKT(isn + off));
		assert_int_equal(r, want);
		if (want == FERRY_RXWIN_IN_ORDER || want == FERRY_RXWIN_HELD)
			seen[off] = 1;
		while (seen[cum] && cum - head < window)
			cum++;
		for (uint32_t i = 0; i < 64 && cum + 1 + i - head < window; i++)
			if (seen[cum + 1 + i])
				wb |= 1ull << i;
		ferry_rxwin_ack(w, &c, &b);
		assert_int_equal(c, isn + cum);
		assert_int_equal(b, wb);
	}
	assert_true(cum > 10000);
	ferry_rxwin_destroy(w, NULL, NULL);
}

#define EACH(f)                                                                    \
	cmocka_unit_test_prestate(f, &isn_zero), cmocka_unit_test_prestate(f, &isn_wrap), \
		cmocka_unit_test_prestate(f, &isn_half)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create),
		EACH(test_in_order),
		EACH(test_reorder_and_dups),
		EACH(test_edge),
		EACH(test_full),
		EACH(test_ack_words),
		EACH(test_reset),
		EACH(test_model),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
