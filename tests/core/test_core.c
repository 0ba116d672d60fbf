/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The protocol engine, two instances on a simulated link (sim.h): the
 * handshake, refusal, closing each way and crossing, a lost CLOSE_ACK, a
 * restarted peer, keepalive and peer timeout, a stalled reader, a client
 * that both accepts and opens sessions, one connected to itself, one that
 * reads while sessions are in their handshake, many sessions at once. Every step checks both engines' invariants.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "ferry.h"
#include "sim.h"
#include "sim_util.h"
#include "wire.h"

/* ---- tests ------------------------------------------------------------- */

/* Both ways at once, past the first window many times over; each seed
 * draws other ids and first packet numbers (half of them sit "before" 0
 * in sequence space, where a mixed-up comparison shows). */
static void handshake_and_data(uint64_t seed)
{
	struct sim s;
	struct pair p;
	sim_init(&s, seed, NULL);
	open_pair(&s, &p, 4 << 20);
	assert_int_not_equal(p.ida, 0);
	assert_int_equal(fcore_sessions(s.h[0].core), 1);
	assert_int_equal(fcore_sessions(s.h[1].core), 1);
	/* both ways at once, sizes from 1 B to 200 KiB, each way several
	 * times the first window */
	struct flow *ab = flow_new(p.a, p.b, p.ida, 7, 200000, 300);
	struct flow *ba = flow_new(p.b, p.a, p.idb, 9, 30000, 2000);
	s.step_arg = ab;
	s.on_step = flow_step;
	bool done = false;
	for (int i = 0; i < 2000 && !done; i++) {
		sim_for(&s, 1 * MS);
		flow_step(&s, ba);
		done = flow_done(&s, ab) && flow_done(&s, ba);
	}
	assert_true(done);
	assert_int_equal(check_stream(p.b, p.idb, 7, 200000), 300);
	assert_int_equal(check_stream(p.a, p.ida, 9, 30000), 2000);
	assert_int_equal(sim_counter(&s, 0, "remote.rx_rejected"), 0);
	assert_int_equal(sim_counter(&s, 1, "remote.acks_invalid"), 0);
	s.on_step = NULL;
	free(ab);
	free(ba);
	sim_fini(&s);
}

static void test_handshake_and_data(void **state)
{
	(void)state;
	for (uint64_t seed = 1; seed <= 8; seed++)
		handshake_and_data(seed);
}

static void test_refusals(void **state)
{
	(void)state;
	struct sim s;
	sim_init(&s, 2, NULL);
	struct sim_client *a = sim_client(&s, 0, 0, 1 << 20);
	struct sim_client *b = sim_client(&s, 1, 0, 1 << 20);
	/* nobody listens */
	sim_connect(a, 1, "none");
	assert_true(wait_for(&s, a, FERRY_EVT_DOWN, 1, 1 * SEC));
	assert_int_equal(sim_find(a, FERRY_EVT_DOWN, 0)->status, FERRY_REASON_NO_LISTENER);
	/* the listener refuses */
	sim_listen(b, "svc");
	sim_connect(a, 1, "svc");
	assert_true(wait_for(&s, b, FERRY_EVT_INCOMING, 1, 1 * SEC));
	uint32_t id = sim_find(b, FERRY_EVT_INCOMING, 0)->session;
	assert_int_equal(sim_close(b, id, 0), 0);
	assert_true(wait_for(&s, a, FERRY_EVT_DOWN, 2, 1 * SEC));
	assert_int_equal(sim_find(a, FERRY_EVT_DOWN, 0)->status, FERRY_REASON_REFUSED);
	/* nobody accepts in time */
	sim_connect(a, 1, "svc");
	assert_true(wait_for(&s, a, FERRY_EVT_DOWN, 3, 5 * SEC));
	assert_int_equal(sim_find(a, FERRY_EVT_DOWN, 0)->status, FERRY_REASON_TIMEOUT);
	sim_for(&s, 100 * MS);
	assert_int_equal(fcore_sessions(s.h[0].core), 0);
	assert_int_equal(fcore_sessions(s.h[1].core), 0);
	sim_fini(&s);
}

