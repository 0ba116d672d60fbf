/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What remote sessions receive (remote_data.c sends, acks and holds the
 * windows; remote.c has the handshake and the checks): DATA through the
 * reorder window, the stream cut into messages, messages into the
 * client's event ring or held until it reads.
 *
 * Packets go through the reorder window (transport/rxwin.h):
 * in order, their bytes are cut into messages at once; out of order, they
 * are copied and held until the gap fills, and all that is held out of
 * order fits inside the window we advertised, in bytes. A whole message
 * goes straight into the client's event ring when it fits; otherwise it
 * waits here, in order, and the ring gets it as the client reads (the
 * client edge wakes us: want_room). The edge we advertise is what the
 * client's ring has free, less what we already hold for that client,
 * shared between its sessions; a message already begun may always finish.
 * So a stopped reader closes the window, the sender stops, and our memory
 * for a client stays below its ring size plus one message per session.
 * Nothing is acked that is not held, and nothing held is dropped while the
 * client lives.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "core_pvt.h"
#include "ferry.h"
#include "log.h"
#include "seq.h"

#define ACK_EVERY 2u        /* unacked packets that send an ACK in this pass */
#define CUR ((void *)1)     /* the packet in hand, in the reorder window */

void rtx_held_add(struct fsession *s, int64_t bytes)
{
	struct rtx *t = s->t;
	t->held_bytes += (uint64_t)bytes;
	struct fcore_client *cl = local_end(s);
	/* a dead session's bytes left its client's count when it died */
	if (cl && !s->dead)
		cl->rx_held += (uint64_t)bytes;
}

void rtx_drop_held(struct fsession *s)
{
	struct rtx *t = s->t;
	while (t->held) {
		struct rmsg *m = t->held;
		t->held = m->next;
		rtx_held_add(s, -(int64_t)m->len);
		free(m);
	}
	t->held_tail = NULL;
}

/* A message went into the client's ring. */
static void delivered(struct fcore *c, struct fsession *s)
{
	ctr_add(s->c_rx, 1);
	core_count(c, FC_RX_DATA);
}

/* Have the client wake us when it reads (@p len: what we wait to fit).
 * @return true when there is room already. */
static bool wait_room(struct fcore *c, struct fsession *s, uint32_t len)
{
	struct fcore_client *cl = local_end(s);
	if (cl == NULL || cl->gone)
		return false;
	if (!s->room_wait) {
		LIST_INSERT_HEAD(&cl->room_waiters, s, room_link);
		s->room_wait = true;
	}
	return c->co.want_room(c->co.arg, cl, len);
}

void rtx_deliver_held(struct fcore *c, struct fsession *s)
{
	struct rtx *t = s->t;
	struct fcore_client *cl = local_end(s);
	bool retried = false;
	while (t->held) {
		struct rmsg *m = t->held;
		if (cl && !cl->gone) {
			int rc = c->co.emit_data(c->co.arg, cl, s->id, m->flags, m->data, m->len);
			if (rc == -EAGAIN) {
				/* room may have come between the two looks:
				 * once more, then wait to be woken */
				if (!retried && wait_room(c, s, m->len)) {
					retried = true;
					continue;
				}
				return;
			}
			if (rc == 0)
				delivered(c, s);
			/* else: the client is on its way out; drop */
		}
		t->held = m->next;
		if (t->held == NULL)
			t->held_tail = NULL;
		rtx_held_add(s, -(int64_t)m->len);
		free(m);
	}
}

/* In-order stream bytes: cut them into messages. @return 0, or -1 when
 * the peer framed a message we cannot take (a protocol error). */
