/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Path MTU (daemon/core/pmtu.c, frag.c) on the simulated link (sim.h),
 * whose path from host 0 to host 1 may drop packets larger than a set
 * MTU, with or without the router's ICMP "fragmentation needed":
 *   - an ICMP report lowers the size, and a checked transfer completes;
 *   - a path that drops large packets silently is found out (black hole)
 *     and the transfer completes; the time that takes is printed, in
 *     simulated time, with the transfer's time against an open path;
 *     random loss (5 and 20 % both ways) is not taken for one;
 *   - once the path heals, probes raise the size again; while it has not,
 *     they do not;
 *   - a forged report cannot take the size below 576, nor up, nor touch a
 *     flow that is not ours, and the flow recovers by probing;
 *   - net.peer_mtus sizes a peer's packets from the start;
 *   - a lowered size outlives the session for the next one;
 *   - fragments reassemble whatever their order and duplicates; hostile
 *     ones (bad count or index, oversized, the wrong length, overlapping)
 *     are dropped and counted, and the session carries on intact;
 *   - the same over a secure channel (encrypt, authenticate): the seal's
 *     trailer counts in every size, so with ICMP, as a black hole and
 *     with net.peer_mtus every message arrives and, once the size is
 *     known, no packet but a probe is larger than the path takes.
 * Every step checks both engines' invariants.
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

#define PORT 31850
#define MSG (24u << 10)

/* ---- a checked one-way transfer ---------------------------------------- */

struct xfer {
	struct sim_client *tx, *rx;
	uint32_t id_tx, id_rx; /* each end's session id */
	uint32_t n, sent, got, seed;
	uint8_t buf[MSG];
	/* when host 0's path MTU to host 1 first read each value */
	uint32_t last_mtu;
	uint64_t mtu_at[4];
	uint32_t mtu_seen[4], n_mtu;
};

static void fill(uint8_t *b, uint32_t seed, uint32_t k)
{
	for (uint32_t i = 0; i < MSG; i++)
		b[i] = (uint8_t)(seed * 7 + k * 131 + i * 29 + (i >> 8));
}

static void xfer_step(struct sim *s, void *arg)
{
	struct xfer *x = arg;
	while (x->sent < x->n) {
		fill(x->buf, x->seed, x->sent);
		if (sim_send(x->tx, x->id_tx, x->buf, MSG) != 0)
			break;
		x->sent++;
	}
	uint32_t from = x->rx->read_ev;
	struct sim_event *e;
	while ((e = sim_next(x->rx, &from, FERRY_REC_DATA)) != NULL) {
		assert_int_equal(e->len, MSG);
		fill(x->buf, x->seed, x->got);
		assert_memory_equal(e->data, x->buf, MSG);
		x->got++;
		free(e->data);
		e->data = NULL;
	}
	sim_read_all(x->rx);
	sim_read_all(x->tx);
	uint32_t m = fcore_peer_mtu(s->h[0].core, s->h[1].ip);
	if (m != x->last_mtu && x->n_mtu < 4) {
		x->mtu_seen[x->n_mtu] = m;
		x->mtu_at[x->n_mtu++] = s->now;
	}
	x->last_mtu = m;
}

static bool xfer_done(struct sim *s, void *arg)
{
	(void)s;
	struct xfer *x = arg;
	return x->got == x->n;
}

/* Run until @p c has more than @p n events of @p type (a second at most). */
static void wait_more(struct sim *s, struct sim_client *c, uint16_t type, uint32_t n)
{
	uint64_t t0 = s->now;
	while (sim_count(c, type, 0) == n) {
		assert_true(s->now - t0 < SEC);
		sim_for(s, 100 * US);
	}
}

