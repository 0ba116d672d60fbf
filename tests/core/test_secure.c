/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Secure channels (daemon/core/secure.c): two engines on the simulated
 * link (sim.h), each with its key pair, its security.mode and the keys it
 * trusts. Sessions over encrypt and authenticate, with each AEAD; keys not
 * trusted, or not from that address, and a mode mismatch refused with a
 * reason the client sees; tampered, replayed, truncated and reordered
 * packets counted and dropped while the session delivers every byte; an
 * eavesdropper's forged CLOSE, RESET, OPEN-then-PONG and ACKs, which end
 * or starve a session with mode none and fail with encryption; new keys under a long
 * transfer, by packet count and by time; a restarted ferryd, whether it
 * sends first or its peer does; forged triggers and handshakes that cost
 * no more than the budget. Every step checks both engines' invariants.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <sodium.h>

#include "ferry.h"
#include "sim.h"
#include "sim_util.h"
#include "wire.h"

#define HDR sizeof(struct ferry_wire_hdr)
#define TRAILER (sizeof(struct ferry_wire_seal) + FERRY_WIRE_TAG)

/* ---- set-up: what each host runs ----------------------------------------- */

static struct {
	enum fcore_sec_mode mode[SIM_HOSTS];
	uint32_t aeads[SIM_HOSTS];
	uint64_t rekey_packets, rekey_ns;
	/* rows host i trusts instead of the other host's key (n 0: the
	 * default of sim_secure()) */
	struct fcore_trusted trust[SIM_HOSTS][4];
	uint32_t n_trust[SIM_HOSTS];
	uint32_t max_sessions[SIM_HOSTS]; /* 0: the simulator's */
} g;

static void tweak(struct fcore_params *p, int host)
{
	if (g.mode[host] == FCORE_SEC_NONE)
		return;
	sim_secure(p, host, g.mode[host]);
	p->sec_aeads = g.aeads[host];
	p->sec_rekey_packets = g.rekey_packets;
	p->sec_rekey_ns = g.rekey_ns;
	if (g.n_trust[host])
		sim_trust(p, host, g.trust[host], g.n_trust[host]);
	if (g.max_sessions[host])
		p->max_sessions = p->max_sessions_per_client = g.max_sessions[host];
}

static void setup(struct sim *s, uint64_t seed, enum fcore_sec_mode m0, enum fcore_sec_mode m1)
{
	g.mode[0] = m0;
	g.mode[1] = m1;
	sim_init(s, seed, tweak);
}

static void reset_g(void)
{
	memset(&g, 0, sizeof(g));
}

static uint64_t ctr(struct sim *s, int h, const char *name)
{
	char label[64];
	snprintf(label, sizeof(label), "remote.%s", name);
	return sim_counter(s, h, label);
}

/* The sum of the counters a dropped sealed packet may land in. */
static uint64_t dropped(struct sim *s, int h)
{
	return ctr(s, h, "rx_auth_failed") + ctr(s, h, "rx_replayed") +
	       ctr(s, h, "rx_unknown_key") + ctr(s, h, "rx_malformed") +
	       ctr(s, h, "rx_security_mismatch");
}

/* Connect host 0 client 0 to "svc" on host 1; @return the DOWN reason, or
 * 0 when it came up (and was accepted). */
static int try_connect(struct sim *s)
{
	struct sim_client *a = s->h[0].cl[0].attached ? &s->h[0].cl[0] : sim_client(s, 0, 0, 1 << 20);
	struct sim_client *b = s->h[1].cl[0].attached ? &s->h[1].cl[0] : sim_client(s, 1, 0, 1 << 20);
	if (sim_find(b, FERRY_EVT_LISTEN, 0) == NULL)
		assert_int_equal(sim_listen(b, "svc"), 0);
	uint32_t down0 = sim_count(a, FERRY_EVT_DOWN, 0), up0 = sim_count(a, FERRY_EVT_UP, 0);
	uint32_t in0 = sim_count(b, FERRY_EVT_INCOMING, 0);
	sim_connect(a, 1, "svc");
	for (int i = 0; i < 500; i++) {
		sim_for(s, 10 * MS);
		if (sim_count(b, FERRY_EVT_INCOMING, 0) > in0) {
			assert_int_equal(sim_accept(b, sim_find(b, FERRY_EVT_INCOMING, 0)->session), 0);
			in0++;
		}
		if (sim_count(a, FERRY_EVT_UP, 0) > up0)
			return 0;
		if (sim_count(a, FERRY_EVT_DOWN, 0) > down0)
			return sim_find(a, FERRY_EVT_DOWN, 0)->status;
	}
	fail_msg("the connect neither came up nor went down in 5 s");
	return -1;
}

/* Run a flow both ways (a -> b: @p n messages up to @p max bytes; b -> a a
 * quarter of that) until both are through. */
static void both_ways(struct sim *s, struct pair *p, uint32_t n, uint32_t max, uint64_t limit)
{
	struct flow *ab = flow_new(p->a, p->b, p->ida, 21, max, n);
	struct flow *ba = flow_new(p->b, p->a, p->idb, 23, max / 4 + 1, n);
	s->on_step = flow_step;
	s->step_arg = ab;
	bool done = false;
	for (uint64_t t = 0; t < limit && !done; t += 1 * MS) {
		sim_for(s, 1 * MS);
		flow_step(s, ba);
		done = flow_done(s, ab) && flow_done(s, ba);
	}
	s->on_step = NULL;
	assert_true(done);
	assert_int_equal(check_stream(p->b, p->idb, 21, max), n);
	assert_int_equal(check_stream(p->a, p->ida, 23, max / 4 + 1), n);
	assert_int_equal(sim_count(p->a, FERRY_EVT_DOWN, 0) + sim_count(p->b, FERRY_EVT_DOWN, 0), 0);
	free(ab);
	free(ba);
}

