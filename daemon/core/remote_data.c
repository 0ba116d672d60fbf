/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The data path of remote sessions (remote.c has the handshake and the
 * checks; remote_rx.c what comes in): the send buffer, DATA and ACK
 * packets and what they carry, acks, and the memory a session holds.
 *
 * Sending. A DATA record from the client is appended, framed, to the
 * session's send buffer (a byte ring, grown on demand up to twice the
 * largest message) and the record is released: the client's ring is free
 * again at once. Packets take slices of that buffer; a packet's bytes stay
 * until the peer's cumulative ack passes them, and a lost packet is sent
 * again from them under the same number (in fragments if the path to the
 * peer has shrunk below its size since: frag.c, pmtu.c; new packets take
 * the size of the path as it is, rtx_mss()). When the buffer is full, the
 * client's command ring stops being read (remote_send() says -EAGAIN), so
 * the client sees back-pressure in ferry_send().
 *
 * What may be in flight is the least of: the scoreboard's window (packets,
 * transport/sack.h), the congestion window (packets, transport/cc.h: Swift,
 * fed the delay each ack's echoed timestamp measures) and the peer's flow
 * control edge (bytes of stream). The edge moves with the newest ack that
 * carries it and never past what the peer promised at the handshake, so a
 * forged ack cannot open the window wider than the peer's ring, and the
 * peer's next ack (it answers every packet past its window with one)
 * brings it back down. A packet sent past an edge that came down is not
 * sent again until the window takes it, and the peer owes no ack for it:
 * the session waits for the window (probing) as for any shut one, and
 * is not timed out for it.
 *
 * Acks: an ACK goes out in the loop pass a gap, a duplicate or a probe is
 * seen, when two packets are unacked, or ack_delay_ns after the first
 * unacked packet; any packet we send carries the ack fields anyway, so an
 * answer within the delay carries the ack for free. ack_delay in the
 * header lets the peer take the wait out of its RTT sample.
 *
 * Memory. The scoreboard, its slots and the reorder window (about 48 KiB)
 * and the send buffer exist while a session has traffic; keepalive_ns
 * after its last packet with nothing in flight or held, a session gives
 * them back (rtx_doze()) and keeps only its next packet numbers, so an
 * idle session costs about a kilobyte.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core_pvt.h"
#include "ferry.h"
#include "seq.h"

#define AVAIL_MAX (1ull << 30)

/* ---- waking and dozing ------------------------------------------------- */

uint32_t rtx_snd_next(const struct rtx *t)
{
	return t->sack ? ferry_sack_next_seq(t->sack) : t->snd_next;
}

uint32_t rtx_rcv_next(const struct rtx *t)
{
	return t->rx ? ferry_rxwin_cum(t->rx) : t->rcv_next;
}

static void drop_windows(struct fsession *s)
{
	struct rtx *t = s->t;
	if (t->rx) {
		t->rcv_next = ferry_rxwin_cum(t->rx);
		ferry_rxwin_destroy(t->rx, rtx_free_rpkt, s);
		t->rx = NULL;
	}
	if (t->sack) {
		t->snd_next = ferry_sack_next_seq(t->sack);
		ferry_sack_destroy(t->sack);
		t->sack = NULL;
	}
	free(t->slots);
	t->slots = NULL;
	t->big_out = false;
	frag_free(s);
}

int rtx_wake(struct fcore *c, struct fsession *s)
{
	struct rtx *t = s->t;
	(void)c;
	if (t->sack)
		return 0;
	struct ferry_sack_params sp = FERRY_SACK_PARAMS_DEFAULT;
	sp.window = WINDOW_PKTS;
	t->slots = calloc(WINDOW_PKTS, sizeof(*t->slots));
	if (t->slots == NULL || ferry_sack_create(&t->sack, &sp, t->snd_next) != 0 ||
	    ferry_rxwin_create(&t->rx, WINDOW_PKTS, t->rcv_next) != 0) {
		drop_windows(s);
		return -ENOMEM;
	}
	return 0;
}

bool rtx_can_doze(const struct rtx *t)
{
	if (t->sack == NULL && t->sbuf == NULL)
		return false; /* dozing already */
	return t->una_off == t->end_off && t->ack_due_ns == 0 &&
	       (t->sack == NULL ||
		(ferry_sack_in_flight(t->sack) == 0 && ferry_sack_lost(t->sack) == 0 &&
		 ferry_rxwin_held(t->rx) == 0));
}

bool rtx_ack_owed(const struct rtx *t)
{
	if (t->una_off >= t->nxt_off)
		return false;
	if (t->sack == NULL)
		return true;
	const struct txslot *sl = &t->slots[ferry_sack_una(t->sack) & (WINDOW_PKTS - 1)];
	return sl->off + sl->len <= t->peer_edge;
}

void rtx_doze(struct fcore *c, struct fsession *s)
{
	struct rtx *t = s->t;
	if (c->now - t->idle_since_ns < c->p.keepalive_ns || !rtx_can_doze(t))
		return;
	drop_windows(s);
	free(t->sbuf);
	t->sbuf = NULL;
	t->scap = 0;
}

/* ---- packets out ------------------------------------------------------- */

/* The edge we may advertise now: see "Receiving" above. */
uint64_t rtx_edge(struct fcore *c, struct fsession *s)
{
	struct rtx *t = s->t;
	struct fcore_client *cl = local_end(s);
	uint64_t edge;
	if (cl == NULL || cl->gone) {
		/* nobody to deliver to: take and drop, so the peer finishes */
		edge = t->r_off + AVAIL_MAX;
	} else {
		uint64_t free_b = c->co.room(c->co.arg, cl);
		uint32_t n = cl->n_sessions ? cl->n_sessions : 1;
		uint64_t avail = free_b > cl->rx_held ? (free_b - cl->rx_held) / n : 0;
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

static void fill_hdr(struct fcore *c, struct fsession *s, struct ferry_wire_hdr *h, uint8_t type,
		     uint16_t flags, uint32_t seq, uint32_t aux)
{
	struct rtx *t = s->t;
	uint32_t cum = t->rcv_next;
	uint64_t sack = 0;
	if (t->rx)
		ferry_rxwin_ack(t->rx, &cum, &sack);
	t->adv_edge = rtx_edge(c, s);
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
		.ts = htonl((uint32_t)c->now),
		.ts_echo = htonl(t->echo_ts),
		.ack_delay = htonl(t->echo_ts ? (uint32_t)(c->now - t->echo_at_ns) : 0),
	};
	memcpy(&h->sack, &(uint64_t){htobe64(sack)}, sizeof(sack));
	/* every packet carries the ack: nothing is owed any more */
	t->ack_now = false;
	t->unacked = 0;
	t->ack_due_ns = 0;
}

static int tx(struct fcore *c, struct fsession *s, const struct ferry_wire_hdr *h, const void *p1,
	      uint32_t l1, const void *p2, uint32_t l2)
{
	int rc = c->lo.send(c->lo.arg, s->peer_ip, s->sport, s->peer_port, h, sizeof(*h), p1, l1,
			    p2, l2);
	core_count(c, rc < 0 ? FC_TX_FAILED : FC_TX_PACKETS);
	c->sent++;
	return rc;
}

void rtx_send(struct fcore *c, struct fsession *s, uint8_t type, uint16_t flags, uint32_t aux,
	      const void *p, uint32_t len)
{
	struct ferry_wire_hdr h;
	fill_hdr(c, s, &h, type, flags, rtx_snd_next(s->t), aux);
	if (type == FW_ACK)
		core_count(c, FC_TX_ACKS);
	tx(c, s, &h, p, len, NULL, 0);
}

void rtx_send_first(struct fcore *c, struct fsession *s, uint8_t type, uint32_t aux, const void *p,
		    uint32_t len)
{
	struct ferry_wire_hdr h;
	fill_hdr(c, s, &h, type, 0, s->t->isn, aux);
	tx(c, s, &h, p, len, NULL, 0);
}

int rtx_send_data(struct fcore *c, struct fsession *s, uint32_t seq, uint16_t flags,
		  uint64_t off, uint32_t len, const void *pre, uint32_t prelen)
{
	struct rtx *t = s->t;
	struct ferry_wire_hdr h;
	fill_hdr(c, s, &h, FW_DATA, flags, seq, (uint32_t)off);
	uint64_t at = off & (t->scap - 1);
	uint32_t l1 = t->scap - at < len ? (uint32_t)(t->scap - at) : len;
	if (prelen == 0)
		return tx(c, s, &h, t->sbuf + at, l1, t->sbuf, len - l1);
	/* a fragment: its header and bytes in one piece (rare, small) */
	uint8_t buf[sizeof(struct ferry_wire_frag) + FERRY_WIRE_PKT_MAX];
	assert(prelen + len <= sizeof(buf));
	memcpy(buf, pre, prelen);
	memcpy(buf + prelen, t->sbuf + at, l1);
	memcpy(buf + prelen + l1, t->sbuf, len - l1);
	return tx(c, s, &h, buf, prelen + len, NULL, 0);
}

/* The IP packet carrying @p len stream bytes, a seal's trailer included. */
static uint32_t wire_size(const struct fcore *c, uint32_t len)
{
	return len + (uint32_t)sizeof(struct ferry_wire_hdr) + FERRY_WIRE_IPUDP_HLEN +
	       secure_trailer(c);
}

uint32_t rtx_mss(struct fcore *c, const struct fsession *s)
{
	uint32_t max = pmtu_payload(c, s->peer);
	return max > sizeof(struct ferry_wire_hdr) ? max - (uint32_t)sizeof(struct ferry_wire_hdr)
						   : 0;
}

void rtx_transmit(struct fcore *c, struct fsession *s)
{
	struct rtx *t = s->t;
	uint64_t now = c->now;
	t->blocked = false;
	if (t->nxt_off >= t->end_off && (t->sack == NULL || ferry_sack_lost(t->sack) == 0))
		return;
	uint32_t max = rtx_mss(c, s);
	if (max == 0 || rtx_wake(c, s) != 0)
		return;
	for (;;) {
		if (ferry_sack_in_flight(t->sack) >= ferry_cc_window(&t->cc))
			break;
		uint64_t gap = ferry_cc_pacing_delay_ns(&t->cc);
		if (gap && now < t->next_send_ns)
			break;
		uint32_t seq;
		if (ferry_sack_next_retransmit(t->sack, &seq) == 0) {
			struct txslot *sl = &t->slots[seq & (WINDOW_PKTS - 1)];
			/* sent under an edge the peer has since said is
			 * lower (a forged ack believed, acks reordered): the
			 * peer would drop it again; it waits for the window,
			 * like new data */
			if (sl->off + sl->len > t->peer_edge) {
				t->blocked = true;
				break;
			}
			if (ferry_sack_sent(t->sack, seq, now, true) != 0)
				continue; /* acked meanwhile */
			/* sent before the path shrank: in pieces that fit */
			if (sl->len > max) {
				sl->wire = (uint16_t)frag_send(c, s, seq, sl->off, sl->len, max);
			} else {
				rtx_send_data(c, s, seq, 0, sl->off, sl->len, NULL, 0);
				sl->wire = (uint16_t)wire_size(c, sl->len);
			}
			pmtu_sent(c, s, seq, sl->wire);
			core_count(c, FC_TX_RETRANSMITS);
			ctr_add(s->c_retx, 1);
			if (t->rto_probe) {
				/* one, until the next ack says whether the
				 * timeout was real */
				t->next_send_ns = now + gap;
				break;
			}
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
			if (t->una_off == t->nxt_off)
				t->progress_ns = now; /* outstanding from now on */
			seq = ferry_sack_next_seq(t->sack);
			struct txslot *sl = &t->slots[seq & (WINDOW_PKTS - 1)];
			*sl = (struct txslot){t->nxt_off, (uint32_t)len,
					      (uint16_t)wire_size(c, (uint32_t)len)};
			ferry_sack_sent(t->sack, seq, now, false);
			rtx_send_data(c, s, seq, 0, t->nxt_off, (uint32_t)len, NULL, 0);
			pmtu_sent(c, s, seq, sl->wire);
			t->nxt_off += len;
		}
		t->next_send_ns = now + gap;
		t->idle_since_ns = now;
	}
	if (t->blocked && t->last_probe_ns < now - ferry_rtt_rto(&t->rtt))
		t->last_probe_ns = now; /* the first probe waits an RTO */
}

/* ---- the send buffer --------------------------------------------------- */

static void sbuf_copy_in(struct rtx *t, uint64_t off, const void *p, uint32_t len)
{
	uint64_t at = off & (t->scap - 1);
	uint64_t l1 = t->scap - at < len ? t->scap - at : len;
	memcpy(t->sbuf + at, p, l1);
	memcpy(t->sbuf, (const uint8_t *)p + l1, len - l1);
}

/* Room for @p need more bytes: grow the ring, keeping offsets, up to
 * @p limit bytes in use. */
static int sbuf_reserve(struct rtx *t, uint64_t need, uint64_t limit)
{
	uint64_t used = t->end_off - t->una_off;
	if (used + need <= t->scap)
		return 0;
	if (used + need > limit)
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

int remote_send(struct fcore *c, struct fcore_client *cl, const struct ferry_rec_view *v)
{
	struct fsession *s = fmap_get(&c->sessions, v->session);
	/* A session that ended meanwhile: its EVT_DOWN is on the way. */
	if (s == NULL)
		return 0;
	if (!s->remote || local_end(s) != cl)
		return -EBADMSG;
	if (s->state != FS_UP)
		return 0;
	struct rtx *t = s->t;
	/* libferry keeps to the session's maximum (EVT_UP); a client that
	 * does not would break the session on the peer */
	if (v->len > t->max_msg)
		return -EBADMSG;
	uint64_t need = sizeof(struct ferry_wire_frame) + (uint64_t)v->len;
	/* A client that hung up has its last commands taken past the
	 * buffer's size, so nothing ferry_send() accepted is lost; its edge
	 * reads at most one ring's worth of them, and this bounds it too. */
	uint64_t limit = t->scap_max + (cl->draining ? c->p.client_ring_size : 0);
	if (sbuf_reserve(t, need, limit) != 0) {
		core_count(c, FC_SEND_STALLS);
		return -EAGAIN;
	}
	struct ferry_wire_frame f = {.len = htonl(v->len), .flags = htons(v->flags & FERRY_RECF_RPC)};
	sbuf_copy_in(t, t->end_off, &f, sizeof(f));
	sbuf_copy_in(t, t->end_off + sizeof(f), v->payload, v->len);
	t->end_off += need;
	ctr_add(s->c_tx, 1);
	core_count(c, FC_TX_DATA);
	rtx_mark_dirty(c, s);
	return 0;
}

/* ---- freeing ----------------------------------------------------------- */

void rtx_free_data(struct fsession *s)
{
	struct rtx *t = s->t;
	drop_windows(s);
	rtx_drop_held(s);
	if (t->asm_msg) {
		rtx_held_add(s, -(int64_t)t->asm_msg->len);
		free(t->asm_msg);
		t->asm_msg = NULL;
	}
	free(t->sbuf);
	t->sbuf = NULL;
}

/* ---- acks -------------------------------------------------------------- */

int rtx_check_ack(struct fcore *c, struct fsession *s, struct ferry_wire_hdr *h)
{
	struct rtx *t = s->t;
	uint64_t bits;
	memcpy(&bits, &h->sack, sizeof(bits));
	bits = be64toh(bits);
	uint32_t cum = ntohl(h->ack);
	bool cum_ok, sack_ok;
	if (t->sack) {
		cum_ok = ferry_sack_ack_check(t->sack, cum, 0) == 0;
		sack_ok = ferry_sack_ack_check(t->sack, cum, bits) == 0;
	} else {
		/* dozing: nothing is in flight, so a true ack is of our next
		 * number (or an older one, late) and selects nothing past it */
		int32_t back = ferry_seq_diff(t->snd_next, cum);
		cum_ok = back >= 0 && back <= (int32_t)WINDOW_PKTS;
		sack_ok = bits == 0 ||
			  ferry_seq_lt(cum + 1 + (63 - (uint32_t)__builtin_clzll(bits)), t->snd_next);
	}
	if (!cum_ok)
		return -1;
	if (!sack_ok) {
		/* The peer selectively acks numbers we never sent: someone
		 * forged data into its window (it cannot tell). Its cumulative
		 * ack still holds; the selective part is not believed. */
		core_count(c, FC_ACKS_INVALID);
		memset(&h->sack, 0, sizeof(h->sack));
	}
	return 0;
}

void rtx_on_ack(struct fcore *c, struct fsession *s, const struct ferry_wire_hdr *h)
{
	struct rtx *t = s->t;
	uint64_t now = c->now;
	uint64_t sackbits;
	memcpy(&sackbits, &h->sack, sizeof(sackbits));
	struct ferry_sack_ack a = {0};
	if (t->sack) {
		if (ferry_sack_on_ack(t->sack, ntohl(h->ack), be64toh(sackbits), now, &a) != 0) {
			core_count(c, FC_ACKS_INVALID);
			return;
		}
		if (a.una != a.una_before) {
			t->una_off = a.una == ferry_sack_next_seq(t->sack)
					     ? t->nxt_off
					     : t->slots[a.una & (WINDOW_PKTS - 1)].off;
			t->progress_ns = now;
			t->idle_since_ns = now;
		}
		if (a.newly_acked)
			pmtu_on_ack(c, s);
	}
	uint32_t echo = ntohl(h->ts_echo);
	uint64_t delay = 0;
	if (t->rto_probe && a.newly_acked) {
		t->rto_probe = false;
		/* the peer acks a packet we sent before the timeout: the
		 * originals were late, not lost (a stalled peer, a queue).
		 * The echo is 32 bits of nanoseconds: its age is compared,
		 * exact up to 4.29 s, not its distance to the timeout,
		 * which wraps for a packet sent 2.15 s after it. */
		if (echo && (uint32_t)now - echo > now - t->rto_at) {
			core_count(c, FC_SPURIOUS_RTO);
			t->cc = t->cc_before;
			t->rtt = t->rtt_before;
		}
	}
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
		t->acked_ns = now;
		t->last_delay_ns = delay ? delay : a.rtt_ns;
		ferry_cc_on_ack(&t->cc, t->last_delay_ns, a.newly_acked, now);
		/* the cloud dropping our packets (ENA allowance counters) */
		ferry_cc_on_signal(&t->cc, core_drop_epoch(c), now);
	}
	/* Delay is the congestion signal: a queue that overflows was above
	 * the target first. A loss while the delay is below it is a bad link
	 * or a corrupted frame, which a smaller window would not prevent. */
	if (a.newly_lost && t->last_delay_ns >= ferry_cc_target_ns(&t->cc))
		ferry_cc_on_loss(&t->cc, now);
	if (a.newly_acked || a.newly_lost) {
		ctr_set(s->c_srtt, ferry_rtt_srtt(&t->rtt));
		ctr_set(s->c_cwnd, (uint64_t)(ferry_cc_cwnd(&t->cc) * 1000.0));
	}
	/* The edge is what the latest packet that passed every check says,
	 * not the largest ever seen: a forged ack that slipped through moves
	 * it only until the peer's next packet, and never past what the peer
	 * promised beyond what it has acked. A late packet may lower it for a
	 * moment; the peer's next one says the truth again. */
	uint64_t was = t->peer_edge;
	bool owed = rtx_ack_owed(t);
	t->peer_edge = ferry_wire_widen(t->nxt_off, ntohl(h->window));
	uint64_t promise = t->peer_max_window;
	if (promise < t->max_msg + sizeof(struct ferry_wire_frame))
		promise = t->max_msg + sizeof(struct ferry_wire_frame);
	if (t->peer_edge > t->una_off + promise)
		t->peer_edge = t->una_off + promise;
	/* What went out past an edge the peer then lowered was dropped
	 * unread: no ack is owed for it, and the clock of progress starts
	 * once the window takes it again. */
	if (!owed && rtx_ack_owed(t))
		t->progress_ns = now;
	if (a.newly_acked || a.newly_lost || t->peer_edge > was || t->nxt_off < t->end_off)
		rtx_mark_dirty(c, s);
}