/* Close from @p closer's side after a burst: the other end gets every
 * message, then SESSION_DOWN CLOSED; both engines end with nothing. */
static void close_one_way(int closer)
{
	struct sim s;
	struct pair p;
	sim_init(&s, 3 + (uint64_t)closer, NULL);
	open_pair(&s, &p, 4 << 20);
	struct sim_client *c = closer ? p.b : p.a, *o = closer ? p.a : p.b;
	uint32_t cid = closer ? p.idb : p.ida, oid = closer ? p.ida : p.idb;
	struct flow *f = flow_new(c, o, cid, 5, 50000, 100);
	flow_step(&s, f);
	assert_int_equal(f->sent, 100);
	/* closed at once: what was sent must still arrive */
	assert_int_equal(sim_close(c, cid, 0), 0);
	s.on_step = flow_step;
	s.step_arg = f;
	assert_true(wait_for(&s, o, FERRY_EVT_DOWN, 1, 2 * SEC));
	assert_int_equal(check_stream(o, oid, 5, 50000), 100);
	assert_int_equal(sim_find(o, FERRY_EVT_DOWN, oid)->status, FERRY_REASON_CLOSED);
	sim_for(&s, 100 * MS);
	assert_int_equal(sim_count(c, FERRY_EVT_DOWN, 0), 0); /* the closer is not told */
	assert_int_equal(fcore_sessions(s.h[0].core), 0);
	assert_int_equal(fcore_sessions(s.h[1].core), 0);
	s.on_step = NULL;
	free(f);
	sim_fini(&s);
}

static void test_close_opener(void **state)
{
	(void)state;
	close_one_way(0);
}

static void test_close_acceptor(void **state)
{
	(void)state;
	close_one_way(1);
}

static void test_close_crossing(void **state)
{
	(void)state;
	struct sim s;
	struct pair p;
	sim_init(&s, 5, NULL);
	open_pair(&s, &p, 4 << 20);
	assert_int_equal(sim_send(p.a, p.ida, "x", 1), 0);
	assert_int_equal(sim_send(p.b, p.idb, "y", 1), 0);
	assert_int_equal(sim_close(p.a, p.ida, 0), 0);
	assert_int_equal(sim_close(p.b, p.idb, 0), 0);
	sim_for(&s, 1 * SEC);
	assert_int_equal(fcore_sessions(s.h[0].core), 0);
	assert_int_equal(fcore_sessions(s.h[1].core), 0);
	assert_int_equal(sim_count(p.a, FERRY_EVT_DOWN, 0) + sim_count(p.b, FERRY_EVT_DOWN, 0), 0);
	sim_fini(&s);
}

static bool drop_close_ack(struct sim *s, const struct sim_pkt *p, void *arg)
{
	(void)s;
	unsigned *left = arg;
	if (p->len >= 2 && p->data[1] == FW_CLOSE_ACK && *left > 0) {
		(*left)--;
		return true;
	}
	return false;
}

static void test_close_ack_lost(void **state)
{
	(void)state;
	struct sim s;
	struct pair p;
	sim_init(&s, 6, NULL);
	open_pair(&s, &p, 4 << 20);
	unsigned left = 3;
	sim_tap = drop_close_ack;
	sim_tap_arg = &left;
	assert_int_equal(sim_close(p.a, p.ida, 0), 0);
	assert_true(wait_for(&s, p.b, FERRY_EVT_DOWN, 1, 1 * SEC));
	sim_for(&s, 2 * SEC);
	assert_int_equal(left, 0); /* three were lost, and the CLOSE came again */
	assert_int_equal(fcore_sessions(s.h[0].core), 0);
	assert_int_equal(fcore_sessions(s.h[1].core), 0);
	assert_int_equal(sim_count(p.b, FERRY_EVT_DOWN, 0), 1);
	sim_fini(&s);
}