/* A session from host 0 to host 1, up; x's clients and ids set. */
static void open_session(struct sim *s, struct xfer *x)
{
	x->tx = s->h[0].cl[0].attached ? &s->h[0].cl[0] : sim_client(s, 0, 0, 8 << 20);
	x->rx = s->h[1].cl[0].attached ? &s->h[1].cl[0] : sim_client(s, 1, 0, 8 << 20);
	if (sim_find(x->rx, FERRY_EVT_LISTEN, 0) == NULL)
		assert_int_equal(sim_listen(x->rx, "bulk"), 0);
	uint32_t in0 = sim_count(x->rx, FERRY_EVT_INCOMING, 0);
	uint32_t up0 = sim_count(x->tx, FERRY_EVT_UP, 0);
	sim_connect(x->tx, 1, "bulk");
	wait_more(s, x->rx, FERRY_EVT_INCOMING, in0);
	x->id_rx = sim_find(x->rx, FERRY_EVT_INCOMING, 0)->session;
	assert_int_equal(sim_accept(x->rx, x->id_rx), 0);
	wait_more(s, x->tx, FERRY_EVT_UP, up0);
	x->id_tx = sim_find(x->tx, FERRY_EVT_UP, 0)->session;
}

/* Send @p n checked messages from host 0 to host 1 on a new session and
 * wait until all arrived. @return the simulated time it took */
static uint64_t transfer(struct sim *s, struct xfer *x, uint32_t n, uint32_t seed)
{
	open_session(s, x);
	x->n = n;
	x->sent = x->got = 0;
	x->seed = seed;
	x->last_mtu = fcore_peer_mtu(s->h[0].core, s->h[1].ip);
	x->n_mtu = 0;
	s->on_step = xfer_step;
	s->step_arg = x;
	uint64_t t0 = s->now;
	assert_true(sim_run(s, s->now + 30 * SEC, xfer_done, x));
	s->on_step = NULL;
	return s->now - t0;
}

/* One simulation and its transfer (large: allocated). */
struct run {
	struct sim s;
	struct xfer x;
};

static struct run *run_new(uint64_t seed, void (*tweak)(struct fcore_params *p, int host))
{
	struct run *r = calloc(1, sizeof(*r));
	assert_non_null(r);
	sim_init(&r->s, seed, tweak);
	return r;
}

static void run_free(struct run *r)
{
	sim_fini(&r->s);
	free(r);
}

static uint64_t ctr(struct sim *s, int h, const char *name)
{
	char label[64];
	snprintf(label, sizeof(label), "remote.%s", name);
	return sim_counter(s, h, label);
}

static uint32_t mtu_of(struct sim *s)
{
	return fcore_peer_mtu(s->h[0].core, s->h[1].ip);
}

static uint64_t g_probe_ns;
static enum fcore_sec_mode g_sec; /* both hosts' security.mode */

static void params(struct fcore_params *p, int host)
{
	p->pmtu_probe_ns = g_probe_ns;
	if (g_sec != FCORE_SEC_NONE)
		sim_secure(p, host, g_sec);
}

/* The transfer's time on an open path, for comparison. */
static uint64_t baseline(uint32_t n)
{
	struct run *r = run_new(7, params);
	uint64_t t = transfer(&r->s, &r->x, n, 3);
	assert_int_equal(mtu_of(&r->s), 1500);
	assert_int_equal(r->s.dir[0].max_ip, 1500);
	run_free(r);
	return t;
}

/* ---- ICMP -------------------------------------------------------------- */

static void test_icmp_lowers(void **state)
{
	(void)state;
	uint64_t base = baseline(200);
	struct run *r = run_new(1, params);
	struct sim *s = &r->s;
	struct xfer *x = &r->x;
	s->dir[0].path_mtu = 1280;
	s->dir[0].icmp = true;
	uint64_t t = transfer(s, x, 200, 11);
	assert_int_equal(mtu_of(s), 1280);
	assert_int_equal(ctr(s, 0, "pmtu_icmp_lowered"), 1);
	assert_int_equal(ctr(s, 0, "pmtu_blackhole_lowered"), 0);
	/* what was in flight at 1500 came again in pieces */
	assert_true(ctr(s, 0, "tx_fragments") > 0);
	assert_true(ctr(s, 1, "rx_reassembled") > 0);
	assert_int_equal(ctr(s, 1, "rx_fragments_dropped"), 0);
	assert_int_equal(ctr(s, 1, "rx_fragments"), ctr(s, 0, "tx_fragments"));
	print_message("ICMP to 1280: lowered after %.3f ms; %llu packets too big, %llu fragments "
		      "sent, %llu packets rebuilt; 200 x 24 KiB in %.2f ms, %.2fx the open path's "
		      "%.2f ms\n",
		      (double)(x->mtu_at[0] - (s->now - t)) / 1e6,
		      (unsigned long long)s->dir[0].too_big,
		      (unsigned long long)ctr(s, 0, "tx_fragments"),
		      (unsigned long long)ctr(s, 1, "rx_reassembled"), (double)t / 1e6,
		      (double)t / (double)base, (double)base / 1e6);
	run_free(r);
}

