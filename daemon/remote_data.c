/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The data path of remote sessions (remote.c has the overview): the send
 * buffer, DATA and ACK packets and what they carry, the reorder window,
 * cutting the stream into messages and handing them to the client.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ferry.h"
#include "log.h"
#include "net_host.h"
#include "nic.h"
#include "rtx.h"

#define ACK_EVERY 2u        /* unacked packets that send an ACK in this pass */
#define AVAIL_MAX (1ull << 30)
#define CUR ((void *)1)     /* the packet in hand, in the reorder window */

/* ---- packets out ------------------------------------------------------- */

/* The edge we may advertise now: see "Receiving" atop remote.c. */
uint64_t rtx_edge(struct rtx *t)
{
	struct fclient *c = rtx_local_end(t->s);
	uint64_t edge;
	if (c == NULL || c->dead || c->state != FCLIENT_ATTACHED) {
		/* nobody to deliver to: take and drop, so the peer finishes */
		edge = t->r_off + AVAIL_MAX;
	} else {
		uint64_t free_b = ferry_ring_free(&c->evt);
		uint32_t n = c->n_sessions ? c->n_sessions : 1;
		uint64_t avail = free_b > c->rx_held ? (free_b - c->rx_held) / n : 0;
		if (avail > AVAIL_MAX)
			avail = AVAIL_MAX;
		edge = t->r_off + avail;
		if (t->asm_msg) {
			uint64_t end = t->r_off + (t->asm_msg->len - t->asm_msg->have);
			if (end > edge)
				edge = end;
		}
	}
	if (edge < t->adv_edge)
		edge = t->adv_edge;
	return edge;
}

static void fill_hdr(struct ferryd *d, struct rtx *t, struct ferry_wire_hdr *h, uint8_t type,
		     uint16_t flags, uint32_t seq, uint32_t aux)
{
	struct fsession *s = t->s;
	uint32_t cum = 0;
	uint64_t sack = 0;
	if (t->rx)
		ferry_rxwin_ack(t->rx, &cum, &sack);
	t->adv_edge = rtx_edge(t);
	*h = (struct ferry_wire_hdr){
		.version = FERRY_WIRE_VERSION,
		.type = type,
		.flags = htons(flags),
		.dst_session = htonl(s->peer_session),
		.src_session = htonl(s->id),
		.aux = htonl(aux),
		.seq = htonl(seq),
		.ack = htonl(cum),
		.window = htonl((uint32_t)t->adv_edge),
		.ts = htonl((uint32_t)d->now_ns),
		.ts_echo = htonl(t->echo_ts),
		.ack_delay = htonl(t->echo_ts ? (uint32_t)(d->now_ns - t->echo_at_ns) : 0),
	};
	memcpy(&h->sack, &(uint64_t){htobe64(sack)}, sizeof(sack));
	/* every packet carries the ack: nothing is owed any more */
	t->ack_now = false;
	t->unacked = 0;
	t->ack_due_ns = 0;
}

static int tx(struct ferryd *d, struct rtx *t, const struct ferry_wire_hdr *h, const void *p1,
	      uint32_t l1, const void *p2, uint32_t l2)
{
	int rc = nic_sendv(d, t->s->peer_ip, t->s->peer_port, 0, h, sizeof(*h), p1, l1, p2, l2);
	if (rc < 0)
		rtx_count(d, RC_TX_FAILED);
	else
		rtx_count(d, RC_TX_PACKETS);
	d->rt_sent++;
	return rc;
}

void rtx_send(struct ferryd *d, struct rtx *t, uint8_t type, uint16_t flags, uint32_t aux,
	      const void *p, uint32_t len)
{
	struct ferry_wire_hdr h;
	fill_hdr(d, t, &h, type, flags, t->sack ? ferry_sack_next_seq(t->sack) : t->isn, aux);
	if (type == FW_ACK)
		rtx_count(d, RC_TX_ACKS);
	tx(d, t, &h, p, len, NULL, 0);
}