static bool drop_accept(struct sim *s, const struct sim_pkt *p, void *arg)
{
	(void)s;
	unsigned *left = arg;
	if (p->len >= 2 && p->data[1] == FW_ACCEPT && *left > 0) {
		(*left)--;
		return true;
	}
	return false;
}

/* The ACCEPT is lost and the acceptor sends at once: its first messages
 * reach an opener that does not know the session yet and are dropped.
 * The OPEN comes again and the ACCEPT with it, which must name the
 * acceptor's first packet number (where the opener starts its receive
 * window), not the next one: else the opener acks the lost messages
 * unseen and they are never sent again. */
static void test_accept_lost_after_data(void **state)
{
	(void)state;
	struct sim s;
	sim_init(&s, 17, NULL);
	struct sim_client *a = sim_client(&s, 0, 0, 4 << 20), *b = sim_client(&s, 1, 0, 4 << 20);
	assert_int_equal(sim_listen(b, "svc"), 0);
	unsigned left = 1;
	sim_tap = drop_accept;
	sim_tap_arg = &left;
	sim_connect(a, 1, "svc");
	assert_true(wait_for(&s, b, FERRY_EVT_INCOMING, 1, 1 * SEC));
	uint32_t idb = sim_find(b, FERRY_EVT_INCOMING, 0)->session;
	assert_int_equal(sim_accept(b, idb), 0);
	static uint8_t m[3000];
	for (uint32_t k = 0; k < 3; k++) {
		uint32_t len = msg_len(5, k, sizeof(m));
		msg_fill(m, len, 5, k);
		assert_int_equal(sim_send(b, idb, m, len), 0);
	}
	assert_true(wait_for(&s, a, FERRY_EVT_UP, 1, 1 * SEC));
	assert_int_equal(left, 0);
	uint32_t ida = sim_find(a, FERRY_EVT_UP, 0)->session;
	wait_for(&s, a, FERRY_REC_DATA, 3, 2 * SEC);
	assert_int_equal(check_stream(a, ida, 5, sizeof(m)), 3);
	assert_int_equal(sim_count(a, FERRY_EVT_DOWN, 0) + sim_count(b, FERRY_EVT_DOWN, 0), 0);
	sim_check(&s);
	sim_fini(&s);
}

static void test_restarted_peer(void **state)
{
	(void)state;
	struct sim s;
	struct pair p, q;
	sim_init(&s, 7, NULL);
	open_pair(&s, &p, 4 << 20);
	uint32_t inc = fcore_incarnation(s.h[1].core);
	sim_restart(&s, 1);
	assert_int_not_equal(fcore_incarnation(s.h[1].core), inc);
	/* data to the forgotten session is answered with RESET */
	assert_int_equal(sim_send(p.a, p.ida, "hello", 5), 0);
	assert_true(wait_for(&s, p.a, FERRY_EVT_DOWN, 1, 1 * SEC));
	assert_int_equal(sim_find(p.a, FERRY_EVT_DOWN, p.ida)->status, FERRY_REASON_RESET);
	/* and a new session works */
	open_pair(&s, &q, 4 << 20);
	assert_int_equal(sim_send(q.a, q.ida, "again", 5), 0);
	assert_true(wait_for(&s, q.b, FERRY_REC_DATA, 1, 1 * SEC));
	sim_fini(&s);
}

static void test_restarted_peer_idle(void **state)
{
	(void)state;
	struct sim s;
	struct pair p;
	sim_init(&s, 8, NULL);
	open_pair(&s, &p, 4 << 20);
	sim_restart(&s, 1);
	/* nothing is sent; keepalive finds the new incarnation */
	assert_true(wait_for(&s, p.a, FERRY_EVT_DOWN, 1, 3 * SEC));
	assert_int_equal(sim_find(p.a, FERRY_EVT_DOWN, p.ida)->status, FERRY_REASON_RESET);
	assert_int_equal(sim_counter(&s, 0, "remote.peer_restarts"), 1);
	sim_fini(&s);
}