static int stream_in(struct fcore *c, struct fsession *s, const uint8_t *p, uint32_t n)
{
	struct rtx *t = s->t;
	struct fcore_client *cl = local_end(s);
	bool live = cl && !cl->gone;
	t->r_off += n;
	while (n > 0) {
		struct rmsg *m = t->asm_msg;
		if (m == NULL) {
			uint32_t take = (uint32_t)sizeof(t->fh) - t->fh_have;
			if (take > n)
				take = n;
			memcpy(t->fh + t->fh_have, p, take);
			t->fh_have += take;
			p += take;
			n -= take;
			if (t->fh_have < sizeof(t->fh))
				break;
			t->fh_have = 0;
			struct ferry_wire_frame f;
			memcpy(&f, t->fh, sizeof(f));
			uint32_t len = ntohl(f.len);
			uint16_t flags = ntohs(f.flags) & FERRY_RECF_RPC;
			if (len > t->max_msg)
				return -1;
			/* whole in this packet, nothing waiting: straight in */
			if (len <= n && t->held == NULL && live &&
			    c->co.emit_data(c->co.arg, cl, s->id, flags, p, len) == 0) {
				delivered(c, s);
				p += len;
				n -= len;
				continue;
			}
			m = malloc(sizeof(*m) + len);
			if (m == NULL)
				return -1;
			m->next = NULL;
			m->len = len;
			m->have = 0;
			m->flags = flags;
			t->asm_msg = m;
			rtx_held_add(s, len);
		}
		uint32_t take = m->len - m->have;
		if (take > n)
			take = n;
		memcpy(m->data + m->have, p, take);
		m->have += take;
		p += take;
		n -= take;
		if (m->have < m->len)
			break;
		t->asm_msg = NULL;
		if (t->held_tail)
			t->held_tail->next = m;
		else
			t->held = m;
		t->held_tail = m;
		rtx_deliver_held(c, s);
	}
	return 0;
}

void rtx_free_rpkt(void *arg, uint32_t seq, void *pkt)
{
	(void)seq;
	struct fsession *s = arg;
	if (pkt != CUR) {
		struct rpkt *k = pkt;
		s->t->ooo_bytes -= k->len;
		rtx_held_add(s, -(int64_t)k->len);
		free(k);
	}
}

/* Packet @p seq, stream bytes [off, off + len), whole (received so, or
 * rebuilt from its fragments), inside the window we advertised. */
static void packet_in(struct fcore *c, struct fsession *s, uint32_t seq, uint64_t off,
		      const uint8_t *p, uint32_t len)
{
	struct rtx *t = s->t;
	/* out of order: keep a copy until the gap fills, as long as all that
	 * is held out of order fits in the window we advertised */
	struct rpkt *k = NULL;
	if (ferry_seq_gt(seq, ferry_rxwin_cum(t->rx))) {
		if (off <= t->r_off || t->ooo_bytes + len > t->adv_edge - t->r_off) {
			core_count(c, off <= t->r_off ? FC_RX_REJECTED : FC_RX_BEYOND);
			t->ack_now = true;
			return;
		}
		k = malloc(sizeof(*k) + len);
		if (k == NULL)
			return; /* not acked: it comes again */
		k->off = off;
		k->len = len;
		memcpy(k->data, p, len);
	}
	int r = ferry_rxwin_receive(t->rx, seq, k ? (void *)k : CUR);
	if (r == FERRY_RXWIN_DUP || r == FERRY_RXWIN_BEYOND) {
		free(k);
		core_count(c, r == FERRY_RXWIN_DUP ? FC_RX_DUP : FC_RX_BEYOND);
		t->ack_now = true;
		return;
	}
	if (r == FERRY_RXWIN_HELD) {
		if (t->ooo_bytes == 0)
			t->gap_since_ns = c->now;
		t->ooo_bytes += len;
		rtx_held_add(s, len);
		core_count(c, FC_RX_OOO);
		t->ack_now = true;
		return;
	}
	/* in order: this packet, then any held ones it joins up with */
	uint32_t got;
	void *pkt;
	while ((pkt = ferry_rxwin_pop(t->rx, &got)) != NULL) {
		const uint8_t *bp = p;
		uint32_t bl = len;
		uint64_t boff = off;
		if (pkt != CUR) {
			struct rpkt *hk = pkt;
			bp = hk->data;
			bl = hk->len;
			boff = hk->off;
		}
		int bad = boff != t->r_off || stream_in(c, s, bp, bl) != 0;
		rtx_free_rpkt(s, got, pkt);
		if (bad) {
			core_count(c, FC_PROTOCOL);
			LOG_I("session %u (%s): the peer's stream does not frame (offset %llu, "
			      "expected %llu)", s->id, s->service, (unsigned long long)boff,
			      (unsigned long long)t->r_off);
			/* the session dies; its memory stays until the core
			 * call returns, and nothing below touches it */
			rtx_fail(c, s, FERRY_REASON_PROTOCOL);
			return;
		}
		t->unacked++;
	}
	/* the gap, if any is left, moved: its clock starts again */
	t->gap_since_ns = t->ooo_bytes ? c->now : 0;
	/* a window down to a quarter of the ring reopens as the client reads:
	 * have it tell us (held messages asked already) */
	if (t->held == NULL && t->adv_edge - t->r_off < c->p.client_ring_size / 4)
		wait_room(c, s, 0);
	if (t->unacked >= ACK_EVERY)
		t->ack_now = true;
	else if (t->ack_due_ns == 0)
		t->ack_due_ns = c->now + c->p.ack_delay_ns;
	rtx_mark_dirty(c, s);
}

