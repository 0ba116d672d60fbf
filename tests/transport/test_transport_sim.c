/* SPDX-License-Identifier: BSD-3-Clause */
/* The four modules together over a simulated link with a stepped clock: a
 * sender (sack + rtt + cc) and a receiver (rxwin), with loss from 0 to 30 %
 * in both directions, reordering, duplication, a slow reader behind flow
 * control, a sender that ignores flow control, and a bottleneck queue.
 * Properties: every message is delivered exactly once and in order, the
 * scoreboard's invariants hold throughout, and the run ends. Each run is
 * fixed by its seed. Initial numbers sit just before 2^32, so every run
 * crosses the wrap. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "cc.h"
#include "rtt.h"
#include "rxwin.h"
#include "sack.h"

#define US 1000ull
#define MS 1000000ull
#define PKT(seq) ((void *)(uintptr_t)((uint64_t)(seq) + 1))
#define HEAP_MAX 16384

struct scenario {
	const char *name;
	uint64_t seed;
	uint32_t messages;
	unsigned loss_pct;   /* each direction */
	unsigned dup_pct;    /* each direction */
	uint64_t jitter_ns;  /* uniform extra delay: reordering when > gap */
	uint32_t rx_window;
	bool respect_limit;  /* sender obeys the receiver's advertised limit */
	uint64_t pop_every_ns; /* 0: the reader pops at once; else a slow reader */
	unsigned pop_burst;
	uint64_t service_ns; /* > 0: a FIFO bottleneck on the data path */
	uint64_t target_ns;  /* cc target: above the link's own delay spread */
	bool echo;           /* samples from echoed send times, not the scoreboard */
};

enum { EV_DATA, EV_ACK };

struct event {
	uint64_t at, order;
	uint8_t kind;
	uint32_t seq;          /* EV_DATA */
	uint32_t cum, limit;   /* EV_ACK */
	uint64_t bits;
	uint64_t sent_at;      /* EV_DATA: its send time; EV_ACK: echoed, or 0 */
};

struct sim {
	const struct scenario *sc;
	uint64_t rng, now, order;
	struct event heap[HEAP_MAX];
	unsigned nheap;
	uint64_t link_free_at; /* bottleneck: when it finishes its queue */
	/* sender */
	struct ferry_sack *sack;
	struct ferry_rtt rtt;
	struct ferry_cc cc;
	uint32_t isn, sent_new, peer_limit;
	uint64_t last_send, sends, delay_sum, delay_n;
	/* receiver */
	struct ferry_rxwin *rx;
	uint32_t delivered;
	uint64_t next_pop;
};

static uint64_t rnd(struct sim *s)
{
	/* xorshift64*: fast, seedable, good enough for a link model */
	s->rng ^= s->rng >> 12;
	s->rng ^= s->rng << 25;
	s->rng ^= s->rng >> 27;
	return s->rng * 2685821657736338717ull;
}

static bool chance(struct sim *s, unsigned pct)
{
	return rnd(s) % 100 < pct;
}

static bool before(const struct event *a, const struct event *b)
{
	return a->at < b->at || (a->at == b->at && a->order < b->order);
}

static void push(struct sim *s, struct event e)
{
	unsigned i = s->nheap++;

	assert_true(s->nheap <= HEAP_MAX);
	e.order = s->order++;
	for (; i && before(&e, &s->heap[(i - 1) / 2]); i = (i - 1) / 2)
		s->heap[i] = s->heap[(i - 1) / 2];
	s->heap[i] = e;
}

static struct event pop_event(struct sim *s)
{
	struct event top = s->heap[0], last = s->heap[--s->nheap];
	unsigned i = 0;

	for (;;) {
		unsigned c = 2 * i + 1;
		if (c >= s->nheap)
			break;
		if (c + 1 < s->nheap && before(&s->heap[c + 1], &s->heap[c]))
			c++;
		if (!before(&s->heap[c], &last))
			break;
		s->heap[i] = s->heap[c];
		i = c;
	}
	s->heap[i] = last;
	return top;
}

