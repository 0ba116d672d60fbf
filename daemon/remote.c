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
 * seen, when two packets are unacked, or transport.ack_delay_us after the
 * first unacked packet; any packet we send carries the ack fields anyway,
 * so an answer within the delay carries the ack for free. ack_delay in
 * the header lets the peer take the wait out of its RTT sample.
 *
 * Liveness: a session that has heard nothing for transport.keepalive_ms
 * probes; one silent for transport.peer_timeout_ms ends with
 * FERRY_REASON_TIMEOUT. A packet for a session we do not know is answered
 * with CLOSE (FERRY_REASON_RESET): the peer's daemon restarted.
 *
 * This file has the session's life (handshake, timers, the end) and the
 * loop's part; remote_data.c the data path; rtx.h their shared state.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "ferry.h"
#include "log.h"
#include "net_host.h"
#include "nic.h"
#include "rtx.h"
#include "wire.h"

#define CLOSE_TRIES 8

static const char *const rc_names[RC_COUNT] = {
	"remote.rx_malformed", "remote.rx_unknown_session", "remote.rx_messages",
	"remote.tx_messages", "remote.tx_failed",
	"remote.rx_packets", "remote.tx_packets", "remote.tx_retransmits",
	"remote.rx_duplicates", "remote.rx_out_of_order", "remote.rx_beyond_window",
	"remote.tx_acks", "remote.rto_timeouts", "remote.tx_probes", "remote.peer_timeouts",
	"remote.tx_resets", "remote.protocol_errors", "remote.acks_invalid",
	"remote.send_stalls",
};

void remote_init(struct ferryd *d)
{
	for (int i = 0; i < RC_COUNT; i++)
		d->c.remote[i] = fstatus_counter(&d->st, FERRY_CTR_COUNT, 0, "%s", rc_names[i]);
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
	if (nic_sendv(d, ip, port, 0, &h, sizeof(h), NULL, 0, NULL, 0) < 0)
		rtx_count(d, RC_TX_FAILED);
	else
		rtx_count(d, RC_TX_PACKETS);
	d->rt_sent++;
}

/* ---- the session's life ------------------------------------------------ */

/* Drop the whole messages waiting for the client. */
static void drop_held(struct rtx *t)
{
	while (t->held) {
		struct rmsg *m = t->held;
		t->held = m->next;
		rtx_held_add(t, -(int64_t)m->len);
		free(m);
	}
	t->held_tail = NULL;
}

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
	ferry_rxwin_destroy(t->rx, rtx_free_rpkt, t);
	drop_held(t);
	if (t->asm_msg) {
		rtx_held_add(t, -(int64_t)t->asm_msg->len);
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
	rtx_arm(d, d->now_ns);
	if (t->slots == NULL || ferry_sack_create(&t->sack, &sp, t->isn) != 0 ||
	    ferry_rtt_init(&t->rtt, &rp) != 0 || ferry_cc_init(&t->cc, &cp) != 0)
		return -ENOMEM;
	ferry_cc_init_signal(&t->cc, nic_cloud_drop_epoch(d));
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
	rtx_send(d, t, FW_OPEN, 0, (uint32_t)d->cfg->ipc_max_message_size, &o, sizeof(o));
	uint64_t rto = ferry_rtt_rto(&t->rtt) << (t->ctl_tries < 16 ? t->ctl_tries : 16);
	if (rto > (uint64_t)d->cfg->transport_rto_max_us * 1000)
		rto = (uint64_t)d->cfg->transport_rto_max_us * 1000;
	t->ctl_tries++;
	t->ctl_due_ns = d->now_ns + rto;
	rtx_arm(d, t->ctl_due_ns);
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
	clients_emit(d, rtx_local_end(s), FERRY_EVT_UP, s->id, role == 0 ? s->cookie : 0, &up,
		     sizeof(up));
}

void remote_accept(struct ferryd *d, struct fsession *s)
{
	timed_unlink(d, s);
	s->state = FS_UP;
	rtx_send(d, s->t, FW_ACCEPT, 0, (uint32_t)d->cfg->ipc_max_message_size, NULL, 0);
	up_event(d, s, 1);
}

static void send_close(struct ferryd *d, struct rtx *t)
{
	rtx_send(d, t, FW_CLOSE, 0, (uint32_t)t->close_reason, NULL, 0);
	t->ctl_tries++;
	t->ctl_due_ns = d->now_ns + (ferry_rtt_rto(&t->rtt) << (t->ctl_tries < 10 ? t->ctl_tries : 10));
	rtx_arm(d, t->ctl_due_ns);
}

bool remote_linger(struct ferryd *d, struct fsession *s, int reason)
{
	struct rtx *t = s->t;
	if (t == NULL || s->state != FS_UP || d->stopping)
		return false;
	/* The client is gone: what we held for it can go, what it sent
	 * cannot. A message half assembled stays, so the stream stays in
	 * step; finished, it is dropped like the rest (nobody to take it).
	 * It and out-of-order packets count against nobody's ring now. */
	drop_held(t);
	struct fclient *c = rtx_local_end(s);
	if (c)
		c->rx_held -= t->held_bytes;
	s->state = FS_CLOSING;
	t->close_reason = reason;
	t->ctl_tries = 0;
	rtx_mark_dirty(d, t);
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
	rtx_send(d, s->t, FW_CLOSE, 0, (uint32_t)reason, NULL, 0);
}