static void test_keepalive_and_timeout(void **state)
{
	(void)state;
	struct sim s;
	struct pair p;
	sim_init(&s, 9, NULL);
	open_pair(&s, &p, 4 << 20);
	uint64_t confirms[2] = {s.h[0].arp_confirms, s.h[1].arp_confirms};
	sim_for(&s, 10 * SEC);
	/* idle for twice the peer timeout: alive on PINGs alone */
	assert_int_equal(sim_count(p.a, FERRY_EVT_DOWN, 0), 0);
	assert_true(sim_counter(&s, 0, "remote.tx_pings") + sim_counter(&s, 1, "remote.tx_pings") >= 5);
	/* and each side's ARP entry for the other confirmed all along, so it
	 * stays defended (about once a keepalive, 1 s; the window is 5 s) */
	for (int i = 0; i < 2; i++)
		assert_true(s.h[i].arp_confirms - confirms[i] >= 5);
	s.h[1].cut = true;
	uint64_t t0 = s.now;
	assert_true(wait_for(&s, p.a, FERRY_EVT_DOWN, 1, 10 * SEC));
	assert_int_equal(sim_find(p.a, FERRY_EVT_DOWN, 0)->status, FERRY_REASON_TIMEOUT);
	uint64_t took = s.now - t0;
	assert_true(took >= 4 * SEC && took <= 7 * SEC); /* simulated time: peer_timeout */
	sim_fini(&s);
}

static void test_stalled_reader(void **state)
{
	(void)state;
	struct sim s;
	struct pair p;
	sim_init(&s, 10, NULL);
	open_pair(&s, &p, 1 << 20);
	struct flow *f = flow_new(p.a, p.b, p.ida, 11, 100000, 400); /* ~20 MB */
	p.b->stalled = true;
	s.on_step = flow_step;
	s.step_arg = f;
	sim_for(&s, 2 * SEC);
	/* the reader's ring is the window: the sender stopped, nothing lost */
	assert_true(f->sent < f->n);
	assert_true(f->stalls > 0);
	assert_true(sim_counter(&s, 0, "remote.tx_probes") > 0);
	assert_true(p.b->ring_used <= p.b->ring_cap);
	assert_int_equal(sim_count(p.a, FERRY_EVT_DOWN, 0), 0);
	p.b->stalled = false;
	assert_true(sim_run(&s, s.now + 20 * SEC, flow_done, f));
	assert_int_equal(check_stream(p.b, p.idb, 11, 100000), 400);
	s.on_step = NULL;
	free(f);
	sim_fini(&s);
}

/* A client that accepts some sessions and opens others, local and remote:
 * its list of sessions holds both kinds at once. Its peers leave, then it
 * does; each step checks every list's links (fcore_check()). The engine
 * once linked each session into that list through the field of its own
 * end, so opening a session after accepting one left the accepted
 * session's other list with a stale link, and its opener's leaving never
 * ended (the alarm turns that into a failure). */