/* Put a packet on the wire: lost, delivered once, or twice. */
static void transmit(struct sim *s, struct event e, bool data)
{
	int copies = chance(s, s->sc->dup_pct) ? 2 : 1;

	for (int i = 0; i < copies; i++) {
		uint64_t at = s->now + 5 * US;
		if (chance(s, s->sc->loss_pct))
			continue;
		if (data && s->sc->service_ns) {
			/* FIFO: wait for the packets ahead, then take a turn */
			uint64_t start = s->link_free_at > s->now ? s->link_free_at : s->now;
			s->link_free_at = start + s->sc->service_ns;
			at = s->link_free_at + 5 * US;
		}
		if (s->sc->jitter_ns)
			at += rnd(s) % s->sc->jitter_ns;
		e.at = at;
		push(s, e);
	}
}

static void send_ack(struct sim *s, uint64_t echo)
{
	struct event e = {.kind = EV_ACK, .limit = ferry_rxwin_limit(s->rx), .sent_at = echo};
	ferry_rxwin_ack(s->rx, &e.cum, &e.bits);
	transmit(s, e, false);
}

static void deliver(struct sim *s, unsigned max)
{
	uint32_t seq;
	void *p;

	while (max-- && (p = ferry_rxwin_pop(s->rx, &seq))) {
		/* in order and exactly once: the n-th delivery is message n */
		assert_int_equal(seq, s->isn + s->delivered);
		assert_ptr_equal(p, PKT(seq));
		s->delivered++;
	}
}

static void on_data(struct sim *s, uint32_t seq, uint64_t sent_at)
{
	int r = ferry_rxwin_receive(s->rx, seq, PKT(seq));

	assert_true(r >= FERRY_RXWIN_IN_ORDER && r <= FERRY_RXWIN_BEYOND);
	/* only what was sent can arrive, and nothing past what was sent */
	assert_true(ferry_seq_lt(seq, ferry_sack_next_seq(s->sack)));
	if (!s->sc->pop_every_ns)
		deliver(s, UINT32_MAX);
	send_ack(s, sent_at);
}

static void on_ack(struct sim *s, const struct event *e)
{
	struct ferry_sack_ack a;

	assert_int_equal(ferry_sack_on_ack(s->sack, e->cum, e->bits, s->now, &a), 0);
	if (ferry_seq_gt(e->limit, s->peer_limit))
		s->peer_limit = e->limit;
	if (s->sc->echo) {
		/* the echo names the very copy that arrived: never ambiguous;
		 * a window update echoes nothing and teaches nothing */
		if (!e->sent_at)
			a.newly_acked = 0;
		a.rtt_ns = s->now - e->sent_at;
		a.rtt_retransmitted = false;
	}
	if (a.newly_acked) {
		ferry_rtt_sample(&s->rtt, a.rtt_ns, a.rtt_retransmitted);
		ferry_cc_on_ack(&s->cc, a.rtt_ns, a.newly_acked, s->now);
		if (s->delivered > s->sc->messages / 2) {
			s->delay_sum += a.rtt_ns;
			s->delay_n++;
		}
	}
	if (a.newly_lost)
		ferry_cc_on_loss(&s->cc, s->now);
}

/* The sender's turn: timer, then as many sends as the windows allow.
 * Returns when it next wants to run for pacing, or UINT64_MAX. */
static uint64_t sender_work(struct sim *s)
{
	uint64_t rto = ferry_rtt_rto(&s->rtt);

	if (s->now >= ferry_sack_deadline(s->sack, rto) &&
	    ferry_sack_on_timeout(s->sack, s->now, rto)) {
		ferry_rtt_on_timeout(&s->rtt);
		ferry_cc_on_timeout(&s->cc, s->now);
	}
	while (ferry_sack_in_flight(s->sack) < ferry_cc_window(&s->cc)) {
		uint64_t pace = ferry_cc_pacing_delay_ns(&s->cc);
		uint32_t seq = ferry_sack_next_seq(s->sack);
		bool retx = ferry_sack_next_retransmit(s->sack, &seq) == 0;

		if (pace && s->sends && s->now < s->last_send + pace)
			return s->last_send + pace;
		if (!retx && (s->sent_new == s->sc->messages || !ferry_sack_space(s->sack) ||
			      (s->sc->respect_limit && !ferry_seq_lt(seq, s->peer_limit))))
			break;
		assert_int_equal(ferry_sack_sent(s->sack, seq, s->now, retx), 0);
		s->sent_new += !retx;
		s->last_send = s->now;
		s->sends++;
		transmit(s, (struct event){.kind = EV_DATA, .seq = seq, .sent_at = s->now}, true);
	}
	return UINT64_MAX;
}