/* Send stream bytes [off, off + len) as packet @p seq. */
static int send_data(struct ferryd *d, struct rtx *t, uint32_t seq, uint64_t off, uint32_t len)
{
	struct ferry_wire_hdr h;
	fill_hdr(d, t, &h, FW_DATA, 0, seq, (uint32_t)off);
	uint64_t at = off & (t->scap - 1);
	uint32_t l1 = t->scap - at < len ? (uint32_t)(t->scap - at) : len;
	return tx(d, t, &h, t->sbuf + at, l1, t->sbuf, len - l1);
}

uint32_t rtx_mss(struct ferryd *d)
{
	return nic_max_payload(d) - (uint32_t)sizeof(struct ferry_wire_hdr);
}

/* Send what the windows allow: losses first, then new bytes. */
void rtx_transmit(struct ferryd *d, struct rtx *t)
{
	uint64_t now = d->now_ns;
	uint32_t max = rtx_mss(d);
	t->blocked = false;
	for (;;) {
		if (ferry_sack_in_flight(t->sack) >= ferry_cc_window(&t->cc))
			break;
		uint64_t gap = ferry_cc_pacing_delay_ns(&t->cc);
		if (gap && now < t->next_send_ns) {
			rtx_arm(d, t->next_send_ns);
			break;
		}
		uint32_t seq;
		bool re = ferry_sack_next_retransmit(t->sack, &seq) == 0;
		if (re) {
			struct txslot *sl = &t->slots[seq & (WINDOW_PKTS - 1)];
			if (ferry_sack_sent(t->sack, seq, now, true) != 0)
				continue; /* acked meanwhile */
			send_data(d, t, seq, sl->off, sl->len);
			rtx_count(d, RC_TX_RETRANSMITS);
			fctr_add(t->s->c_retx, 1);
		} else {
			if (t->nxt_off >= t->end_off)
				break;
			if (t->nxt_off >= t->peer_edge) {
				t->blocked = true;
				break;
			}
			if (ferry_sack_space(t->sack) == 0)
				break;
			uint64_t len = t->end_off - t->nxt_off;
			if (len > max)
				len = max;
			if (len > t->peer_edge - t->nxt_off)
				len = t->peer_edge - t->nxt_off;
			seq = ferry_sack_next_seq(t->sack);
			t->slots[seq & (WINDOW_PKTS - 1)] = (struct txslot){t->nxt_off, (uint32_t)len};
			ferry_sack_sent(t->sack, seq, now, false);
			send_data(d, t, seq, t->nxt_off, (uint32_t)len);
			t->nxt_off += len;
		}
		t->next_send_ns = now + gap;
		rtx_arm(d, now + ferry_rtt_rto(&t->rtt));
	}
	if (t->blocked)
		rtx_arm(d, now + ferry_rtt_rto(&t->rtt));
}

/* ---- the send buffer --------------------------------------------------- */

static void sbuf_copy_in(struct rtx *t, uint64_t off, const void *p, uint32_t len)
{
	uint64_t at = off & (t->scap - 1);
	uint64_t l1 = t->scap - at < len ? t->scap - at : len;
	memcpy(t->sbuf + at, p, l1);
	memcpy(t->sbuf, (const uint8_t *)p + l1, len - l1);
}

/* Room for @p need more bytes: grow the ring, keeping offsets; beyond
 * scap_max only when @p force. */
static int sbuf_reserve(struct rtx *t, uint64_t need, bool force)
{
	uint64_t used = t->end_off - t->una_off;
	if (used + need <= t->scap)
		return 0;
	if (used + need > t->scap_max && !force)
		return -EAGAIN;
	uint64_t cap = t->scap ? t->scap : SBUF_MIN;
	while (cap < used + need)
		cap *= 2;
	uint8_t *nb = malloc(cap);
	if (nb == NULL)
		return -EAGAIN;
	for (uint64_t o = t->una_off; o < t->end_off;) {
		uint64_t at = o & (t->scap - 1);
		uint64_t l = t->scap - at < t->end_off - o ? t->scap - at : t->end_off - o;
		uint64_t nat = o & (cap - 1);
		uint64_t l2 = cap - nat < l ? cap - nat : l;
		memcpy(nb + nat, t->sbuf + at, l2);
		memcpy(nb, t->sbuf + at + l2, l - l2);
		o += l;
	}
	free(t->sbuf);
	t->sbuf = nb;
	t->scap = cap;
	return 0;
}