/* ---- black holes ------------------------------------------------------- */

static void test_blackhole(void **state)
{
	(void)state;
	uint64_t base = baseline(200);
	struct run *r = run_new(2, params);
	struct sim *s = &r->s;
	struct xfer *x = &r->x;
	s->dir[0].path_mtu = 1280;
	uint64_t t = transfer(s, x, 200, 12);
	assert_int_equal(mtu_of(s), 1280);
	/* 1500 -> 1400 -> 1280: two verdicts, no ICMP */
	assert_int_equal(ctr(s, 0, "pmtu_blackhole_lowered"), 2);
	assert_int_equal(ctr(s, 0, "pmtu_icmp_lowered"), 0);
	assert_int_equal(x->n_mtu, 2);
	assert_int_equal(x->mtu_seen[0], 1400);
	assert_int_equal(x->mtu_seen[1], 1280);
	assert_true(ctr(s, 0, "pmtu_probes") >= 12);
	assert_true(ctr(s, 1, "rx_reassembled") > 0);
	assert_int_equal(ctr(s, 1, "rx_fragments_dropped"), 0);
	print_message("black hole at 1280: 1400 after %.2f ms, 1280 after %.2f ms (simulated, "
		      "from the session's first data); %llu timeouts, %llu probes, %llu "
		      "packets rebuilt; 200 x 24 KiB in %.2f ms, %.2fx the open path's\n",
		      (double)(x->mtu_at[0] - (s->now - t)) / 1e6,
		      (double)(x->mtu_at[1] - (s->now - t)) / 1e6,
		      (unsigned long long)ctr(s, 0, "rto_timeouts"),
		      (unsigned long long)ctr(s, 0, "pmtu_probes"),
		      (unsigned long long)ctr(s, 1, "rx_reassembled"), (double)t / 1e6,
		      (double)t / (double)base);
	run_free(r);
}

/* Random loss is not a black hole: 5 and 20 % of every packet lost both
 * ways leave the size alone, however many timeouts and black-hole probes
 * they cause. */
static void test_loss_is_not_a_blackhole(void **state)
{
	(void)state;
	static const double drop[] = {0.05, 0.20};
	for (int d = 0; d < 2; d++) {
		for (uint64_t seed = 1; seed <= 3; seed++) {
			struct run *r = run_new(seed, params);
			struct sim *s = &r->s;
			sim_faults(s, 0, seed, drop[d], 0, 0);
			sim_faults(s, 1, seed + 9, drop[d], 0, 0);
			transfer(s, &r->x, 200, 13);
			print_message("seed %llu, %.0f %% loss: %llu timeouts, %llu black-hole "
				      "probes, path MTU %u\n",
				      (unsigned long long)seed, drop[d] * 100,
				      (unsigned long long)ctr(s, 0, "rto_timeouts"),
				      (unsigned long long)ctr(s, 0, "pmtu_probes"), mtu_of(s));
			assert_true(ctr(s, 0, "rto_timeouts") > 0);
			assert_int_equal(ctr(s, 0, "pmtu_blackhole_lowered"), 0);
			assert_int_equal(mtu_of(s), 1500);
			run_free(r);
		}
	}
}

/* ---- probing up -------------------------------------------------------- */