static void run(const struct scenario *sc)
{
	static struct sim sim;
	struct sim *s = &sim;
	struct ferry_sack_params sp = FERRY_SACK_PARAMS_DEFAULT;
	struct ferry_rtt_params rp = FERRY_RTT_PARAMS_DEFAULT;
	struct ferry_cc_params cp = FERRY_CC_PARAMS_DEFAULT;
	const struct ferry_sack_stats *st;

	uint64_t steps = 0;
	int line = 0;

	memset(s, 0, sizeof(*s));
	s->sc = sc;
	s->rng = sc->seed * 0x9e3779b97f4a7c15ull + 1;
	s->isn = 0xffffffffu - (uint32_t)(rnd(s) % 5000);
	if (sc->target_ns)
		cp.target_delay_ns = sc->target_ns;
	assert_int_equal(ferry_sack_create(&s->sack, &sp, s->isn), 0);
	assert_int_equal(ferry_rxwin_create(&s->rx, sc->rx_window, s->isn), 0);
	assert_int_equal(ferry_rtt_init(&s->rtt, &rp), 0);
	assert_int_equal(ferry_cc_init(&s->cc, &cp), 0);
	s->peer_limit = s->isn + sc->rx_window; /* as the handshake would say */

	while (s->delivered < sc->messages) {
		uint64_t wake = sender_work(s), t = wake;
		t = ferry_sack_deadline(s->sack, ferry_rtt_rto(&s->rtt)) < t
			    ? ferry_sack_deadline(s->sack, ferry_rtt_rto(&s->rtt))
			    : t;
		if (s->nheap && s->heap[0].at < t)
			t = s->heap[0].at;
		if (sc->pop_every_ns && s->next_pop < t)
			t = s->next_pop;
		assert_true(t != UINT64_MAX); /* something must be pending */
		assert_true(t >= s->now);
		s->now = t;
		while (s->nheap && s->heap[0].at <= s->now) {
			struct event e = pop_event(s);
			if (e.kind == EV_DATA)
				on_data(s, e.seq, e.sent_at);
			else
				on_ack(s, &e);
		}
		if (sc->pop_every_ns && s->now >= s->next_pop) {
			/* the slow reader: a burst, then a window update */
			deliver(s, sc->pop_burst);
			send_ack(s, 0);
			s->next_pop = s->now + sc->pop_every_ns;
		}
		if (++steps % 101 == 0 && ferry_sack_check(s->sack, &line))
			fail_msg("%s: sack invariant at line %d", sc->name, line);
		/* the slowest run (30 % loss each way, Karn's rule and backoff)
		 * takes about 200 virtual seconds */
		assert_true(s->now < 1000000 * MS);
	}
	assert_int_equal(ferry_sack_check(s->sack, &line), 0);
	assert_int_equal(s->delivered, sc->messages);
	assert_int_equal(ferry_rxwin_stats(s->rx)->delivered, sc->messages);
	assert_int_equal(ferry_rxwin_stats(s->rx)->accepted, sc->messages);
	st = ferry_sack_stats(s->sack);
	print_message("%-26s isn %08x: %7.2f ms, %u sends, %llu retx (%llu dupthresh, "
		      "%llu timer, %llu spurious), %llu dups, %llu beyond, rto %llu us, "
		      "cwnd %.2f\n",
		      sc->name, s->isn, (double)s->now / MS, (unsigned)s->sends,
		      (unsigned long long)st->retransmits, (unsigned long long)st->lost_dupthresh,
		      (unsigned long long)st->lost_timeout, (unsigned long long)st->spurious,
		      (unsigned long long)ferry_rxwin_stats(s->rx)->duplicates,
		      (unsigned long long)ferry_rxwin_stats(s->rx)->beyond,
		      (unsigned long long)(ferry_rtt_rto(&s->rtt) / US), ferry_cc_cwnd(&s->cc));
	if (sc->loss_pct == 0 && sc->dup_pct == 0 && sc->jitter_ns == 0 && !sc->service_ns &&
	    sc->respect_limit) {
		/* a clean link: nothing is ever sent twice */
		assert_int_equal(st->retransmits, 0);
		assert_int_equal(s->sends, sc->messages);
	}
	if (sc->respect_limit)
		assert_int_equal(ferry_rxwin_stats(s->rx)->beyond, 0);
	else if (sc->loss_pct == 0)
		assert_true(ferry_rxwin_stats(s->rx)->beyond > 0);
	if (sc->service_ns) {
		/* the queue settles near the target: the mean delay of the
		 * second half stays within twice the 50 us target */
		assert_true(s->delay_n > 0);
		assert_true(s->delay_sum / s->delay_n < 2 * cp.target_delay_ns);
		print_message("%-26s mean delay %llu us\n", sc->name,
			      (unsigned long long)(s->delay_sum / s->delay_n / US));
	}
	ferry_sack_destroy(s->sack);
	ferry_rxwin_destroy(s->rx, NULL, NULL);
}

