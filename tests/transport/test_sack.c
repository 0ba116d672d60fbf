/* SPDX-License-Identifier: BSD-3-Clause */
/* Sender scoreboard: cumulative and selective acks, loss by the ack
 * pattern (dupthresh, in send order, lost retransmissions included) and by
 * the timer, retransmission order, spurious losses, stale and invalid
 * acks, the window limit and the RTT sample.
 * Every scenario runs from three initial numbers: 0, just before 2^32 (the
 * packets straddle the wrap) and just before 2^31. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "sack.h"

#define US 1000ull
#define RTO (100 * US)

static uint32_t isn_zero = 0, isn_wrap = 0xfffffffau, isn_half = 0x7ffffffdu;

#define check(s)                                                                   \
	do {                                                                       \
		int line_ = 0;                                                     \
		if (ferry_sack_check(s, &line_))                                   \
			fail_msg("invariant at sack.c:%d broken", line_);          \
	} while (0)

static struct ferry_sack *make(uint32_t window, uint32_t isn)
{
	struct ferry_sack_params p = FERRY_SACK_PARAMS_DEFAULT;
	struct ferry_sack *s = NULL;

	p.window = window;
	assert_int_equal(ferry_sack_create(&s, &p, isn), 0);
	return s;
}

/* Send n new packets, the i-th at t0 + i * step. */
static void send_n(struct ferry_sack *s, unsigned n, uint64_t t0, uint64_t step)
{
	for (unsigned i = 0; i < n; i++)
		assert_int_equal(ferry_sack_sent(s, ferry_sack_next_seq(s), t0 + i * step, false),
				 0);
	check(s);
}

static struct ferry_sack_ack ack(struct ferry_sack *s, uint32_t cum, uint64_t bits, uint64_t now)
{
	struct ferry_sack_ack a;
	assert_int_equal(ferry_sack_on_ack(s, cum, bits, now, &a), 0);
	check(s);
	return a;
}

static void test_create(void **state)
{
	struct ferry_sack_params p = FERRY_SACK_PARAMS_DEFAULT;
	struct ferry_sack *s;
	(void)state;

	p.window = 100;
	assert_int_equal(ferry_sack_create(&s, &p, 0), -EINVAL);
	p.window = 32;
	assert_int_equal(ferry_sack_create(&s, &p, 0), -EINVAL);
	p.window = 65536;
	assert_int_equal(ferry_sack_create(&s, &p, 0), -EINVAL);
	p.window = 1024, p.dupthresh = 0;
	assert_int_equal(ferry_sack_create(&s, &p, 0), -EINVAL);
	p.dupthresh = FERRY_SACK_DUPTHRESH_MAX + 1;
	assert_int_equal(ferry_sack_create(&s, &p, 0), -EINVAL);
	p.dupthresh = 3, p.window = FERRY_SACK_WINDOW_MAX;
	assert_int_equal(ferry_sack_create(&s, &p, 7), 0);
	assert_int_equal(ferry_sack_space(s), 32768);
	assert_int_equal(ferry_sack_una(s), 7);
	assert_int_equal(ferry_sack_deadline(s, RTO), UINT64_MAX);
	check(s);
	ferry_sack_destroy(s);
	ferry_sack_destroy(NULL);
	assert_string_equal(ferry_sack_stat_name(0), "sack_acks");
	assert_string_equal(ferry_sack_stat_name(FERRY_SACK_STATS_COUNT), "unknown");
}

