/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The path MTU towards each peer: how large an IP packet to it may be.
 *
 * Every ferry packet leaves with DF set, so a path narrower than the
 * port (8500 across VPC peering or a transit gateway, 1500 through an
 * internet gateway or a VPN, where ENIs run 9001) drops every full-size
 * packet. A peer's record starts at the link's MTU, or at the first
 * net.peer_mtus entry whose subnet holds the peer, and comes down three
 * ways, never below 576 (PMTU_FLOOR) so that nothing forged can stop a
 * flow:
 *
 *   - ICMP "fragmentation needed" (RFC 1191): the NIC edge checks that it
 *     quotes a packet we sent, fcore_path_mtu() that it names a flow of
 *     ours with that peer and a size below the one in use;
 *   - a black hole (RFC 8899 in spirit), where no ICMP comes back: a
 *     session's retransmission timeouts in a row (BH_RTOS) whose lost
 *     packet was large, that is, larger than the plateau below the size
 *     in use, with no large packet acked between them, make the peer ask
 *     the path: BH_PROBES PINGs padded to the lost size, then one plain
 *     PING. If the small one comes back and no large one has (nor an ack
 *     of a large packet) an RTO later, the size drops to the next
 *     plateau; without an answer to the small one by BH_WAIT_MIN_NS (or
 *     four RTOs) there is no verdict. Random loss rarely looks like that:
 *     it takes every large probe lost and the small one through. The
 *     large probes go first, so on a path that keeps order their answers
 *     come before the small one's, and the RTO after it is slack;
 *   - and it goes up again by probing: while below its ceiling, every
 *     pmtu_probe_ns (60 s) the peer is sent a PING padded to the next
 *     plateau up, up to PROBE_TRIES times; its PONG raises the size, and
 *     the next plateau is tried soon after.
 *
 * Each change is counted and logged once. Data sent after a change takes
 * the new size; packets sent before it that no longer fit are resent in
 * fragments (frag.c). A lowered size is kept KEEP_NS after it was learnt
 * even if the peer's last session ends meanwhile, so short sessions to a
 * narrow path do not each find it again.
 *
 * The path MTU is the peer's, not the flow's: sessions to one peer from
 * different UDP ports could take different paths through a multipath
 * network, and the smallest any of them reports is what all of them use.
 */
#include <arpa/inet.h>

#include "core_pvt.h"
#include "log.h"
#include "seq.h"

#define IP4(a) (a) >> 24, ((a) >> 16) & 255, ((a) >> 8) & 255, (a) & 255

#define PMTU_FLOOR 576u
#define PROBE_EVERY_NS (60 * 1000000000ull)
#define PROBE_RETRY_NS 250000000ull  /* an unanswered probe up, again after */
#define PROBE_TRIES 3
#define BH_RTOS 2                    /* timeouts in a row that make us ask */
#define BH_PROBES 6                  /* large PINGs: all lost, or no verdict */
#define BH_WAIT_MIN_NS 10000000ull   /* the answers' wait, at least */
#define NONCES 8u                    /* a probe round's PINGs carry nonce + i */
#define KEEP_NS (600 * 1000000000ull)

/* Common path MTUs, largest first: AWS within a VPC, across peering or a
 * transit gateway, Ethernet and the internet, tunnels, IPv6's minimum
 * (what many tunnels are sized for), and IPv4's floor. */
static const uint16_t plateaus[] = {9001, 8500, 1500, 1400, 1280, 1200, 576};
#define N_PLATEAUS (sizeof(plateaus) / sizeof(plateaus[0]))

uint16_t pmtu_floor(const struct fpmtu *m)
{
	return m->ceiling < PMTU_FLOOR ? m->ceiling : PMTU_FLOOR;
}

/* The plateau below @p mtu, never under the floor. */
static uint16_t below(const struct fpmtu *m, uint32_t mtu)
{
	uint16_t fl = pmtu_floor(m);
	for (size_t i = 0; i < N_PLATEAUS; i++)
		if (plateaus[i] < mtu)
			return plateaus[i] > fl ? plateaus[i] : fl;
	return fl;
}