/* ---- a tap that looks for a marker in what crosses the link -------------- */

static const char MARKER[] = "the quick brown fox jumps over the lazy dog";

struct look {
	unsigned seen_plain, sealed, plain;
};

static bool look_tap(struct sim *s, const struct sim_pkt *p, void *arg)
{
	(void)s;
	struct look *l = arg;
	if (memmem(p->data, p->len, MARKER, sizeof(MARKER) - 1))
		l->seen_plain++;
	struct ferry_wire_hdr h;
	memcpy(&h, p->data, HDR);
	if (ntohs(h.flags) & FWF_SEALED)
		l->sealed++;
	else if (h.type < FW_KEEPALIVE)
		l->plain++;
	return false;
}

/* ---- sessions over a secure channel -------------------------------------- */

static void session_with(enum fcore_sec_mode mode, uint32_t aeads0, uint32_t aeads1,
			 unsigned want_aead)
{
	struct sim s;
	struct pair p, q;
	struct look l = {0};
	reset_g();
	g.aeads[0] = aeads0;
	g.aeads[1] = aeads1;
	setup(&s, 11, mode, mode);
	sim_tap = look_tap;
	sim_tap_arg = &l;
	open_pair(&s, &p, 4 << 20);
	assert_int_equal(fcore_channel_aead(s.h[0].core, s.h[1].ip), want_aead);
	assert_int_equal(fcore_channel_aead(s.h[1].core, s.h[0].ip), want_aead);
	open_pair(&s, &q, 4 << 20);
	for (int i = 0; i < 3; i++)
		assert_int_equal(sim_send(q.a, q.ida, MARKER, sizeof(MARKER)), 0);
	assert_true(wait_for(&s, q.b, FERRY_REC_DATA, 3, 1 * SEC));
	assert_memory_equal(sim_find(q.b, FERRY_REC_DATA, q.idb)->data, MARKER, sizeof(MARKER));
	both_ways(&s, &p, 400, 60000, 20 * SEC);
	/* the marker crossed the wire readable only when not encrypted; no
	 * session packet went without a seal */
	if (mode == FCORE_SEC_ENCRYPT)
		assert_int_equal(l.seen_plain, 0);
	else
		assert_true(l.seen_plain >= 1); /* the three share a packet */
	assert_int_equal(l.plain, 0);
	assert_true(l.sealed > 400);
	for (int h = 0; h < 2; h++) {
		assert_int_equal(ctr(&s, h, "handshakes_done"), 1);
		assert_int_equal(dropped(&s, h), 0);
		assert_int_equal(ctr(&s, h, "rx_handshake_invalid"), 0);
		/* every packet on the link counted sent, handshakes and
		 * KEEPALIVEs too (a capture is checked against it) */
		assert_int_equal(s.dir[h].sent, ctr(&s, h, "tx_packets"));
	}
	/* one handshake, whoever sent first: host 1 never initiated */
	assert_int_equal(ctr(&s, 0, "tx_handshakes"), 1);
	assert_int_equal(ctr(&s, 1, "tx_handshakes"), 0);
	sim_fini(&s);
}

static void test_encrypt(void **state)
{
	(void)state;
	unsigned best = crypto_aead_aes256gcm_is_available() ? FCORE_AEAD_AES256GCM
							     : FCORE_AEAD_CHACHA20POLY1305;
	session_with(FCORE_SEC_ENCRYPT, 0, 0, best);
	/* a peer without AES-NI: both use ChaCha20-Poly1305 */
	session_with(FCORE_SEC_ENCRYPT, 0, FCORE_AEAD_CHACHA20POLY1305,
		     FCORE_AEAD_CHACHA20POLY1305);
	session_with(FCORE_SEC_ENCRYPT, FCORE_AEAD_CHACHA20POLY1305, 0,
		     FCORE_AEAD_CHACHA20POLY1305);
}

static void test_authenticate(void **state)
{
	(void)state;
	unsigned best = crypto_aead_aes256gcm_is_available() ? FCORE_AEAD_AES256GCM
							     : FCORE_AEAD_CHACHA20POLY1305;
	session_with(FCORE_SEC_AUTHENTICATE, 0, 0, best);
	session_with(FCORE_SEC_AUTHENTICATE, FCORE_AEAD_CHACHA20POLY1305,
		     FCORE_AEAD_CHACHA20POLY1305, FCORE_AEAD_CHACHA20POLY1305);
}

/* ---- trust ---------------------------------------------------------------- */

static struct fcore_trusted row(int host, int variant, uint32_t addr, uint8_t len)
{
	uint8_t priv[32];
	struct fcore_trusted t = {.net = {.addr = addr, .prefix_len = len}};
	sim_keypair(host, variant, priv, t.key);
	return t;
}

/* Host 0 connects to host 1 trusting what g says; @return the reason. */
static int connect_reason(uint64_t seed)
{
	struct sim s;
	setup(&s, seed, FCORE_SEC_ENCRYPT, FCORE_SEC_ENCRYPT);
	int reason = try_connect(&s);
	if (reason) {
		assert_int_equal(sim_count(&s.h[1].cl[0], FERRY_EVT_INCOMING, 0), 0);
		assert_int_equal(fcore_sessions(s.h[1].core), 0);
	}
	sim_check(&s);
	sim_fini(&s);
	return reason;
}

