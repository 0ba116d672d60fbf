/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Helpers of the engine tests on the simulated link (sim.h): a session
 * opened between host 0 and host 1, messages that follow from (seed,
 * index) and are checked byte for byte on arrival, and a sender that
 * keeps a stream of them going while the simulation runs.
 */
#ifndef FERRY_TEST_CORE_SIM_UTIL_H
#define FERRY_TEST_CORE_SIM_UTIL_H

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "ferry.h"
#include "sim.h"

/* ---- helpers ----------------------------------------------------------- */

struct up_wait {
	struct sim_client *c;
	uint16_t type;
	uint32_t n;
};

static inline bool have_events(struct sim *s, void *arg)
{
	(void)s;
	struct up_wait *w = arg;
	return sim_count(w->c, w->type, 0) >= w->n;
}

/* Run until @p c has @p n events of @p type (at most @p ns). */
static inline bool wait_for(struct sim *s, struct sim_client *c, uint16_t type, uint32_t n,
			    uint64_t ns)
{
	struct up_wait w = {c, type, n};
	return sim_run(s, s->now + ns, have_events, &w);
}

/* A session from host 0 client 0 to host 1 client 0 ("svc"), up. */
struct pair {
	struct sim_client *a, *b;
	uint32_t ida, idb; /* each end's session id */
};

static inline void open_pair(struct sim *s, struct pair *p, uint64_t ring)
{
	p->a = s->h[0].cl[0].attached ? &s->h[0].cl[0] : sim_client(s, 0, 0, ring);
	p->b = s->h[1].cl[0].attached ? &s->h[1].cl[0] : sim_client(s, 1, 0, ring);
	if (sim_find(p->b, FERRY_EVT_LISTEN, 0) == NULL)
		assert_int_equal(sim_listen(p->b, "svc"), 0);
	uint32_t in0 = sim_count(p->b, FERRY_EVT_INCOMING, 0);
	uint32_t up0 = sim_count(p->a, FERRY_EVT_UP, 0);
	uint32_t cookie = sim_connect(p->a, 1, "svc");
	assert_true(wait_for(s, p->b, FERRY_EVT_INCOMING, in0 + 1, 1 * SEC));
	p->idb = sim_find(p->b, FERRY_EVT_INCOMING, 0)->session;
	assert_int_equal(sim_accept(p->b, p->idb), 0);
	assert_true(wait_for(s, p->a, FERRY_EVT_UP, up0 + 1, 1 * SEC));
	struct sim_event *up = sim_find(p->a, FERRY_EVT_UP, 0);
	assert_int_equal(up->aux, cookie);
	p->ida = up->session;
}

/* Message k of a stream: its length and bytes follow from (seed, k). */
static inline uint32_t msg_len(uint32_t seed, uint32_t k, uint32_t max)
{
	uint32_t x = (seed * 2654435761u) ^ (k * 40503u);
	x ^= x >> 13;
	x *= 0x5bd1e995u;
	x ^= x >> 15;
	return 1 + x % max;
}

static inline void msg_fill(uint8_t *b, uint32_t len, uint32_t seed, uint32_t k)
{
	for (uint32_t i = 0; i < len; i++)
		b[i] = (uint8_t)(seed + k * 31 + i * 7);
}

/* Every DATA event @p c got on @p session is message 0, 1, ... exactly. */
static inline uint32_t check_stream(struct sim_client *c, uint32_t session, uint32_t seed,
				    uint32_t max)
{
	static uint8_t want[1 << 20];
	uint32_t k = 0;
	for (uint32_t i = 0; i < c->n_ev; i++) {
		struct sim_event *e = &c->ev[i];
		if (e->type != FERRY_REC_DATA || e->session != session)
			continue;
		uint32_t len = msg_len(seed, k, max);
		assert_int_equal(e->len, len);
		msg_fill(want, len, seed, k);
		assert_memory_equal(e->data, want, len);
		k++;
	}
	return k;
}

/* A sender that keeps @p n messages going on a session, as fast as the
 * send buffer takes them, and a reader that reads unless stalled. */
struct flow {
	struct sim_client *tx, *rx;
	uint32_t session, seed, max, n, sent;
	uint8_t buf[1 << 20];
	uint32_t filled; /* 1 + the message buf holds */
	uint32_t stalls;
};

static inline void flow_step(struct sim *s, void *arg)
{
	(void)s;
	struct flow *f = arg;
	while (f->sent < f->n) {
		uint32_t len = msg_len(f->seed, f->sent, f->max);
		if (f->filled != f->sent + 1) {
			msg_fill(f->buf, len, f->seed, f->sent);
			f->filled = f->sent + 1;
		}
		int rc = sim_send(f->tx, f->session, f->buf, len);
		if (rc == -EAGAIN) {
			f->stalls++;
			break;
		}
		assert_int_equal(rc, 0);
		f->sent++;
	}
	if (!f->rx->stalled)
		sim_read_all(f->rx);
}

static inline bool flow_done(struct sim *s, void *arg)
{
	(void)s;
	struct flow *f = arg;
	return f->sent == f->n && sim_count(f->rx, FERRY_REC_DATA, 0) >= f->n;
}

static inline struct flow *flow_new(struct sim_client *tx, struct sim_client *rx,
				    uint32_t session, uint32_t seed, uint32_t max, uint32_t n)
{
	struct flow *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	*f = (struct flow){.tx = tx, .rx = rx, .session = session, .seed = seed, .max = max, .n = n};
	return f;
}

#endif
