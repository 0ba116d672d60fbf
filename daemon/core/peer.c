/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Other ferryds. A peer record exists while some session names it, and
 * holds what belongs to the host rather than to one session:
 *
 *   - whether it may talk to us at all (allowed_peers, checked before any
 *     lookup);
 *   - liveness: any packet of it that passes every check counts. A peer
 *     silent for keepalive_ns is sent PING every keepalive_ns; one silent
 *     for peer_timeout_ns is dead and all its sessions end. So a host
 *     with ten thousand idle sessions to one peer exchanges one PING and
 *     one PONG a second with it, not ten thousand probes;
 *   - its incarnation, drawn at each ferryd start. OPEN and PING carry the
 *     sender's but prove nothing (anyone can send them), so a new value
 *     there only makes us ask: a PING, whose nonce the PONG must echo.
 *     ACCEPT, RESET and PONG echo something of ours, so a new value there
 *     is believed: the peer restarted, and every session made with its
 *     old incarnation ends with FERRY_REASON_RESET at once instead of
 *     waiting for a timeout;
 *   - ARP trouble on the way to it;
 *   - the path MTU towards it (pmtu.c), which its timer probes too. A peer
 *     whose path MTU was lowered is kept a while after its last session
 *     (pmtu_keep()), so the next session starts at the size that works.
 */
#include <arpa/inet.h>
#include <stdlib.h>

#include "core_pvt.h"
#include "ferry.h"
#include "log.h"
#include "seq.h"

#define IP4(a) (a) >> 24, ((a) >> 16) & 255, ((a) >> 8) & 255, (a) & 255
/* A challenge PING is sent at most this often. */
#define CHALLENGE_GAP_NS 10000000ull

bool peer_allowed(const struct fcore *c, uint32_t ip)
{
	if (c->p.n_allowed_peers == 0)
		return true;
	for (uint32_t i = 0; i < c->p.n_allowed_peers; i++) {
		const struct fcore_cidr *a = &c->p.allowed_peers[i];
		uint32_t mask = a->prefix_len ? ~0u << (32 - a->prefix_len) : 0;
		if ((ip & mask) == (a->addr & mask))
			return true;
	}
	return false;
}

struct fpeer *peer_find(const struct fcore *c, uint32_t ip)
{
	return fmap_get(&c->peer_map, ip);
}

struct fpeer *peer_get(struct fcore *c, uint32_t ip)
{
	struct fpeer *p = peer_find(c, ip);
	if (p)
		return p;
	p = calloc(1, sizeof(*p));
	if (p == NULL)
		return NULL;
	if (fmap_put(&c->peer_map, ip, p) < 0) {
		free(p);
		return NULL;
	}
	p->ip = ip;
	p->last_rx_ns = c->now;
	p->timer.kind = TK_PEER;
	pmtu_init(c, p);
	LIST_INIT(&p->sessions);
	LIST_INSERT_HEAD(&c->peers, p, link);
	return p;
}

void peer_rearm(struct fcore *c, struct fpeer *p)
{
	if (p->n_sessions == 0) {
		ftq_cancel(&c->timers, &p->timer);
		return;
	}
	uint64_t dead = p->last_rx_ns + c->p.peer_timeout_ns;
	uint64_t quiet = p->last_rx_ns > p->last_ping_ns ? p->last_rx_ns : p->last_ping_ns;
	uint64_t ping = quiet + c->p.keepalive_ns;
	uint64_t at = ping < dead ? ping : dead;
	uint64_t pmtu = pmtu_next_due(c, p);
	core_timer(c, &p->timer, pmtu < at ? pmtu : at);
}

void peer_attach(struct fcore *c, struct fpeer *p, struct fsession *s)
{
	s->peer = p;
	LIST_INSERT_HEAD(&p->sessions, s, peer_link);
	if (s->state == FS_INCOMING)
		p->n_half_open++;
	if (p->n_sessions++ == 0) {
		/* a peer we had not heard of lately starts with a clean slate */
		p->last_rx_ns = c->now;
		peer_rearm(c, p);
	}
}

void peer_detach(struct fcore *c, struct fsession *s)
{
	struct fpeer *p = s->peer;
	if (p == NULL)
		return;
	if (s->state == FS_INCOMING)
		p->n_half_open--;
	if (--p->n_sessions == 0)
		ftq_cancel(&c->timers, &p->timer);
}

bool peer_heard(struct fcore *c, struct fpeer *p)
{
	/* the timer is not moved: when it fires it sees the news */
	p->last_rx_ns = c->now;
	if (c->now - p->arp_confirm_ns < 1000000000ull)
		return false;
	p->arp_confirm_ns = c->now;
	p->arp_failed = false;
	return true;
}

void peer_ping(struct fcore *c, struct fpeer *p)
{
	do {
		p->ping_nonce = core_random(c);
	} while (p->ping_nonce == 0);
	p->last_ping_ns = c->now;
	core_count(c, FC_TX_PINGS);
	send_bare(c, p->ip, c->p.udp_port, c->p.udp_port, FW_PING, 0, 0, p->ping_nonce, 0,
		  c->incarnation);
}

/* End every session of @p p for @p reason; made with incarnation @p only
 * (0: all). Nothing is told to the peer: it is gone or another ferryd. */
static void end_sessions(struct fcore *c, struct fpeer *p, uint32_t only, int reason)
{
	struct fsession *s;
	LIST_FOREACH(s, &p->sessions, peer_link) {
		if (s->dead || (only && s->peer_inc != only))
			continue;
		s->peer_done = true;
		rtx_fail(c, s, reason);
	}
}