static void test_untrusted(void **state)
{
	(void)state;
	/* host 1 trusts another key for host 0's address */
	reset_g();
	g.trust[1][0] = row(0, 1, 0x0a000001, 32);
	g.n_trust[1] = 1;
	assert_int_equal(connect_reason(1), FERRY_REASON_UNTRUSTED);
	/* host 1 trusts host 0's key, from another address only */
	g.trust[1][0] = row(0, 0, 0x0a000063, 32);
	assert_int_equal(connect_reason(2), FERRY_REASON_UNTRUSTED);
	/* ... and from host 0's subnet: fine */
	g.trust[1][0] = row(0, 0, 0x0a000000, 24);
	assert_int_equal(connect_reason(3), 0);
	/* host 0 has a wrong key for host 1: host 1 cannot read its
	 * handshake, says so, and host 0 gives up */
	reset_g();
	g.trust[0][0] = row(1, 1, 0x0a000002, 32);
	g.n_trust[0] = 1;
	assert_int_equal(connect_reason(4), FERRY_REASON_UNTRUSTED);
	/* host 0 has no key at all for host 1's address */
	g.trust[0][0] = row(1, 0, 0x0a000063, 32);
	assert_int_equal(connect_reason(5), FERRY_REASON_UNTRUSTED);
	/* two keys for one subnet, the wrong one listed first: the second try
	 * takes the next key, and the session comes up */
	g.trust[0][0] = row(1, 1, 0x0a000000, 24);
	g.trust[0][1] = row(1, 0, 0x0a000000, 24);
	g.n_trust[0] = 2;
	struct sim s;
	setup(&s, 6, FCORE_SEC_ENCRYPT, FCORE_SEC_ENCRYPT);
	assert_int_equal(try_connect(&s), 0);
	assert_int_equal(ctr(&s, 0, "tx_handshakes"), 2);
	assert_int_equal(ctr(&s, 1, "handshakes_refused"), 1);
	sim_fini(&s);
	/* a /32 is preferred to a /24: the right key, first time */
	g.trust[0][0] = row(1, 1, 0x0a000000, 24);
	g.trust[0][1] = row(1, 0, 0x0a000002, 32);
	setup(&s, 7, FCORE_SEC_ENCRYPT, FCORE_SEC_ENCRYPT);
	assert_int_equal(try_connect(&s), 0);
	assert_int_equal(ctr(&s, 0, "tx_handshakes"), 1);
	sim_fini(&s);
}

static void test_mode_mismatch(void **state)
{
	(void)state;
	static const enum fcore_sec_mode pairs[][2] = {
		{FCORE_SEC_ENCRYPT, FCORE_SEC_AUTHENTICATE},
		{FCORE_SEC_AUTHENTICATE, FCORE_SEC_ENCRYPT},
		{FCORE_SEC_ENCRYPT, FCORE_SEC_NONE},
		{FCORE_SEC_NONE, FCORE_SEC_ENCRYPT},
		{FCORE_SEC_NONE, FCORE_SEC_AUTHENTICATE},
	};
	for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		struct sim s;
		reset_g();
		setup(&s, 20 + i, pairs[i][0], pairs[i][1]);
		assert_int_equal(try_connect(&s), FERRY_REASON_SECURITY);
		assert_int_equal(sim_count(&s.h[1].cl[0], FERRY_EVT_INCOMING, 0), 0);
		/* host 1 got what it could not take (a handshake with none, a
		 * plain OPEN with security on), or both refused */
		if (pairs[i][0] == FCORE_SEC_NONE || pairs[i][1] == FCORE_SEC_NONE)
			assert_true(ctr(&s, 1, "rx_security_mismatch") > 0);
		else
			assert_true(ctr(&s, 0, "handshakes_refused") + ctr(&s, 1, "handshakes_refused") >=
				    2);
		/* a second try is refused at once, from memory */
		uint64_t hs = ctr(&s, 0, "tx_handshakes");
		assert_int_equal(try_connect(&s), FERRY_REASON_SECURITY);
		if (pairs[i][0] != FCORE_SEC_NONE)
			assert_int_equal(ctr(&s, 0, "tx_handshakes"), hs);
		sim_fini(&s);
	}
}

/* ---- damaged packets ------------------------------------------------------ */

/* Copies of sealed packets from host @p from, to play with later. */
struct keep {
	int from;
	uint8_t type;   /* of this type only (0: any) */
	uint32_t every; /* keep every n-th */
	bool drop;      /* and keep it from its receiver */
	uint32_t n, seen;
	struct sim_pkt p[64];
};

static bool keep_tap(struct sim *s, const struct sim_pkt *p, void *arg)
{
	struct keep *k = arg;
	if (p->src != s->h[k->from].ip || (k->type && p->data[1] != k->type))
		return false;
	if (k->seen++ % k->every || k->n == 64)
		return false;
	struct sim_pkt *c = &k->p[k->n++];
	*c = *p;
	c->data = malloc(p->len);
	assert_non_null(c->data);
	memcpy(c->data, p->data, p->len);
	return k->drop;
}

static void keep_free(struct keep *k)
{
	for (uint32_t i = 0; i < k->n; i++)
		free(k->p[i].data);
	k->n = 0;
}

/* Tampered (every byte of an ACK, in turn), replayed, truncated packets,
 * and a link that reorders and duplicates: each damaged one is counted
 * and dropped before it changes anything (the ACK itself, intact, is
 * taken after all its damaged copies), and the session delivers every
 * message intact. */
