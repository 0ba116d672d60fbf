/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Secure channels between ferryds (security.mode authenticate or encrypt;
 * the protocol: SECURITY.md beside this file, the wire: wire.h).
 *
 * One channel per peer address, shared by every session with that peer.
 * It sits at the two places packets cross the engine's edge and nowhere
 * else: the link ops the core sends through are wrapped (secure_create()),
 * so every packet leaving is sealed, and fcore_input() hands every packet
 * arriving to secure_input() before it reads a byte of it. The protocol
 * files (remote.c, remote_data.c, remote_rx.c, peer.c) see plain packets only.
 *
 * A channel holds up to three sets of keys, as WireGuard does:
 *   cur   what we send with (and open);
 *   prev  the set before, still opened for packets in flight;
 *   next  keys we agreed as responder and may not send with until the
 *         initiator proves it has them too: its first packet under them
 *         (data, or a KEEPALIVE) makes them cur.
 * A packet to send finds cur usable, or waits in the channel's queue while
 * a handshake runs (OPEN is resent on its timer anyway; the queue only
 * saves the wait). Keys age by packets (AES-GCM's safe limit is far lower
 * than ChaCha20's) and by time: a new handshake starts before either
 * limit, and the old keys keep opening what is still in flight.
 *
 * What comes in is checked in order of cost, and nothing is believed (no
 * state changes) before its tag verifies: the key id must name one of our
 * sets, the counter must be new to the replay window, then the AEAD. A
 * sealed packet under keys we do not have (we restarted, or the peer
 * did) may start a handshake, at most one per TRIGGER_GAP_NS per peer and
 * within the global handshake budget, since anyone could send one. The
 * handshake authenticates both ends, tells each the other's incarnation
 * (so sessions of a restarted peer end at once with FERRY_REASON_RESET),
 * and carries the security mode, so a mismatch is refused, never
 * downgraded.
 */
#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <sodium.h>

#include "ferry.h"
#include "log.h"
#include "secure_pvt.h"

/* ---- keys ---------------------------------------------------------------- */

void sec_keys_free(struct fkeys *k)
{
	if (k == NULL)
		return;
	seal_key_wipe(&k->tx);
	seal_key_wipe(&k->rx);
	free(k);
}

struct fkeys *sec_keys_new(struct fcore *c, uint8_t aead, const uint8_t tx[32],
			   const uint8_t rx[32], uint32_t local, uint32_t remote, bool initiator,
			   uint32_t peer_inc)
{
	struct fsec *x = c->sec;
	void *mem;
	/* the expanded AES key wants 16-byte alignment */
	if (posix_memalign(&mem, 64, sizeof(struct fkeys)) != 0)
		return NULL;
	struct fkeys *k = memset(mem, 0, sizeof(struct fkeys));
	if (seal_key_init(&k->tx, aead, x->mode, tx) != 0 ||
	    seal_key_init(&k->rx, aead, x->mode, rx) != 0) {
		sec_keys_free(k);
		return NULL;
	}
	bool aes = aead == FW_AEAD_AES256GCM;
	uint64_t limit = aes ? AES_LIMIT_PKTS : CHACHA_LIMIT_PKTS;
	k->rekey_pkts = aes ? AES_REKEY_PKTS : CHACHA_REKEY_PKTS;
	if (c->p.sec_rekey_packets && c->p.sec_rekey_packets < k->rekey_pkts)
		k->rekey_pkts = c->p.sec_rekey_packets;
	k->limit_pkts = 2 * k->rekey_pkts < limit ? 2 * k->rekey_pkts : limit;
	k->born_ns = c->now;
	k->local_id = local;
	k->remote_id = remote;
	k->initiator = initiator;
	k->peer_inc = peer_inc;
	return k;
}

static bool keys_can_send(const struct fsec *x, uint64_t now, const struct fkeys *k)
{
	return k->tx_ctr < k->limit_pkts && now - k->born_ns < x->reject_ns;
}

static bool keys_can_open(const struct fsec *x, uint64_t now, const struct fkeys *k)
{
	return now - k->born_ns < x->reject_ns;
}

/* Time for new keys: by packets either side; by time the initiator first,
 * the responder a little later if the initiator did not. */
static bool keys_want_rekey(const struct fsec *x, uint64_t now, const struct fkeys *k)
{
	uint64_t age = x->rekey_ns + (k->initiator ? 0 : x->rekey_ns / 4);
	return k->tx_ctr >= k->rekey_pkts || now - k->born_ns >= age;
}

/* A fresh index for keys of @p ch: not 0, not one it uses. */
uint32_t sec_new_index(struct fcore *c, const struct fchan *ch)
{
	uint32_t id;
	for (;;) {
		id = core_random(c);
		if (id == 0 || id == ch->hs_id || (ch->cur && ch->cur->local_id == id) ||
		    (ch->prev && ch->prev->local_id == id) || (ch->next && ch->next->local_id == id))
			continue;
		return id;
	}
}

/* ---- channels ------------------------------------------------------------ */

struct fchan *sec_chan_find(const struct fcore *c, uint32_t ip)
{
	return fmap_get(&c->sec->chans, ip);
}

struct fchan *sec_chan_get(struct fcore *c, uint32_t ip)
{
	struct fsec *x = c->sec;
	struct fchan *ch = sec_chan_find(c, ip);
	if (ch || x->n_chans >= x->max_chans)
		return ch;
	ch = calloc(1, sizeof(*ch));
	if (ch == NULL)
		return NULL;
	if (fmap_put(&x->chans, ip, ch) < 0) {
		free(ch);
		return NULL;
	}
	ch->ip = ip;
	ch->timer.kind = TK_SEC;
	STAILQ_INIT(&ch->q);
	LIST_INSERT_HEAD(&x->all, ch, link);
	x->n_chans++;
	return ch;
}

void sec_queue_drop(struct fcore *c, struct fchan *ch)
{
	struct fqpkt *q;
	while ((q = STAILQ_FIRST(&ch->q)) != NULL) {
		STAILQ_REMOVE_HEAD(&ch->q, link);
		core_count(c, FC_TX_UNKEYED_DROPPED);
		free(q);
	}
	ch->q_n = 0;
	ch->q_bytes = 0;
}

static void chan_free(struct fcore *c, struct fchan *ch)
{
	struct fsec *x = c->sec;
	ftq_cancel(&c->timers, &ch->timer);
	sec_queue_drop(c, ch);
	sec_keys_free(ch->cur);
	sec_keys_free(ch->prev);
	sec_keys_free(ch->next);
	noise_wipe(&ch->hs);
	fmap_del(&x->chans, ch->ip);
	LIST_REMOVE(ch, link);
	x->n_chans--;
	if (ch->triggered)
		x->n_triggered--;
	free(ch);
}

/* The channel's next deadline. One with nothing left (no keys, nothing
 * running, nothing waiting) is freed by its timer, at once. */
void sec_chan_rearm(struct fcore *c, struct fchan *ch)
{
	const struct fsec *x = c->sec;
	uint64_t at = UINT64_MAX;
	if (ch->refuse_pending)
		at = c->now;
	if (ch->refused)
		at = sec_min64(at, ch->refused_until_ns);
	if (ch->hs_active)
		at = sec_min64(at, ch->hs_due_ns);
	if (ch->cur)
		at = sec_min64(at, ch->cur->born_ns + x->reject_ns);
	if (ch->prev)
		at = sec_min64(at, ch->prev->born_ns + x->reject_ns);
	if (ch->next)
		at = sec_min64(at, ch->next->born_ns + c->p.open_timeout_ns);
	if (at == UINT64_MAX)
		at = c->now; /* nothing left: free it */
	core_timer(c, &ch->timer, at);
}

/* ---- packets out --------------------------------------------------------- */

int sec_send_raw(struct fcore *c, uint32_t ip, uint16_t sport, uint16_t dport, const uint8_t *p,
		 size_t len)
{
	const struct fcore_link_ops *lo = c->sec ? &c->sec->lower : &c->lo;
	int rc = lo->send(lo->arg, ip, sport, dport, p, HDR, p + HDR, (uint32_t)(len - HDR), NULL,
			  0);
	core_count(c, rc < 0 ? FC_TX_FAILED : FC_TX_PACKETS);
	c->sent++;
	return rc;
}

int sec_seal_send(struct fcore *c, struct fchan *ch, uint16_t sport, uint16_t dport,
		  const void *hdr, const void *p1, uint32_t l1, const void *p2, uint32_t l2)
{
	struct fsec *x = c->sec;
	struct fkeys *k = ch->cur;
	uint8_t *b = x->tx;
	memcpy(b, hdr, HDR);
	uint16_t fl;
	memcpy(&fl, b + offsetof(struct ferry_wire_hdr, flags), sizeof(fl));
	fl |= htons(FWF_SEALED);
	memcpy(b + offsetof(struct ferry_wire_hdr, flags), &fl, sizeof(fl));
	/* one piece of payload is encrypted from where it lies; two are
	 * made one first (and authenticate wants it whole after the header) */
	const uint8_t *pl = p1;
	uint32_t plen = l1;
	if (l2 || l1 == 0) {
		if (l1)
			memcpy(b + HDR, p1, l1);
		if (l2)
			memcpy(b + HDR + l1, p2, l2);
		pl = b + HDR;
		plen = l1 + l2;
	}
	size_t len = seal_packet_from(&k->tx, k->remote_id, k->tx_ctr++, b, pl, plen);
	return x->lower.send(x->lower.arg, ch->ip, sport, dport, b, HDR, b + HDR,
			     (uint32_t)(len - HDR), NULL, 0);
}

static void queue_pkt(struct fcore *c, struct fchan *ch, uint16_t sport, uint16_t dport,
		      const void *hdr, const void *p1, uint32_t l1, const void *p2, uint32_t l2)
{
	uint32_t len = (uint32_t)HDR + l1 + l2;
	while (ch->q_n && (ch->q_n >= QUEUE_PKTS || ch->q_bytes + len > QUEUE_BYTES)) {
		struct fqpkt *old = STAILQ_FIRST(&ch->q); /* the oldest goes */
		STAILQ_REMOVE_HEAD(&ch->q, link);
		ch->q_n--;
		ch->q_bytes -= old->len;
		core_count(c, FC_TX_UNKEYED_DROPPED);
		free(old);
	}
	struct fqpkt *q = malloc(sizeof(*q) + len);
	if (q == NULL) {
		core_count(c, FC_TX_UNKEYED_DROPPED);
		return;
	}
	q->at = c->now;
	q->sport = sport;
	q->dport = dport;
	q->len = len;
	memcpy(q->data, hdr, HDR);
	if (l1)
		memcpy(q->data + HDR, p1, l1);
	if (l2)
		memcpy(q->data + HDR + l1, p2, l2);
	STAILQ_INSERT_TAIL(&ch->q, q, link);
	ch->q_n++;
	ch->q_bytes += len;
}

/* Send what waited, with cur. Its clock fields say when it leaves: the
 * wait is the peer's to measure neither as path delay nor as our delay in
 * acking. @return packets sent */
unsigned sec_queue_flush(struct fcore *c, struct fchan *ch)
{
	const struct fsec *x = c->sec;
	unsigned n = 0;
	struct fqpkt *q;
	while ((q = STAILQ_FIRST(&ch->q)) != NULL && keys_can_send(x, c->now, ch->cur)) {
		STAILQ_REMOVE_HEAD(&ch->q, link);
		ch->q_n--;
		ch->q_bytes -= q->len;
		struct ferry_wire_hdr h;
		memcpy(&h, q->data, HDR);
		h.ts = htonl((uint32_t)c->now);
		if (h.ts_echo)
			h.ack_delay = htonl(ntohl(h.ack_delay) + (uint32_t)(c->now - q->at));
		sec_seal_send(c, ch, q->sport, q->dport, &h, q->data + HDR,
			      q->len - (uint32_t)HDR, NULL, 0);
		free(q);
		n++;
	}
	return n;
}

/* ---- packets in ---------------------------------------------------------- */

/* Keys we agreed as responder are proven: the initiator used them. */
static void promote(struct fcore *c, struct fchan *ch)
{
	sec_keys_free(ch->prev);
	ch->prev = ch->cur;
	ch->cur = ch->next;
	ch->next = NULL;
	sec_keys_up(c, ch);
	sec_queue_flush(c, ch);
	sec_chan_rearm(c, ch);
}

static struct fkeys *keys_named(const struct fchan *ch, uint32_t id)
{
	if (ch == NULL)
		return NULL;
	if (ch->cur && ch->cur->local_id == id)
		return ch->cur;
	if (ch->next && ch->next->local_id == id)
		return ch->next;
	if (ch->prev && ch->prev->local_id == id)
		return ch->prev;
	return NULL;
}

static bool open_sealed(struct fcore *c, uint32_t ip, const struct ferry_wire_hdr *h,
			const uint8_t **pp, uint32_t *lenp)
{
	struct fsec *x = c->sec;
	uint32_t len = *lenp, id;
	uint64_t ctr;
	/* x->rx holds what an encrypted packet opens to: no more than that */
	if (len < HDR + SEAL_TRAILER || len - SEAL_TRAILER > sizeof(x->rx)) {
		core_count(c, FC_RX_MALFORMED);
		return false;
	}
	seal_peek(*pp, len, &id, &ctr);
	struct fchan *ch = sec_chan_find(c, ip);
	struct fkeys *k = keys_named(ch, id);
	if (k == NULL || !keys_can_open(x, c->now, k)) {
		core_count(c, FC_RX_UNKNOWN_KEY);
		sec_trigger(c, ip);
		return false;
	}
	/* cheap checks first; nothing changes before the tag verifies */
	if (!replay_check(&k->rw, ctr, k->limit_pkts)) {
		core_count(c, FC_RX_REPLAYED);
		return false;
	}
	long n = open_packet(&k->rx, *pp, len, x->rx);
	if (n < 0) {
		core_count(c, FC_RX_AUTH_FAILED);
		return false;
	}
	replay_mark(&k->rw, ctr, k->limit_pkts);
	if (k == ch->next)
		promote(c, ch);
	if (h->type == FW_KEEPALIVE)
		return false;
	if (k->rx.mode == FW_SEC_ENCRYPT)
		*pp = x->rx;
	*lenp = (uint32_t)n;
	return true;
}

bool secure_input(struct fcore *c, uint32_t ip, uint16_t port, uint16_t dport, const uint8_t **p,
		  uint32_t *len)
{
	struct ferry_wire_hdr h;
	if (*len < HDR)
		return true; /* the core counts it */
	memcpy(&h, *p, HDR);
	bool sealed = ntohs(h.flags) & FWF_SEALED;
	bool ours = h.type >= FW_KEEPALIVE && h.type < FW_TYPE_MAX;
	if (c->sec == NULL) {
		if (!sealed && !ours)
			return true;
		/* a peer wants security and we run none: tell it why not */
		core_count(c, FC_RX_SEC_MISMATCH);
		if (!sealed && h.type == FW_HS_INIT && h.src_session)
			sec_send_reject(c, ip, dport, port, ntohl(h.src_session),
					FERRY_REASON_SECURITY);
		return false;
	}
	if (sealed)
		return open_sealed(c, ip, &h, p, len);
	switch (h.type) {
	case FW_HS_INIT:
		sec_on_init(c, ip, port, dport, &h, *p + HDR, *len - (uint32_t)HDR);
		return false;
	case FW_HS_RESP:
		sec_on_resp(c, ip, &h, *p + HDR, *len - (uint32_t)HDR);
		return false;
	case FW_HS_REJECT:
		sec_on_reject(c, ip, &h);
		return false;
	case FW_OPEN:
		/* a peer without security opens a session: refuse it, saying
		 * why (it believes a plain REFUSE; it believes anything) */
		if (h.src_session) {
			bool allowed = peer_allowed(c, ip);
			struct ferry_wire_hdr r = {.version = FERRY_WIRE_VERSION,
						   .type = FW_REFUSE,
						   .dst_session = h.src_session,
						   .ack = h.seq,
						   .aux = htonl(allowed ? FERRY_REASON_SECURITY
									: FERRY_REASON_REFUSED)};
			sec_send_raw(c, ip, dport, port, (const uint8_t *)&r, HDR);
			if (!allowed) {
				core_count(c, FC_RX_NOT_ALLOWED);
				return false;
			}
		}
		break;
	default:
		break;
	}
	core_count(c, FC_RX_SEC_MISMATCH);
	return false;
}

/* ---- sending: the link ops the core is given ------------------------------ */

static int wrapped_send(void *arg, uint32_t ip, uint16_t sport, uint16_t dport, const void *hdr,
			uint16_t hlen, const void *p1, uint32_t l1, const void *p2, uint32_t l2)
{
	struct fcore *c = arg;
	struct fsec *x = c->sec;
	if (hlen != HDR || (uint64_t)HDR + l1 + l2 > MAX_PACKET)
		return -EMSGSIZE;
	struct fchan *ch = sec_chan_get(c, ip);
	if (ch == NULL)
		return -ENOBUFS;
	if (ch->refused) {
		if (!ch->refuse_pending) {
			ch->refuse_pending = true;
			sec_chan_rearm(c, ch);
		}
		return -ECONNREFUSED;
	}
	struct fkeys *k = ch->cur;
	if (k && keys_can_send(x, c->now, k)) {
		if (!ch->hs_active && keys_want_rekey(x, c->now, k)) {
			core_count(c, FC_REKEYS);
			sec_hs_start(c, ch);
		}
		return sec_seal_send(c, ch, sport, dport, hdr, p1, l1, p2, l2);
	}
	queue_pkt(c, ch, sport, dport, hdr, p1, l1, p2, l2);
	sec_hs_start(c, ch);
	return 0;
}

uint32_t secure_trailer(const struct fcore *c)
{
	return c->sec ? (uint32_t)SEAL_TRAILER : 0;
}

static uint32_t wrapped_max_payload(void *arg, uint32_t ip)
{
	struct fcore *c = arg;
	const struct fsec *x = c->sec;
	uint32_t m = x->lower.max_payload(x->lower.arg, ip);
	return m > SEAL_TRAILER ? m - (uint32_t)SEAL_TRAILER : 0;
}

static uint64_t wrapped_drop_epoch(void *arg)
{
	const struct fsec *x = ((struct fcore *)arg)->sec;
	return x->lower.drop_epoch(x->lower.arg);
}

/* ---- timers, life -------------------------------------------------------- */

void secure_timer(struct fcore *c, struct ftimer *t)
{
	struct fchan *ch = container_of(t, struct fchan, timer);
	const struct fsec *x = c->sec;
	uint64_t now = c->now;
	if (ch->refuse_pending) {
		ch->refuse_pending = false;
		peer_refused(c, ch->ip, ch->refused);
	}
	if (ch->refused && now >= ch->refused_until_ns)
		ch->refused = 0;
	if (ch->hs_active && now >= ch->hs_due_ns) {
		if (now - ch->hs_start_ns >= c->p.open_timeout_ns) {
			/* one a trigger started may be a forger's: rate-limited */
			if (!ch->triggered || sec_may_log(c))
				LOG_I("security: %u.%u.%u.%u did not answer our handshake in %llu ms",
				      IP4(ch->ip), (unsigned long long)(c->p.open_timeout_ns / MS));
			ch->hs_active = false;
			noise_wipe(&ch->hs);
			sec_queue_drop(c, ch);
		} else {
			sec_hs_send(c, ch);
		}
	}
	struct fkeys **sets[] = {&ch->cur, &ch->prev};
	for (unsigned i = 0; i < 2; i++) {
		if (*sets[i] && !keys_can_open(x, now, *sets[i])) {
			sec_keys_free(*sets[i]);
			*sets[i] = NULL;
		}
	}
	if (ch->next && now - ch->next->born_ns >= c->p.open_timeout_ns) {
		sec_keys_free(ch->next); /* never confirmed */
		ch->next = NULL;
	}
	if (!ch->cur && !ch->prev && !ch->next && !ch->hs_active && !ch->refused &&
	    !ch->refuse_pending && STAILQ_EMPTY(&ch->q)) {
		chan_free(c, ch);
		return;
	}
	sec_chan_rearm(c, ch);
}

int secure_create(struct fcore *c)
{
	const struct fcore_params *p = &c->p;
	if (sodium_init() < 0)
		return -ENOSYS;
	if (p->sec_mode != FCORE_SEC_AUTHENTICATE && p->sec_mode != FCORE_SEC_ENCRYPT)
		return -EINVAL;
	struct fsec *x = calloc(1, sizeof(*x));
	if (x == NULL)
		return -ENOMEM;
	x->mode = (uint8_t)p->sec_mode;
	uint8_t avail = seal_aeads_available();
	x->aeads = p->sec_aeads ? (uint8_t)(p->sec_aeads & avail) : avail;
	memcpy(x->s, p->sec_private_key, sizeof(x->s));
	sodium_memzero(c->p.sec_private_key, sizeof(c->p.sec_private_key));
	x->keys = calloc(p->n_trusted + 1, sizeof(*x->keys));
	x->nets = calloc(p->n_trusted + 1, sizeof(*x->nets));
	int rc = -ENOMEM;
	if (x->keys == NULL || x->nets == NULL || fmap_init(&x->chans, 64) < 0)
		goto err;
	rc = -EINVAL;
	/* an all-zero key is no key: one that never reached the params */
	if (x->aeads == 0 || sodium_is_zero(x->s, sizeof(x->s)) ||
	    noise_ik_init(&x->resp, false, PROLOGUE, sizeof(PROLOGUE) - 1, x->s, NULL) != 0)
		goto err;
	for (uint32_t i = 0; i < p->n_trusted; i++) {
		int k = sec_key_find(x, p->trusted[i].key);
		if (k < 0) {
			k = (int)x->n_keys++;
			memcpy(x->keys[k].pub, p->trusted[i].key, 32);
		}
		x->nets[x->n_nets++] = (struct fsec_net){.key = (uint32_t)k, .net = p->trusted[i].net};
	}
	LIST_INIT(&x->all);
	x->max_chans = p->max_sessions + 256;
	x->max_triggered = x->max_chans / 4;
	x->tokens = HS_BURST;
	x->tokens_ns = c->now;
	x->rekey_ns = p->sec_rekey_ns ? p->sec_rekey_ns : REKEY_NS;
	x->reject_ns = x->rekey_ns + x->rekey_ns / 2;
	x->lower = c->lo;
	c->sec = x;
	c->lo.arg = c;
	c->lo.send = wrapped_send;
	c->lo.max_payload = wrapped_max_payload;
	if (x->lower.drop_epoch)
		c->lo.drop_epoch = wrapped_drop_epoch;
	return 0;
err:
	fmap_fini(&x->chans);
	free(x->keys);
	free(x->nets);
	sodium_memzero(x->s, sizeof(x->s));
	noise_wipe(&x->resp);
	free(x);
	return rc;
}

void secure_destroy(struct fcore *c)
{
	struct fsec *x = c->sec;
	if (x == NULL)
		return;
	struct fchan *ch;
	while ((ch = LIST_FIRST(&x->all)) != NULL)
		chan_free(c, ch);
	c->lo = x->lower;
	fmap_fini(&x->chans);
	free(x->keys);
	free(x->nets);
	sodium_memzero(x, sizeof(*x));
	free(x);
	c->sec = NULL;
}

unsigned fcore_channel_aead(const struct fcore *c, uint32_t ip)
{
	const struct fchan *ch = c->sec ? sec_chan_find(c, ip) : NULL;
	return ch && ch->cur ? ch->cur->tx.aead : 0;
}
