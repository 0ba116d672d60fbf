/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The handshake of secure channels: Noise IK (noise.c) with a payload
 * each way (wire.h: ferry_wire_hs_init, ferry_wire_hs_resp), as the
 * initiator, who knows the responder's key from security.trusted_peers,
 * and as the responder, who learns the initiator's from message 1 and
 * decides whether it trusts it, from that address.
 *
 * Message 1 costs the responder two DH before it can tell a real
 * initiator from a forgery, so what others make us do is budgeted
 * (HS_RATE a second, HS_BURST at once, all peers together), one key's
 * initiations are taken at most every INIT_GAP_NS, and a replayed message
 * 1 is told by its timestamp, which must grow with each handshake of that
 * key. A refusal (HS_REJECT) carries no authentication: the initiator
 * believes one only for the handshake it has running (its index), which
 * only a host that sees its traffic knows, and such a host could as well
 * drop the handshake.
 */
#include <arpa/inet.h>
#include <endian.h>
#include <string.h>

#include <sodium.h>

#include "ferry.h"
#include "log.h"
#include "secure_pvt.h"

/* ---- logs, randomness, the budget ---------------------------------------- */

static const char *aead_name(uint8_t a)
{
	return a == FW_AEAD_AES256GCM ? "AES-256-GCM" : "ChaCha20-Poly1305";
}

static const char *mode_name(int m)
{
	return m == FW_SEC_ENCRYPT ? "encrypt" : m == FW_SEC_AUTHENTICATE ? "authenticate" : "none";
}

/* At most one line a second about handshakes others send us: they could
 * send many. */
bool sec_may_log(struct fcore *c)
{
	struct fsec *x = c->sec;
	if (x->last_log_ns && c->now - x->last_log_ns < 1000 * MS)
		return false;
	x->last_log_ns = c->now;
	return true;
}

static void random_bytes(struct fcore *c, uint8_t *out, size_t n)
{
	for (size_t i = 0; i < n; i += 4) {
		uint32_t r = core_random(c);
		memcpy(out + i, &r, n - i < 4 ? n - i : 4);
	}
}

/* The budget for handshake work (DH) that others can make us do. */
static bool tokens_take(struct fcore *c)
{
	struct fsec *x = c->sec;
	x->tokens += (double)(c->now - x->tokens_ns) * HS_RATE / 1e9;
	x->tokens_ns = c->now;
	if (x->tokens > HS_BURST)
		x->tokens = HS_BURST;
	if (x->tokens < 1.0)
		return false;
	x->tokens -= 1.0;
	return true;
}

/* ---- trust --------------------------------------------------------------- */

static bool in_net(const struct fcore_cidr *n, uint32_t ip)
{
	uint32_t mask = n->prefix_len ? ~0u << (32 - n->prefix_len) : 0;
	return (ip & mask) == (n->addr & mask);
}

int sec_key_find(const struct fsec *x, const uint8_t pub[32])
{
	for (uint32_t i = 0; i < x->n_keys; i++)
		if (sodium_memcmp(x->keys[i].pub, pub, 32) == 0)
			return (int)i;
	return -1;
}

static bool key_trusted_at(const struct fsec *x, int k, uint32_t ip)
{
	for (uint32_t i = 0; i < x->n_nets; i++)
		if (x->nets[i].key == (uint32_t)k && in_net(&x->nets[i].net, ip))
			return true;
	return false;
}

/* The keys @p ip may have: those listed with the longest prefix that holds
 * it (a /32 beats a /24), in list order. @return how many */
static uint32_t candidates(const struct fsec *x, uint32_t ip, uint32_t out[CANDIDATES])
{
	int best = -1;
	uint32_t n = 0;
	for (uint32_t i = 0; i < x->n_nets; i++) {
		const struct fsec_net *e = &x->nets[i];
		if (!in_net(&e->net, ip) || e->net.prefix_len < best)
			continue;
		if (e->net.prefix_len > best) {
			best = e->net.prefix_len;
			n = 0;
		}
		bool dup = false;
		for (uint32_t j = 0; j < n; j++)
			dup |= out[j] == e->key;
		if (!dup && n < CANDIDATES)
			out[n++] = e->key;
	}
	return n;
}