static void test_probe_up(void **state)
{
	(void)state;
	g_probe_ns = 1 * SEC;
	struct run *r = run_new(3, params);
	struct sim *s = &r->s;
	struct xfer *x = &r->x;
	s->dir[0].path_mtu = 1280;
	transfer(s, x, 50, 14);
	assert_int_equal(mtu_of(s), 1280);
	/* not healed: a round of probes fails, the size stays */
	uint64_t probes = ctr(s, 0, "pmtu_probes");
	sim_for(s, 2 * SEC);
	assert_int_equal(mtu_of(s), 1280);
	assert_int_equal(ctr(s, 0, "pmtu_raised"), 0);
	assert_true(ctr(s, 0, "pmtu_probes") >= probes + 3);
	/* healed: the next round raises it, a plateau at a time */
	s->dir[0].path_mtu = 0;
	uint64_t t0 = s->now;
	while (mtu_of(s) < 1500 && s->now - t0 < 3 * SEC)
		sim_for(s, 10 * MS);
	assert_int_equal(mtu_of(s), 1500);
	assert_int_equal(ctr(s, 0, "pmtu_raised"), 2); /* 1280 -> 1400 -> 1500 */
	print_message("healed path: back to 1500 after %.0f ms (probes every 1 s)\n",
		      (double)(s->now - t0) / 1e6);
	/* and full-size packets go again */
	s->dir[0].max_ip = 0;
	transfer(s, x, 20, 15);
	assert_int_equal(s->dir[0].max_ip, 1500);
	run_free(r);
	g_probe_ns = 0;
}

/* ---- forged reports ---------------------------------------------------- */

static void test_forged_report(void **state)
{
	(void)state;
	g_probe_ns = 1 * SEC;
	struct run *r = run_new(4, params);
	struct sim *s = &r->s;
	struct xfer *x = &r->x;
	open_session(s, x);
	/* a flow that is not ours, a peer we do not know: nothing */
	assert_false(sim_frag_needed(s, 0, 4242, PORT, 600));
	fcore_set_now(s->h[0].core, s->now);
	assert_false(fcore_path_mtu(s->h[0].core, 0x0a0000feu, PORT, PORT, 600));
	assert_int_equal(mtu_of(s), 1500);
	/* no higher than what is in use */
	assert_false(sim_frag_needed(s, 0, PORT, PORT, 1500));
	assert_int_equal(ctr(s, 0, "pmtu_icmp_ignored"), 3);
	/* 68, the smallest a router may say: the floor holds at 576 */
	assert_true(sim_frag_needed(s, 0, PORT, PORT, 68));
	assert_int_equal(mtu_of(s), 576);
	assert_false(sim_frag_needed(s, 0, PORT, PORT, 100));
	assert_int_equal(mtu_of(s), 576);
	assert_int_equal(ctr(s, 0, "pmtu_icmp_lowered"), 1);
	/* the flow carries on, in small packets */
	s->dir[0].max_ip = 0;
	transfer(s, x, 20, 16);
	assert_true(s->dir[0].max_ip <= 576);
	/* and the path, fine all along, is found again by probing */
	uint64_t t0 = s->now;
	while (mtu_of(s) < 1500 && s->now - t0 < 5 * SEC)
		sim_for(s, 10 * MS);
	assert_int_equal(mtu_of(s), 1500);
	print_message("forged report to 68: held at 576, back to 1500 %.0f ms later\n",
		      (double)(s->now - t0) / 1e6);
	run_free(r);
	g_probe_ns = 0;
}

/* ---- the size outlives the session; configured sizes ------------------- */

static void test_kept_for_next_session(void **state)
{
	(void)state;
	struct run *r = run_new(5, params);
	struct sim *s = &r->s;
	struct xfer *x = &r->x;
	s->dir[0].path_mtu = 1280;
	transfer(s, x, 20, 17);
	assert_int_equal(ctr(s, 0, "pmtu_blackhole_lowered"), 2);
	assert_int_equal(sim_close(x->tx, x->id_tx, 0), 0);
	sim_for(s, 100 * MS);
	assert_int_equal(fcore_sessions(s->h[0].core), 0);
	assert_int_equal(mtu_of(s), 1280);
	/* the next session starts at 1280: nothing lost to the size */
	uint64_t too_big = s->dir[0].too_big;
	transfer(s, x, 20, 18);
	assert_int_equal(s->dir[0].too_big, too_big);
	assert_int_equal(ctr(s, 0, "pmtu_blackhole_lowered"), 2);
	run_free(r);
}

