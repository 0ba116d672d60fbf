/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The engine against hostile peers and clients, on the simulated link
 * (sim.h): forged CLOSE, REFUSE, RESET, CLOSE_ACK, ACK and OPEN packets
 * that know both session ids (the most a blind attacker could guess) but
 * not the sequence state; floods of out-of-order data; a peer outside
 * net.allowed_peers; too many half-open sessions; a session that stops
 * making progress; a client that must be reclaimed while a session is
 * ending; a protocol error on a closing session. Every step checks both
 * engines' invariants, and the sanitizer build catches any use after free.
 */
#include <arpa/inet.h>
#include <endian.h>
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
#include "wire.h"

/* ---- what an eavesdropper on the link learns --------------------------- */

struct seen {
	struct ferry_wire_hdr last[SIM_HOSTS]; /* the last session packet from host i */
	bool have[SIM_HOSTS];
	uint32_t max_data_seq[SIM_HOSTS];
	bool drop_from[SIM_HOSTS]; /* a cut wire, one way */
};

static bool tap(struct sim *s, const struct sim_pkt *p, void *arg)
{
	struct seen *w = arg;
	int from = p->src == s->h[0].ip ? 0 : 1;
	struct ferry_wire_hdr h;
	if (p->len >= sizeof(h)) {
		memcpy(&h, p->data, sizeof(h));
		if (h.dst_session && h.src_session) {
			w->last[from] = h;
			w->have[from] = true;
			if (h.type == FW_DATA)
				w->max_data_seq[from] = ntohl(h.seq);
		}
	}
	return w->drop_from[from];
}

/* A header as host @p from would send on the session the tap saw. */
static struct ferry_wire_hdr forged(const struct seen *w, int from, uint8_t type)
{
	const struct ferry_wire_hdr *l = &w->last[from];
	assert_true(w->have[from]);
	struct ferry_wire_hdr h = {.version = FERRY_WIRE_VERSION,
				   .type = type,
				   .dst_session = l->dst_session,
				   .src_session = l->src_session,
				   .seq = l->seq,
				   .ack = l->ack,
				   .window = l->window};
	return h;
}

static void inject(struct sim *s, int from, const struct ferry_wire_hdr *h, const void *p,
		   uint32_t len)
{
	uint8_t buf[2048];
	assert_true(sizeof(*h) + len <= sizeof(buf));
	memcpy(buf, h, sizeof(*h));
	if (len)
		memcpy(buf + sizeof(*h), p, len);
	sim_inject(s, from, from ^ 1, buf, (uint32_t)sizeof(*h) + len);
}

/* ---- a session to attack ------------------------------------------------ */

struct up {
	struct sim_client *a, *b;
	uint32_t ida, idb;
};

static bool n_events(struct sim *s, void *arg)
{
	(void)s;
	struct sim_client *c = ((struct sim_client **)arg)[0];
	uint16_t type = (uint16_t)(uintptr_t)((void **)arg)[1];
	return sim_count(c, type, 0) > 0;
}

static bool wait_event(struct sim *s, struct sim_client *c, uint16_t type, uint64_t ns)
{
	void *arg[2] = {c, (void *)(uintptr_t)type};
	return sim_run(s, s->now + ns, n_events, arg);
}

/* Clients' event rings as the engines are told (ipc.client_ring_size). */
static void small_rings(struct fcore_params *p, int host)
{
	(void)host;
	p->client_ring_size = 1 << 20;
}

/* Readers read whatever comes, unless the test stalls them. */
static void readers(struct sim *s, void *arg)
{
	struct up *u = arg;
	(void)s;
	if (!u->a->stalled)
		sim_read_all(u->a);
	if (!u->b->stalled)
		sim_read_all(u->b);
}