static void test_scenario(void **state)
{
	run(*state);
}

#define N 20000
/* name, seed, messages, loss %, dup %, jitter, rx window, obey the limit,
 * reader period and burst, bottleneck service time, cc target, echo */
static const struct scenario scenarios[] = {
	{"clean", 1, N, 0, 0, 0, 1024, true, 0, 0, 0, 0, false},
	{"loss 1%", 2, N, 1, 0, 0, 1024, true, 0, 0, 0, 0, false},
	{"loss 5% reorder dup", 3, N, 5, 2, 20 * US, 1024, true, 0, 0, 0, 0, false},
	{"loss 10% reorder dup", 4, N, 10, 2, 20 * US, 1024, true, 0, 0, 0, 0, false},
	{"loss 20% reorder dup", 5, N, 20, 5, 20 * US, 1024, true, 0, 0, 0, 0, false},
	{"loss 30% reorder dup", 6, N, 30, 5, 20 * US, 1024, true, 0, 0, 0, 0, false},
	{"loss 10% echo", 7, N, 10, 2, 20 * US, 1024, true, 0, 0, 0, 0, true},
	{"loss 30% echo", 8, N, 30, 10, 50 * US, 1024, true, 0, 0, 0, 200 * US, true},
	{"heavy reorder", 9, N, 0, 0, 100 * US, 1024, true, 0, 0, 0, 300 * US, true},
	{"duplication 30%", 10, N, 0, 30, 10 * US, 1024, true, 0, 0, 0, 0, false},
	{"slow reader", 11, N, 0, 0, 0, 256, true, 10 * US, 4, 0, 0, false},
	{"slow reader loss 10%", 12, N, 10, 2, 20 * US, 256, true, 10 * US, 4, 0, 0, true},
	{"limit ignored", 13, N, 0, 0, 0, 64, false, 10 * US, 8, 0, 0, false},
	{"limit ignored loss 10%", 14, N, 10, 2, 20 * US, 64, false, 10 * US, 8, 0, 0, true},
	{"bottleneck", 15, N, 0, 0, 0, 1024, true, 0, 0, 1 * US, 0, true},
	{"bottleneck loss 1%", 16, N, 1, 0, 2 * US, 1024, true, 0, 0, 1 * US, 0, false},
};

int main(void)
{
	struct CMUnitTest tests[sizeof(scenarios) / sizeof(scenarios[0])];

	for (unsigned i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++)
		tests[i] = (struct CMUnitTest){
			.name = scenarios[i].name,
			.test_func = test_scenario,
			.initial_state = (void *)&scenarios[i],
		};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