static void test_cumulative(void **state)
{
	uint32_t isn = *(uint32_t *)*state;
	struct ferry_sack *s = make(1024, isn);
	struct ferry_sack_ack a;

	send_n(s, 8, 0, US); /* isn + i at i us */
	assert_int_equal(ferry_sack_in_flight(s), 8);
	assert_int_equal(ferry_sack_space(s), 1016);
	assert_int_equal(ferry_sack_next_seq(s), isn + 8);
	assert_int_equal(ferry_sack_deadline(s, RTO), RTO);

	/* acks 0..2: the sample is the newest of them, sent at 2 us */
	a = ack(s, isn + 3, 0, 50 * US);
	assert_int_equal(a.una_before, isn);
	assert_int_equal(a.una, isn + 3);
	assert_int_equal(a.newly_acked, 3);
	assert_int_equal(a.newly_lost, 0);
	assert_int_equal(a.rtt_ns, 48 * US);
	assert_false(a.rtt_retransmitted);
	assert_int_equal(ferry_sack_in_flight(s), 5);
	assert_int_equal(ferry_sack_deadline(s, RTO), 3 * US + RTO);
	assert_true(ferry_sack_is_acked(s, isn + 2));
	assert_true(ferry_sack_is_acked(s, isn - 5));
	assert_false(ferry_sack_is_acked(s, isn + 3));
	assert_false(ferry_sack_is_acked(s, isn + 100));

	/* the same ack again changes nothing */
	a = ack(s, isn + 3, 0, 60 * US);
	assert_int_equal(a.newly_acked, 0);
	assert_int_equal(a.una_before, isn + 3);
	assert_int_equal(a.una, isn + 3);

	a = ack(s, isn + 8, 0, 70 * US);
	assert_int_equal(a.newly_acked, 5);
	assert_int_equal(a.rtt_ns, 63 * US);
	assert_int_equal(ferry_sack_in_flight(s), 0);
	assert_int_equal(ferry_sack_deadline(s, RTO), UINT64_MAX);
	assert_int_equal(ferry_sack_stats(s)->acked, 8);
	assert_int_equal(ferry_sack_stats(s)->acks, 3);
	ferry_sack_destroy(s);
}

static void test_dupthresh(void **state)
{
	uint32_t isn = *(uint32_t *)*state, seq;
	struct ferry_sack *s = make(1024, isn);
	struct ferry_sack_ack a;

	send_n(s, 10, 0, US);
	/* isn is missing (cum), isn+2 and isn+3 arrived (bits 1, 2) */
	a = ack(s, isn, 0x6, 20 * US);
	assert_int_equal(a.newly_acked, 2);
	assert_int_equal(a.newly_lost, 0);
	assert_int_equal(a.rtt_ns, 17 * US);
	assert_int_equal(a.una, isn);
	assert_true(ferry_sack_is_acked(s, isn + 3));
	assert_int_equal(ferry_sack_next_retransmit(s, &seq), -ENOENT);
	/* isn+4: now three acked above isn and isn+1, which are lost; isn+4..
	 * stay in flight */
	a = ack(s, isn, 0xe, 21 * US);
	assert_int_equal(a.newly_acked, 1);
	assert_int_equal(a.newly_lost, 2);
	assert_int_equal(ferry_sack_lost(s), 2);
	assert_int_equal(ferry_sack_in_flight(s), 5);
	assert_int_equal(ferry_sack_stats(s)->lost_dupthresh, 2);

	/* retransmit lowest first */
	assert_int_equal(ferry_sack_next_retransmit(s, &seq), 0);
	assert_int_equal(seq, isn);
	assert_int_equal(ferry_sack_sent(s, seq, 30 * US, true), 0);
	assert_int_equal(ferry_sack_next_retransmit(s, &seq), 0);
	assert_int_equal(seq, isn + 1);
	assert_int_equal(ferry_sack_sent(s, seq, 31 * US, true), 0);
	assert_int_equal(ferry_sack_next_retransmit(s, &seq), -ENOENT);
	assert_int_equal(ferry_sack_in_flight(s), 7);
	check(s);
	/* the oldest in flight is now isn+5, sent at 5 us */
	assert_int_equal(ferry_sack_deadline(s, RTO), 5 * US + RTO);

	/* the retransmissions arrive: the sample is theirs, so Karn applies */
	a = ack(s, isn + 5, 0, 40 * US);
	assert_int_equal(a.newly_acked, 2);
	assert_int_equal(a.rtt_ns, 9 * US);
	assert_true(a.rtt_retransmitted);
	/* isn+7..9 arrive: isn+5 and isn+6 are lost */
	a = ack(s, isn + 5, 0x7 << 1, 41 * US);
	assert_int_equal(a.newly_lost, 2);
	assert_int_equal(ferry_sack_next_retransmit(s, &seq), 0);
	assert_int_equal(seq, isn + 5);
	assert_int_equal(ferry_sack_stats(s)->retransmits, 2);
	ferry_sack_destroy(s);
}