static void bring_up(struct sim *s, struct up *u, struct seen *w)
{
	memset(w, 0, sizeof(*w));
	sim_tap = tap;
	sim_tap_arg = w;
	/* event rings of the size the engines were told */
	u->a = sim_client(s, 0, 0, s->h[0].p.client_ring_size);
	u->b = sim_client(s, 1, 0, s->h[1].p.client_ring_size);
	sim_listen(u->b, "svc");
	sim_connect(u->a, 1, "svc");
	assert_true(wait_event(s, u->b, FERRY_EVT_INCOMING, SEC));
	u->idb = sim_find(u->b, FERRY_EVT_INCOMING, 0)->session;
	sim_accept(u->b, u->idb);
	assert_true(wait_event(s, u->a, FERRY_EVT_UP, SEC));
	u->ida = sim_find(u->a, FERRY_EVT_UP, 0)->session;
	s->on_step = readers;
	s->step_arg = u;
	/* some traffic both ways, so the tap has seen everything */
	assert_int_equal(sim_send(u->a, u->ida, "ping", 4), 0);
	assert_true(wait_event(s, u->b, FERRY_REC_DATA, SEC));
	assert_int_equal(sim_send(u->b, u->idb, "pong", 4), 0);
	assert_true(wait_event(s, u->a, FERRY_REC_DATA, SEC));
	sim_for(s, 10 * MS);
}

/* The session still carries a message each way. */
static void still_up(struct sim *s, struct up *u)
{
	sim_for(s, 500 * MS); /* what is on its way arrives first */
	uint32_t na = sim_count(u->a, FERRY_REC_DATA, 0), nb = sim_count(u->b, FERRY_REC_DATA, 0);
	assert_int_equal(sim_send(u->a, u->ida, "again", 5), 0);
	assert_int_equal(sim_send(u->b, u->idb, "again", 5), 0);
	sim_for(s, 50 * MS);
	assert_int_equal(sim_count(u->b, FERRY_REC_DATA, 0), nb + 1);
	assert_int_equal(sim_count(u->a, FERRY_REC_DATA, 0), na + 1);
	assert_int_equal(sim_count(u->a, FERRY_EVT_DOWN, 0) + sim_count(u->b, FERRY_EVT_DOWN, 0), 0);
}

/* ---- tests ------------------------------------------------------------- */

/* CLOSE, RESET and CLOSE_ACK with both ids right but sequence fields that
 * do not fit: each dropped and counted; the session lives on. */
static void test_forged_control(void **state)
{
	(void)state;
	struct sim s;
	struct up u;
	struct seen w;
	sim_init(&s, 21, small_rings);
	bring_up(&s, &u, &w);
	struct ferry_wire_hdr h = forged(&w, 0, FW_CLOSE);
	h.seq = htonl(ntohl(h.seq) + 100000);
	h.aux = htonl(FERRY_REASON_CLOSED);
	inject(&s, 0, &h, NULL, 0);
	h = forged(&w, 0, FW_RESET);
	h.ack = htonl(ntohl(h.ack) + 0x40000000u); /* not a number B sent */
	inject(&s, 0, &h, NULL, 0);
	h = forged(&w, 0, FW_CLOSE_ACK);
	inject(&s, 0, &h, NULL, 0);
	assert_int_equal(sim_counter(&s, 1, "remote.rx_rejected"), 3);
	still_up(&s, &u);
	sim_fini(&s);
}

/* A REFUSE for an opening session must echo its first packet number. */
struct opens {
	struct ferry_wire_hdr open;
	int n;
};

static bool swallow_opens(struct sim *s, const struct sim_pkt *p, void *arg)
{
	(void)s;
	struct opens *o = arg;
	if (p->len >= sizeof(o->open) && p->data[1] == FW_OPEN) {
		memcpy(&o->open, p->data, sizeof(o->open));
		o->n++;
		return true;
	}
	return false;
}