/* End a session for a reason of ours, telling the peer. */
void rtx_fail(struct ferryd *d, struct rtx *t, int reason)
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
	rtx_deliver_held(d, t);
	if (t->held == NULL) {
		session_end(d, s, NULL, reason);
		return;
	}
	/* the client gets what we hold first, then the news */
	s->state = FS_PEER_CLOSED;
	t->close_reason = reason;
	t->watch = true;
	rtx_arm(d, d->now_ns);
}

/* An OPEN: find the listener and announce the session, or refuse. */
static void on_open(struct ferryd *d, uint32_t ip, uint16_t port, const struct ferry_wire_hdr *h,
		    const uint8_t *p, uint32_t len)
{
	char service[FERRY_SERVICE_MAX];
	uint32_t src = ntohl(h->src_session);
	if (len < sizeof(struct ferry_wire_open) || src == 0 ||
	    !service_ok(((const struct ferry_wire_open *)p)->service, service)) {
		rtx_count(d, RC_RX_MALFORMED);
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
			rtx_count(d, RC_RX_DUP);
			if (t->s->state == FS_UP)
				rtx_send(d, t, FW_ACCEPT, 0,
					    (uint32_t)d->cfg->ipc_max_message_size, NULL, 0);
			return;
		}
		t->s->peer_done = true;
		rtx_fail(d, t, FERRY_REASON_RESET);
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
	rtx_count(d, RC_RX_UNKNOWN);
	uint32_t src = ntohl(h->src_session), dst = ntohl(h->dst_session);
	if (src == 0)
		return;
	if (h->type == FW_CLOSE) {
		/* our CLOSE_ACK was lost and the session is gone: ack again */
		send_bare(d, ip, port, FW_CLOSE_ACK, src, dst, 0);
	} else if (h->type == FW_DATA || h->type == FW_ACK) {
		/* the peer thinks a session is up that we never had or lost */
		rtx_count(d, RC_TX_RESETS);
		send_bare(d, ip, port, FW_CLOSE, src, dst, FERRY_REASON_RESET);
	}
}