static const struct fcore_peer_mtu g_mtus[] = {
	{0x0a010000u, 16, 9001}, /* 10.1.0.0/16: not these hosts */
	{0x0a000000u, 24, 1200}, /* 10.0.0.0/24: the first that holds them */
	{0, 0, 1400},
};

static void configured(struct fcore_params *p, int host)
{
	params(p, host);
	if (host == 0) {
		p->peer_mtus = g_mtus;
		p->n_peer_mtus = 3;
	}
}

static void test_configured(void **state)
{
	(void)state;
	struct run *r = run_new(6, configured);
	struct sim *s = &r->s;
	struct xfer *x = &r->x;
	transfer(s, x, 20, 19);
	assert_int_equal(mtu_of(s), 1200);
	assert_int_equal(s->dir[0].max_ip, 1200);
	assert_int_equal(ctr(s, 0, "rto_timeouts"), 0);
	/* host 1 has no such setting: the link's */
	assert_int_equal(fcore_peer_mtu(s->h[1].core, s->h[0].ip), 1500);
	run_free(r);
}

/* ---- fragments --------------------------------------------------------- */

/* The real engines' fragments, reordered and duplicated on the way. */
static void test_fragments_reordered(void **state)
{
	(void)state;
	struct run *r = run_new(8, params);
	struct sim *s = &r->s;
	struct xfer *x = &r->x;
	s->dir[0].path_mtu = 1280;
	s->dir[0].icmp = true;
	sim_faults(s, 0, 8, 0.01, 0.05, 0.10);
	transfer(s, x, 200, 20);
	assert_true(ctr(s, 1, "rx_reassembled") > 0);
	assert_true(ctr(s, 1, "rx_duplicates") > 0);
	print_message("ICMP to 1280, 1 %% drop, 5 %% dup, 10 %% reorder: %llu fragments, "
		      "%llu rebuilt, %llu dropped (a packet given up for another)\n",
		      (unsigned long long)ctr(s, 1, "rx_fragments"),
		      (unsigned long long)ctr(s, 1, "rx_reassembled"),
		      (unsigned long long)ctr(s, 1, "rx_fragments_dropped"));
	run_free(r);
}

/* What an eavesdropper on the link learns of host 0's data. */
struct seen {
	struct ferry_wire_hdr last;
	uint32_t last_len;
	bool have;
};

static bool tap(struct sim *s, const struct sim_pkt *p, void *arg)
{
	struct seen *w = arg;
	struct ferry_wire_hdr h;
	if (p->src != s->h[0].ip || p->len < sizeof(h))
		return false;
	memcpy(&h, p->data, sizeof(h));
	if (h.type == FW_DATA) {
		w->last = h;
		w->last_len = p->len - (uint32_t)sizeof(h);
		w->have = true;
	}
	return false;
}

struct forge {
	struct sim s;
	struct xfer x;
	struct seen w;
	uint32_t seq;  /* host 0's next packet number */
	uint64_t off;  /* and stream offset */
	uint8_t pkt[1000];
};
/* A fragment as host 0 would send it on the session the tap saw: packet
 * @p seq at stream offset @p off, fragment @p idx of @p count of a packet
 * of @p pkt_len bytes, @p n bytes of f->pkt from @p at. */
static void frag(struct forge *f, uint32_t seq, uint64_t off, uint16_t pkt_len, uint8_t idx,
		 uint8_t count, uint32_t at, uint32_t n)
{
	uint8_t buf[sizeof(struct ferry_wire_hdr) + sizeof(struct ferry_wire_frag) + 2048];
	struct ferry_wire_hdr h = f->w.last;
	h.flags = htons(FWF_FRAG);
	h.seq = htonl(seq);
	h.aux = htonl((uint32_t)(off + at));
	struct ferry_wire_frag fr = {.pkt_len = htons(pkt_len), .index = idx, .count = count};
	assert_true(at + n <= sizeof(f->pkt));
	memcpy(buf, &h, sizeof(h));
	memcpy(buf + sizeof(h), &fr, sizeof(fr));
	memcpy(buf + sizeof(h) + sizeof(fr), f->pkt + at, n);
	sim_inject(&f->s, 0, 1, buf, (uint32_t)(sizeof(h) + sizeof(fr) + n));
}