int remote_send(struct ferryd *d, struct fclient *c, const struct ferry_rec_view *v)
{
	struct fsession *s = fmap_get(&d->sessions, v->session);
	/* A session that ended meanwhile: its EVT_DOWN is on the way. */
	if (s == NULL)
		return 0;
	if (!s->remote || rtx_local_end(s) != c)
		return -EBADMSG;
	if (s->state != FS_UP)
		return 0;
	struct rtx *t = s->t;
	/* libferry keeps to the session's maximum (EVT_UP); a client that
	 * does not would break the session on the peer */
	if (v->len > t->max_msg)
		return -EBADMSG;
	uint64_t need = sizeof(struct ferry_wire_frame) + (uint64_t)v->len;
	if (sbuf_reserve(t, need, c->draining) != 0) {
		rtx_count(d, RC_SEND_STALLS);
		return -EAGAIN;
	}
	struct ferry_wire_frame f = {.len = htonl(v->len), .flags = htons(v->flags & FERRY_RECF_RPC)};
	sbuf_copy_in(t, t->end_off, &f, sizeof(f));
	sbuf_copy_in(t, t->end_off + sizeof(f), v->payload, v->len);
	t->end_off += need;
	fctr_add(s->c_tx, 1);
	rtx_count(d, RC_TX_DATA);
	rtx_mark_dirty(d, t);
	return 0;
}

/* ---- receiving --------------------------------------------------------- */

void rtx_held_add(struct rtx *t, int64_t bytes)
{
	struct fclient *c = rtx_local_end(t->s);
	t->held_bytes += (uint64_t)bytes;
	if (c)
		c->rx_held += (uint64_t)bytes;
}

/* A message went into the client's ring. */
static void delivered(struct ferryd *d, struct rtx *t)
{
	fctr_add(t->s->c_rx, 1);
	rtx_count(d, RC_RX_DATA);
}

/* Move held messages into the client's ring while they fit. */
void rtx_deliver_held(struct ferryd *d, struct rtx *t)
{
	struct fclient *c = rtx_local_end(t->s);
	while (t->held) {
		struct rmsg *m = t->held;
		if (c && clients_emit_data(d, c, t->s->id, m->flags, m->data, m->len) < 0)
			return;
		if (c)
			delivered(d, t);
		t->held = m->next;
		if (t->held == NULL)
			t->held_tail = NULL;
		rtx_held_add(t, -(int64_t)m->len);
		free(m);
	}
}

/* In-order stream bytes: cut them into messages. @return 0, or -1 when
 * the peer framed a message we cannot take (a protocol error). */
static int stream_in(struct ferryd *d, struct rtx *t, const uint8_t *p, uint32_t n)
{
	struct fclient *c = rtx_local_end(t->s);
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
			if (len <= n && t->held == NULL && c &&
			    clients_emit_data(d, c, t->s->id, flags, p, len) == 0) {
				delivered(d, t);
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
			rtx_held_add(t, len);
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
		rtx_deliver_held(d, t);
	}
	if (t->held || t->asm_msg) {
		t->watch = true;
		rtx_arm(d, d->now_ns);
	}
	return 0;
}

void rtx_free_rpkt(void *arg, uint32_t seq, void *pkt)
{
	(void)seq;
	struct rtx *t = arg;
	if (pkt != CUR) {
		rtx_held_add(t, -(int64_t)((struct rpkt *)pkt)->len);
		free(pkt);
	}
}

