/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Recovery from loss, studied where this machine's noise cannot reach it:
 * two engines on the simulated link, 1 MiB messages one way, at 0, 1 and
 * 5 % drop of every packet in both directions. Goodput is stream bytes
 * delivered per second of simulated time, so the figures are exact and
 * repeat for a seed; the test asserts floors (at 1 % drop at least 0.9
 * of lossless) and prints where the time went.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "ferry.h"
#include "sim.h"

#define MSG (1u << 20)

struct bulk {
	struct sim_client *tx, *rx;
	uint32_t session, n, sent;
	uint64_t got_bytes;
	uint8_t *buf;
};

static void bulk_step(struct sim *s, void *arg)
{
	(void)s;
	struct bulk *b = arg;
	while (b->sent < b->n && sim_send(b->tx, b->session, b->buf, MSG) == 0)
		b->sent++;
	uint32_t from = b->rx->read_ev;
	struct sim_event *e;
	while ((e = sim_next(b->rx, &from, FERRY_REC_DATA)) != NULL) {
		assert_int_equal(e->len, MSG);
		b->got_bytes += e->len;
		free(e->data);
		e->data = NULL;
	}
	sim_read_all(b->rx);
}

static bool bulk_done(struct sim *s, void *arg)
{
	(void)s;
	struct bulk *b = arg;
	return b->got_bytes == (uint64_t)b->n * MSG;
}

/* The lab's link, roughly: 2 Gb/s, 20 us each way, deep queues. */
static void lab_like(struct sim *s)
{
	s->ns_per_kb = 4000;
	s->delay_ns = 20 * US;
	s->queue_max = 2048;
}

static void lab_params(struct fcore_params *p, int host)
{
	(void)host;
	p->cc_target_ns = 500 * US; /* the lab's setting for af_packet */
}

/* A session from @p a (host 0) to @p b (host 1), up. @return its id at a */
static uint32_t open_session(struct sim *s, struct sim_client *a, struct sim_client *b,
			     const char *service)
{
	sim_listen(b, service);
	sim_connect(a, 1, service);
	sim_for(s, 1 * MS);
	uint32_t from = 0;
	struct sim_event *in = sim_next(b, &from, FERRY_EVT_INCOMING);
	assert_non_null(in);
	sim_accept(b, in->session);
	sim_for(s, 1 * MS);
	struct sim_event *up = sim_find(a, FERRY_EVT_UP, 0);
	assert_non_null(up);
	return up->session;
}

/* @return goodput, bytes per simulated second */
static uint64_t g_stall_every, g_stall;

static double goodput(double drop, uint64_t seed, uint32_t n, bool verbose)
{
	struct sim s;
	sim_init(&s, seed, lab_params);
	lab_like(&s);
	for (int i = 0; i < SIM_HOSTS; i++) {
		s.h[i].stall_every_ns = g_stall_every;
		s.h[i].stall_ns = g_stall;
		s.h[i].stall_phase_ns = (uint64_t)i * g_stall_every / 2;
	}
	s.check = false;
	struct sim_client *a = sim_client(&s, 0, 0, 16 << 20);
	struct sim_client *b = sim_client(&s, 1, 0, 16 << 20);
	uint32_t session = open_session(&s, a, b, "bulk");
	if (drop > 0) {
		sim_faults(&s, 0, seed, drop, 0, 0);
		sim_faults(&s, 1, seed + 1, drop, 0, 0);
	}
	struct bulk bk = {.tx = a, .rx = b, .session = session, .n = n};
	bk.buf = calloc(1, MSG);
	assert_non_null(bk.buf);
	s.on_step = bulk_step;
	s.step_arg = &bk;
	uint64_t t0 = s.now;
	assert_true(sim_run(&s, s.now + 60 * SEC, bulk_done, &bk));
	double secs = (double)(s.now - t0) / 1e9;
	double gp = (double)bk.got_bytes / secs;
	if (verbose)
		print_message("drop %4.1f %%: %6.1f MB/s in %.3f s; rto %llu, retransmits %llu, "
			      "dup %llu, data packets %llu\n",
			      drop * 100, gp / 1e6, secs,
			      (unsigned long long)sim_counter(&s, 0, "remote.rto_timeouts"),
			      (unsigned long long)sim_counter(&s, 0, "remote.tx_retransmits"),
			      (unsigned long long)sim_counter(&s, 1, "remote.rx_duplicates"),
			      (unsigned long long)s.dir[0].sent);
	sim_check(&s);
	s.on_step = NULL;
	free(bk.buf);
	sim_fini(&s);
	return gp;
}

static void test_goodput_under_loss(void **state)
{
	(void)state;
	for (uint64_t seed = 1; seed <= 3; seed++) {
		double base = goodput(0, seed, 64, true);
		double one = goodput(0.01, seed, 64, true);
		double five = goodput(0.05, seed, 64, true);
		print_message("seed %llu: 1 %% drop %.2f of lossless, 5 %% drop %.2f\n",
			      (unsigned long long)seed, one / base, five / base);
		assert_true(one >= 0.9 * base);
		assert_true(five >= 0.5 * base);
	}
}

/* The receiver descheduled for longer than the sender's RTO: the timeout
 * fires, and the ack of the originals (echoing their time, from before
 * it) undoes it. */
static void test_stall_is_not_a_loss(void **state)
{
	(void)state;
	struct sim s;
	sim_init(&s, 1, NULL);
	struct sim_client *a = sim_client(&s, 0, 0, 1 << 20);
	struct sim_client *b = sim_client(&s, 1, 0, 1 << 20);
	uint32_t session = open_session(&s, a, b, "stall");
	/* host 1 stops for 100 ms from now */
	s.h[1].stall_every_ns = 1000 * SEC;
	s.h[1].stall_ns = 100 * MS;
	s.h[1].stall_phase_ns = s.h[1].stall_every_ns - s.now % s.h[1].stall_every_ns;
	static const char msg[1000];
	assert_int_equal(sim_send(a, session, msg, sizeof(msg)), 0);
	sim_for(&s, 300 * MS);
	assert_true(sim_counter(&s, 0, "remote.rto_timeouts") >= 1);
	assert_true(sim_counter(&s, 0, "remote.rto_spurious") >= 1);
	sim_check(&s);
	sim_fini(&s);
}

/* The same with each daemon descheduled for 1 ms in every 7 ms (they
 * share two cores with their clients in the lab): a stall is not a loss,
 * and must not cost like one. */
static void test_goodput_with_stalls(void **state)
{
	(void)state;
	g_stall_every = 7 * MS;
	g_stall = 1 * MS;
	for (uint64_t seed = 1; seed <= 3; seed++) {
		double base = goodput(0, seed, 64, true);
		double one = goodput(0.01, seed, 64, true);
		print_message("seed %llu, stalls: 1 %% drop %.2f of lossless\n",
			      (unsigned long long)seed, one / base);
		assert_true(one >= 0.9 * base);
	}
	g_stall_every = g_stall = 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_goodput_under_loss),
		cmocka_unit_test(test_goodput_with_stalls),
		cmocka_unit_test(test_stall_is_not_a_loss),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