/* ---- the initiator ------------------------------------------------------- */

static void refuse(struct fcore *c, struct fchan *ch, int reason)
{
	ch->hs_active = false;
	noise_wipe(&ch->hs);
	sec_queue_drop(c, ch);
	ch->refused = reason;
	ch->refused_until_ns = c->now + REFUSED_HOLD_NS;
	ch->refuse_pending = true; /* the sessions are told at the next poll */
	core_count(c, FC_HS_REFUSED);
	sec_chan_rearm(c, ch);
}

void sec_hs_send(struct fcore *c, struct fchan *ch)
{
	struct fsec *x = c->sec;
	uint32_t cand[CANDIDATES];
	uint32_t n = candidates(x, ch->ip, cand);
	if (n == 0) {
		LOG_W("security: no key in security.trusted_peers for %u.%u.%u.%u: sessions "
		      "with it are refused", IP4(ch->ip));
		refuse(c, ch, FERRY_REASON_UNTRUSTED);
		return;
	}
	uint32_t key = cand[ch->hs_tries % n];
	ch->hs_id = sec_new_index(c, ch);
	uint64_t ts = c->now + (uint64_t)c->p.wall_offset_ns;
	if (ts <= x->last_ts_sent)
		ts = x->last_ts_sent + 1;
	x->last_ts_sent = ts;
	struct ferry_wire_hs_init in = {.index = htonl(ch->hs_id),
					.incarnation = htonl(c->incarnation),
					.mode = x->mode,
					.aeads = x->aeads,
					.timestamp = htobe64(ts)};
	uint8_t msg[HDR + MSG1_PAYLOAD], e[32];
	struct ferry_wire_hdr h = {.version = FERRY_WIRE_VERSION,
				   .type = FW_HS_INIT,
				   .src_session = htonl(ch->hs_id)};
	memcpy(msg, &h, HDR);
	random_bytes(c, e, sizeof(e));
	int rc = noise_ik_init(&ch->hs, true, PROLOGUE, sizeof(PROLOGUE) - 1, x->s,
			       x->keys[key].pub);
	if (rc == 0)
		rc = noise_ik_write1(&ch->hs, e, &in, sizeof(in), msg + HDR);
	sodium_memzero(e, sizeof(e));
	if (rc != 0) {
		LOG_W("security: the key security.trusted_peers gives for %u.%u.%u.%u is not a "
		      "usable X25519 public key", IP4(ch->ip));
		refuse(c, ch, FERRY_REASON_UNTRUSTED);
		return;
	}
	sec_send_raw(c, ch->ip, c->p.udp_port, c->p.udp_port, msg, sizeof(msg));
	core_count(c, FC_TX_HANDSHAKES);
	uint32_t backoff = ch->hs_tries < 5 ? ch->hs_tries : 5;
	ch->hs_tries++;
	ch->hs_due_ns = c->now + sec_min64(HS_RETRY_NS << backoff, HS_RETRY_MAX_NS);
	sec_chan_rearm(c, ch);
}

void sec_hs_start(struct fcore *c, struct fchan *ch)
{
	if (ch->hs_active || ch->refused)
		return;
	ch->hs_active = true;
	ch->hs_tries = 0;
	ch->hs_start_ns = c->now;
	sec_hs_send(c, ch);
}

/* A sealed packet under keys we do not hold: the peer may have them from
 * before we restarted (or it did). A handshake sorts that out; a forged
 * trigger costs one, at most one per TRIGGER_GAP_NS per address and
 * within the budget, and a channel that lives until the handshake times
 * out: forged from many addresses, those take at most max_triggered
 * channels, so the table keeps room for real peers. */