static void test_forged_refuse(void **state)
{
	(void)state;
	struct sim s;
	struct opens o = {0};
	sim_init(&s, 22, NULL);
	struct sim_client *a = sim_client(&s, 0, 0, 1 << 20);
	sim_tap = swallow_opens;
	sim_tap_arg = &o;
	sim_connect(a, 1, "svc");
	sim_for(&s, 1 * MS);
	assert_true(o.n >= 1); /* and again each RTO */
	/* the attacker guessed the opener's id; not its first number */
	struct ferry_wire_hdr h = {.version = FERRY_WIRE_VERSION,
				   .type = FW_REFUSE,
				   .dst_session = o.open.src_session,
				   .ack = htonl(ntohl(o.open.seq) + 1),
				   .aux = htonl(FERRY_REASON_NO_LISTENER)};
	inject(&s, 1, &h, NULL, 0);
	assert_int_equal(sim_counter(&s, 0, "remote.rx_rejected"), 1);
	assert_int_equal(sim_count(a, FERRY_EVT_DOWN, 0), 0);
	/* the true answer echoes it, and is believed */
	h.ack = o.open.seq;
	inject(&s, 1, &h, NULL, 0);
	assert_int_equal(sim_count(a, FERRY_EVT_DOWN, 0), 1);
	assert_int_equal(sim_find(a, FERRY_EVT_DOWN, 0)->status, FERRY_REASON_NO_LISTENER);
	sim_fini(&s);
}

/* Random ACKs with the right ids: counted invalid (but for a rare lucky
 * one, whose window holds only until the peer's next packet), and the
 * receiver, whose reader stopped, never holds more than its ring: what a
 * misled sender pushes past the window is dropped and counted, and the
 * session carries on. */
static void test_random_acks(void **state)
{
	(void)state;
	struct sim s;
	struct up u;
	struct seen w;
	sim_init(&s, 23, small_rings);
	bring_up(&s, &u, &w);
	u.b->stalled = true;
	static uint8_t big[60000];
	for (int i = 0; i < 100; i++)
		if (sim_send(u.a, u.ida, big, sizeof(big)) != 0)
			break;
	sim_for(&s, 200 * MS); /* B's ring (1 MiB) fills; A blocks */
	uint64_t x = 99;
	for (int i = 0; i < 1000; i++) {
		struct ferry_wire_hdr h = forged(&w, 1, FW_ACK);
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		h.ack = htonl((uint32_t)x);
		h.window = htonl((uint32_t)(x >> 32) | 0x40000000u);
		uint64_t bits = htobe64(x * 0x9e3779b97f4a7c15ull);
		memcpy(&h.sack, &bits, sizeof(bits));
		inject(&s, 1, &h, NULL, 0);
		sim_for(&s, 10 * US);
	}
	assert_true(sim_counter(&s, 0, "remote.acks_invalid") >= 990);
	sim_for(&s, 200 * MS);
	assert_true(u.b->ring_used <= u.b->ring_cap);
	char why[200];
	assert_int_equal(fcore_check(s.h[1].core, why, sizeof(why)), 0);
	u.b->stalled = false;
	sim_read_all(u.b);
	still_up(&s, &u);
	sim_fini(&s);
}

/* The lab's sizes: 64 KiB rings (the window each end promises at the
 * handshake), a peer given up after 2 s. */
static void lab_rings(struct fcore_params *p, int host)
{
	(void)host;
	p->client_ring_size = 64 << 10;
	p->max_message = 16 << 10;
	p->peer_timeout_ns = 2 * SEC;
	p->keepalive_ns = 200 * MS;
}

#define FW_MSGS 100

/* A's client sends message @p *next and on while its send buffer takes
 * them (message i: 4000 bytes of i). */
static void feed(struct up *u, int *next)
{
	static uint8_t msg[4000];
	while (*next < FW_MSGS) {
		memset(msg, *next, sizeof(msg));
		if (sim_send(u->a, u->ida, msg, sizeof(msg)) != 0)
			return;
		(*next)++;
	}
}

/* Run for @p ns, feeding A's client. */
static void run_feeding(struct sim *s, struct up *u, int *next, uint64_t ns)
{
	for (uint64_t end = s->now + ns; s->now < end;) {
		feed(u, next);
		sim_for(s, 1 * MS);
	}
}