/* The plateau above @p mtu, never over the ceiling. */
static uint16_t above(const struct fpmtu *m, uint32_t mtu)
{
	uint16_t up = m->ceiling;
	for (size_t i = 0; i < N_PLATEAUS; i++)
		if (plateaus[i] > mtu && plateaus[i] < up)
			up = plateaus[i];
	return up;
}

/* A packet of @p wire bytes is large when it fits the size in use but
 * not the plateau below it: lowering would make it smaller. */
static bool large(const struct fpmtu *m, uint32_t wire)
{
	return m->mtu > pmtu_floor(m) && wire <= m->mtu && wire > below(m, m->mtu);
}

static uint64_t probe_every(const struct fcore *c)
{
	return c->p.pmtu_probe_ns ? c->p.pmtu_probe_ns : PROBE_EVERY_NS;
}

void pmtu_init(struct fcore *c, struct fpeer *p)
{
	struct fpmtu *m = &p->pmtu;
	/* the link's MTU: its payload less the seal's room is what we are told */
	uint32_t link = c->lo.max_payload(c->lo.arg, p->ip) + FERRY_WIRE_IPUDP_HLEN +
			secure_trailer(c);
	m->ceiling = (uint16_t)(link < FERRY_WIRE_MTU_MAX ? link : FERRY_WIRE_MTU_MAX);
	for (uint32_t i = 0; i < c->p.n_peer_mtus; i++) {
		const struct fcore_peer_mtu *e = &c->p.peer_mtus[i];
		uint32_t mask = e->prefix_len ? ~0u << (32 - e->prefix_len) : 0;
		if ((p->ip & mask) != (e->addr & mask))
			continue;
		if (e->mtu < m->ceiling)
			m->ceiling = e->mtu;
		break;
	}
	m->mtu = m->ceiling;
}

uint32_t pmtu_payload(const struct fcore *c, const struct fpeer *p)
{
	uint32_t link = c->lo.max_payload(c->lo.arg, p->ip);
	uint32_t over = FERRY_WIRE_IPUDP_HLEN + secure_trailer(c);
	uint32_t path = p->pmtu.mtu > over ? p->pmtu.mtu - over : 0;
	return link < path ? link : path;
}

static uint32_t fresh_nonce(struct fcore *c)
{
	uint32_t n;
	do {
		n = core_random(c);
	} while (n == 0 || n > UINT32_MAX - NONCES);
	return n;
}

/* A PING padded to @p size bytes of IP packet, from and to the peers'
 * listening port, as keepalive PINGs go. */
static void send_probe(struct fcore *c, struct fpeer *p, uint32_t nonce, uint16_t size)
{
	core_count(c, FC_PMTU_PROBES);
	send_bare_pad(c, p->ip, c->p.udp_port, c->p.udp_port, FW_PING, 0, 0, nonce, 0,
		      c->incarnation,
		      size - FERRY_WIRE_IPUDP_HLEN - (uint32_t)sizeof(struct ferry_wire_hdr) -
			      secure_trailer(c));
}

/* The path to @p p takes @p mtu now (for @p why). */
static void set_mtu(struct fcore *c, struct fpeer *p, uint16_t mtu, const char *why)
{
	struct fpmtu *m = &p->pmtu;
	bool down = mtu < m->mtu;
	LOG_I("peer %u.%u.%u.%u: path MTU %u -> %u (%s)", IP4(p->ip), m->mtu, mtu, why);
	m->mtu = mtu;
	m->changed_ns = c->now;
	m->probe = PMTU_PROBE_NONE;
	m->tries = 0;
	/* down: try again later; up: the next plateau soon */
	m->due_ns = mtu >= m->ceiling ? 0 : c->now + (down ? probe_every(c) : PROBE_RETRY_NS);
	struct fsession *s;
	LIST_FOREACH(s, &p->sessions, peer_link) {
		struct rtx *t = s->t;
		if (s->dead || t == NULL)
			continue;
		t->bh_rtos = 0;
		t->big_out = false;
		if (down && t->rto_probe) {
			/* the timeouts were the path's size, not congestion:
			 * undone, as a spurious timeout is */
			t->cc = t->cc_before;
			t->rtt = t->rtt_before;
			t->rto_probe = false;
		}
		/* what was lost goes again now, in pieces that fit */
		if (s->state == FS_UP || s->state == FS_CLOSING)
			rtx_mark_dirty(c, s);
	}
	peer_rearm(c, p);
}