/* A lost retransmission is found by the packets sent after it. */
static void test_retransmission_lost(void **state)
{
	uint32_t isn = *(uint32_t *)*state, seq;
	struct ferry_sack *s = make(1024, isn);
	struct ferry_sack_ack a;

	send_n(s, 8, 0, US);
	a = ack(s, isn, 0x7, 10 * US); /* isn+1..3 */
	assert_int_equal(a.newly_lost, 1);
	assert_int_equal(ferry_sack_sent(s, isn, 20 * US, true), 0);
	/* isn+1..6: all sent before the retransmission of isn, so no verdict
	 * on it (a rule by number alone would retransmit it again) */
	a = ack(s, isn, 0x3f, 30 * US);
	assert_int_equal(a.newly_lost, 0);
	assert_int_equal(ferry_sack_lost(s), 0);
	/* in flight: isn+7 (7 us), isn (20 us) */
	assert_int_equal(ferry_sack_deadline(s, RTO), 7 * US + RTO);
	/* three new packets after it get through: isn+7 and the retransmitted
	 * isn were both sent before them */
	send_n(s, 3, 40 * US, 0);
	a = ack(s, isn, 0x3bf, 50 * US); /* isn+1..6, isn+8..10 */
	assert_int_equal(a.newly_acked, 3);
	assert_int_equal(a.newly_lost, 2);
	assert_int_equal(ferry_sack_next_retransmit(s, &seq), 0);
	assert_int_equal(seq, isn);
	assert_int_equal(ferry_sack_sent(s, seq, 60 * US, true), 0);
	assert_int_equal(ferry_sack_next_retransmit(s, &seq), 0);
	assert_int_equal(seq, isn + 7);
	assert_int_equal(ferry_sack_stats(s)->lost_dupthresh, 3);
	ferry_sack_destroy(s);
}

/* Acks of packets sent twice are no evidence against others. */
static void test_ambiguous_acks(void **state)
{
	uint32_t isn = *(uint32_t *)*state, seq;
	struct ferry_sack *s = make(1024, isn);
	struct ferry_sack_ack a;

	send_n(s, 5, 0, US);
	assert_int_equal(ferry_sack_on_timeout(s, 4 * US + RTO, RTO), 5);
	for (uint32_t i = 1; i < 5; i++)
		assert_int_equal(ferry_sack_sent(s, isn + i, 200 * US, true), 0);
	assert_int_equal(ferry_sack_sent(s, isn, 201 * US, true), 0);
	/* isn+1..4 arrive; which copies is unknown, so isn (sent last) and
	 * nothing else is judged */
	a = ack(s, isn, 0xf, 210 * US);
	assert_int_equal(a.newly_acked, 4);
	assert_int_equal(a.newly_lost, 0);
	assert_true(a.rtt_retransmitted);
	assert_int_equal(a.rtt_ns, 10 * US);
	assert_int_equal(ferry_sack_next_retransmit(s, &seq), -ENOENT);
	assert_int_equal(ferry_sack_in_flight(s), 1);
	/* only the timer can find it lost again */
	assert_int_equal(ferry_sack_on_timeout(s, 201 * US + RTO, RTO), 1);
	assert_int_equal(ferry_sack_stats(s)->lost_timeout, 6);
	ferry_sack_destroy(s);
}

/* Declared lost, then the original arrives after all. */
static void test_spurious(void **state)
{
	uint32_t isn = *(uint32_t *)*state, seq;
	struct ferry_sack *s = make(1024, isn);
	struct ferry_sack_ack a;

	send_n(s, 6, 0, US);
	a = ack(s, isn, 0x7, 10 * US);
	assert_int_equal(a.newly_lost, 1);
	a = ack(s, isn + 4, 0, 12 * US);
	assert_int_equal(a.newly_acked, 1);
	assert_int_equal(a.rtt_ns, 12 * US);
	assert_false(a.rtt_retransmitted);
	assert_int_equal(ferry_sack_lost(s), 0);
	assert_int_equal(ferry_sack_next_retransmit(s, &seq), -ENOENT);
	assert_int_equal(ferry_sack_stats(s)->spurious, 1);
	/* and a retransmission of it is refused */
	assert_int_equal(ferry_sack_sent(s, isn, 13 * US, true), -EALREADY);
	ferry_sack_destroy(s);
}