void peer_incarnation(struct fcore *c, struct fpeer *p, uint32_t inc, bool proven)
{
	if (inc == 0 || inc == p->incarnation)
		return;
	if (p->incarnation == 0) {
		p->incarnation = inc;
		return;
	}
	if (!proven) {
		/* ask the real peer: only it sees our PING */
		p->claimed_inc = inc;
		if (p->ping_nonce == 0 || c->now - p->last_ping_ns >= CHALLENGE_GAP_NS)
			peer_ping(c, p);
		return;
	}
	uint32_t old = p->incarnation;
	p->incarnation = inc;
	p->claimed_inc = 0;
	core_count(c, FC_PEER_RESTARTS);
	LOG_I("peer %u.%u.%u.%u restarted (incarnation %08x, was %08x): its old sessions end",
	      IP4(p->ip), inc, old);
	end_sessions(c, p, old, FERRY_REASON_RESET);
}

void peer_refused(struct fcore *c, uint32_t ip, int reason)
{
	struct fpeer *p = peer_find(c, ip);
	if (p != NULL)
		end_sessions(c, p, 0, reason);
}

void peer_timer(struct fcore *c, struct fpeer *p)
{
	uint64_t silent = c->now - p->last_rx_ns;
	if (p->n_sessions == 0)
		return;
	if (silent >= c->p.peer_timeout_ns) {
		LOG_I("peer %u.%u.%u.%u: no word for %llu ms: its %u sessions end", IP4(p->ip),
		      (unsigned long long)(silent / 1000000), p->n_sessions);
		/* opening sessions have their own deadline and reason */
		struct fsession *s;
		LIST_FOREACH(s, &p->sessions, peer_link) {
			if (s->dead || s->state == FS_OPENING)
				continue;
			core_count(c, FC_PEER_TIMEOUTS);
			s->peer_done = true;
			rtx_fail(c, s, FERRY_REASON_TIMEOUT);
		}
		p->last_rx_ns = c->now; /* the opening ones start over */
	} else if (silent >= c->p.keepalive_ns &&
		   c->now - p->last_ping_ns >= c->p.keepalive_ns) {
		peer_ping(c, p);
	}
	pmtu_timer(c, p);
	peer_rearm(c, p);
}

bool peer_on_ping(struct fcore *c, uint32_t ip, uint16_t port, uint16_t dport,
		  const struct ferry_wire_hdr *h)
{
	uint32_t inc = ntohl(h->aux);
	/* answered whether or not we know it: the asker learns we are here
	 * and who we are, which a restarted asker needs */
	send_bare(c, ip, dport, port, FW_PONG, 0, 0, 0, ntohl(h->seq), c->incarnation);
	struct fpeer *p = peer_find(c, ip);
	if (p == NULL)
		return false;
	if (inc == p->incarnation)
		return peer_heard(c, p) && p->n_sessions > 0;
	peer_incarnation(c, p, inc, false);
	return false;
}

bool peer_on_pong(struct fcore *c, struct fpeer *p, const struct ferry_wire_hdr *h)
{
	uint32_t nonce = ntohl(h->ack);
	/* a path MTU probe's, or the plain PING's */
	if (!pmtu_on_pong(c, p, nonce)) {
		if (p->ping_nonce == 0 || nonce != p->ping_nonce) {
			core_count(c, FC_RX_REJECTED);
			return false;
		}
		p->ping_nonce = 0;
		pmtu_on_ping_answer(c, p);
	}
	core_count(c, FC_RX_PONGS);
	bool confirm = peer_heard(c, p) && p->n_sessions > 0;
	uint32_t inc = ntohl(h->aux);
	if (p->claimed_inc && p->claimed_inc != inc)
		LOG_I("peer %u.%u.%u.%u: someone claimed incarnation %08x for it; it is %08x",
		      IP4(p->ip), p->claimed_inc, inc);
	p->claimed_inc = 0;
	peer_incarnation(c, p, inc, true);
	return confirm;
}

void fcore_unreachable(struct fcore *c, uint32_t ip, bool all)
{
	core_enter(c);
	uint32_t mask = c->p.local_prefix_len ? ~0u << (32 - c->p.local_prefix_len) : 0;
	struct fpeer *p;
	LIST_FOREACH(p, &c->peers, link) {
		bool behind = p->ip == ip ||
			      (all && (p->ip & mask) != (c->p.local_ip & mask));
		if (!behind || p->n_sessions == 0)
			continue;
		LOG_I("peer %u.%u.%u.%u: %u.%u.%u.%u does not answer ARP", IP4(p->ip), IP4(ip));
		p->arp_failed = true;
		struct fsession *s;
		LIST_FOREACH(s, &p->sessions, peer_link) {
			/* lost requests or replies, maybe: an opening session
			 * keeps sending OPEN (a new resolution after the
			 * cache's hold) until its deadline, then says
			 * unreachable */
			if (s->dead || s->state == FS_OPENING)
				continue;
			/* nothing to tell a peer we cannot reach */
			s->peer_done = true;
			rtx_fail(c, s, FERRY_REASON_UNREACHABLE);
		}
	}
	core_leave(c);
}

static void peer_free(struct fcore *c, struct fpeer *p)
{
	ftq_cancel(&c->timers, &p->timer);
	fmap_del(&c->peer_map, p->ip);
	LIST_REMOVE(p, link);
	free(p);
}

void peer_reap(struct fcore *c)
{
	struct fpeer *p, *next;
	for (p = LIST_FIRST(&c->peers); p; p = next) {
		next = LIST_NEXT(p, link);
		if (p->n_sessions == 0 && LIST_EMPTY(&p->sessions) && !pmtu_keep(c, p))
			peer_free(c, p);
	}
}

void peers_fini(struct fcore *c)
{
	struct fpeer *p;
	while ((p = LIST_FIRST(&c->peers)) != NULL)
		peer_free(c, p);
}