/* A session with one message gone through, and a 1000-byte packet of
 * stream (one message framed) ready to forge as the next one. */
static void forge_setup(struct forge *f, const char *msg)
{
	sim_init(&f->s, 9, params);
	memset(&f->w, 0, sizeof(f->w));
	sim_tap = tap;
	sim_tap_arg = &f->w;
	transfer(&f->s, &f->x, 1, 21);
	sim_for(&f->s, 10 * MS);
	assert_true(f->w.have);
	f->seq = ntohl(f->w.last.seq) + 1;
	f->off = ntohl(f->w.last.aux) + f->w.last_len; /* the stream is short yet */
	struct ferry_wire_frame fr = {.len = htonl(1000 - sizeof(fr))};
	memcpy(f->pkt, &fr, sizeof(fr));
	for (uint32_t i = sizeof(fr); i < sizeof(f->pkt); i++)
		f->pkt[i] = (uint8_t)msg[i % strlen(msg)];
}

/* Three fragments arriving 2, 0, 0 again, 1: one packet, intact. */
static void test_fragments_out_of_order(void **state)
{
	(void)state;
	struct forge *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	forge_setup(f, "in three pieces ");
	struct sim *s = &f->s;
	uint32_t piece = (1000 + 2) / 3; /* 334, 334, 332 */
	uint32_t got0 = sim_count(f->x.rx, FERRY_REC_DATA, 0);
	frag(f, f->seq, f->off, 1000, 2, 3, 2 * piece, 1000 - 2 * piece);
	frag(f, f->seq, f->off, 1000, 0, 3, 0, piece);
	frag(f, f->seq, f->off, 1000, 0, 3, 0, piece);
	assert_int_equal(sim_count(f->x.rx, FERRY_REC_DATA, 0), got0);
	frag(f, f->seq, f->off, 1000, 1, 3, piece, piece);
	assert_int_equal(sim_count(f->x.rx, FERRY_REC_DATA, 0), got0 + 1);
	struct sim_event *e = sim_find(f->x.rx, FERRY_REC_DATA, 0);
	assert_int_equal(e->len, 1000 - sizeof(struct ferry_wire_frame));
	assert_memory_equal(e->data, f->pkt + sizeof(struct ferry_wire_frame), e->len);
	assert_int_equal(ctr(s, 1, "rx_fragments"), 3);
	assert_int_equal(ctr(s, 1, "rx_reassembled"), 1);
	assert_int_equal(ctr(s, 1, "rx_duplicates"), 1);
	assert_int_equal(ctr(s, 1, "rx_fragments_dropped"), 0);
	/* all of it again: the packet is in, so it is acked, not rebuilt */
	frag(f, f->seq, f->off, 1000, 0, 3, 0, piece);
	assert_int_equal(ctr(s, 1, "rx_fragments"), 3);
	assert_int_equal(ctr(s, 1, "rx_duplicates"), 2);
	sim_fini(s);
	free(f);
}

/* Fragments no sender makes, each dropped and counted; then the real
 * sender's traffic goes on, every byte checked. */