static void test_damaged(void **state)
{
	(void)state;
	struct sim s;
	struct pair p;
	reset_g();
	setup(&s, 30, FCORE_SEC_ENCRYPT, FCORE_SEC_ENCRYPT);
	open_pair(&s, &p, 4 << 20);
	struct keep acks = {.from = 1, .type = FW_ACK, .every = 7, .drop = true};
	struct keep data = {.from = 0, .type = FW_DATA, .every = 5};
	sim_tap = keep_tap;
	sim_tap_arg = &data;
	struct flow *f = flow_new(p.a, p.b, p.ida, 31, 30000, 3000);
	s.on_step = flow_step;
	s.step_arg = f;
	sim_for(&s, 5 * MS);
	sim_tap_arg = &acks;
	sim_for(&s, 5 * MS);
	sim_tap = NULL;
	print_message("kept %u DATA, %u ACK\n", data.n, acks.n);
	assert_true(data.n > 10 && acks.n > 2);

	uint64_t before = dropped(&s, 0) + dropped(&s, 1), injected = 0;
	/* an ACK host 0 never got, every byte but the key id flipped in
	 * turn: its tag fails (a counter flipped to one seen is a replay) */
	struct sim_pkt *a = &acks.p[acks.n - 1];
	uint64_t auth0 = ctr(&s, 0, "rx_auth_failed");
	for (uint32_t b = 0; b < a->len; b++) {
		if (b >= a->len - TRAILER && b < a->len - TRAILER + 4)
			continue;
		a->data[b] ^= 0x10;
		sim_inject(&s, 1, 0, a->data, a->len);
		a->data[b] ^= 0x10;
		injected++;
	}
	assert_true(ctr(&s, 0, "rx_auth_failed") - auth0 >= a->len - sizeof(struct ferry_wire_seal));
	/* none of them spent its counter: the ACK itself is taken */
	uint64_t mid = dropped(&s, 0) + dropped(&s, 1);
	sim_inject(&s, 1, 0, a->data, a->len);
	assert_int_equal(dropped(&s, 0) + dropped(&s, 1), mid);
	/* replayed: every DATA packet kept, again */
	uint64_t rep1 = ctr(&s, 1, "rx_replayed");
	for (uint32_t i = 0; i < data.n; i++, injected++)
		sim_inject(&s, 0, 1, data.p[i].data, data.p[i].len);
	assert_int_equal(ctr(&s, 1, "rx_replayed") - rep1, data.n);
	/* truncated to every shorter length */
	struct sim_pkt *d = &data.p[1];
	for (uint32_t len = 0; len < d->len; len++, injected++)
		sim_inject(&s, 0, 1, d->data, len);
	/* the key id flipped: keys we do not hold (it may start a handshake,
	 * which changes nothing for the session) */
	d->data[d->len - TRAILER] ^= 0x80;
	sim_inject(&s, 0, 1, d->data, d->len);
	injected++;
	assert_int_equal(dropped(&s, 0) + dropped(&s, 1) - before, injected);
	/* and the link now reorders and duplicates */
	sim_faults(&s, 0, 5, 0.0, 0.02, 0.05);
	sim_faults(&s, 1, 6, 0.0, 0.02, 0.05);
	assert_true(sim_run(&s, s.now + 20 * SEC, flow_done, f));
	assert_int_equal(check_stream(p.b, p.idb, 31, 30000), 3000);
	assert_int_equal(sim_count(p.a, FERRY_EVT_DOWN, 0) + sim_count(p.b, FERRY_EVT_DOWN, 0), 0);
	/* duplicates are replays to the window; reordering within it is not */
	assert_true(ctr(&s, 1, "rx_replayed") > rep1 + data.n);
	s.on_step = NULL;
	free(f);
	keep_free(&acks);
	keep_free(&data);
	sim_fini(&s);
}

/* ---- an eavesdropper that forges ------------------------------------------ */

/* The newest packet each way, as a host on the path sees it. */
struct spy {
	uint8_t last[SIM_HOSTS][HDR];
	uint8_t last_ack[SIM_HOSTS][HDR]; /* the newest ACK */
	uint8_t last_ack_seal[SIM_HOSTS][TRAILER]; /* its seal, if any */
	uint8_t last_data[SIM_HOSTS][HDR];
	uint8_t last_ping[SIM_HOSTS][HDR];
	bool have_ack[SIM_HOSTS];
	bool eat_pings; /* keep host 0's PINGs from host 1 */
	/* starve: drop host 0's DATA and answer it with forged ACKs */
	bool starve;
	uint32_t starved, max_seq;
	bool owe_ack;
};

static bool spy_tap(struct sim *s, const struct sim_pkt *p, void *arg)
{
	struct spy *y = arg;
	int from = p->src == s->h[0].ip ? 0 : 1;
	if (p->len < HDR)
		return false;
	memcpy(y->last[from], p->data, HDR);
	if (p->data[1] == FW_ACK) {
		memcpy(y->last_ack[from], p->data, HDR);
		if (p->len >= HDR + TRAILER)
			memcpy(y->last_ack_seal[from], p->data + p->len - TRAILER, TRAILER);
		y->have_ack[from] = true;
	}
	if (p->data[1] == FW_DATA)
		memcpy(y->last_data[from], p->data, HDR);
	if (p->data[1] == FW_PING) {
		memcpy(y->last_ping[from], p->data, HDR);
		if (y->eat_pings && from == 0)
			return true;
	}
	if (y->starve && from == 0 && p->data[1] == FW_DATA && y->starved < 40) {
		struct ferry_wire_hdr h;
		memcpy(&h, p->data, HDR);
		y->starved++;
		y->max_seq = ntohl(h.seq);
		y->owe_ack = true;
		return true; /* host 1 never gets it */
	}
	return false;
}

/* A header as host @p from sent it, turned into @p type (and with @p ack
 * for the ack field, no selective acks, when not 0), sent twice: as a
 * plain packet, and under the seal of @p sealed, the packet it came from,
 * whose key id and counter the forger can read but whose tag it cannot
 * make. */