static void test_open_and_accept(void **state)
{
	(void)state;
	struct sim s;
	alarm(30);
	sim_init(&s, 13, NULL);
	struct sim_client *srv = sim_client(&s, 0, 0, 1 << 20);
	struct sim_client *loc = sim_client(&s, 0, 1, 1 << 20);
	struct sim_client *rem = sim_client(&s, 1, 0, 1 << 20);
	assert_int_equal(sim_listen(srv, "svc"), 0);
	assert_int_equal(sim_listen(rem, "rem"), 0);
	/* accepted: a remote session, then two local ones */
	sim_connect(rem, 0, "svc");
	assert_true(wait_for(&s, srv, FERRY_EVT_INCOMING, 1, 1 * SEC));
	sim_connect(loc, -1, "svc");
	sim_connect(loc, -1, "svc");
	assert_true(wait_for(&s, srv, FERRY_EVT_INCOMING, 3, 1 * SEC));
	uint32_t from = 0;
	for (int i = 0; i < 3; i++)
		assert_int_equal(sim_accept(srv, sim_next(srv, &from, FERRY_EVT_INCOMING)->session), 0);
	assert_true(wait_for(&s, srv, FERRY_EVT_UP, 3, 1 * SEC));
	/* opened: a remote session */
	sim_connect(srv, 1, "rem");
	assert_true(wait_for(&s, rem, FERRY_EVT_INCOMING, 1, 1 * SEC));
	assert_int_equal(sim_accept(rem, sim_find(rem, FERRY_EVT_INCOMING, 0)->session), 0);
	assert_true(wait_for(&s, srv, FERRY_EVT_UP, 4, 1 * SEC));
	assert_int_equal(fcore_sessions(s.h[0].core), 4);
	/* the local opener leaves: the server hears of both its sessions */
	sim_client_gone(loc, FERRY_REASON_PEER_GONE);
	sim_check(&s);
	assert_int_equal(sim_count(srv, FERRY_EVT_DOWN, 0), 2);
	/* the server closes the remote session it opened, then leaves */
	assert_int_equal(sim_close(srv, sim_find(srv, FERRY_EVT_UP, 0)->session, 0), 0);
	sim_for(&s, 10 * MS);
	sim_client_gone(srv, FERRY_REASON_PEER_GONE);
	assert_true(wait_for(&s, rem, FERRY_EVT_DOWN, 2, 1 * SEC));
	sim_for(&s, 100 * MS);
	assert_int_equal(fcore_sessions(s.h[0].core), 0);
	assert_int_equal(fcore_sessions(s.h[1].core), 0);
	sim_fini(&s);
	alarm(0);
}

/* A client connected to its own service is both ends of the session,
 * listed once. When it leaves, its ends go one after the other; the
 * second was once taken for listed too and unlinked from nowhere (a write
 * through a null pointer). */
static void test_own_service(void **state)
{
	(void)state;
	struct sim s;
	sim_init(&s, 14, NULL);
	struct sim_client *c = sim_client(&s, 0, 0, 1 << 20);
	assert_int_equal(sim_listen(c, "self"), 0);
	sim_connect(c, -1, "self");
	sim_connect(c, -1, "self");
	assert_true(wait_for(&s, c, FERRY_EVT_INCOMING, 2, 1 * SEC));
	uint32_t from = 0;
	assert_int_equal(sim_accept(c, sim_next(c, &from, FERRY_EVT_INCOMING)->session), 0);
	assert_true(wait_for(&s, c, FERRY_EVT_UP, 2, 1 * SEC)); /* once each end */
	assert_int_equal(fcore_sessions(s.h[0].core), 2);
	sim_client_gone(c, FERRY_REASON_PEER_GONE);
	sim_check(&s);
	assert_int_equal(fcore_sessions(s.h[0].core), 0);
	sim_fini(&s);
}

/* Packets of a session before its handshake is done (ACK, DATA, CLOSE
 * from an opener that has no peer id yet, or from an acceptor that has
 * not accepted), counted by the tap. */
static bool early(struct sim *s, const struct sim_pkt *p, void *arg)
{
	(void)s;
	unsigned *n = arg;
	struct ferry_wire_hdr h;
	if (p->len >= sizeof(h)) {
		memcpy(&h, p->data, sizeof(h));
		if ((h.type == FW_ACK || h.type == FW_DATA || h.type == FW_CLOSE) &&
		    h.dst_session == 0)
			(*n)++;
	}
	return false;
}

/* A client reads while one of its sessions is still opening and another
 * still waits to be accepted: only sessions past the handshake tell their
 * peer of the room (an ACK from the opening one named no session, and its
 * peer answered with RESET; one from the unaccepted one reached an opener
 * that took it for nobody's). */