bool remote_input(struct ferryd *d, uint32_t ip, uint16_t port, const uint8_t *p, uint16_t len)
{
	struct ferry_wire_hdr h;
	if (len < sizeof(h)) {
		rtx_count(d, RC_RX_MALFORMED);
		return false;
	}
	memcpy(&h, p, sizeof(h));
	p += sizeof(h);
	uint32_t plen = len - (uint32_t)sizeof(h);
	if (h.type == FW_OPEN) {
		on_open(d, ip, port, &h, p, plen);
		return false;
	}
	if (h.type == 0 || h.type >= FW_TYPE_MAX) {
		rtx_count(d, RC_RX_MALFORMED);
		return false;
	}
	struct fsession *s = fmap_get(&d->sessions, ntohl(h.dst_session));
	uint32_t src = ntohl(h.src_session);
	/* The session must be remote, with this peer, and (once known) the
	 * peer's id must match: anything else is someone else's packet. */
	if (s == NULL || !s->remote || s->peer_ip != ip ||
	    (s->state != FS_OPENING && s->peer_session != src)) {
		on_unknown(d, ip, port, &h);
		return false;
	}
	struct rtx *t = s->t;
	t->last_rx_ns = d->now_ns;
	bool confirm = d->now_ns - t->arp_confirm_ns >= 1000000000ull;
	if (confirm)
		t->arp_confirm_ns = d->now_ns;
	switch (h.type) {
	case FW_ACCEPT:
		if (s->state != FS_OPENING || src == 0) {
			/* a second ACCEPT (our OPEN went twice): ack it */
			if (s->state == FS_UP)
				t->ack_now = true, rtx_mark_dirty(d, t);
			else
				rtx_count(d, RC_RX_UNKNOWN);
			return false;
		}
		if (start_rx(t, ntohl(h.seq)) != 0) {
			session_end(d, s, NULL, FERRY_REASON_LIMIT);
			return false;
		}
		timed_unlink(d, s);
		s->state = FS_UP;
		s->peer_session = src;
		s->peer_port = port;
		t->ctl_tries = 0;
		if (ntohl(h.aux) && ntohl(h.aux) < t->max_msg)
			t->max_msg = ntohl(h.aux);
		rtx_on_ack(d, t, &h);
		t->ack_now = true; /* so the acceptor has an RTT sample */
		t->echo_ts = ntohl(h.ts);
		t->echo_at_ns = d->now_ns;
		rtx_mark_dirty(d, t);
		up_event(d, s, 0);
		return confirm;
	case FW_REFUSE:
	case FW_CLOSE: {
		int reason = (int)ntohl(h.aux);
		if (reason <= 0 || reason > FERRY_REASON_RESET)
			reason = FERRY_REASON_CLOSED;
		if (h.type == FW_CLOSE)
			send_bare(d, ip, port, FW_CLOSE_ACK, src, s->id, 0);
		else if (s->state != FS_OPENING)
			return false; /* a REFUSE is only an answer to OPEN */
		if (h.type == FW_CLOSE && s->state == FS_INCOMING) {
			s->peer_done = true;
			session_end(d, s, NULL, reason);
			return false;
		}
		if (h.type == FW_REFUSE) {
			s->peer_done = true;
			session_end(d, s, NULL, reason);
			return false;
		}
		peer_closed(d, t, reason);
		return false;
	}
	case FW_CLOSE_ACK:
		if (s->state == FS_CLOSE_SENT)
			session_free(d, s);
		return false;
	case FW_DATA:
	case FW_ACK:
		if (s->state == FS_OPENING || s->state == FS_INCOMING || t->rx == NULL) {
			rtx_count(d, RC_RX_UNKNOWN);
			return false;
		}
		rtx_on_ack(d, t, &h);
		if (h.type == FW_DATA) {
			rtx_on_data(d, t, &h, p, plen);
		} else {
			rtx_count(d, RC_RX_PACKETS);
			if (ntohs(h.flags) & FWF_PROBE) {
				t->echo_ts = ntohl(h.ts);
				t->echo_at_ns = d->now_ns;
				t->ack_now = true;
			}
		}
		if (t->ack_now)
			rtx_mark_dirty(d, t);
		return confirm;
	}
	return false;
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
		rtx_deliver_held(d, t);
		if (t->held == NULL) {
			session_end(d, s, NULL, t->close_reason);
			return false;
		}
		NEXT(now + 100000);
		return true;
	}
	if (now - t->last_rx_ns >= peer_to) {
		rtx_count(d, RC_PEER_TIMEOUTS);
		LOG_I("session %u (%s): no word from %u.%u.%u.%u for %lld ms", s->id, s->service,
		      s->peer_ip >> 24, (s->peer_ip >> 16) & 255, (s->peer_ip >> 8) & 255,
		      s->peer_ip & 255, (long long)cfg->transport_peer_timeout_ms);
		s->peer_done = true;
		rtx_fail(d, t, FERRY_REASON_TIMEOUT);
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
		rtx_count(d, RC_RTO);
		LOG_D("session %u: retransmission timeout, rto %llu us, cwnd %.2f, srtt %llu us, "
		      "in flight %u", s->id, (unsigned long long)rto / 1000, ferry_cc_cwnd(&t->cc),
		      (unsigned long long)ferry_rtt_srtt(&t->rtt) / 1000,
		      ferry_sack_in_flight(t->sack));
		ferry_rtt_on_timeout(&t->rtt);
		ferry_cc_on_timeout(&t->cc, now);
		rtx_mark_dirty(d, t);
	} else if (due != UINT64_MAX) {
		NEXT(due);
	}
	/* paced, or waiting for room in the congestion window after a loss */
	if ((t->nxt_off < t->end_off || ferry_sack_lost(t->sack)) && !t->blocked) {
		if (now >= t->next_send_ns)
			rtx_mark_dirty(d, t);
		else
			NEXT(t->next_send_ns);
	}
	/* an ack owed on the timer; flush_dirty() sends it in this pass */
	if (t->ack_due_ns && now >= t->ack_due_ns) {
		t->ack_now = true;
		rtx_mark_dirty(d, t);
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
		rtx_count(d, RC_TX_PROBES);
		LOG_D("session %u: probe (%s), %u in flight", s->id,
		      t->blocked ? "window shut" : "keepalive", ferry_sack_in_flight(t->sack));
		t->last_probe_ns = now;
		rtx_send(d, t, FW_ACK, FWF_PROBE, 0, NULL, 0);
		quiet = now;
	}
	NEXT(quiet + probe_every);
	/* held data and a window to reopen as the client reads */
	if (t->watch) {
		rtx_deliver_held(d, t);
		uint64_t was = t->adv_edge;
		uint64_t edge = rtx_edge(t);
		uint64_t win = was > t->r_off ? was - t->r_off : 0;
		/* tell the peer when the window grew by a quarter or reopened */
		if (edge > was && (edge - was >= (uint64_t)cfg->ipc_client_ring_size / 4 ||
				   win < rtx_mss(d)))
			t->ack_now = true, rtx_mark_dirty(d, t);
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
			rtx_transmit(d, t);
		if (t->ack_now)
			rtx_send(d, t, FW_ACK, 0, 0, NULL, 0);
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

bool remote_open_unreachable(const struct fsession *s)
{
	return s->t && s->t->arp_failed;
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
		if (s->state == FS_OPENING) {
			/* lost requests or replies, maybe: OPEN tries again (a
			 * new resolution after the cache's hold) until
			 * transport.open_timeout_ms, then says unreachable */
			t->arp_failed = true;
			continue;
		}
		/* nothing to tell a peer we cannot reach */
		s->peer_done = true;
		rtx_fail(d, t, FERRY_REASON_UNREACHABLE);
	}
}