static void forge(struct sim *s, int from, const uint8_t *base, const uint8_t *sealed,
		  uint8_t type, uint32_t aux, uint32_t ack)
{
	uint8_t pkt[HDR + TRAILER];
	struct ferry_wire_hdr h;
	memcpy(&h, base, HDR);
	h.type = type;
	h.aux = htonl(aux);
	if (ack) {
		h.ack = htonl(ack);
		h.sack = 0;
	}
	h.flags &= htons((uint16_t)~FWF_SEALED);
	sim_inject(s, from, 1 - from, &h, HDR);
	h.flags |= htons(FWF_SEALED);
	memcpy(pkt, &h, HDR);
	memcpy(pkt + HDR, sealed, TRAILER);
	pkt[HDR + 11] ^= 0x01; /* a counter not seen yet, likely */
	sim_inject(s, from, 1 - from, pkt, sizeof(pkt));
}

static void forged_close_and_reset(enum fcore_sec_mode mode)
{
	struct sim s;
	struct pair p, q;
	struct spy y = {0};
	reset_g();
	setup(&s, 40, mode, mode);
	sim_tap = spy_tap;
	sim_tap_arg = &y;
	open_pair(&s, &p, 4 << 20);
	for (int i = 0; i < 5; i++)
		assert_int_equal(sim_send(p.a, p.ida, "hello", 5), 0);
	assert_true(wait_for(&s, p.b, FERRY_REC_DATA, 5, 1 * SEC));
	sim_for(&s, 5 * MS);
	assert_true(y.have_ack[1]);
	/* a CLOSE "from host 1": its ids, a seq in host 0's window and acks
	 * of what host 0 sent, all read off host 1's last ACK */
	forge(&s, 1, y.last_ack[1], y.last_ack_seal[1], FW_CLOSE, FERRY_REASON_CLOSED, 0);
	sim_for(&s, 5 * MS);
	if (mode == FCORE_SEC_NONE) {
		struct sim_event *e = sim_find(p.a, FERRY_EVT_DOWN, p.ida);
		assert_non_null(e);
		assert_int_equal(e->status, FERRY_REASON_CLOSED);
	} else {
		assert_int_equal(sim_count(p.a, FERRY_EVT_DOWN, 0), 0);
		assert_int_equal(ctr(&s, 0, "rx_security_mismatch"), 1);
		assert_int_equal(ctr(&s, 0, "rx_auth_failed") + ctr(&s, 0, "rx_replayed"), 1);
	}
	/* a RESET "from host 1" on a second session, echoing the number of
	 * host 0's latest packet on it */
	open_pair(&s, &q, 4 << 20);
	assert_int_equal(sim_send(q.a, q.ida, "again", 5), 0);
	assert_true(wait_for(&s, q.b, FERRY_REC_DATA, 6, 1 * SEC));
	sim_for(&s, 5 * MS);
	struct ferry_wire_hdr ack1, data0;
	memcpy(&ack1, y.last_ack[1], HDR);
	memcpy(&data0, y.last_data[0], HDR);
	assert_int_equal(ntohl(ack1.dst_session), q.ida);
	assert_int_equal(ntohl(data0.src_session), q.ida);
	forge(&s, 1, y.last_ack[1], y.last_ack_seal[1], FW_RESET, 0, ntohl(data0.seq));
	sim_for(&s, 5 * MS);
	struct sim_event *e = sim_find(q.a, FERRY_EVT_DOWN, q.ida);
	if (mode == FCORE_SEC_NONE) {
		assert_non_null(e);
		assert_int_equal(e->status, FERRY_REASON_RESET);
	} else {
		assert_null(e);
		/* both sessions still carry messages */
		assert_int_equal(sim_send(p.a, p.ida, "still", 5), 0);
		assert_int_equal(sim_send(q.a, q.ida, "still", 5), 0);
		assert_true(wait_for(&s, p.b, FERRY_REC_DATA, 8, 1 * SEC));
	}
	sim_fini(&s);
}

static void test_forged_close_reset(void **state)
{
	(void)state;
	forged_close_and_reset(FCORE_SEC_NONE);
	forged_close_and_reset(FCORE_SEC_ENCRYPT);
	forged_close_and_reset(FCORE_SEC_AUTHENTICATE);
}

/* An OPEN "from host 1" claiming a new incarnation makes host 0 ask host
 * 1 with a PING; a host on the path keeps the PING from host 1, reads its
 * nonce and answers for host 1 with a PONG that proves the "restart":
 * with mode none every session with host 1 ends (FERRY_REASON_RESET).
 * With security neither forgery is taken. */