static void test_room_before_up(void **state)
{
	(void)state;
	struct sim s;
	struct pair p;
	unsigned n_early = 0;
	sim_init(&s, 15, NULL);
	sim_tap = early;
	sim_tap_arg = &n_early;
	open_pair(&s, &p, 64 << 10);
	/* the reader falls behind: its window shuts, the engine holds a
	 * message and waits for it to read */
	static uint8_t m[16 << 10];
	for (int i = 0; i < 4; i++)
		assert_int_equal(sim_send(p.b, p.idb, m, sizeof(m)), 0);
	sim_for(&s, 10 * MS);
	assert_true(p.a->want);
	/* a session each way that stays in its handshake */
	assert_int_equal(sim_listen(p.a, "slow-a"), 0);
	assert_int_equal(sim_listen(p.b, "slow-b"), 0);
	sim_connect(p.a, 1, "slow-b");
	sim_connect(p.b, 0, "slow-a");
	assert_true(wait_for(&s, p.a, FERRY_EVT_INCOMING, 1, 1 * SEC));
	sim_read_all(p.a);
	sim_for(&s, 10 * MS);
	assert_int_equal(n_early, 0);
	assert_int_equal(sim_counter(&s, 0, "remote.rx_unknown_session"), 0);
	assert_int_equal(sim_counter(&s, 1, "remote.rx_unknown_session"), 0);
	assert_int_equal(sim_count(p.a, FERRY_EVT_DOWN, 0) + sim_count(p.b, FERRY_EVT_DOWN, 0), 0);
	sim_fini(&s);
}

/* @p n sessions from @p a to @p b's "svc", all up, opened in batches within
 * limits.max_half_open_per_peer. */
static void open_many(struct sim *s, struct sim_client *a, struct sim_client *b, uint32_t n)
{
	enum { BATCH = 100 };
	sim_listen(b, "svc");
	uint32_t from = 0;
	for (uint32_t i = 0; i < n; i += BATCH) {
		for (int k = 0; k < BATCH; k++)
			sim_connect(a, 1, "svc");
		assert_true(wait_for(s, b, FERRY_EVT_INCOMING, i + BATCH, 5 * SEC));
		for (int k = 0; k < BATCH; k++)
			assert_int_equal(
				sim_accept(b, sim_next(b, &from, FERRY_EVT_INCOMING)->session), 0);
	}
	assert_true(wait_for(s, a, FERRY_EVT_UP, n, 5 * SEC));
}

static void test_many_sessions(void **state)
{
	(void)state;
	struct sim s;
	sim_init(&s, 12, NULL);
	s.check = false; /* 1000 sessions: checked once at the end */
	struct sim_client *a = sim_client(&s, 0, 0, 64 << 20);
	struct sim_client *b = sim_client(&s, 1, 0, 64 << 20);
	enum { N = 1000 };
	open_many(&s, a, b, N);
	/* one message on each, then idle */
	uint32_t from = 0;
	for (uint32_t i = 0; i < N; i++)
		assert_int_equal(sim_send(a, sim_next(a, &from, FERRY_EVT_UP)->session, &i, 4), 0);
	assert_true(wait_for(&s, b, FERRY_REC_DATA, N, 5 * SEC));
	sim_read_all(a);
	sim_read_all(b);
	sim_for(&s, 3 * SEC); /* past keepalive: every session dozes */
	uint64_t buf = fcore_buffer_bytes(s.h[0].core) + fcore_buffer_bytes(s.h[1].core);
	uint64_t sent0 = s.dir[0].sent + s.dir[1].sent;
	sim_for(&s, 10 * SEC);
	uint64_t idle = s.dir[0].sent + s.dir[1].sent - sent0;
	print_message("%u idle sessions: %llu packets in 10 s, %llu buffer bytes held\n", N,
		      (unsigned long long)idle, (unsigned long long)buf);
	/* liveness is the peer's: a PING and a PONG a second, not one per
	 * session; and idle sessions hold no buffers */
	assert_true(idle <= 4 * 10 + 4);
	assert_int_equal(buf, 0);
	assert_int_equal(sim_count(a, FERRY_EVT_DOWN, 0) + sim_count(b, FERRY_EVT_DOWN, 0), 0);
	sim_check(&s);
	sim_fini(&s);
}