static void test_fragments_hostile(void **state)
{
	(void)state;
	struct forge *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	forge_setup(f, "hostile ");
	struct sim *s = &f->s;
	uint32_t q = f->seq;
	uint64_t o = f->off;
	uint64_t dropped = 0;
#define DROPPED()                                                                     \
	do {                                                                          \
		dropped++;                                                            \
		assert_int_equal(ctr(s, 1, "rx_fragments_dropped"), dropped);         \
	} while (0)
	/* counts: 0, 1, past FERRY_WIRE_FRAG_MAX; an index past the count */
	frag(f, q, o, 1000, 0, 0, 0, 500);
	DROPPED();
	frag(f, q, o, 1000, 0, 1, 0, 1000);
	DROPPED();
	frag(f, q, o, 1000, 0, FERRY_WIRE_FRAG_MAX + 1, 0, 30);
	DROPPED();
	frag(f, q, o, 1000, 2, 2, 0, 500);
	DROPPED();
	/* oversized: a packet longer than any packet can be */
	frag(f, q, o, FERRY_WIRE_PKT_MAX + 1, 0, 32, 0, 280);
	DROPPED();
	/* a piece of the wrong length for the split, short and long */
	frag(f, q, o, 1000, 0, 2, 0, 499);
	DROPPED();
	frag(f, q, o, 1000, 1, 2, 499, 501);
	DROPPED();
	/* a count whose split leaves the last piece empty (5 in 4) */
	frag(f, q, o, 5, 0, 4, 0, 2);
	DROPPED();
	/* the piece before: taken (its packet waits) ... */
	uint64_t taken = ctr(s, 1, "rx_fragments");
	frag(f, q, o, 1000, 0, 3, 0, 334);
	assert_int_equal(ctr(s, 1, "rx_fragments"), taken + 1);
	/* ... then one overlapping it (its offset 10 bytes back) */
	frag(f, q, o - 10, 1000, 1, 3, 334, 334);
	DROPPED();
	/* and the same packet, other length */
	frag(f, q, o, 900, 1, 3, 300, 300);
	DROPPED();
	assert_int_equal(ctr(s, 1, "rx_reassembled"), 0);
	/* a fragment far beyond the window */
	frag(f, q + 5000, o, 1000, 0, 2, 0, 500);
	assert_true(ctr(s, 1, "rx_beyond_window") > 0);
	/* the session is whole: the real sender's messages, every byte */
	sim_tap = NULL;
	assert_int_equal(sim_count(f->x.rx, FERRY_EVT_DOWN, 0), 0);
	f->x.n = 40;
	f->x.got = f->x.sent = 0;
	f->x.seed = 22;
	s->on_step = xfer_step;
	s->step_arg = &f->x;
	uint32_t before = sim_count(f->x.rx, FERRY_REC_DATA, 0);
	assert_true(sim_run(s, s->now + 5 * SEC, xfer_done, &f->x));
	assert_int_equal(sim_count(f->x.rx, FERRY_REC_DATA, 0), before + 40);
	assert_int_equal(ctr(s, 1, "protocol_errors"), 0);
	/* the forged piece held was never part of a packet: nothing of it
	 * reached the client */
	assert_int_equal(ctr(s, 1, "rx_reassembled"), 0);
	s->on_step = NULL;
	sim_fini(s);
	free(f);
#undef DROPPED
}

/* ---- over a secure channel --------------------------------------------- */

/* What crosses from host 0 to host 1, against the size host 0 believes in
 * when it sends (a probe, a padded PING, is meant to be larger). */
struct sizes {
	struct sim *s;
	uint64_t sealed, plain;
	uint64_t over_belief;   /* packets larger than host 0's path MTU then */
	uint64_t over_path;     /* ... larger than the path, once host 0 knew it */
	uint32_t path;          /* the path's MTU */
	uint32_t largest_sealed;/* IP size of the largest sealed non-probe */
};

static bool size_tap(struct sim *s, const struct sim_pkt *p, void *arg)
{
	struct sizes *z = arg;
	if (p->src != s->h[0].ip || p->len < sizeof(struct ferry_wire_hdr))
		return false;
	struct ferry_wire_hdr h;
	memcpy(&h, p->data, sizeof(h));
	if (ntohs(h.flags) & FWF_SEALED)
		z->sealed++;
	else if (h.type < FW_KEEPALIVE)
		z->plain++;
	if (h.type == FW_PING)
		return false; /* probes try sizes on purpose */
	uint32_t ip = p->len + FERRY_WIRE_IPUDP_HLEN, mtu = mtu_of(s);
	if (ip > mtu)
		z->over_belief++;
	if (mtu <= z->path && ip > z->path)
		z->over_path++;
	if ((ntohs(h.flags) & FWF_SEALED) && ip > z->largest_sealed)
		z->largest_sealed = ip;
	return false;
}

enum small_path { SMALL_ICMP, SMALL_BLACKHOLE, SMALL_CONFIGURED };

/* A checked transfer over @p mode with host 0's path to host 1 narrower
 * than the ports (1280 against 1500; configured: 1200 from net.peer_mtus). */