/* A DATA packet of session @p t. */
void rtx_on_data(struct ferryd *d, struct rtx *t, const struct ferry_wire_hdr *h,
		 const uint8_t *p, uint32_t len)
{
	uint32_t seq = ntohl(h->seq);
	uint64_t off = ferry_wire_widen(t->r_off, ntohl(h->aux));
	rtx_count(d, RC_RX_PACKETS);
	t->echo_ts = ntohl(h->ts);
	t->echo_at_ns = d->now_ns;
	if (ntohs(h->flags) & FWF_PROBE)
		t->ack_now = true;
	/* the peer must keep to the edge we advertised */
	if (off + len > t->adv_edge) {
		rtx_count(d, RC_RX_BEYOND);
		t->ack_now = true;
		return;
	}
	/* out of order: keep a copy until the gap fills */
	struct rpkt *k = NULL;
	if (seq != ferry_rxwin_cum(t->rx)) {
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
		rtx_count(d, r == FERRY_RXWIN_DUP ? RC_RX_DUP : RC_RX_BEYOND);
		t->ack_now = true;
		return;
	}
	if (r == FERRY_RXWIN_HELD) {
		rtx_held_add(t, len);
		rtx_count(d, RC_RX_OOO);
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
		int bad = boff != t->r_off || stream_in(d, t, bp, bl) != 0;
		if (pkt != CUR)
			rtx_free_rpkt(t, got, pkt);
		if (bad) {
			rtx_count(d, RC_PROTOCOL);
			rtx_fail(d, t, FERRY_REASON_PROTOCOL);
			return;
		}
		t->unacked++;
	}
	if (t->unacked >= ACK_EVERY)
		t->ack_now = true;
	else if (t->ack_due_ns == 0) {
		t->ack_due_ns = d->now_ns + (uint64_t)d->cfg->transport_ack_delay_us * 1000;
		rtx_arm(d, t->ack_due_ns);
	}
}

/* The ack fields of any packet from the peer. */
void rtx_on_ack(struct ferryd *d, struct rtx *t, const struct ferry_wire_hdr *h)
{
	uint64_t now = d->now_ns;
	uint64_t sackbits;
	memcpy(&sackbits, &h->sack, sizeof(sackbits));
	struct ferry_sack_ack a;
	if (ferry_sack_on_ack(t->sack, ntohl(h->ack), be64toh(sackbits), now, &a) != 0) {
		rtx_count(d, RC_ACKS_INVALID);
		return;
	}
	if (a.una != a.una_before) {
		t->una_off = a.una == ferry_sack_next_seq(t->sack)
				     ? t->nxt_off
				     : t->slots[a.una & (WINDOW_PKTS - 1)].off;
	}
	uint32_t echo = ntohl(h->ts_echo);
	uint64_t delay = 0;
	if (echo) {
		uint32_t raw = (uint32_t)now - echo;
		uint32_t held = ntohl(h->ack_delay);
		/* more than a second: a wrapped or bogus echo */
		if (raw > held && raw < 1000000000u) {
			delay = raw - held;
			ferry_rtt_sample(&t->rtt, delay, false);
		}
	}
	if (a.newly_acked) {
		t->last_delay_ns = delay ? delay : a.rtt_ns;
		ferry_cc_on_ack(&t->cc, t->last_delay_ns, a.newly_acked, now);
		/* the cloud dropping our packets (ENA allowance counters) */
		ferry_cc_on_signal(&t->cc, nic_cloud_drop_epoch(d), now);
	}
	/* Delay is the congestion signal: a queue that overflows was above
	 * the target first. A loss while the delay is below it is a bad link
	 * or a corrupted frame, which a smaller window would not prevent. */
	if (a.newly_lost && t->last_delay_ns >= ferry_cc_target_ns(&t->cc))
		ferry_cc_on_loss(&t->cc, now);
	if (a.newly_acked || a.newly_lost) {
		fctr_set(t->s->c_srtt, ferry_rtt_srtt(&t->rtt));
		fctr_set(t->s->c_cwnd, (uint64_t)(ferry_cc_cwnd(&t->cc) * 1000.0));
	}
	uint64_t edge = ferry_wire_widen(t->nxt_off, ntohl(h->window));
	if (edge > t->peer_edge)
		t->peer_edge = edge;
	if (a.newly_acked || a.newly_lost || t->blocked || t->nxt_off < t->end_off)
		rtx_mark_dirty(d, t);
}