void rtx_on_data(struct fcore *c, struct fsession *s, const struct ferry_wire_hdr *h,
		 const uint8_t *p, uint32_t len)
{
	struct rtx *t = s->t;
	uint32_t seq = ntohl(h->seq);
	uint64_t off = ferry_wire_widen(t->r_off, ntohl(h->aux));
	bool frag = ntohs(h->flags) & FWF_FRAG;
	core_count(c, FC_RX_PACKETS);
	/* The time echoed is a packet's that was news, not a duplicate's
	 * (RFC 7323's TS.Recent): a late original's ack then tells the sender
	 * its timeout was spurious, even with the retransmissions queued
	 * behind it. */
	if (!ferry_seq_lt(seq, ferry_rxwin_cum(t->rx))) {
		t->echo_ts = ntohl(h->ts);
		t->echo_at_ns = c->now;
	}
	t->idle_since_ns = c->now;
	if (ntohs(h->flags) & FWF_PROBE)
		t->ack_now = true;
	/* the peer must keep to the edge we advertised (a fragment's bytes
	 * follow its own header) */
	uint32_t bytes = len;
	if (frag && bytes >= sizeof(struct ferry_wire_frag))
		bytes -= (uint32_t)sizeof(struct ferry_wire_frag);
	if (off + bytes > t->adv_edge) {
		core_count(c, FC_RX_BEYOND);
		t->ack_now = true;
		return;
	}
	if (!frag) {
		packet_in(c, s, seq, off, p, len);
		return;
	}
	const uint8_t *whole = frag_input(c, s, h, p, len, &off, &len);
	if (whole) {
		packet_in(c, s, seq, off, whole, len);
		frag_done(s);
	}
}

void rtx_on_room(struct fcore *c, struct fsession *s)
{
	struct rtx *t = s->t;
	rtx_deliver_held(c, s);
	if (s->state == FS_PEER_CLOSED) {
		if (t->held == NULL)
			session_end(c, s, NULL, t->close_reason);
		return;
	}
	uint64_t ring = c->p.client_ring_size;
	uint64_t was = t->adv_edge;
	uint64_t edge = rtx_edge(c, s);
	uint64_t win = was > t->r_off ? was - t->r_off : 0;
	/* tell the peer when the window grew by a quarter or reopened */
	if (edge > was && (edge - was >= ring / 4 || win < rtx_mss(c, s))) {
		t->ack_now = true;
		rtx_mark_dirty(c, s);
	}
	/* again while it has traffic: a dozing session's next packet, or its
	 * peer's probe of a shut window, carries the edge; so a read costs
	 * the sessions with traffic, not every session of the client */
	if (t->held == NULL && edge - t->r_off < ring / 4 && t->sack != NULL)
		wait_room(c, s, 0);
}