static void test_timeout_order(void **state)
{
	uint32_t isn = *(uint32_t *)*state, seq;
	struct ferry_sack *s = make(1024, isn);

	send_n(s, 4, 0, 10 * US); /* at 0, 10, 20, 30 us */
	assert_int_equal(ferry_sack_deadline(s, RTO), 100 * US);
	assert_int_equal(ferry_sack_on_timeout(s, 99 * US, RTO), 0);
	assert_int_equal(ferry_sack_stats(s)->timeouts, 0);
	/* only the packets whose own time ran out */
	assert_int_equal(ferry_sack_on_timeout(s, 115 * US, RTO), 2);
	check(s);
	assert_int_equal(ferry_sack_in_flight(s), 2);
	assert_int_equal(ferry_sack_deadline(s, RTO), 120 * US);
	assert_int_equal(ferry_sack_sent(s, isn, 115 * US, true), 0);
	assert_int_equal(ferry_sack_deadline(s, RTO), 120 * US);
	assert_int_equal(ferry_sack_on_timeout(s, 135 * US, RTO), 2);
	check(s);
	/* the retransmission of isn went to the back of the line */
	assert_int_equal(ferry_sack_deadline(s, RTO), 215 * US);
	assert_int_equal(ferry_sack_next_retransmit(s, &seq), 0);
	assert_int_equal(seq, isn + 1);
	/* a longer (backed-off) RTO moves the deadline */
	assert_int_equal(ferry_sack_deadline(s, 2 * RTO), 315 * US);
	assert_int_equal(ferry_sack_stats(s)->timeouts, 2);
	assert_int_equal(ferry_sack_stats(s)->lost_timeout, 4);
	/* a packet in flight may be sent again without being lost (a probe) */
	assert_int_equal(ferry_sack_sent(s, isn, 140 * US, true), 0);
	assert_int_equal(ferry_sack_deadline(s, RTO), 240 * US);
	check(s);
	ferry_sack_destroy(s);
}

static void test_stale_acks(void **state)
{
	uint32_t isn = *(uint32_t *)*state;
	struct ferry_sack *s = make(1024, isn);
	struct ferry_sack_ack a;

	send_n(s, 10, 0, US);
	a = ack(s, isn + 5, 0, 20 * US);
	assert_int_equal(a.newly_acked, 5);
	/* an older ack arrives late, but its bit for isn+6 is news */
	a = ack(s, isn + 2, 1u << 3, 21 * US);
	assert_int_equal(a.newly_acked, 1);
	assert_int_equal(a.una, isn + 5);
	assert_int_equal(a.una_before, isn + 5);
	assert_true(ferry_sack_is_acked(s, isn + 6));
	/* bits for isn+1..7: those below una and isn+6 are old news, isn+5
	 * (still una) and isn+7 are new */
	a = ack(s, isn, 0x7f, 22 * US);
	assert_int_equal(a.newly_acked, 2);
	assert_true(ferry_sack_is_acked(s, isn + 5));
	assert_true(ferry_sack_is_acked(s, isn + 7));
	assert_int_equal(ferry_sack_stats(s)->acks_stale, 2);
	/* a cum ack over selectively acked packets counts only the rest */
	a = ack(s, isn + 9, 0, 30 * US);
	assert_int_equal(a.newly_acked, 1); /* isn+8 */
	assert_int_equal(a.rtt_ns, 22 * US);
	assert_int_equal(ferry_sack_in_flight(s), 1);
	ferry_sack_destroy(s);
}

static void test_invalid_acks(void **state)
{
	uint32_t isn = *(uint32_t *)*state;
	struct ferry_sack *s = make(1024, isn);
	struct ferry_sack_ack a;

	send_n(s, 5, 0, US);
	assert_int_equal(ferry_sack_on_ack(s, isn + 6, 0, 10 * US, &a), -EINVAL);
	assert_int_equal(ferry_sack_on_ack(s, isn, 1u << 4, 10 * US, &a), -EINVAL); /* isn+5 */
	assert_int_equal(ferry_sack_on_ack(s, isn, 1ull << 63, 10 * US, &a), -EINVAL);
	assert_int_equal(ferry_sack_on_ack(s, isn + 5, 1, 10 * US, &a), -EINVAL);
	/* an ack far ahead is invalid, not stale */
	assert_int_equal(ferry_sack_on_ack(s, isn + 0x40000000u, 0, 10 * US, &a), -EINVAL);
	assert_int_equal(ferry_sack_stats(s)->acks_invalid, 5);
	assert_int_equal(ferry_sack_stats(s)->acks, 0);
	assert_int_equal(ferry_sack_in_flight(s), 5);
	check(s);
	a = ack(s, isn, 1u << 3, 10 * US); /* isn+4 is fine */
	assert_int_equal(a.newly_acked, 1);
	a = ack(s, isn + 5, 0, 10 * US); /* so is acking everything */
	assert_int_equal(a.newly_acked, 4);
	/* late acks up to a window behind una are stale, older ones forged */
	assert_int_equal(ferry_sack_ack_check(s, isn + 5 - 1024, 0), 0);
	assert_int_equal(ferry_sack_ack_check(s, isn + 5 - 1025, 0), -EINVAL);
	assert_int_equal(ferry_sack_on_ack(s, isn - 0x40000000u, 0, 10 * US, &a), -EINVAL);
	assert_int_equal(ferry_sack_stats(s)->acks_invalid, 6);
	ferry_sack_destroy(s);
}