void sec_trigger(struct fcore *c, uint32_t ip)
{
	struct fsec *x = c->sec;
	uint32_t cand[CANDIDATES];
	struct fchan *ch = sec_chan_find(c, ip);
	if (!peer_allowed(c, ip) || candidates(x, ip, cand) == 0)
		return;
	if (ch && (ch->hs_active || ch->refused ||
		   (ch->last_trigger_ns && c->now - ch->last_trigger_ns < TRIGGER_GAP_NS)))
		return;
	if ((ch == NULL && x->n_triggered >= x->max_triggered) || !tokens_take(c)) {
		core_count(c, FC_HS_LIMITED);
		return;
	}
	if (ch == NULL) {
		if ((ch = sec_chan_get(c, ip)) == NULL)
			return;
		ch->triggered = true;
		x->n_triggered++;
	}
	ch->last_trigger_ns = c->now;
	sec_hs_start(c, ch);
}

/* New keys are in use: the peer proved who it is and which incarnation. */
void sec_keys_up(struct fcore *c, struct fchan *ch)
{
	struct fkeys *k = ch->cur;
	core_count(c, FC_HANDSHAKES);
	if (ch->triggered) {
		ch->triggered = false; /* a real peer: it counts as any other */
		c->sec->n_triggered--;
	}
	if (!ch->announced)
		LOG_I("security: %u.%u.%u.%u authenticated; packets %s with %s", IP4(ch->ip),
		      c->sec->mode == FW_SEC_ENCRYPT ? "encrypted" : "authenticated",
		      aead_name(k->tx.aead));
	else
		LOG_D("security: %u.%u.%u.%u: new keys", IP4(ch->ip));
	ch->announced = true;
	struct fpeer *p = peer_find(c, ch->ip);
	if (p)
		peer_incarnation(c, p, k->peer_inc, true);
}

void sec_on_resp(struct fcore *c, uint32_t ip, const struct ferry_wire_hdr *h, const uint8_t *pl,
		 uint32_t plen)
{
	struct fsec *x = c->sec;
	struct fchan *ch = sec_chan_find(c, ip);
	if (ch == NULL || !ch->hs_active || ntohl(h->dst_session) != ch->hs_id ||
	    plen != MSG2_PAYLOAD) {
		core_count(c, FC_HS_INVALID);
		return;
	}
	/* a copy: a forged answer must not spoil the handshake it names */
	struct noise_hs hs = ch->hs;
	struct ferry_wire_hs_resp r;
	uint8_t k1[32], k2[32];
	struct fkeys *k = NULL;
	bool ok = noise_ik_read2(&hs, pl, &r, sizeof(r)) == 0 && ntohl(r.echo) == ch->hs_id &&
		  r.index != 0 && r.mode == x->mode &&
		  (r.aead == FW_AEAD_AES256GCM || r.aead == FW_AEAD_CHACHA20POLY1305) &&
		  (r.aead & x->aeads);
	if (ok) {
		noise_split(&hs, k1, k2);
		k = sec_keys_new(c, r.aead, k1, k2, ch->hs_id, ntohl(r.index), true,
				 ntohl(r.incarnation));
		sodium_memzero(k1, sizeof(k1));
		sodium_memzero(k2, sizeof(k2));
	}
	noise_wipe(&hs);
	if (!ok) {
		core_count(c, FC_HS_INVALID);
		return;
	}
	ch->hs_active = false;
	noise_wipe(&ch->hs);
	if (k == NULL) {
		/* no memory: the next packet starts over. What waited goes (no
		 * handshake runs for it), and the timer frees a channel left
		 * with nothing, rather than firing at every poll */
		sec_queue_drop(c, ch);
		sec_chan_rearm(c, ch);
		return;
	}
	/* As WireGuard: keys we took as responder and never used become
	 * prev (the peer may send with them); else cur does. */
	if (ch->next) {
		sec_keys_free(ch->prev);
		sec_keys_free(ch->cur);
		ch->prev = ch->next;
		ch->next = NULL;
	} else {
		sec_keys_free(ch->prev);
		ch->prev = ch->cur;
	}
	ch->cur = k;
	sec_keys_up(c, ch);
	/* the responder may send with them once it sees one packet */
	if (sec_queue_flush(c, ch) == 0) {
		struct ferry_wire_hdr ka = {.version = FERRY_WIRE_VERSION, .type = FW_KEEPALIVE};
		/* counted as every packet is (a capture is checked against it) */
		int rc = sec_seal_send(c, ch, c->p.udp_port, c->p.udp_port, &ka, NULL, 0, NULL, 0);
		core_count(c, rc < 0 ? FC_TX_FAILED : FC_TX_PACKETS);
		c->sent++;
	}
	sec_chan_rearm(c, ch);
}