/* Many sessions that had traffic and dozed, then one busy: each read of
 * the busy reader's ring visits the sessions waiting for room, not every
 * session (the engine once asked every session of the client on every
 * read: with 10,000 sessions, a read cost 10,000 visits). */
static void small_ring(struct fcore_params *p, int host)
{
	(void)host;
	p->client_ring_size = 512 << 10;
	p->max_message = 64 << 10;
}

static void test_many_sessions_one_busy(void **state)
{
	(void)state;
	struct sim s;
	sim_init(&s, 13, small_ring);
	s.check = false; /* checked once at the end */
	struct sim_client *a = sim_client(&s, 0, 0, 512 << 10);
	struct sim_client *b = sim_client(&s, 1, 0, 512 << 10);
	enum { N = 500 };
	open_many(&s, a, b, N);
	uint32_t from = 0;
	uint32_t busy = 0;
	for (uint32_t i = 0; i < N; i++) {
		uint32_t id = sim_next(a, &from, FERRY_EVT_UP)->session;
		busy = busy ? busy : id;
		assert_int_equal(sim_send(a, id, &i, 4), 0);
	}
	assert_true(wait_for(&s, b, FERRY_REC_DATA, N, 5 * SEC));
	sim_read_all(a);
	sim_read_all(b);
	sim_for(&s, 3 * SEC); /* past keepalive: every session dozes */
	uint32_t busy_b = 0;
	for (uint32_t i = 0; i < b->n_ev && !busy_b; i++)
		if (b->ev[i].type == FERRY_REC_DATA && b->ev[i].len == 4 &&
		    memcmp(b->ev[i].data, &(uint32_t){0}, 4) == 0)
			busy_b = b->ev[i].session;
	assert_int_not_equal(busy_b, 0);
	uint32_t data0 = sim_count(b, FERRY_REC_DATA, busy_b);
	b->want_calls = b->rooms = 0;
	struct flow *f = flow_new(a, b, busy, 21, 4000, 3000);
	s.on_step = flow_step;
	s.step_arg = f;
	for (int i = 0; i < 30 && sim_count(b, FERRY_REC_DATA, busy_b) - data0 < 3000; i++)
		sim_for(&s, SEC);
	s.on_step = NULL;
	/* the reader waited for room many times; each read asked again the
	 * busy session, not the 499 dozing ones */
	print_message("%u sessions, one busy: %llu reads waited for, %llu want_room calls\n", N,
		      (unsigned long long)b->rooms, (unsigned long long)b->want_calls);
	assert_true(b->rooms > 10);
	assert_true(b->want_calls <= 4 * b->rooms + 3000);
	assert_int_equal(sim_count(b, FERRY_REC_DATA, busy_b) - data0, 3000);
	assert_int_equal(sim_count(a, FERRY_EVT_DOWN, 0) + sim_count(b, FERRY_EVT_DOWN, 0), 0);
	sim_check(&s);
	free(f);
	sim_fini(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_handshake_and_data),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_close_opener),
		cmocka_unit_test(test_close_acceptor),
		cmocka_unit_test(test_close_crossing),
		cmocka_unit_test(test_close_ack_lost),
		cmocka_unit_test(test_accept_lost_after_data),
		cmocka_unit_test(test_restarted_peer),
		cmocka_unit_test(test_restarted_peer_idle),
		cmocka_unit_test(test_keepalive_and_timeout),
		cmocka_unit_test(test_stalled_reader),
		cmocka_unit_test(test_open_and_accept),
		cmocka_unit_test(test_own_service),
		cmocka_unit_test(test_room_before_up),
		cmocka_unit_test(test_many_sessions_one_busy),
		cmocka_unit_test(test_many_sessions),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