static void secure_small_path(enum fcore_sec_mode mode, enum small_path how, uint64_t seed)
{
	static const char *const name[] = {"ICMP", "black hole", "net.peer_mtus"};
	g_sec = mode;
	struct run *r = run_new(seed, how == SMALL_CONFIGURED ? configured : params);
	struct sim *s = &r->s;
	struct xfer *x = &r->x;
	struct sizes z = {.s = s, .path = how == SMALL_CONFIGURED ? 1200 : 1280};
	if (how != SMALL_CONFIGURED) {
		s->dir[0].path_mtu = z.path;
		s->dir[0].icmp = how == SMALL_ICMP;
	}
	sim_tap = size_tap;
	sim_tap_arg = &z;
	uint64_t t = transfer(s, x, 200, (uint32_t)seed);
	assert_int_equal(mtu_of(s), z.path);
	/* every message arrived (transfer() checked each byte), every session
	 * packet under the seal, none larger than host 0 thought the path was,
	 * none larger than the path once it knew, the ports' MTU never passed */
	assert_int_equal(x->got, 200);
	assert_int_equal(z.plain, 0);
	assert_true(z.sealed > 200);
	assert_int_equal(z.over_belief, 0);
	assert_int_equal(z.over_path, 0);
	assert_true(s->dir[0].max_ip <= 1500);
	assert_true(z.largest_sealed <= 1500);
	/* the full path is used: a sealed packet of the path's size went */
	assert_int_equal(z.largest_sealed, how == SMALL_CONFIGURED ? z.path : 1500);
	assert_int_equal(ctr(s, 0, "pmtu_icmp_lowered"), how == SMALL_ICMP ? 1 : 0);
	assert_int_equal(ctr(s, 0, "pmtu_blackhole_lowered"), how == SMALL_BLACKHOLE ? 2 : 0);
	if (how != SMALL_CONFIGURED) {
		/* what was in flight at 1500 came again in pieces, each sealed */
		assert_true(ctr(s, 1, "rx_reassembled") > 0);
		assert_int_equal(ctr(s, 1, "rx_fragments_dropped"), 0);
	} else {
		assert_int_equal(s->dir[0].too_big, 0);
		assert_int_equal(s->dir[0].max_ip, z.path);
	}
	for (int h = 0; h < 2; h++) {
		assert_int_equal(ctr(s, h, "rx_auth_failed"), 0);
		assert_int_equal(ctr(s, h, "rx_security_mismatch"), 0);
		assert_int_equal(ctr(s, h, "rx_malformed"), 0);
	}
	print_message("%s, %s at %u: 200 x 24 KiB in %.2f ms (simulated); %llu packets too "
		      "big, %llu fragments, %llu sealed packets\n",
		      mode == FCORE_SEC_ENCRYPT ? "encrypt" : "authenticate", name[how], z.path,
		      (double)t / 1e6, (unsigned long long)s->dir[0].too_big,
		      (unsigned long long)ctr(s, 0, "tx_fragments"), (unsigned long long)z.sealed);
	run_free(r);
	g_sec = FCORE_SEC_NONE;
}

static void test_secure_small_path(void **state)
{
	(void)state;
	secure_small_path(FCORE_SEC_ENCRYPT, SMALL_ICMP, 31);
	secure_small_path(FCORE_SEC_ENCRYPT, SMALL_BLACKHOLE, 32);
	secure_small_path(FCORE_SEC_ENCRYPT, SMALL_CONFIGURED, 33);
	secure_small_path(FCORE_SEC_AUTHENTICATE, SMALL_ICMP, 34);
	secure_small_path(FCORE_SEC_AUTHENTICATE, SMALL_BLACKHOLE, 35);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_icmp_lowers),
		cmocka_unit_test(test_blackhole),
		cmocka_unit_test(test_loss_is_not_a_blackhole),
		cmocka_unit_test(test_probe_up),
		cmocka_unit_test(test_forged_report),
		cmocka_unit_test(test_kept_for_next_session),
		cmocka_unit_test(test_configured),
		cmocka_unit_test(test_fragments_reordered),
		cmocka_unit_test(test_fragments_out_of_order),
		cmocka_unit_test(test_fragments_hostile),
		cmocka_unit_test(test_secure_small_path),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