static void forged_open_reset(enum fcore_sec_mode mode)
{
	struct sim s;
	struct pair p;
	struct spy y = {0};
	reset_g();
	setup(&s, 45, mode, mode);
	sim_tap = spy_tap;
	sim_tap_arg = &y;
	open_pair(&s, &p, 4 << 20);
	y.eat_pings = true;
	struct {
		struct ferry_wire_hdr h;
		struct ferry_wire_open o;
	} open = {.h = {.version = FERRY_WIRE_VERSION, .type = FW_OPEN,
			.src_session = htonl(0x1234567), .seq = htonl(99)},
		  .o = {.service = "svc", .incarnation = htonl(0xdeadbeef),
			.max_window = htonl(1 << 20)}};
	sim_inject(&s, 1, 0, &open, sizeof(open));
	sim_for(&s, 1 * MS);
	struct ferry_wire_hdr ping;
	memcpy(&ping, y.last_ping[0], HDR);
	if (mode == FCORE_SEC_NONE) {
		assert_int_equal(ping.type, FW_PING); /* host 0 asks */
		forge(&s, 1, (const uint8_t *)&ping, y.last_ack_seal[1], FW_PONG, 0xdeadbeef,
		      ntohl(ping.seq));
		sim_for(&s, 1 * MS);
		struct sim_event *e = sim_find(p.a, FERRY_EVT_DOWN, p.ida);
		assert_non_null(e);
		assert_int_equal(e->status, FERRY_REASON_RESET);
	} else {
		/* the OPEN was refused unread: no PING to answer; a PONG
		 * forged anyway is not taken either */
		assert_int_equal(ctr(&s, 0, "tx_pings"), 0);
		assert_int_equal(ctr(&s, 0, "rx_security_mismatch"), 1);
		forge(&s, 1, (const uint8_t *)&ping, y.last_ack_seal[1], FW_PONG, 0xdeadbeef,
		      ntohl(ping.seq));
		sim_for(&s, 1 * MS);
		assert_int_equal(sim_count(p.a, FERRY_EVT_DOWN, 0), 0);
		assert_int_equal(ctr(&s, 0, "peer_restarts"), 0);
		assert_int_equal(sim_send(p.a, p.ida, "alive", 5), 0);
		assert_true(wait_for(&s, p.b, FERRY_REC_DATA, 1, 1 * SEC));
	}
	sim_fini(&s);
}

static void test_forged_open_reset(void **state)
{
	(void)state;
	forged_open_reset(FCORE_SEC_NONE);
	forged_open_reset(FCORE_SEC_ENCRYPT);
}

/* After each step: the ACK the eavesdropper owes for DATA it swallowed. */
static void starve_step(struct sim *s, void *arg)
{
	struct flow *f = arg;
	struct spy *y = sim_tap_arg;
	flow_step(s, f);
	if (!y->owe_ack || !y->have_ack[1])
		return;
	y->owe_ack = false;
	forge(s, 1, y->last_ack[1], y->last_ack_seal[1], FW_ACK, 0, y->max_seq + 1);
}

/* Forged ACKs for DATA the forger keeps from the receiver: with mode none
 * the sender believes them, never sends that data again, and the session
 * starves; with a secure channel they fail and everything arrives. */
static void forged_acks(enum fcore_sec_mode mode)
{
	struct sim s;
	struct pair p;
	struct spy y = {0};
	reset_g();
	setup(&s, 50, mode, mode);
	sim_tap = spy_tap;
	sim_tap_arg = &y;
	open_pair(&s, &p, 4 << 20);
	struct flow *f = flow_new(p.a, p.b, p.ida, 51, 3000, 3000);
	s.on_step = starve_step;
	s.step_arg = f;
	sim_for(&s, 2 * MS);
	y.starve = true;
	bool done = sim_run(&s, s.now + 8 * SEC, flow_done, f);
	s.on_step = NULL;
	assert_int_equal(y.starved, 40);
	if (mode == FCORE_SEC_NONE) {
		assert_false(done);
		struct sim_event *e = sim_find(p.b, FERRY_EVT_DOWN, p.idb);
		if (e == NULL)
			e = sim_find(p.a, FERRY_EVT_DOWN, p.ida);
		assert_non_null(e);
		assert_int_equal(e->status, FERRY_REASON_TIMEOUT);
		assert_true(ctr(&s, 1, "stalled_sessions") + ctr(&s, 0, "stalled_sessions") >= 1);
	} else {
		assert_true(done);
		assert_int_equal(check_stream(p.b, p.idb, 51, 3000), 3000);
		assert_true(ctr(&s, 0, "rx_security_mismatch") >= 1);
		assert_true(ctr(&s, 0, "tx_retransmits") >= 40);
	}
	free(f);
	sim_fini(&s);
}

static void test_forged_acks(void **state)
{
	(void)state;
	forged_acks(FCORE_SEC_NONE);
	forged_acks(FCORE_SEC_ENCRYPT);
}

/* ---- new keys ------------------------------------------------------------- */

static void rekey(uint64_t packets, uint64_t ns, uint64_t ns_per_kb, const char *what)
{
	struct sim s;
	struct pair p;
	reset_g();
	g.rekey_packets = packets;
	g.rekey_ns = ns;
	setup(&s, 60, FCORE_SEC_ENCRYPT, FCORE_SEC_ENCRYPT);
	s.ns_per_kb = ns_per_kb;
	sim_faults(&s, 0, 61, 0.01, 0.0, 0.02);
	sim_faults(&s, 1, 62, 0.01, 0.0, 0.02);
	open_pair(&s, &p, 4 << 20);
	uint64_t t0 = s.now;
	both_ways(&s, &p, 3000, 20000, 60 * SEC);
	uint64_t rekeys = ctr(&s, 0, "rekeys") + ctr(&s, 1, "rekeys");
	uint64_t hs = ctr(&s, 0, "handshakes_done") + ctr(&s, 1, "handshakes_done");
	print_message("rekey by %s: %llu rekeys, %llu handshakes over %llu packets in %.2f s "
		      "(simulated)\n", what, (unsigned long long)rekeys, (unsigned long long)hs,
		      (unsigned long long)(s.dir[0].sent + s.dir[1].sent),
		      (double)(s.now - t0) / 1e9);
	assert_true(rekeys >= 4);
	assert_true(hs >= 2 * 4);
	for (int h = 0; h < 2; h++) {
		assert_int_equal(ctr(&s, h, "rx_auth_failed"), 0);
		assert_int_equal(ctr(&s, h, "rx_handshake_invalid"), 0);
		/* what went on the link was counted sent, KEEPALIVEs too */
		assert_int_equal(s.dir[h].sent, ctr(&s, h, "tx_packets") -
							ctr(&s, h, "tx_unkeyed_dropped"));
	}
	sim_fini(&s);
}