/* One ACK with the receiver's own ack fields (what a host that sees the
 * traffic can forge) and a window 1 GiB further, while the receiver's
 * reader is stopped for longer than a silent peer is given: the sender
 * goes no further than the receiver promised at the handshake (its ring)
 * beyond what it acked; the receiver's next ack brings the window back
 * down; what was sent past it is not sent again until the window opens;
 * and the session neither times out nor loses a byte. */
static void test_forged_window(void **state)
{
	(void)state;
	struct sim s;
	struct up u;
	struct seen w;
	sim_init(&s, 30, lab_rings);
	bring_up(&s, &u, &w);
	u.b->stalled = true;
	int next = 0;
	run_feeding(&s, &u, &next, 200 * MS); /* B's ring fills, its window shuts; A blocks */
	uint64_t beyond0 = sim_counter(&s, 1, "remote.rx_beyond_window");
	struct ferry_wire_hdr h = forged(&w, 1, FW_ACK);
	h.sack = w.last[1].sack;
	h.window = htonl(ntohl(h.window) + 0x40000000u);
	inject(&s, 1, &h, NULL, 0);
	run_feeding(&s, &u, &next, 5 * SEC);
	uint64_t beyond = sim_counter(&s, 1, "remote.rx_beyond_window") - beyond0;
	uint32_t mss = s.mtu_payload - (uint32_t)sizeof(struct ferry_wire_hdr);
	print_message("B dropped %llu packets past its window after the forged ACK\n",
		      (unsigned long long)beyond);
	assert_true(beyond <= (64 << 10) / mss + 2);
	assert_int_equal(sim_count(u.a, FERRY_EVT_DOWN, 0) + sim_count(u.b, FERRY_EVT_DOWN, 0), 0);
	u.b->stalled = false;
	run_feeding(&s, &u, &next, 2 * SEC);
	assert_int_equal(sim_count(u.b, FERRY_EVT_DOWN, 0), 0);
	assert_int_equal(sim_count(u.b, FERRY_REC_DATA, 0), 1 + FW_MSGS);
	/* in order and intact, after the "ping" bring_up() sent */
	uint32_t from = 0;
	struct sim_event *e = sim_next(u.b, &from, FERRY_REC_DATA);
	for (int i = 0; i < FW_MSGS; i++) {
		e = sim_next(u.b, &from, FERRY_REC_DATA);
		assert_non_null(e);
		assert_int_equal(e->len, 4000);
		for (uint32_t j = 0; j < e->len; j++)
			assert_int_equal(e->data[j], (uint8_t)i);
	}
	still_up(&s, &u);
	sim_fini(&s);
}

/* A thousand out-of-order packets claiming the same stream offset: no
 * more is held than the window advertised, in bytes. */
static void test_ooo_flood(void **state)
{
	(void)state;
	struct sim s;
	struct up u;
	struct seen w;
	sim_init(&s, 24, small_rings);
	bring_up(&s, &u, &w);
	struct ferry_wire_hdr base = forged(&w, 0, FW_DATA);
	/* B's next expected number from A is what B last acked */
	uint32_t next = ntohl(w.last[1].ack);
	static uint8_t junk[1400];
	memset(junk, 0x5a, sizeof(junk));
	for (uint32_t i = 0; i < 1000; i++) {
		struct ferry_wire_hdr h = base;
		h.seq = htonl(next + 2 + i);
		h.aux = htonl(ntohl(w.last[0].aux) + 100000); /* one offset for all */
		h.ack = w.last[0].ack;
		inject(&s, 0, &h, junk, sizeof(junk));
	}
	/* what B holds out of order fits in B's window (its 1 MiB ring) */
	char why[200];
	assert_int_equal(fcore_check(s.h[1].core, why, sizeof(why)), 0);
	assert_true(sim_counter(&s, 1, "remote.rx_beyond_window") >= 1000 - (1 << 20) / 1400 - 1);
	assert_true(sim_counter(&s, 1, "remote.rx_out_of_order") <= (1 << 20) / 1400 + 1);
	/* the forged gap never fills: the session ends, the way a session
	 * that makes no progress does, with a reason both ends see */
	assert_true(wait_event(&s, u.b, FERRY_EVT_DOWN, 8 * SEC));
	assert_int_equal(sim_find(u.b, FERRY_EVT_DOWN, 0)->status, FERRY_REASON_TIMEOUT);
	bool got = wait_event(&s, u.a, FERRY_EVT_DOWN, 2 * SEC);
	if (!got)
		print_message("A: rejected %llu invalid %llu unknown %llu, sessions %u; B sessions %u\n",
			      (unsigned long long)sim_counter(&s, 0, "remote.rx_rejected"),
			      (unsigned long long)sim_counter(&s, 0, "remote.acks_invalid"),
			      (unsigned long long)sim_counter(&s, 0, "remote.rx_unknown_session"),
			      fcore_sessions(s.h[0].core), fcore_sessions(s.h[1].core));
	assert_true(got);
	assert_int_equal(sim_counter(&s, 1, "remote.stalled_sessions"), 1);
	sim_fini(&s);
}