/* Whether @p port (the peer's) and @p sport (ours) are a flow we have with
 * @p p: a session's, or the one PINGs take. */
static bool flow_of(const struct fcore *c, const struct fpeer *p, uint16_t port, uint16_t sport)
{
	if (port == c->p.udp_port && sport == c->p.udp_port)
		return true;
	const struct fsession *s;
	LIST_FOREACH(s, &p->sessions, peer_link)
		if (!s->dead && s->sport == sport && s->peer_port == port)
			return true;
	return false;
}

bool fcore_path_mtu(struct fcore *c, uint32_t ip, uint16_t port, uint16_t sport, uint16_t mtu)
{
	bool lowered = false;
	core_enter(c);
	struct fpeer *p = peer_find(c, ip);
	/* the size first: a flood of ICMP that would lower nothing costs no
	 * walk of the peer's sessions */
	if (p && mtu < pmtu_floor(&p->pmtu))
		mtu = pmtu_floor(&p->pmtu);
	if (p && mtu < p->pmtu.mtu && flow_of(c, p, port, sport)) {
		core_count(c, FC_PMTU_ICMP);
		set_mtu(c, p, mtu, "ICMP fragmentation needed");
		lowered = true;
	}
	if (!lowered)
		core_count(c, FC_PMTU_ICMP_IGNORED);
	core_leave(c);
	return lowered;
}

uint32_t fcore_peer_mtu(const struct fcore *c, uint32_t ip)
{
	const struct fpeer *p = peer_find(c, ip);
	return p ? p->pmtu.mtu : 0;
}

void pmtu_sent(struct fcore *c, struct fsession *s, uint32_t seq, uint32_t wire)
{
	(void)c;
	struct rtx *t = s->t;
	if (!t->big_out && large(&s->peer->pmtu, wire)) {
		t->big_out = true;
		t->big_seq = seq;
	}
}

void pmtu_on_ack(struct fcore *c, struct fsession *s)
{
	(void)c;
	struct rtx *t = s->t;
	if (!t->big_out || !ferry_sack_is_acked(t->sack, t->big_seq))
		return;
	/* a large packet got through */
	t->big_out = false;
	t->bh_rtos = 0;
	if (s->peer->pmtu.probe == PMTU_PROBE_BLACKHOLE)
		s->peer->pmtu.answered = true;
}

void pmtu_on_rto(struct fcore *c, struct fsession *s, uint64_t rto)
{
	struct rtx *t = s->t;
	struct fpeer *p = s->peer;
	struct fpmtu *m = &p->pmtu;
	uint32_t seq;
	if (ferry_sack_next_retransmit(t->sack, &seq) != 0)
		return;
	uint16_t wire = t->slots[seq & (WINDOW_PKTS - 1)].wire;
	/* the next large packet sent, the lost one again most likely, tells
	 * whether large packets still get through */
	t->big_out = false;
	if (!large(m, wire)) {
		t->bh_rtos = 0;
		return;
	}
	if (t->bh_rtos < UINT8_MAX)
		t->bh_rtos++;
	if (t->bh_rtos < BH_RTOS || m->probe == PMTU_PROBE_BLACKHOLE)
		return;
	LOG_D("session %u: %u timeouts in a row of %u-byte packets: is %u.%u.%u.%u's path "
	      "narrower?", s->id, t->bh_rtos, wire, IP4(p->ip));
	m->probe = PMTU_PROBE_BLACKHOLE;
	m->probe_size = wire;
	m->answered = false;
	m->small_ok = false;
	m->nonce = fresh_nonce(c);
	for (uint32_t i = 0; i < BH_PROBES; i++)
		send_probe(c, p, m->nonce + i, wire);
	peer_ping(c, p); /* the small one, last: its answer comes after theirs */
	uint64_t wait = 4 * rto;
	m->due_ns = c->now + (wait > BH_WAIT_MIN_NS ? wait : BH_WAIT_MIN_NS);
	m->grace_ns = rto;
	peer_rearm(c, p);
}