static void test_rekey_packets(void **state)
{
	(void)state;
	rekey(2000, 0, 800, "packet count"); /* 10 Gb/s */
}

static void test_rekey_time(void **state)
{
	(void)state;
	rekey(0, 200 * MS, 80000, "time"); /* 100 Mb/s: the transfer takes seconds */
}

/* ---- restarts ------------------------------------------------------------- */

static void test_restart(void **state)
{
	(void)state;
	struct sim s;
	struct pair p, q;
	reset_g();
	setup(&s, 70, FCORE_SEC_ENCRYPT, FCORE_SEC_ENCRYPT);
	open_pair(&s, &p, 4 << 20);
	/* the acceptor restarts; the opener sends under the old keys */
	sim_restart(&s, 1);
	uint64_t t0 = s.now;
	assert_int_equal(sim_send(p.a, p.ida, "hello", 5), 0);
	assert_true(wait_for(&s, p.a, FERRY_EVT_DOWN, 1, 2 * SEC));
	assert_int_equal(sim_find(p.a, FERRY_EVT_DOWN, p.ida)->status, FERRY_REASON_RESET);
	print_message("restarted acceptor: the opener's session down in %.1f ms\n",
		      (double)(s.now - t0) / 1e6);
	assert_true(s.now - t0 < 200 * MS);
	assert_true(ctr(&s, 1, "rx_unknown_key") >= 1);
	open_pair(&s, &q, 4 << 20);
	assert_int_equal(sim_send(q.a, q.ida, "again", 5), 0);
	assert_true(wait_for(&s, q.b, FERRY_REC_DATA, 1, 1 * SEC));

	/* the opener restarts and opens at once: the acceptor learns of it
	 * from the handshake, its old session ends, the new one works */
	struct sim_client *b = q.b;
	uint32_t old = q.idb;
	sim_restart(&s, 0);
	t0 = s.now;
	open_pair(&s, &q, 4 << 20);
	struct sim_event *e = sim_find(b, FERRY_EVT_DOWN, old);
	assert_non_null(e);
	assert_int_equal(e->status, FERRY_REASON_RESET);
	assert_true(s.now - t0 < 200 * MS);
	assert_int_equal(sim_send(q.a, q.ida, "third", 5), 0);
	assert_true(wait_for(&s, q.b, FERRY_REC_DATA, 2, 1 * SEC));
	sim_fini(&s);
}

static void test_restart_idle(void **state)
{
	(void)state;
	struct sim s;
	struct pair p;
	reset_g();
	setup(&s, 71, FCORE_SEC_ENCRYPT, FCORE_SEC_ENCRYPT);
	open_pair(&s, &p, 4 << 20);
	sim_restart(&s, 1);
	/* nothing is sent: keepalive's PING cannot be opened, which starts a
	 * handshake that tells the other side of the restart */
	assert_true(wait_for(&s, p.a, FERRY_EVT_DOWN, 1, 3 * SEC));
	assert_int_equal(sim_find(p.a, FERRY_EVT_DOWN, p.ida)->status, FERRY_REASON_RESET);
	assert_int_equal(ctr(&s, 0, "peer_restarts"), 1);
	sim_fini(&s);
}

/* ---- what a forger can make us spend -------------------------------------- */

/* A replayed handshake, sealed packets under made-up keys, and a flood of
 * made-up handshakes: each costs at most what the budget allows, and the
 * session goes on. */

static void test_forged_triggers(void **state)
{
	(void)state;
	struct sim s;
	struct pair p;
	reset_g();
	setup(&s, 80, FCORE_SEC_ENCRYPT, FCORE_SEC_ENCRYPT);
	struct keep real = {.from = 0, .type = FW_HS_INIT, .every = 1};
	sim_tap = keep_tap;
	sim_tap_arg = &real;
	open_pair(&s, &p, 4 << 20);
	sim_tap = NULL;
	assert_int_equal(real.n, 1);
	/* host 0's real HS_INIT, replayed: refused by its timestamp, before
	 * it can replace any keys */
	sim_for(&s, 50 * MS);
	uint64_t done0 = ctr(&s, 1, "handshakes_done"), inv0 = ctr(&s, 1, "rx_handshake_invalid");
	sim_inject(&s, 0, 1, real.p[0].data, real.p[0].len);
	assert_int_equal(ctr(&s, 1, "rx_handshake_invalid"), inv0 + 1);
	assert_int_equal(ctr(&s, 1, "handshakes_done"), done0);
	keep_free(&real);
	uint64_t hs0 = ctr(&s, 1, "tx_handshakes");
	/* 1000 sealed packets under made-up keys "from host 0", over 1 s:
	 * each may start a handshake, but one per 100 ms at most */
	uint8_t pkt[HDR + 64 + TRAILER];
	for (int i = 0; i < 1000; i++) {
		memset(pkt, i, sizeof(pkt));
		struct ferry_wire_hdr h = {.version = FERRY_WIRE_VERSION, .type = FW_DATA,
					   .flags = htons(FWF_SEALED)};
		memcpy(pkt, &h, HDR);
		sim_inject(&s, 0, 1, pkt, sizeof(pkt));
		sim_for(&s, 1 * MS);
	}
	uint64_t hs = ctr(&s, 1, "tx_handshakes") - hs0;
	print_message("1000 forged triggers in 1 s: %llu handshakes\n", (unsigned long long)hs);
	assert_true(hs >= 1 && hs <= 11);
	assert_int_equal(ctr(&s, 1, "rx_unknown_key"), 1000);
	/* the session goes on */
	assert_int_equal(sim_send(p.a, p.ida, "fine", 4), 0);
	assert_true(wait_for(&s, p.b, FERRY_REC_DATA, 1, 1 * SEC));
	assert_int_equal(sim_count(p.a, FERRY_EVT_DOWN, 0), 0);

	/* a sealed packet longer than any opened packet may be: malformed,
	 * before its key id is looked at */
	static uint8_t big[65536 + TRAILER + 64];
	memset(big, 7, sizeof(big));
	struct ferry_wire_hdr bh = {.version = FERRY_WIRE_VERSION, .type = FW_DATA,
				    .flags = htons(FWF_SEALED)};
	memcpy(big, &bh, HDR);
	uint64_t mal0 = ctr(&s, 1, "rx_malformed"), unk0 = ctr(&s, 1, "rx_unknown_key");
	sim_inject(&s, 0, 1, big, sizeof(big));
	assert_int_equal(ctr(&s, 1, "rx_malformed"), mal0 + 1);
	assert_int_equal(ctr(&s, 1, "rx_unknown_key"), unk0);

	/* 500 forged handshake initiations at once: the budget takes 100 */
	uint8_t init[HDR + 32 + 48 + 40]; /* Noise message 1's size */
	uint64_t lim0 = ctr(&s, 1, "handshakes_rate_limited");
	for (int i = 0; i < 500; i++) {
		memset(init, i + 1, sizeof(init));
		struct ferry_wire_hdr h = {.version = FERRY_WIRE_VERSION, .type = FW_HS_INIT,
					   .src_session = htonl(1000 + i)};
		memcpy(init, &h, HDR);
		sim_inject(&s, 0, 1, init, sizeof(init));
	}
	uint64_t lim = ctr(&s, 1, "handshakes_rate_limited") - lim0;
	print_message("500 forged initiations: %llu over the budget\n", (unsigned long long)lim);
	assert_true(lim >= 390 && lim <= 410);
	sim_for(&s, 10 * MS);
	assert_int_equal(sim_send(p.a, p.ida, "still", 5), 0);
	assert_true(wait_for(&s, p.b, FERRY_REC_DATA, 2, 1 * SEC));
	sim_fini(&s);
}