/* An OPEN that reuses a live session's peer id with another first number
 * is not a restart (restarts are told by incarnation): dropped. */
static void test_open_reuse(void **state)
{
	(void)state;
	struct sim s;
	struct up u;
	struct seen w;
	sim_init(&s, 25, small_rings);
	bring_up(&s, &u, &w);
	struct ferry_wire_hdr h = {.version = FERRY_WIRE_VERSION,
				   .type = FW_OPEN,
				   .src_session = w.last[0].src_session,
				   .seq = htonl(12345),
				   .aux = htonl(1 << 20)};
	struct ferry_wire_open o = {.incarnation = htonl(fcore_incarnation(s.h[0].core)),
				    .max_window = htonl(1 << 20)};
	snprintf(o.service, sizeof(o.service), "svc");
	inject(&s, 0, &h, &o, sizeof(o));
	assert_int_equal(sim_counter(&s, 1, "remote.rx_rejected"), 1);
	assert_int_equal(sim_count(u.b, FERRY_EVT_INCOMING, 0), 1);
	still_up(&s, &u);
	sim_fini(&s);
}

static const struct fcore_cidr only_b[] = {{0x0a000002u, 32}};

static void allow_only_b(struct fcore_params *p, int host)
{
	if (host == 1) {
		p->allowed_peers = only_b; /* host 1 allows only itself: not host 0 */
		p->n_allowed_peers = 1;
	}
}

/* A peer outside net.allowed_peers: its packets are dropped before any
 * lookup, its OPEN refused. */
static void test_not_allowed(void **state)
{
	(void)state;
	struct sim s;
	sim_init(&s, 26, allow_only_b);
	struct sim_client *a = sim_client(&s, 0, 0, 1 << 20);
	struct sim_client *b = sim_client(&s, 1, 0, 1 << 20);
	sim_listen(b, "svc");
	sim_connect(a, 1, "svc");
	assert_true(wait_event(&s, a, FERRY_EVT_DOWN, SEC));
	assert_int_equal(sim_find(a, FERRY_EVT_DOWN, 0)->status, FERRY_REASON_REFUSED);
	assert_int_equal(sim_count(b, FERRY_EVT_INCOMING, 0), 0);
	assert_true(sim_counter(&s, 1, "remote.rx_not_allowed") >= 1);
	sim_fini(&s);
}

/* OPENs past limits.max_half_open_per_peer are refused, and the ones
 * that got in are still served. */
static void test_half_open_cap(void **state)
{
	(void)state;
	struct sim s;
	sim_init(&s, 27, NULL);
	struct sim_client *a = sim_client(&s, 0, 0, 16 << 20);
	struct sim_client *b = sim_client(&s, 1, 0, 16 << 20);
	sim_listen(b, "svc");
	for (int i = 0; i < 200; i++)
		sim_connect(a, 1, "svc");
	sim_for(&s, 100 * MS);
	assert_int_equal(sim_count(b, FERRY_EVT_INCOMING, 0), 128);
	assert_int_equal(sim_count(a, FERRY_EVT_DOWN, 0), 72);
	assert_int_equal(sim_find(a, FERRY_EVT_DOWN, 0)->status, FERRY_REASON_LIMIT);
	assert_int_equal(sim_counter(&s, 1, "remote.half_open_refused"), 72);
	uint32_t from = 0;
	assert_int_equal(sim_accept(b, sim_next(b, &from, FERRY_EVT_INCOMING)->session), 0);
	assert_true(wait_event(&s, a, FERRY_EVT_UP, SEC));
	sim_fini(&s);
}