bool pmtu_on_pong(struct fcore *c, struct fpeer *p, uint32_t nonce)
{
	struct fpmtu *m = &p->pmtu;
	if (m->nonce == 0 || nonce - m->nonce >= NONCES)
		return false;
	if (m->probe == PMTU_PROBE_BLACKHOLE) {
		m->answered = true;
	} else if (m->probe == PMTU_PROBE_UP) {
		core_count(c, FC_PMTU_RAISED);
		set_mtu(c, p, m->probe_size, "a probe of that size was answered");
	}
	/* else a late answer to a round already over */
	return true;
}

void pmtu_on_ping_answer(struct fcore *c, struct fpeer *p)
{
	struct fpmtu *m = &p->pmtu;
	if (m->probe != PMTU_PROBE_BLACKHOLE || m->small_ok)
		return;
	/* the verdict an RTO from now: the large ones' answers, sent
	 * before, would be here by then */
	m->small_ok = true;
	if (c->now + m->grace_ns < m->due_ns) {
		m->due_ns = c->now + m->grace_ns;
		peer_rearm(c, p);
	}
}

uint64_t pmtu_next_due(const struct fcore *c, const struct fpeer *p)
{
	(void)c;
	return p->pmtu.due_ns ? p->pmtu.due_ns : UINT64_MAX;
}

/* The black hole's verdict: the small PING came back, no large one. */
static void blackhole_verdict(struct fcore *c, struct fpeer *p)
{
	struct fpmtu *m = &p->pmtu;
	m->probe = PMTU_PROBE_NONE;
	if (m->answered || !m->small_ok) {
		/* large packets do get through, or nothing does: not the
		 * path's size; the sessions' timeouts go on counting */
		LOG_D("peer %u.%u.%u.%u: no black hole at %u bytes (%s)", IP4(p->ip),
		      m->probe_size, m->answered ? "a large probe came back" : "no answer at all");
		m->due_ns = m->mtu < m->ceiling ? c->now + probe_every(c) : 0;
		return;
	}
	core_count(c, FC_PMTU_BLACKHOLE);
	set_mtu(c, p, below(m, m->probe_size),
		"black hole: large packets are lost, small ones answered");
}

void pmtu_timer(struct fcore *c, struct fpeer *p)
{
	struct fpmtu *m = &p->pmtu;
	if (m->due_ns == 0 || c->now < m->due_ns)
		return;
	if (m->probe == PMTU_PROBE_BLACKHOLE) {
		blackhole_verdict(c, p);
		return;
	}
	if (m->mtu >= m->ceiling) {
		m->due_ns = 0;
		return;
	}
	if (m->probe != PMTU_PROBE_UP || m->tries >= PROBE_TRIES) {
		/* a new round (the last one's late answer no longer counts) */
		m->probe = PMTU_PROBE_UP;
		m->probe_size = above(m, m->mtu);
		m->tries = 0;
		m->nonce = fresh_nonce(c);
	}
	send_probe(c, p, m->nonce, m->probe_size);
	m->tries++;
	m->due_ns = c->now + (m->tries < PROBE_TRIES ? PROBE_RETRY_NS : probe_every(c));
}

bool pmtu_keep(const struct fcore *c, const struct fpeer *p)
{
	return p->pmtu.mtu < p->pmtu.ceiling && c->now - p->pmtu.changed_ns < KEEP_NS;
}
