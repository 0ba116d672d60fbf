/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fuzz-secure: secure channels (daemon/core/secure.c, secure_hs.c, seal.c,
 * noise.c) under a network the input plays. Two engines run
 * security.mode encrypt or authenticate on the simulated link of the
 * engine tests (tests/core/sim.c): real handshakes, real seals, a stream
 * of checked messages each way. The input, a byte code, moves time, sends
 * and reads, and does what a host on the path could: flip, truncate,
 * extend, drop or duplicate the next packets, replay any packet seen so
 * far (to either end, its own included), forge packets of any type with
 * the session ids and key ids it saw, report a smaller path MTU, and
 * restart either ferryd.
 *
 * Invariants, after every step: both engines' own (fcore_check()); and
 * what sealing promises: every message a client gets is the next one its
 * peer sent on that session, whole and in order, whatever the network
 * did (sessions may end, data never changes); and once the network is
 * honest again, a session both ends still hold (an ACCEPT paired their
 * ids) delivers everything that was sent on it.
 *
 * Byte code, after one byte that picks the mode and the AEAD:
 *   0 TIME n         run 0.1 ms * (1 + n); n = 255: 121 s (keys age)
 *   1 SEND d n       up to 1 + n % 8 messages on direction d
 *   2 MANGLE h k a b the next packet host h sends is changed: k picks
 *                    flip (byte a of it xor b), truncate (to a), extend
 *                    (b more bytes), drop, or duplicate
 *   3 REPLAY i to    recorded packet i again, to host to
 *   4 FORGE ...      a header (type, flags, ids from what was seen) and
 *                    up to 64 bytes of payload, from either host's
 *                    address or another one
 *   5 ICMP h mtu     host h hears that its path to the other is mtu bytes
 *   6 RESTART h      host h's ferryd restarts (its client with it)
 *   7 CONNECT        open the session again where it ended
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "log.h"
#include "sim_util.h"
#include "wire.h"

#define MAXM 3000u   /* largest message of the streams */
#define REC_MAX 64u  /* packets kept for replay */
#define PEND_MAX 16u /* changed packets waiting to be delivered */

enum { OP_TIME, OP_SEND, OP_MANGLE, OP_REPLAY, OP_FORGE, OP_ICMP, OP_RESTART, OP_CONNECT, OP_N };
enum { MG_FLIP, MG_TRUNC, MG_EXTEND, MG_DROP, MG_DUP, MG_N };

struct pkt {
	uint32_t src, dst, len;
	uint8_t *data;
};

/* One direction of the session: host d's client sends, the other reads. */
struct dir {
	uint32_t seed, sent, got;
};

static struct {
	enum fcore_sec_mode mode;
	uint32_t aeads;
	/* the session: a on host 0 opened it to b on host 1 */
	struct sim_client *c[SIM_HOSTS];
	uint32_t id[SIM_HOSTS]; /* each end's id, 0: not up there */
	uint32_t cookie;
	bool opening;
	uint32_t streams;       /* streams begun so far (their seeds) */
	struct dir d[SIM_HOSTS]; /* d[h]: what host h sends on id[h] */
	/* (acceptor's id, opener's id) of the ACCEPTs seen: which two ends
	 * make one session (host 1 may have accepted a stale OPEN of a host
	 * 0 that restarted since) */
	uint32_t acc[16][2];
	uint32_t n_acc;
	uint32_t cursor[SIM_HOSTS];
	/* the network */
	struct pkt rec[REC_MAX];
	uint32_t n_rec;
	struct pkt pend[PEND_MAX];
	uint32_t n_pend;
	int mangle_host; /* -1: none */
	uint8_t mangle_kind, mangle_a, mangle_b;
	bool honest;     /* the final phase: nothing is touched */
} g;

static void tweak(struct fcore_params *p, int host)
{
	sim_secure(p, host, g.mode);
	p->sec_aeads = g.aeads;
}

static void pkt_copy(struct pkt *d, uint32_t src, uint32_t dst, const uint8_t *p, uint32_t len)
{
	d->src = src;
	d->dst = dst;
	d->len = len;
	d->data = malloc(len ? len : 1);
	FUZZ_CHECK(d->data != NULL, "out of memory");
	memcpy(d->data, p, len);
}

/* Every packet on the link passes here as it is sent: kept for replay,
 * and changed when the input asked. The engine is inside its send: what
 * is changed is delivered later (flush()), never from here. */