/* A listener whose events the edge can no longer take (it is being
 * reclaimed: a backlog, a corrupt ring) while another client opens and
 * closes thousands of sessions to it: nothing is freed twice, nothing
 * leaks, and every invariant holds at every step. */
static void test_reclaim_while_ending(void **state)
{
	(void)state;
	struct sim s;
	sim_init(&s, 28, NULL);
	struct sim_client *l = sim_client(&s, 0, 0, 1 << 20);
	struct sim_client *o = sim_client(&s, 0, 1, 1 << 20);
	sim_listen(l, "svc");
	for (int round = 0; round < 3000; round++) {
		uint32_t cookie = sim_connect(o, -1, "svc");
		if (round == 1000)
			l->reclaim_reason = FERRY_REASON_PEER_GONE; /* the edge gave up on it */
		sim_close(o, 0, cookie);
	}
	sim_for(&s, 10 * MS);
	assert_int_equal(fcore_sessions(s.h[0].core), 0);
	/* and from the network: OPENs to a listener behind on its events */
	struct sim_client *b = sim_client(&s, 1, 0, 1 << 20);
	sim_listen(l, "net");
	for (int round = 0; round < 300; round++)
		sim_connect(b, 0, "net");
	sim_for(&s, 100 * MS);
	sim_client_gone(l, FERRY_REASON_PEER_GONE);
	sim_for(&s, 4 * SEC);
	assert_int_equal(fcore_sessions(s.h[0].core), 0);
	sim_check(&s);
	sim_fini(&s);
}

/* A DATA packet that breaks the framing, on a session whose client has
 * closed while its data is unacked (CLOSING): the session dies, and the
 * input path touches nothing freed (the sanitizer build checks). */
static void test_bad_frame_while_closing(void **state)
{
	(void)state;
	struct sim s;
	struct up u;
	struct seen w;
	sim_init(&s, 29, small_rings);
	bring_up(&s, &u, &w);
	u.b->stalled = true; /* B's window will shut: A's data stays unacked */
	static uint8_t big[60000];
	for (int i = 0; i < 40; i++)
		if (sim_send(u.a, u.ida, big, sizeof(big)) != 0)
			break;
	sim_for(&s, 100 * MS);
	assert_int_equal(sim_close(u.a, u.ida, 0), 0); /* A lingers: CLOSING */
	sim_for(&s, 1 * MS);
	/* as B, the next packet A expects, starting a frame of 2 GiB */
	struct ferry_wire_hdr h = forged(&w, 1, FW_DATA);
	h.seq = w.last[0].ack;
	struct ferry_wire_frame f = {.len = htonl(0x80000000u)};
	inject(&s, 1, &h, &f, sizeof(f));
	assert_int_equal(sim_counter(&s, 0, "remote.protocol_errors"), 1);
	sim_for(&s, 10 * MS);
	assert_int_equal(fcore_sessions(s.h[0].core), 0);
	sim_check(&s);
	sim_fini(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_forged_control),
		cmocka_unit_test(test_forged_refuse),
		cmocka_unit_test(test_random_acks),
		cmocka_unit_test(test_forged_window),
		cmocka_unit_test(test_ooo_flood),
		cmocka_unit_test(test_open_reuse),
		cmocka_unit_test(test_not_allowed),
		cmocka_unit_test(test_half_open_cap),
		cmocka_unit_test(test_reclaim_while_ending),
		cmocka_unit_test(test_bad_frame_while_closing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