void sec_on_reject(struct fcore *c, uint32_t ip, const struct ferry_wire_hdr *h)
{
	struct fsec *x = c->sec;
	struct fchan *ch = sec_chan_find(c, ip);
	if (ch == NULL || !ch->hs_active || ntohl(h->dst_session) != ch->hs_id) {
		core_count(c, FC_HS_INVALID);
		return;
	}
	int reason = (int)ntohl(h->aux);
	uint32_t cand[CANDIDATES];
	if (reason == FERRY_REASON_UNTRUSTED && ch->hs_tries < candidates(x, ip, cand)) {
		sec_hs_send(c, ch); /* the next key listed for that address */
		return;
	}
	if (reason != FERRY_REASON_UNTRUSTED && reason != FERRY_REASON_REFUSED)
		reason = FERRY_REASON_SECURITY;
	LOG_W("security: %u.%u.%u.%u refuses our handshake: %s", IP4(ip),
	      reason == FERRY_REASON_UNTRUSTED
		      ? "it does not trust our key from this address (its security.trusted_peers)"
	      : reason == FERRY_REASON_REFUSED ? "its net.allowed_peers leaves us out"
					       : "its security.mode is not ours");
	refuse(c, ch, reason);
}

/* ---- the responder ------------------------------------------------------- */

void sec_send_reject(struct fcore *c, uint32_t ip, uint16_t sport, uint16_t dport, uint32_t index,
		     int reason)
{
	struct ferry_wire_hdr h = {.version = FERRY_WIRE_VERSION,
				   .type = FW_HS_REJECT,
				   .dst_session = htonl(index),
				   .aux = htonl((uint32_t)reason)};
	sec_send_raw(c, ip, sport, dport, (const uint8_t *)&h, HDR);
}