static void test_sent_errors(void **state)
{
	uint32_t isn = *(uint32_t *)*state;
	struct ferry_sack *s = make(64, isn);

	assert_int_equal(ferry_sack_sent(s, isn + 1, 0, false), -EINVAL);
	assert_int_equal(ferry_sack_sent(s, isn, 0, true), -ERANGE);
	send_n(s, 64, 0, US);
	assert_int_equal(ferry_sack_space(s), 0);
	assert_int_equal(ferry_sack_sent(s, isn + 64, 0, false), -ENOBUFS);
	assert_int_equal(ferry_sack_sent(s, isn + 64, 0, true), -ERANGE);
	ack(s, isn + 2, 1, 100 * US); /* isn, isn+1, isn+3 */
	assert_int_equal(ferry_sack_space(s), 2);
	assert_int_equal(ferry_sack_sent(s, isn + 1, 0, true), -EALREADY);
	assert_int_equal(ferry_sack_sent(s, isn + 3, 0, true), -EALREADY);
	assert_int_equal(ferry_sack_sent(s, isn + 2, 101 * US, true), 0);
	send_n(s, 2, 102 * US, US);
	assert_int_equal(ferry_sack_sent(s, isn + 66, 0, false), -ENOBUFS);
	check(s);
	ferry_sack_destroy(s);
}

static void test_dupthresh_param(void **state)
{
	uint32_t isn = *(uint32_t *)*state;
	struct ferry_sack_params p = {.window = 64, .dupthresh = 1};
	struct ferry_sack *s;
	struct ferry_sack_ack a;

	assert_int_equal(ferry_sack_create(&s, &p, isn), 0);
	send_n(s, 6, 0, US);
	a = ack(s, isn, 1u << 2, 10 * US); /* isn+3: isn..isn+2 lost at once */
	assert_int_equal(a.newly_lost, 3);
	a = ack(s, isn, 1u << 4, 11 * US); /* isn+5: isn+4 */
	assert_int_equal(a.newly_lost, 1);
	assert_int_equal(ferry_sack_lost(s), 4);
	assert_int_equal(ferry_sack_in_flight(s), 0);
	ferry_sack_reset(s, isn + 1000);
	check(s);
	assert_int_equal(ferry_sack_una(s), isn + 1000);
	assert_int_equal(ferry_sack_lost(s), 0);
	assert_int_equal(ferry_sack_space(s), 64);
	ferry_sack_destroy(s);
}

/* Many windows through the wrap, acked in ragged steps. */
static void test_long_run(void **state)
{
	uint32_t isn = *(uint32_t *)*state;
	struct ferry_sack *s = make(64, isn);
	uint64_t now = 0;
	uint32_t acked = 0;

	for (int round = 0; round < 5000; round++) {
		struct ferry_sack_ack a;
		while (ferry_sack_space(s)) {
			uint32_t seq = ferry_sack_next_seq(s);
			assert_int_equal(ferry_sack_sent(s, seq, now++, false), 0);
		}
		a = ack(s, ferry_sack_una(s) + (uint32_t)(round % 64) + 1, 0, now++);
		acked += a.newly_acked;
		assert_int_equal(a.una, isn + acked);
	}
	/* 78 rounds of 1..64, then 1..8 */
	assert_int_equal(acked, 78 * (64 * 65 / 2) + 36);
	assert_int_equal(ferry_sack_stats(s)->acked, acked);
	ferry_sack_destroy(s);
}

#define EACH(f)                                                                    \
	cmocka_unit_test_prestate(f, &isn_zero), cmocka_unit_test_prestate(f, &isn_wrap), \
		cmocka_unit_test_prestate(f, &isn_half)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create),
		EACH(test_cumulative),
		EACH(test_dupthresh),
		EACH(test_retransmission_lost),
		EACH(test_ambiguous_acks),
		EACH(test_spurious),
		EACH(test_timeout_order),
		EACH(test_stale_acks),
		EACH(test_invalid_acks),
		EACH(test_sent_errors),
		EACH(test_dupthresh_param),
		EACH(test_long_run),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