static bool tap(struct sim *s, const struct sim_pkt *p, void *arg)
{
	(void)arg;
	struct ferry_wire_hdr hh;
	if (p->len >= sizeof(hh)) {
		memcpy(&hh, p->data, sizeof(hh));
		if (hh.type == FW_ACCEPT) {
			g.acc[g.n_acc % 16][0] = ntohl(hh.src_session);
			g.acc[g.n_acc % 16][1] = ntohl(hh.dst_session);
			g.n_acc++;
		}
	}
	if (g.honest)
		return false;
	struct pkt *r = &g.rec[g.n_rec % REC_MAX];
	if (g.n_rec >= REC_MAX)
		free(r->data);
	pkt_copy(r, p->src, p->dst, p->data, p->len);
	g.n_rec++;
	if (g.mangle_host < 0 || p->src != s->h[g.mangle_host].ip || g.n_pend == PEND_MAX)
		return false;
	g.mangle_host = -1;
	if (g.mangle_kind == MG_DROP)
		return true;
	struct pkt *q = &g.pend[g.n_pend++];
	uint32_t len = p->len;
	if (g.mangle_kind == MG_TRUNC)
		len = g.mangle_a % (p->len + 1);
	if (g.mangle_kind == MG_EXTEND)
		len = p->len + 1 + g.mangle_b;
	q->src = p->src;
	q->dst = p->dst;
	q->len = len;
	q->data = calloc(1, len ? len : 1);
	FUZZ_CHECK(q->data != NULL, "out of memory");
	memcpy(q->data, p->data, len < p->len ? len : p->len);
	if (g.mangle_kind == MG_FLIP && len)
		q->data[g.mangle_a % len] ^= (uint8_t)(g.mangle_b | 1);
	return g.mangle_kind != MG_DUP; /* a duplicate goes after the original */
}

static int host_of(const struct sim *s, uint32_t ip)
{
	for (int i = 0; i < SIM_HOSTS; i++)
		if (s->h[i].ip == ip)
			return i;
	return -1;
}

static void flush(struct sim *s)
{
	for (uint32_t i = 0; i < g.n_pend; i++) {
		int to = host_of(s, g.pend[i].dst);
		if (to >= 0)
			sim_inject_ip(s, g.pend[i].src, to, g.pend[i].data, g.pend[i].len);
		free(g.pend[i].data);
	}
	g.n_pend = 0;
}

static void check_engines(struct sim *s)
{
	char why[256];
	for (int i = 0; i < SIM_HOSTS; i++)
		FUZZ_CHECK(fcore_check(s->h[i].core, why, sizeof(why)) == 0, "host %d: %s", i, why);
}

/* Host @p h's end is now session @p id: what it sends is a new stream. */
static void session_up(int h, uint32_t id)
{
	g.id[h] = id;
	g.d[h] = (struct dir){.seed = ++g.streams};
}

/* Both ends hold one session: an ACCEPT said so. */
static bool paired(void)
{
	for (uint32_t i = 0; i < g.n_acc && i < 16; i++)
		if (g.acc[i][0] == g.id[1] && g.acc[i][1] == g.id[0])
			return true;
	return false;
}

static void session_down(int h)
{
	g.id[h] = 0;
	if (h == 0)
		g.opening = false;
}

/* Read what each client got: DATA against the stream, session events
 * against the session's state. */
static void pump(void)
{
	for (int h = 0; h < SIM_HOSTS; h++) {
		struct sim_client *c = g.c[h];
		if (c == NULL || !c->attached)
			continue;
		struct sim_event *e;
		while ((e = sim_next(c, &g.cursor[h], 0)) != NULL) {
			switch (e->type) {
			case FERRY_REC_DATA: {
				FUZZ_CHECK(g.id[h] && e->session == g.id[h],
					   "host %d: data on session %u, which is not up (up: %u)", h,
					   e->session, g.id[h]);
				struct dir *d = &g.d[h ^ 1];
				FUZZ_CHECK(d->got < d->sent, "host %d: message %u, only %u were sent", h,
					   d->got, d->sent);
				static uint8_t want[MAXM];
				uint32_t len = msg_len(d->seed, d->got, MAXM);
				msg_fill(want, len, d->seed, d->got);
				FUZZ_CHECK(e->len == len && memcmp(e->data, want, len) == 0,
					   "host %d: message %u of session %u changed on the way (%u bytes, "
					   "%u sent)", h, d->got, e->session, e->len, len);
				d->got++;
				break;
			}
			case FERRY_EVT_INCOMING:
				FUZZ_CHECK(h == 1, "host 0 got an INCOMING");
				if (g.id[1] == 0 && sim_accept(c, e->session) == 0)
					session_up(1, e->session);
				break;
			case FERRY_EVT_UP:
				if (h == 0) {
					FUZZ_CHECK(g.opening && e->aux == g.cookie,
						   "host 0: UP for cookie %u, not ours (%u)", e->aux,
						   g.cookie);
					session_up(0, e->session);
					g.opening = false;
				}
				break;
			case FERRY_EVT_DOWN:
				if (e->session == g.id[h] || (h == 0 && g.opening && e->aux == g.cookie))
					session_down(h);
				break;
			default:
				break;
			}
		}
		sim_read_all(c);
	}
}