void sec_on_init(struct fcore *c, uint32_t ip, uint16_t port, uint16_t dport,
		 const struct ferry_wire_hdr *h, const uint8_t *pl, uint32_t plen)
{
	struct fsec *x = c->sec;
	uint32_t index = ntohl(h->src_session);
	if (plen != MSG1_PAYLOAD || index == 0) {
		core_count(c, FC_HS_INVALID);
		return;
	}
	if (!peer_allowed(c, ip)) {
		core_count(c, FC_RX_NOT_ALLOWED);
		sec_send_reject(c, ip, dport, port, index, FERRY_REASON_REFUSED);
		return;
	}
	if (!tokens_take(c)) {
		core_count(c, FC_HS_LIMITED);
		return;
	}
	/* our static key and the prologue are hashed once, in secure_create() */
	struct noise_hs hs = x->resp;
	struct ferry_wire_hs_init in;
	char b64[sodium_base64_ENCODED_LEN(32, sodium_base64_VARIANT_ORIGINAL)];
	if (noise_ik_read1_static(&hs, pl) != 0) {
		if (sec_may_log(c))
			LOG_W("security: a handshake from %u.%u.%u.%u is not for our key (its "
			      "security.trusted_peers has another for us): refused", IP4(ip));
		core_count(c, FC_HS_REFUSED);
		sec_send_reject(c, ip, dport, port, index, FERRY_REASON_UNTRUSTED);
		goto out;
	}
	int key = sec_key_find(x, hs.rs);
	if (key < 0 || !key_trusted_at(x, key, ip)) {
		if (sec_may_log(c))
			LOG_W("security: %u.%u.%u.%u offers key %s, which security.trusted_peers "
			      "does not trust %s: refused", IP4(ip),
			      sodium_bin2base64(b64, sizeof(b64), hs.rs, 32,
						sodium_base64_VARIANT_ORIGINAL),
			      key < 0 ? "at all" : "from that address");
		core_count(c, FC_HS_REFUSED);
		sec_send_reject(c, ip, dport, port, index, FERRY_REASON_UNTRUSTED);
		goto out;
	}
	struct fsec_key *tk = &x->keys[key];
	if (noise_ik_read1_payload(&hs, pl, &in, sizeof(in)) != 0 || ntohl(in.index) != index) {
		core_count(c, FC_HS_INVALID); /* forged or damaged */
		goto out;
	}
	if (be64toh(in.timestamp) <= tk->last_ts) {
		if (sec_may_log(c))
			LOG_W("security: a handshake from %u.%u.%u.%u is older than the last one "
			      "taken from its key: a replay, or its clock went back (it is refused "
			      "until that clock passes the newer one)", IP4(ip));
		core_count(c, FC_HS_INVALID);
		goto out;
	}
	if (tk->last_init_ns && c->now - tk->last_init_ns < INIT_GAP_NS) {
		core_count(c, FC_HS_LIMITED);
		goto out;
	}
	uint8_t both = in.aeads & x->aeads;
	uint8_t aead = (both & FW_AEAD_AES256GCM) ? FW_AEAD_AES256GCM
		       : (both & FW_AEAD_CHACHA20POLY1305) ? FW_AEAD_CHACHA20POLY1305 : 0;
	if (in.mode != x->mode || aead == 0) {
		if (sec_may_log(c))
			LOG_W("security: %u.%u.%u.%u runs security.mode %s, we run %s: refused",
			      IP4(ip), mode_name(in.mode), mode_name(x->mode));
		core_count(c, FC_HS_REFUSED);
		sec_send_reject(c, ip, dport, port, index, FERRY_REASON_SECURITY);
		goto out;
	}
	struct fchan *ch = sec_chan_get(c, ip);
	if (ch == NULL) {
		core_count(c, FC_HS_LIMITED);
		goto out;
	}
	tk->last_ts = be64toh(in.timestamp);
	tk->last_init_ns = c->now;
	uint32_t mine = sec_new_index(c, ch);
	struct ferry_wire_hs_resp r = {.index = htonl(mine),
				       .echo = in.index,
				       .incarnation = htonl(c->incarnation),
				       .mode = x->mode,
				       .aead = aead};
	struct ferry_wire_hdr rh = {.version = FERRY_WIRE_VERSION,
				    .type = FW_HS_RESP,
				    .dst_session = in.index,
				    .src_session = htonl(mine)};
	uint8_t msg[HDR + MSG2_PAYLOAD], e[32], k1[32], k2[32];
	memcpy(msg, &rh, HDR);
	random_bytes(c, e, sizeof(e));
	int rc = noise_ik_write2(&hs, e, &r, sizeof(r), msg + HDR);
	sodium_memzero(e, sizeof(e));
	if (rc != 0) {
		core_count(c, FC_HS_INVALID); /* an ephemeral key of small order */
		sec_chan_rearm(c, ch);
		goto out;
	}
	noise_split(&hs, k1, k2);
	struct fkeys *k = sec_keys_new(c, aead, k2, k1, mine, index, false, ntohl(in.incarnation));
	sodium_memzero(k1, sizeof(k1));
	sodium_memzero(k2, sizeof(k2));
	if (k == NULL) {
		sec_chan_rearm(c, ch); /* frees it if it holds nothing else */
		goto out;
	}
	sec_keys_free(ch->next);
	ch->next = k;
	sec_send_raw(c, ip, dport, port, msg, sizeof(msg));
	sec_chan_rearm(c, ch);
out:
	noise_wipe(&hs);
}
