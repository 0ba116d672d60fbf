/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Sessions between this host and another: the handshake, reliable ordered
 * delivery of whole messages, flow and congestion control, keepalive and
 * the end, over the header of wire.h.
 *
 *   opener's ferryd                          acceptor's ferryd
 *   CMD_CONNECT  -> OPENING --OPEN-->        INCOMING -> EVT_INCOMING
 *                  (again each RTO)          CMD_ACCEPT
 *   EVT_UP       <- UP     <--ACCEPT--       UP       -> EVT_UP
 *   DATA records --DATA-->  EVT(DATA) ...    and back the same way
 *                <--ACK (or on DATA)--
 *   CMD_CLOSE / client gone: CLOSING until every byte is acked,
 *                --CLOSE-->              delivers what it holds, EVT_DOWN
 *   freed        <--CLOSE_ACK--
 *
 * Sending. A DATA record from the client is appended, framed, to the
 * session's send buffer (a byte ring, grown on demand up to twice the
 * largest message) and the record is released: the client's ring is free
 * again at once. Packets take slices of that buffer; a packet's bytes stay
 * until the peer's cumulative ack passes them, and a lost packet is sent
 * again from them under the same number. When the buffer is full, the
 * client's command ring stops being read (remote_send() says -EAGAIN), so
 * the client sees back-pressure in ferry_send().
 *
 * What may be in flight is the least of: the scoreboard's window (packets,
 * transport/sack.h), the congestion window (packets, transport/cc.h: Swift,
 * fed the delay each ack's echoed timestamp measures) and the peer's flow
 * control edge (bytes of stream).
 *
 * Receiving. Packets go through the reorder window (transport/rxwin.h):
 * in order, their bytes are cut into messages at once; out of order, they
 * are copied and held until the gap fills. A whole message goes straight
 * into the client's event ring when it fits; otherwise it waits here, in
 * order, and the ring gets it as the client reads. The edge we advertise
 * is what the client's ring has free, less what we already hold for that
 * client, shared between its sessions; a message already begun may always
 * finish. So a stopped reader closes the window, the sender stops, and our
 * memory for a client stays below its ring size plus one message per
 * session. Nothing is acked that is not held, and nothing held is dropped
 * while the client lives.
 *
 * Acks: an ACK goes out in the loop pass a gap, a duplicate or a probe is
 * seen, when 16 packets are unacked, or transport.ack_delay_us after the
 * first unacked packet; any packet we send carries the ack fields anyway,
 * so an answer within the delay carries the ack for free. ack_delay in
 * the header lets the peer take the wait out of its RTT sample.
 *
 * Liveness: a session that has heard nothing for transport.keepalive_ms
 * probes; one silent for transport.peer_timeout_ms ends with
 * FERRY_REASON_TIMEOUT. A packet for a session we do not know is answered
 * with CLOSE (FERRY_REASON_RESET): the peer's daemon restarted.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "cc.h"
#include "ferry.h"
#include "ferryd.h"
#include "log.h"
#include "net_host.h"
#include "nic.h"
#include "remote.h"
#include "rtt.h"
#include "rxwin.h"
#include "sack.h"
#include "sessions_pvt.h"
#include "wire.h"

#define WINDOW_PKTS 1024u   /* scoreboard and reorder window, packets */
#define ACK_EVERY 2u        /* unacked packets that send an ACK in this pass */
#define SBUF_MIN (64u << 10)
#define CLOSE_TRIES 8
#define AVAIL_MAX (1ull << 30)
#define CUR ((void *)1)     /* the packet in hand, in the reorder window */

static const char *const rc_names[RC_COUNT] = {
	"remote.rx_malformed", "remote.rx_unknown_session", "remote.rx_messages",
	"remote.tx_messages", "remote.tx_failed",
	"remote.rx_packets", "remote.tx_packets", "remote.tx_retransmits",
	"remote.rx_duplicates", "remote.rx_out_of_order", "remote.rx_beyond_window",
	"remote.tx_acks", "remote.rto_timeouts", "remote.tx_probes", "remote.peer_timeouts",
	"remote.tx_resets", "remote.protocol_errors", "remote.acks_invalid",
	"remote.send_stalls",
};

/* Held for delivery: a whole message, or one being assembled. */
struct rmsg {
	struct rmsg *next;
	uint32_t len;
	uint32_t have;
	uint16_t flags;
	uint8_t data[];
};

/* An out-of-order packet's stream bytes, waiting in the reorder window. */
struct rpkt {
	uint64_t off;
	uint32_t len;
	uint8_t data[];
};

struct txslot {
	uint64_t off;
	uint32_t len;
};

/* The transport state of one remote session. */
struct rtx {
	struct fsession *s;
	struct rtx *next, *prev; /* d->remotes */
	struct rtx *dnext;       /* d->rdirty while dirty */
	bool dirty;
	bool watch;              /* window or held data to look after */
	bool ack_now;
	bool blocked;            /* data waits on the peer's window */
	uint32_t isn;            /* our first packet number */

	/* send: stream offsets; [una_off, end_off) is in sbuf */
	uint8_t *sbuf;
	uint64_t scap, scap_max;
	uint64_t una_off, nxt_off, end_off;
	uint64_t peer_edge;
	struct txslot *slots; /* by seq & (WINDOW_PKTS - 1) */
	struct ferry_sack *sack;
	struct ferry_rtt rtt;
	struct ferry_cc cc;
	uint64_t next_send_ns; /* pacing, cwnd < 1 */
	uint64_t last_delay_ns; /* the latest delay fed to cc */

	/* receive */
	struct ferry_rxwin *rx;
	uint64_t r_off;    /* stream bytes received in order */
	uint64_t adv_edge; /* the furthest edge advertised */
	uint8_t fh[sizeof(struct ferry_wire_frame)];
	uint32_t fh_have;
	struct rmsg *asm_msg; /* being assembled */
	struct rmsg *held, *held_tail;
	uint64_t held_bytes;  /* held, being assembled, out of order */
	uint32_t unacked;
	uint64_t ack_due_ns;  /* 0: no ack owed on a timer */
	uint32_t echo_ts;
	uint64_t echo_at_ns;

	/* liveness and the ends */
	uint64_t last_rx_ns, last_probe_ns;
	uint64_t ctl_due_ns; /* OPEN or CLOSE again */
	uint32_t ctl_tries;
	int close_reason;
	uint32_t max_msg; /* the smaller of both ends' ipc.max_message_size */
	uint32_t peer_isn; /* the peer's first number (OPEN, ACCEPT) */
};

void remote_init(struct ferryd *d)
{
	for (int i = 0; i < RC_COUNT; i++)
		d->c.remote[i] = fstatus_counter(&d->st, FERRY_CTR_COUNT, 0, "%s", rc_names[i]);
}

static void count(struct ferryd *d, int what)
{
	fctr_add(d->c.remote[what], 1);
}

static struct fclient *local_end(const struct fsession *s)
{
	return s->end[0] ? s->end[0] : s->end[1];
}

static void arm(struct ferryd *d, uint64_t at)
{
	if (at < d->rt_next)
		d->rt_next = at;
}

static void mark_dirty(struct ferryd *d, struct rtx *t)
{
	if (t->dirty)
		return;
	t->dirty = true;
	t->dnext = d->rdirty;
	d->rdirty = t;
}

/* ---- packets out ------------------------------------------------------- */

/* The edge we may advertise now: see the top of the file. */
static uint64_t rx_edge(struct rtx *t)
{
	struct fclient *c = local_end(t->s);
	uint64_t edge;
	if (c == NULL || c->dead || c->state != FCLIENT_ATTACHED) {
		/* nobody to deliver to: take and drop, so the peer finishes */
		edge = t->r_off + AVAIL_MAX;
	} else {
		uint64_t free_b = ferry_ring_room(&c->evt);
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
	t->adv_edge = rx_edge(t);
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
	int rc = nic_sendv(d, t->s->peer_ip, t->s->peer_port, h, sizeof(*h), p1, l1, p2, l2);
	if (rc < 0)
		count(d, RC_TX_FAILED);
	else
		count(d, RC_TX_PACKETS);
	d->rt_sent++;
	return rc;
}

static void send_simple(struct ferryd *d, struct rtx *t, uint8_t type, uint16_t flags,
			uint32_t aux, const void *p, uint32_t len)
{
	struct ferry_wire_hdr h;
	fill_hdr(d, t, &h, type, flags, t->sack ? ferry_sack_next_seq(t->sack) : t->isn, aux);
	if (type == FW_ACK)
		count(d, RC_TX_ACKS);
	tx(d, t, &h, p, len, NULL, 0);
}

/* A header for a session we have no record of (REFUSE, RESET, CLOSE_ACK). */
static void send_bare(struct ferryd *d, uint32_t ip, uint16_t port, uint8_t type, uint32_t dst,
		      uint32_t src, uint32_t aux)
{
	struct ferry_wire_hdr h = {.version = FERRY_WIRE_VERSION,
				   .type = type,
				   .dst_session = htonl(dst),
				   .src_session = htonl(src),
				   .aux = htonl(aux),
				   .ts = htonl((uint32_t)d->now_ns)};
	if (nic_sendv(d, ip, port, &h, sizeof(h), NULL, 0, NULL, 0) < 0)
		count(d, RC_TX_FAILED);
	else
		count(d, RC_TX_PACKETS);
	d->rt_sent++;
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

static uint32_t mss(struct ferryd *d)
{
	return nic_max_payload(d) - (uint32_t)sizeof(struct ferry_wire_hdr);
}

/* Send what the windows allow: losses first, then new bytes. */
static void transmit(struct ferryd *d, struct rtx *t)
{
	uint64_t now = d->now_ns;
	uint32_t max = mss(d);
	t->blocked = false;
	for (;;) {
		if (ferry_sack_in_flight(t->sack) >= ferry_cc_window(&t->cc))
			break;
		uint64_t gap = ferry_cc_pacing_delay_ns(&t->cc);
		if (gap && now < t->next_send_ns) {
			arm(d, t->next_send_ns);
			break;
		}
		uint32_t seq;
		bool re = ferry_sack_next_retransmit(t->sack, &seq) == 0;
		if (re) {
			struct txslot *sl = &t->slots[seq & (WINDOW_PKTS - 1)];
			if (ferry_sack_sent(t->sack, seq, now, true) != 0)
				continue; /* acked meanwhile */
			send_data(d, t, seq, sl->off, sl->len);
			count(d, RC_TX_RETRANSMITS);
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
		arm(d, now + ferry_rtt_rto(&t->rtt));
	}
	if (t->blocked)
		arm(d, now + ferry_rtt_rto(&t->rtt));
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
	if (!s->remote || local_end(s) != c)
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
		count(d, RC_SEND_STALLS);
		return -EAGAIN;
	}
	struct ferry_wire_frame f = {.len = htonl(v->len), .flags = htons(v->flags & FERRY_RECF_RPC)};
	sbuf_copy_in(t, t->end_off, &f, sizeof(f));
	sbuf_copy_in(t, t->end_off + sizeof(f), v->payload, v->len);
	t->end_off += need;
	fctr_add(s->c_tx, 1);
	count(d, RC_TX_DATA);
	mark_dirty(d, t);
	return 0;
}

/* ---- receiving --------------------------------------------------------- */

static void held_add(struct rtx *t, int64_t bytes)
{
	struct fclient *c = local_end(t->s);
	t->held_bytes += (uint64_t)bytes;
	if (c)
		c->rx_held += (uint64_t)bytes;
}

/* Move held messages into the client's ring while they fit. */
static void deliver_held(struct ferryd *d, struct rtx *t)
{
	struct fclient *c = local_end(t->s);
	while (t->held) {
		struct rmsg *m = t->held;
		if (c && clients_emit_data(d, c, t->s->id, m->flags, m->data, m->len) < 0)
			return;
		if (c) {
			fctr_add(t->s->c_rx, 1);
			count(d, RC_RX_DATA);
		}
		t->held = m->next;
		if (t->held == NULL)
			t->held_tail = NULL;
		held_add(t, -(int64_t)m->len);
		free(m);
	}
}

/* In-order stream bytes: cut them into messages. @return 0, or -1 when
 * the peer framed a message we cannot take (a protocol error). */
static int stream_in(struct ferryd *d, struct rtx *t, const uint8_t *p, uint32_t n)
{
	struct fclient *c = local_end(t->s);
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
			if (len > d->cfg->ipc_max_message_size)
				return -1;
			/* whole in this packet, nothing waiting: straight in */
			if (len <= n && t->held == NULL && c &&
			    clients_emit_data(d, c, t->s->id, flags, p, len) == 0) {
				fctr_add(t->s->c_rx, 1);
				count(d, RC_RX_DATA);
				p += len;
				n -= len;
				continue;
			}
			LOG_D("session %u: message of %u B held (in packet %u, held %p, ring room %llu)", t->s->id, len, n, (void*)t->held, c ? (unsigned long long)ferry_ring_room(&c->evt) : 0ull);
			m = malloc(sizeof(*m) + len);
			if (m == NULL)
				return -1;
			m->next = NULL;
			m->len = len;
			m->have = 0;
			m->flags = flags;
			t->asm_msg = m;
			held_add(t, len);
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
		deliver_held(d, t);
	}
	if (t->held || t->asm_msg) {
		t->watch = true;
		arm(d, d->now_ns);
	}
	return 0;
}

static void free_rpkt(void *arg, uint32_t seq, void *pkt)
{
	(void)seq;
	struct rtx *t = arg;
	if (pkt != CUR) {
		held_add(t, -(int64_t)((struct rpkt *)pkt)->len);
		free(pkt);
	}
}

static void fail_session(struct ferryd *d, struct rtx *t, int reason);

/* A DATA packet of session @p t. */
static void on_data(struct ferryd *d, struct rtx *t, const struct ferry_wire_hdr *h,
		    const uint8_t *p, uint32_t len)
{
	uint32_t seq = ntohl(h->seq);
	uint64_t off = ferry_wire_widen(t->r_off, ntohl(h->aux));
	count(d, RC_RX_PACKETS);
	t->echo_ts = ntohl(h->ts);
	t->echo_at_ns = d->now_ns;
	if (ntohs(h->flags) & FWF_PROBE)
		t->ack_now = true;
	/* the peer must keep to the edge we advertised */
	if (off + len > t->adv_edge) {
		count(d, RC_RX_BEYOND);
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
		count(d, r == FERRY_RXWIN_DUP ? RC_RX_DUP : RC_RX_BEYOND);
		t->ack_now = true;
		return;
	}
	if (r == FERRY_RXWIN_HELD) {
		held_add(t, len);
		count(d, RC_RX_OOO);
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
			free_rpkt(t, got, pkt);
		if (bad) {
			count(d, RC_PROTOCOL);
			fail_session(d, t, FERRY_REASON_PROTOCOL);
			return;
		}
		t->unacked++;
	}
	if (t->unacked >= ACK_EVERY)
		t->ack_now = true;
	else if (t->ack_due_ns == 0) {
		t->ack_due_ns = d->now_ns + (uint64_t)d->cfg->transport_ack_delay_us * 1000;
		arm(d, t->ack_due_ns);
	}
}

/* The ack fields of any packet from the peer. */
static void on_ack(struct ferryd *d, struct rtx *t, const struct ferry_wire_hdr *h)
{
	uint64_t now = d->now_ns;
	uint64_t sackbits;
	memcpy(&sackbits, &h->sack, sizeof(sackbits));
	struct ferry_sack_ack a;
	if (ferry_sack_on_ack(t->sack, ntohl(h->ack), be64toh(sackbits), now, &a) != 0) {
		count(d, RC_ACKS_INVALID);
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
		mark_dirty(d, t);
}

/* ---- the session's life ------------------------------------------------ */

static void rtx_free(struct ferryd *d, struct rtx *t)
{
	if (t->dirty) {
		for (struct rtx **pp = &d->rdirty; *pp; pp = &(*pp)->dnext) {
			if (*pp == t) {
				*pp = t->dnext;
				break;
			}
		}
	}
	if (t->prev)
		t->prev->next = t->next;
	else
		d->remotes = t->next;
	if (t->next)
		t->next->prev = t->prev;
	ferry_rxwin_destroy(t->rx, free_rpkt, t);
	while (t->held) {
		struct rmsg *m = t->held;
		t->held = m->next;
		held_add(t, -(int64_t)m->len);
		free(m);
	}
	if (t->asm_msg) {
		held_add(t, -(int64_t)t->asm_msg->len);
		free(t->asm_msg);
	}
	ferry_sack_destroy(t->sack);
	free(t->slots);
	free(t->sbuf);
	free(t);
}

void remote_free(struct ferryd *d, struct fsession *s)
{
	if (s->t) {
		rtx_free(d, s->t);
		s->t = NULL;
	}
	fstatus_counter_free(&d->st, s->c_tx);
	fstatus_counter_free(&d->st, s->c_rx);
	fstatus_counter_free(&d->st, s->c_srtt);
	fstatus_counter_free(&d->st, s->c_cwnd);
	fstatus_counter_free(&d->st, s->c_retx);
}

static uint32_t new_isn(void)
{
	uint32_t v = 0;
	if (getrandom(&v, sizeof(v), GRND_NONBLOCK) != sizeof(v))
		v = (uint32_t)rand();
	return v;
}

/* A session becomes remote: its peer, its counters and transport state. */
static int make_remote(struct ferryd *d, struct fsession *s, uint32_t ip, uint16_t port)
{
	const struct ferry_config *cfg = d->cfg;
	s->remote = true;
	s->peer_ip = ip;
	s->peer_port = port;
	s->c_tx = fstatus_counter(&d->st, FERRY_CTR_COUNT, s->id, "session.%u.tx_messages", s->id);
	s->c_rx = fstatus_counter(&d->st, FERRY_CTR_COUNT, s->id, "session.%u.rx_messages", s->id);
	s->c_srtt = fstatus_counter(&d->st, FERRY_CTR_GAUGE, s->id, "session.%u.srtt_ns", s->id);
	s->c_cwnd = fstatus_counter(&d->st, FERRY_CTR_GAUGE, s->id, "session.%u.cwnd_milli",
				    s->id);
	s->c_retx = fstatus_counter(&d->st, FERRY_CTR_COUNT, s->id, "session.%u.retransmits",
				    s->id);
	struct rtx *t = calloc(1, sizeof(*t));
	if (t == NULL)
		return -ENOMEM;
	t->s = s;
	s->t = t;
	t->next = d->remotes;
	if (d->remotes)
		d->remotes->prev = t;
	d->remotes = t;
	t->isn = new_isn();
	struct ferry_sack_params sp = FERRY_SACK_PARAMS_DEFAULT;
	sp.window = WINDOW_PKTS;
	struct ferry_rtt_params rp = FERRY_RTT_PARAMS_DEFAULT;
	rp.rto_min_ns = (uint64_t)cfg->transport_rto_min_us * 1000;
	rp.rto_max_ns = (uint64_t)cfg->transport_rto_max_us * 1000;
	if (rp.rto_initial_ns < rp.rto_min_ns)
		rp.rto_initial_ns = rp.rto_min_ns;
	if (rp.rto_initial_ns > rp.rto_max_ns)
		rp.rto_initial_ns = rp.rto_max_ns;
	struct ferry_cc_params cp = FERRY_CC_PARAMS_DEFAULT;
	cp.target_delay_ns = (uint64_t)cfg->transport_cc_target_delay_us * 1000;
	cp.max_cwnd = WINDOW_PKTS;
	cp.min_cwnd = cfg->transport_cc_min_cwnd;
	if (cp.init_cwnd < cp.min_cwnd)
		cp.init_cwnd = cp.min_cwnd;
	/* one lone timeout (an RPC whose only packet was lost) halves the
	 * window; three in a row mean the path is in trouble: start over */
	cp.rto_reset_threshold = 3;
	t->slots = calloc(WINDOW_PKTS, sizeof(*t->slots));
	uint64_t sm = SBUF_MIN;
	while (sm < 2 * (cfg->ipc_max_message_size + sizeof(struct ferry_wire_frame)))
		sm *= 2;
	t->scap_max = sm;
	t->last_rx_ns = d->now_ns;
	t->max_msg = (uint32_t)cfg->ipc_max_message_size;
	arm(d, d->now_ns);
	if (t->slots == NULL || ferry_sack_create(&t->sack, &sp, t->isn) != 0 ||
	    ferry_rtt_init(&t->rtt, &rp) != 0 || ferry_cc_init(&t->cc, &cp) != 0)
		return -ENOMEM;
	return 0;
}

static int start_rx(struct rtx *t, uint32_t peer_isn)
{
	t->peer_isn = peer_isn;
	return ferry_rxwin_create(&t->rx, WINDOW_PKTS, peer_isn);
}

static void send_open(struct ferryd *d, struct rtx *t)
{
	struct ferry_wire_open o;
	memcpy(o.service, t->s->service, sizeof(o.service));
	send_simple(d, t, FW_OPEN, 0, (uint32_t)d->cfg->ipc_max_message_size, &o, sizeof(o));
	uint64_t rto = ferry_rtt_rto(&t->rtt) << (t->ctl_tries < 16 ? t->ctl_tries : 16);
	if (rto > (uint64_t)d->cfg->transport_rto_max_us * 1000)
		rto = (uint64_t)d->cfg->transport_rto_max_us * 1000;
	t->ctl_tries++;
	t->ctl_due_ns = d->now_ns + rto;
	arm(d, t->ctl_due_ns);
}

void remote_connect(struct ferryd *d, struct fclient *c, uint32_t cookie, uint32_t ip,
		    const char *service)
{
	int reason;
	struct fsession *s = session_new(d, c, NULL, service, &reason);
	if (s == NULL) {
		fctr_add(d->c.sessions_refused, 1);
		emit_down(d, c, 0, cookie, reason);
		return;
	}
	s->cookie = cookie;
	s->state = FS_OPENING;
	if (make_remote(d, s, ip, (uint16_t)d->cfg->net_udp_port) != 0) {
		s->peer_done = true;
		session_end(d, s, NULL, FERRY_REASON_LIMIT);
		return;
	}
	send_open(d, s->t);
}

static void up_event(struct ferryd *d, struct fsession *s, int role)
{
	struct ferry_evt_up up = {
		.role = (uint32_t)role,
		.peer_ipv4 = htonl(s->peer_ip),
		.max_message = s->t->max_msg,
	};
	clients_emit(d, local_end(s), FERRY_EVT_UP, s->id, role == 0 ? s->cookie : 0, &up,
		     sizeof(up));
}

void remote_accept(struct ferryd *d, struct fsession *s)
{
	timed_unlink(d, s);
	s->state = FS_UP;
	send_simple(d, s->t, FW_ACCEPT, 0, (uint32_t)d->cfg->ipc_max_message_size, NULL, 0);
	up_event(d, s, 1);
}

static void send_close(struct ferryd *d, struct rtx *t)
{
	send_simple(d, t, FW_CLOSE, 0, (uint32_t)t->close_reason, NULL, 0);
	t->ctl_tries++;
	t->ctl_due_ns = d->now_ns + (ferry_rtt_rto(&t->rtt) << (t->ctl_tries < 10 ? t->ctl_tries : 10));
	arm(d, t->ctl_due_ns);
}

bool remote_linger(struct ferryd *d, struct fsession *s, int reason)
{
	struct rtx *t = s->t;
	if (t == NULL || s->state != FS_UP || d->stopping)
		return false;
	/* the client is gone: what it held can go, what it sent cannot */
	while (t->held) {
		struct rmsg *m = t->held;
		t->held = m->next;
		held_add(t, -(int64_t)m->len);
		free(m);
	}
	t->held_tail = NULL;
	if (t->asm_msg) {
		held_add(t, -(int64_t)t->asm_msg->len);
		free(t->asm_msg);
		t->asm_msg = NULL;
	}
	/* out-of-order packets stay, counted against nobody's ring now */
	struct fclient *c = local_end(s);
	if (c)
		c->rx_held -= t->held_bytes;
	s->state = FS_CLOSING;
	t->close_reason = reason;
	t->ctl_tries = 0;
	mark_dirty(d, t);
	return true;
}

void remote_tell_end(struct ferryd *d, struct fsession *s, int reason)
{
	/* An opener that never heard back has no peer id to address. */
	if (s->state == FS_OPENING || s->t == NULL)
		return;
	if (s->state == FS_INCOMING) {
		send_bare(d, s->peer_ip, s->peer_port, FW_REFUSE, s->peer_session, s->id,
			  (uint32_t)reason);
		return;
	}
	s->t->close_reason = reason;
	send_simple(d, s->t, FW_CLOSE, 0, (uint32_t)reason, NULL, 0);
}

/* End a session for a reason of ours, telling the peer. */
static void fail_session(struct ferryd *d, struct rtx *t, int reason)
{
	struct fsession *s = t->s;
	if (s->state == FS_CLOSING || s->state == FS_CLOSE_SENT) {
		session_free(d, s);
		return;
	}
	session_end(d, s, NULL, reason);
}

/* The peer closed (CLOSE arrived, after all its data was acked). */
static void peer_closed(struct ferryd *d, struct rtx *t, int reason)
{
	struct fsession *s = t->s;
	s->peer_done = true;
	if (s->state == FS_CLOSING || s->state == FS_CLOSE_SENT) {
		session_free(d, s);
		return;
	}
	deliver_held(d, t);
	if (t->held == NULL) {
		session_end(d, s, NULL, reason);
		return;
	}
	/* the client gets what we hold first, then the news */
	s->state = FS_PEER_CLOSED;
	t->close_reason = reason;
	t->watch = true;
	arm(d, d->now_ns);
}

/* An OPEN: find the listener and announce the session, or refuse. */
static void on_open(struct ferryd *d, uint32_t ip, uint16_t port, const struct ferry_wire_hdr *h,
		    const uint8_t *p, uint32_t len)
{
	char service[FERRY_SERVICE_MAX];
	uint32_t src = ntohl(h->src_session);
	if (len < sizeof(struct ferry_wire_open) || src == 0 ||
	    !service_ok(((const struct ferry_wire_open *)p)->service, service)) {
		count(d, RC_RX_MALFORMED);
		return;
	}
	/* the OPEN again (same first number): our ACCEPT was lost, or is
	 * still to come. The same ids with another first number: the peer's
	 * ferryd restarted and reuses them, so the old session is dead. */
	for (struct rtx *t = d->remotes, *nx; t; t = nx) {
		nx = t->next;
		if (t->s->peer_ip != ip || t->s->peer_session != src)
			continue;
		if (t->peer_isn == ntohl(h->seq)) {
			count(d, RC_RX_DUP);
			if (t->s->state == FS_UP)
				send_simple(d, t, FW_ACCEPT, 0,
					    (uint32_t)d->cfg->ipc_max_message_size, NULL, 0);
			return;
		}
		t->s->peer_done = true;
		fail_session(d, t, FERRY_REASON_RESET);
	}
	struct fservice *svc = service_find(d, service);
	int reason = FERRY_REASON_NO_LISTENER;
	struct fsession *s = svc ? session_new(d, NULL, svc->owner, service, &reason) : NULL;
	if (s == NULL) {
		fctr_add(d->c.sessions_refused, 1);
		send_bare(d, ip, port, FW_REFUSE, src, 0, (uint32_t)reason);
		return;
	}
	s->state = FS_INCOMING;
	s->peer_session = src;
	if (make_remote(d, s, ip, port) != 0 || start_rx(s->t, ntohl(h->seq)) != 0) {
		session_end(d, s, NULL, FERRY_REASON_LIMIT);
		return;
	}
	s->t->echo_ts = ntohl(h->ts);
	s->t->echo_at_ns = d->now_ns;
	s->t->peer_edge = ferry_wire_widen(0, ntohl(h->window));
	/* OPEN and ACCEPT carry the sender's largest message: the session
	 * takes the smaller (an old or odd peer saying 0 gets ours) */
	uint32_t peer_max = ntohl(h->aux);
	if (peer_max && peer_max < s->t->max_msg)
		s->t->max_msg = peer_max;
	struct ferry_evt_incoming in = {.peer_ipv4 = htonl(ip)};
	memcpy(in.service, service, sizeof(service));
	clients_emit(d, svc->owner, FERRY_EVT_INCOMING, s->id, 0, &in, sizeof(in));
}

/* A packet names a session we do not have. */
static void on_unknown(struct ferryd *d, uint32_t ip, uint16_t port, const struct ferry_wire_hdr *h)
{
	count(d, RC_RX_UNKNOWN);
	uint32_t src = ntohl(h->src_session), dst = ntohl(h->dst_session);
	if (src == 0)
		return;
	if (h->type == FW_CLOSE) {
		/* our CLOSE_ACK was lost and the session is gone: ack again */
		send_bare(d, ip, port, FW_CLOSE_ACK, src, dst, 0);
	} else if (h->type == FW_DATA || h->type == FW_ACK) {
		/* the peer thinks a session is up that we never had or lost */
		count(d, RC_TX_RESETS);
		send_bare(d, ip, port, FW_CLOSE, src, dst, FERRY_REASON_RESET);
	}
}

void remote_input(struct ferryd *d, uint32_t ip, uint16_t port, const uint8_t *p, uint16_t len)
{
	struct ferry_wire_hdr h;
	if (len < sizeof(h)) {
		count(d, RC_RX_MALFORMED);
		return;
	}
	memcpy(&h, p, sizeof(h));
	p += sizeof(h);
	uint32_t plen = len - (uint32_t)sizeof(h);
	if (h.type == FW_OPEN) {
		on_open(d, ip, port, &h, p, plen);
		return;
	}
	if (h.type == 0 || h.type >= FW_TYPE_MAX) {
		count(d, RC_RX_MALFORMED);
		return;
	}
	struct fsession *s = fmap_get(&d->sessions, ntohl(h.dst_session));
	uint32_t src = ntohl(h.src_session);
	/* The session must be remote, with this peer, and (once known) the
	 * peer's id must match: anything else is someone else's packet. */
	if (s == NULL || !s->remote || s->peer_ip != ip ||
	    (s->state != FS_OPENING && s->peer_session != src)) {
		on_unknown(d, ip, port, &h);
		return;
	}
	struct rtx *t = s->t;
	t->last_rx_ns = d->now_ns;
	switch (h.type) {
	case FW_ACCEPT:
		if (s->state != FS_OPENING || src == 0) {
			/* a second ACCEPT (our OPEN went twice): ack it */
			if (s->state == FS_UP)
				t->ack_now = true, mark_dirty(d, t);
			else
				count(d, RC_RX_UNKNOWN);
			return;
		}
		if (start_rx(t, ntohl(h.seq)) != 0) {
			session_end(d, s, NULL, FERRY_REASON_LIMIT);
			return;
		}
		timed_unlink(d, s);
		s->state = FS_UP;
		s->peer_session = src;
		s->peer_port = port;
		t->ctl_tries = 0;
		if (ntohl(h.aux) && ntohl(h.aux) < t->max_msg)
			t->max_msg = ntohl(h.aux);
		on_ack(d, t, &h);
		t->ack_now = true; /* so the acceptor has an RTT sample */
		t->echo_ts = ntohl(h.ts);
		t->echo_at_ns = d->now_ns;
		mark_dirty(d, t);
		up_event(d, s, 0);
		return;
	case FW_REFUSE:
	case FW_CLOSE: {
		int reason = (int)ntohl(h.aux);
		if (reason <= 0 || reason > FERRY_REASON_RESET)
			reason = FERRY_REASON_CLOSED;
		if (h.type == FW_CLOSE)
			send_bare(d, ip, port, FW_CLOSE_ACK, src, s->id, 0);
		else if (s->state != FS_OPENING)
			return; /* a REFUSE is only an answer to OPEN */
		if (h.type == FW_CLOSE && s->state == FS_INCOMING) {
			s->peer_done = true;
			session_end(d, s, NULL, reason);
			return;
		}
		if (h.type == FW_REFUSE) {
			s->peer_done = true;
			session_end(d, s, NULL, reason);
			return;
		}
		peer_closed(d, t, reason);
		return;
	}
	case FW_CLOSE_ACK:
		if (s->state == FS_CLOSE_SENT)
			session_free(d, s);
		return;
	case FW_DATA:
	case FW_ACK:
		if (s->state == FS_OPENING || s->state == FS_INCOMING || t->rx == NULL) {
			count(d, RC_RX_UNKNOWN);
			return;
		}
		on_ack(d, t, &h);
		if (h.type == FW_DATA) {
			on_data(d, t, &h, p, plen);
		} else {
			count(d, RC_RX_PACKETS);
			if (ntohs(h.flags) & FWF_PROBE) {
				t->echo_ts = ntohl(h.ts);
				t->echo_at_ns = d->now_ns;
				t->ack_now = true;
			}
		}
		if (t->ack_now)
			mark_dirty(d, t);
		return;
	}
}

/* ---- the loop's part --------------------------------------------------- */

/* Timers and watches of one session. @return false if it was freed. */
static bool service_one(struct ferryd *d, struct rtx *t, uint64_t *next)
{
	const struct ferry_config *cfg = d->cfg;
	struct fsession *s = t->s;
	uint64_t now = d->now_ns;
	uint64_t peer_to = (uint64_t)cfg->transport_peer_timeout_ms * 1000000ull;
	uint64_t ka = (uint64_t)cfg->transport_keepalive_ms * 1000000ull;
#define NEXT(at) do { if ((at) < *next) *next = (at); } while (0)
	if (s->state == FS_OPENING) {
		if (now >= t->ctl_due_ns)
			send_open(d, t);
		NEXT(t->ctl_due_ns);
		return true;
	}
	if (s->state == FS_INCOMING)
		return true;
	if (s->state == FS_PEER_CLOSED) {
		/* the peer is done: only what we hold for the client is left */
		deliver_held(d, t);
		if (t->held == NULL) {
			session_end(d, s, NULL, t->close_reason);
			return false;
		}
		NEXT(now + 100000);
		return true;
	}
	if (now - t->last_rx_ns >= peer_to) {
		count(d, RC_PEER_TIMEOUTS);
		LOG_I("session %u (%s): no word from %u.%u.%u.%u for %lld ms", s->id, s->service,
		      s->peer_ip >> 24, (s->peer_ip >> 16) & 255, (s->peer_ip >> 8) & 255,
		      s->peer_ip & 255, (long long)cfg->transport_peer_timeout_ms);
		s->peer_done = true;
		fail_session(d, t, FERRY_REASON_TIMEOUT);
		return false;
	}
	NEXT(t->last_rx_ns + peer_to);
	if (s->state == FS_CLOSE_SENT) {
		if (now >= t->ctl_due_ns) {
			if (t->ctl_tries >= CLOSE_TRIES) {
				session_free(d, s);
				return false;
			}
			send_close(d, t);
		}
		NEXT(t->ctl_due_ns);
		return true;
	}
	/* retransmission timeout */
	uint64_t rto = ferry_rtt_rto(&t->rtt);
	uint64_t due = ferry_sack_deadline(t->sack, rto);
	if (now >= due && ferry_sack_on_timeout(t->sack, now, rto)) {
		count(d, RC_RTO);
		LOG_D("session %u: retransmission timeout, rto %llu us, cwnd %.2f, srtt %llu us, "
		      "in flight %u", s->id, (unsigned long long)rto / 1000, ferry_cc_cwnd(&t->cc),
		      (unsigned long long)ferry_rtt_srtt(&t->rtt) / 1000,
		      ferry_sack_in_flight(t->sack));
		ferry_rtt_on_timeout(&t->rtt);
		ferry_cc_on_timeout(&t->cc, now);
		mark_dirty(d, t);
	} else if (due != UINT64_MAX) {
		NEXT(due);
	}
	/* paced, or waiting for room in the congestion window after a loss */
	if ((t->nxt_off < t->end_off || ferry_sack_lost(t->sack)) && !t->blocked) {
		if (now >= t->next_send_ns)
			mark_dirty(d, t);
		else
			NEXT(t->next_send_ns);
	}
	if (t->dirty || (t->ack_due_ns && now >= t->ack_due_ns)) {
		if (t->ack_due_ns)
			t->ack_now = true;
		mark_dirty(d, t);
		NEXT(now);
	} else if (t->ack_due_ns) {
		NEXT(t->ack_due_ns);
	}
	/* a window that stays shut, and keepalive: probe */
	uint64_t probe_every = ka;
	if (t->blocked && ferry_sack_in_flight(t->sack) == 0) {
		probe_every = rto << (ferry_rtt_backoff(&t->rtt) < 10 ? ferry_rtt_backoff(&t->rtt) : 10);
		if (probe_every > ka)
			probe_every = ka;
	}
	uint64_t quiet = t->last_rx_ns > t->last_probe_ns ? t->last_rx_ns : t->last_probe_ns;
	if ((t->blocked || now - t->last_rx_ns >= ka) && now - quiet >= probe_every) {
		count(d, RC_TX_PROBES);
		LOG_D("session %u: probe; in flight %u lost %u blocked %d nxt %llu end %llu edge %llu una %u next %u due %lld ms pace %lld ms", s->id,
		      ferry_sack_in_flight(t->sack), ferry_sack_lost(t->sack), t->blocked,
		      (unsigned long long)t->nxt_off, (unsigned long long)t->end_off,
		      (unsigned long long)t->peer_edge, ferry_sack_una(t->sack), ferry_sack_next_seq(t->sack),
		      due == UINT64_MAX ? -1ll : (long long)(due - now) / 1000000, (long long)(t->next_send_ns - now) / 1000000);
		t->last_probe_ns = now;
		send_simple(d, t, FW_ACK, FWF_PROBE, 0, NULL, 0);
		quiet = now;
	}
	NEXT(quiet + probe_every);
	/* held data and a window to reopen as the client reads */
	if (t->watch) {
		deliver_held(d, t);
		uint64_t was = t->adv_edge;
		uint64_t edge = rx_edge(t);
		uint64_t win = was > t->r_off ? was - t->r_off : 0;
		/* tell the peer when the window grew by a quarter or reopened */
		if (edge > was && (edge - was >= (uint64_t)cfg->ipc_client_ring_size / 4 ||
				   win < mss(d)))
			t->ack_now = true, mark_dirty(d, t);
		t->watch = t->held || t->asm_msg ||
			   edge - t->r_off < (uint64_t)cfg->ipc_client_ring_size / 2;
		if (t->watch)
			NEXT(now + 100000); /* look again in 100 us */
	}
	return true;
#undef NEXT
}

/* Send, ack, and finish closing: the sessions marked dirty. */
static void flush_dirty(struct ferryd *d)
{
	while (d->rdirty) {
		struct rtx *t = d->rdirty;
		d->rdirty = t->dnext;
		t->dirty = false;
		struct fsession *s = t->s;
		if (s->state == FS_UP || s->state == FS_CLOSING)
			transmit(d, t);
		if (t->ack_now)
			send_simple(d, t, FW_ACK, 0, 0, NULL, 0);
		if (s->state == FS_CLOSING && t->una_off == t->end_off) {
			s->state = FS_CLOSE_SENT;
			send_close(d, t);
		}
	}
}

unsigned remote_poll(struct ferryd *d)
{
	/* work is what went out: timers looked at are not */
	uint64_t sent = d->rt_sent;
	flush_dirty(d);
	if (d->now_ns >= d->rt_next) {
		uint64_t next = UINT64_MAX;
		for (struct rtx *t = d->remotes, *nx; t; t = nx) {
			nx = t->next;
			service_one(d, t, &next);
		}
		d->rt_next = next;
		flush_dirty(d);
	}
	return (unsigned)(d->rt_sent - sent);
}

int64_t remote_next_timer(const struct ferryd *d)
{
	if (d->remotes == NULL || d->rt_next == UINT64_MAX)
		return -1;
	return d->rt_next > d->now_ns ? (int64_t)(d->rt_next - d->now_ns) : 0;
}

void remote_unreachable(struct ferryd *d, uint32_t ip)
{
	uint32_t gw = d->cfg->net_gateway.set ? d->cfg->net_gateway.addr : 0;
	for (struct rtx *t = d->remotes, *nx; t; t = nx) {
		nx = t->next;
		struct fsession *s = t->s;
		if (s->peer_ip != ip && ip != gw)
			continue;
		LOG_I("session %u (%s): %u.%u.%u.%u does not answer ARP", s->id, s->service,
		      ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255, ip & 255);
		/* nothing to tell a peer we cannot reach */
		s->peer_done = true;
		fail_session(d, t, FERRY_REASON_UNREACHABLE);
	}
}