static void step(struct sim *s, uint64_t ns)
{
	sim_for(s, ns);
	flush(s);
	pump();
	check_engines(s);
}

/* A new session where the old one ended on both sides. */
static void open_session(struct sim *s)
{
	if (g.opening || g.id[0] || g.id[1])
		return;
	for (int h = 0; h < SIM_HOSTS; h++) {
		if (g.c[h] == NULL || !g.c[h]->attached) {
			g.c[h] = sim_client(s, h, 0, 1 << 20);
			g.cursor[h] = 0;
			if (h == 1)
				FUZZ_CHECK(sim_listen(g.c[1], "svc") == 0, "listen");
		}
	}
	g.cookie = sim_connect(g.c[0], 1, "svc");
	g.opening = true;
}

static void send_some(int h, unsigned n)
{
	struct dir *d = &g.d[h];
	if (!g.id[h] || g.c[h] == NULL || !g.c[h]->attached)
		return;
	static uint8_t buf[MAXM];
	for (unsigned i = 0; i < n; i++) {
		uint32_t len = msg_len(d->seed, d->sent, MAXM);
		msg_fill(buf, len, d->seed, d->sent);
		int rc = sim_send(g.c[h], g.id[h], buf, len);
		if (rc != 0)
			break;
		d->sent++;
	}
}

/* A packet of @p type with ids and numbers taken from what was seen. */
static void forge(struct sim *s, struct fuzz_in *in)
{
	uint8_t pick = fuzz_u8(in);
	uint8_t buf[sizeof(struct ferry_wire_hdr) + 64 + sizeof(struct ferry_wire_seal) + FERRY_WIRE_TAG];
	struct ferry_wire_hdr h;
	memset(&h, 0, sizeof(h));
	const struct pkt *seen = g.n_rec ? &g.rec[fuzz_u8(in) % (g.n_rec < REC_MAX ? g.n_rec : REC_MAX)]
					 : NULL;
	if (seen && seen->len >= sizeof(h))
		memcpy(&h, seen->data, sizeof(h));
	h.version = FERRY_WIRE_VERSION;
	h.type = (uint8_t)(1 + fuzz_u8(in) % 12);
	if (pick & 1)
		h.flags = htons(FWF_SEALED);
	if (pick & 2)
		h.seq = htonl(ntohl(h.seq) + (uint32_t)(int8_t)fuzz_u8(in));
	if (pick & 4)
		h.aux = htonl(fuzz_u32(in));
	if (pick & 8) { /* the ids swapped: as if from the other end */
		uint32_t t = h.src_session;
		h.src_session = h.dst_session;
		h.dst_session = t;
	}
	memcpy(buf, &h, sizeof(h));
	size_t n;
	const uint8_t *pl = fuzz_bytes(in, fuzz_u8(in) % 65, &n);
	memcpy(buf + sizeof(h), pl, n);
	uint32_t len = (uint32_t)(sizeof(h) + n);
	/* a seal's trailer, its key id from a packet seen */
	if ((pick & 16) && seen && seen->len >= sizeof(h) + sizeof(struct ferry_wire_seal) + FERRY_WIRE_TAG) {
		size_t t = sizeof(struct ferry_wire_seal) + FERRY_WIRE_TAG;
		memcpy(buf + len, seen->data + seen->len - t, t);
		len += (uint32_t)t;
	}
	int to = (pick >> 5) & 1;
	uint32_t from = (pick & 64) ? s->h[to ^ 1].ip : 0x0a000100u + fuzz_u8(in);
	sim_inject_ip(s, from, to, buf, len);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	/* a failed cmocka assertion inside the simulator aborts, as a broken
	 * invariant does, rather than exit() */
	setenv("CMOCKA_TEST_ABORT", "1", 1);
	/* quiet unless asked: restarts and handshakes log a line each */
	const char *lv = getenv("FERRY_FUZZ_LOG");
	flog_init(lv ? atoi(lv) : FLOG_ERR - 1);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = {data, size};
	static struct sim s;
	memset(&g, 0, sizeof(g));
	g.mangle_host = -1;
	uint8_t cfg = fuzz_u8(&in);
	g.mode = (cfg & 1) ? FCORE_SEC_AUTHENTICATE : FCORE_SEC_ENCRYPT;
	g.aeads = (cfg & 2) ? FCORE_AEAD_CHACHA20POLY1305 : 0;
	sim_init(&s, 1 + (cfg >> 2), tweak);
	s.check = false; /* check_engines() after every step, with FUZZ_CHECK */
	sim_tap = tap;
	sim_tap_arg = NULL;
	open_session(&s);
	step(&s, 2 * MS);
	for (unsigned ops = 0; in.n && ops < 400; ops++) {
		uint8_t op = fuzz_u8(&in) % OP_N;
		switch (op) {
		case OP_TIME: {
			uint8_t t = fuzz_u8(&in);
			step(&s, t == 255 ? 121 * SEC : (1 + t) * 100 * US);
			break;
		}
		case OP_SEND: {
			uint8_t b = fuzz_u8(&in);
			send_some(b & 1, 1 + (b >> 1) % 8);
			step(&s, 0);
			break;
		}
		case OP_MANGLE:
			g.mangle_host = fuzz_u8(&in) & 1;
			g.mangle_kind = fuzz_u8(&in) % MG_N;
			g.mangle_a = fuzz_u8(&in);
			g.mangle_b = fuzz_u8(&in);
			break;
		case OP_REPLAY: {
			uint8_t i = fuzz_u8(&in), to = fuzz_u8(&in) & 1;
			if (g.n_rec) {
				const struct pkt *p = &g.rec[i % (g.n_rec < REC_MAX ? g.n_rec : REC_MAX)];
				sim_inject_ip(&s, p->src, to, p->data, p->len);
			}
			step(&s, 0);
			break;
		}
		case OP_FORGE:
			forge(&s, &in);
			step(&s, 0);
			break;
		case OP_ICMP: {
			uint8_t h = fuzz_u8(&in) & 1;
			uint16_t mtu = fuzz_u16(&in);
			sim_frag_needed(&s, h, 31850, 31850, mtu);
			step(&s, 0);
			break;
		}
		case OP_RESTART: {
			uint8_t h = fuzz_u8(&in) & 1;
			sim_restart(&s, h);
			g.c[h] = NULL;
			g.cursor[h] = 0;
			session_down(h);
			step(&s, 0);
			break;
		}
		case OP_CONNECT:
			open_session(&s);
			step(&s, 0);
			break;
		}
	}
	/* The network is honest from here on: what both ends still hold
	 * delivers everything sent on it, once the retransmission timers
	 * have run (their backoff stops at seconds). */
	g.honest = true;
	g.mangle_host = -1;
	flush(&s);
	for (int i = 0; i < 30 && (g.id[0] && g.id[1] && paired()) &&
			(g.d[0].got < g.d[0].sent || g.d[1].got < g.d[1].sent);
	     i++)
		step(&s, 1 * SEC);
	if (g.id[0] && g.id[1] && paired())
		for (int h = 0; h < SIM_HOSTS; h++)
			FUZZ_CHECK(g.d[h].got == g.d[h].sent,
				   "host %d sent %u messages on a session both ends hold, %u arrived "
				   "after 30 s of an honest network", h, g.d[h].sent, g.d[h].got);
	sim_tap = NULL;
	sim_fini(&s);
	for (uint32_t i = 0; i < g.n_rec && i < REC_MAX; i++)
		free(g.rec[i].data);
	return 0;
}