/* Host 1 trusts host 0's key anywhere in 10.0.0.0/16. A forger on that
 * subnet sends sealed packets under made-up keys from a new address every
 * millisecond, for 5 s: each starts a handshake (within the budget), and
 * each such channel lives until its handshake times out. Host 1's channel
 * table holds max_sessions + 256 = 272; without a cap on what triggers
 * take, the forger fills it and host 0's real handshake finds no room for
 * as long as the flood goes on. */
static void test_forged_triggers_many_addresses(void **state)
{
	(void)state;
	struct sim s;
	reset_g();
	g.trust[1][0] = row(0, 0, 0x0a000000u, 16);
	g.n_trust[1] = 1;
	g.max_sessions[1] = 16;
	setup(&s, 82, FCORE_SEC_ENCRYPT, FCORE_SEC_ENCRYPT);
	struct sim_client *a = sim_client(&s, 0, 0, 1 << 20);
	struct sim_client *b = sim_client(&s, 1, 0, 1 << 20);
	assert_int_equal(sim_listen(b, "svc"), 0);
	uint8_t pkt[HDR + 64 + TRAILER];
	uint32_t forged = 0;
	bool accepted = false, up = false;
	uint64_t lim0 = ctr(&s, 1, "handshakes_rate_limited");
	for (int ms = 0; ms < 5000 && !up; ms++) {
		memset(pkt, ms, sizeof(pkt));
		struct ferry_wire_hdr h = {.version = FERRY_WIRE_VERSION, .type = FW_DATA,
					   .flags = htons(FWF_SEALED)};
		memcpy(pkt, &h, HDR);
		sim_inject_ip(&s, 0x0a000100u + (uint32_t)ms, 1, pkt, sizeof(pkt)); /* 10.0.1.0 + ms */
		forged++;
		sim_for(&s, 1 * MS);
		/* the real peer connects once the table would be full */
		if (ms == 1000)
			sim_connect(a, 1, "svc");
		if (!accepted && sim_count(b, FERRY_EVT_INCOMING, 0) == 1) {
			assert_int_equal(sim_accept(b, sim_find(b, FERRY_EVT_INCOMING, 0)->session), 0);
			accepted = true;
		}
		up = sim_count(a, FERRY_EVT_UP, 0) == 1;
		assert_int_equal(sim_count(a, FERRY_EVT_DOWN, 0), 0);
	}
	uint64_t lim = ctr(&s, 1, "handshakes_rate_limited") - lim0;
	print_message("%u forged triggers from as many addresses: %llu refused\n", forged,
		      (unsigned long long)lim);
	assert_true(up);
	/* a quarter of the table, 68 channels, at 1000 a second: the rest
	 * of the first second's were refused */
	assert_true(lim >= 900);
	sim_check(&s);
	sim_fini(&s);
}

int main(void)
{
	assert_true(sodium_init() >= 0); /* before asking it about AES-NI */
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_encrypt),
		cmocka_unit_test(test_authenticate),
		cmocka_unit_test(test_untrusted),
		cmocka_unit_test(test_mode_mismatch),
		cmocka_unit_test(test_damaged),
		cmocka_unit_test(test_forged_close_reset),
		cmocka_unit_test(test_forged_open_reset),
		cmocka_unit_test(test_forged_acks),
		cmocka_unit_test(test_rekey_packets),
		cmocka_unit_test(test_rekey_time),
		cmocka_unit_test(test_restart),
		cmocka_unit_test(test_restart_idle),
		cmocka_unit_test(test_forged_triggers),
		cmocka_unit_test(test_forged_triggers_many_addresses),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