/* ---- seeds: a session, traffic, and each kind of trouble once ----------- */

void fuzz_seeds(fuzz_emit_fn *emit)
{
	static const struct {
		const char *name;
		uint8_t code[24];
		size_t len;
	} seeds[] = {
		{"traffic-encrypt", {0, OP_SEND, 14, OP_TIME, 20, OP_SEND, 15, OP_TIME, 50}, 9},
		{"traffic-authenticate-chacha", {3, OP_SEND, 14, OP_SEND, 15, OP_TIME, 50}, 7},
		{"flip", {0, OP_MANGLE, 0, MG_FLIP, 60, 4, OP_SEND, 14, OP_TIME, 30}, 10},
		{"truncate", {0, OP_MANGLE, 1, MG_TRUNC, 40, 0, OP_SEND, 15, OP_TIME, 30}, 10},
		{"duplicate", {0, OP_MANGLE, 0, MG_DUP, 0, 0, OP_SEND, 14, OP_TIME, 30}, 10},
		{"replay", {0, OP_SEND, 14, OP_TIME, 10, OP_REPLAY, 3, 1, OP_REPLAY, 0, 1, OP_TIME, 10}, 13},
		{"forge", {0, OP_SEND, 14, OP_TIME, 10, OP_FORGE, 0x51, 2, 6, 1, 8, 1, 2, 3, 4, 5, 6, 7, 8,
			   OP_TIME, 10}, 21},
		{"icmp", {0, OP_ICMP, 0, 0x40, 0x02, OP_SEND, 14, OP_TIME, 40}, 9},
		{"restart", {0, OP_SEND, 14, OP_RESTART, 1, OP_TIME, 100, OP_CONNECT, OP_TIME, 50, OP_SEND,
			     15, OP_TIME, 50}, 14},
		{"rekey", {0, OP_SEND, 14, OP_TIME, 255, OP_SEND, 15, OP_TIME, 50}, 9},
	};
	for (size_t i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++)
		emit(seeds[i].name, seeds[i].code, seeds[i].len);
}
