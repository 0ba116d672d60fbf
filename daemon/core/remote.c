/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Sessions between this host and another: the handshake, the end, and
 * the checks every packet passes before it may change anything, over the
 * header of wire.h.
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
 * Trust. A packet is first matched to a session by the receiver's id, the
 * sender's address and the sender's id. Then, before it changes any
 * state, its sequence fields must fit:
 *   ACCEPT, REFUSE  ack echoes our OPEN's first packet number;
 *   CLOSE           seq lies in our receive window, its ack fields are
 *                   an ack of what we sent;
 *   CLOSE_ACK       ack echoes our CLOSE's seq;
 *   RESET           ack echoes a packet number we sent lately;
 *   DATA, ACK       the ack fields ack only what we sent (and not long
 *                   ago); DATA's number lies in the receive window and its
 *                   bytes inside the window we advertised.
 * What fails is counted (remote.rx_rejected, remote.acks_invalid,
 * remote.rx_beyond_window) and dropped. An OPEN that reuses a live
 * session's peer id is not a restart: restarts are told by incarnation
 * (peer.c). A session that stops making progress, with data outstanding
 * inside the peer's window or a gap that does not fill, ends after
 * peer_timeout_ns.
 *
 * The data path is remote_data.c (send buffer, packets, acks) and
 * remote_rx.c (reorder window, messages, delivery).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core_pvt.h"
#include "ferry.h"
#include "log.h"
#include "seq.h"

#define CLOSE_TRIES 8

/* Zeros to pad a path MTU probe with (pmtu.c). */
static const uint8_t pad_zeros[FERRY_WIRE_PKT_MAX];

void send_bare_pad(struct fcore *c, uint32_t ip, uint16_t sport, uint16_t dport, uint8_t type,
		   uint32_t dst, uint32_t src, uint32_t seq, uint32_t ack, uint32_t aux,
		   uint32_t pad)
{
	if (pad > sizeof(pad_zeros))
		pad = sizeof(pad_zeros);
	struct ferry_wire_hdr h = {.version = FERRY_WIRE_VERSION,
				   .type = type,
				   .dst_session = htonl(dst),
				   .src_session = htonl(src),
				   .aux = htonl(aux),
				   .seq = htonl(seq),
				   .ack = htonl(ack),
				   .ts = htonl((uint32_t)c->now)};
	if (c->lo.send(c->lo.arg, ip, sport, dport, &h, sizeof(h), pad_zeros, pad, NULL, 0) < 0)
		core_count(c, FC_TX_FAILED);
	else
		core_count(c, FC_TX_PACKETS);
	c->sent++;
}

void send_bare(struct fcore *c, uint32_t ip, uint16_t sport, uint16_t dport, uint8_t type,
	       uint32_t dst, uint32_t src, uint32_t seq, uint32_t ack, uint32_t aux)
{
	send_bare_pad(c, ip, sport, dport, type, dst, src, seq, ack, aux, 0);
}

void rtx_mark_dirty(struct fcore *c, struct fsession *s)
{
	struct rtx *t = s->t;
	if (t->dirty || s->dead)
		return;
	t->dirty = true;
	TAILQ_INSERT_TAIL(&c->dirty, s, dirty_link);
}

/* ---- the session's life ------------------------------------------------ */

void remote_free(struct fcore *c, struct fsession *s)
{
	if (s->t) {
		rtx_free_data(s);
		free(s->t);
		s->t = NULL;
	}
	c->so.free(c->so.arg, s->c_tx);
	c->so.free(c->so.arg, s->c_rx);
	c->so.free(c->so.arg, s->c_srtt);
	c->so.free(c->so.arg, s->c_cwnd);
	c->so.free(c->so.arg, s->c_retx);
}

static uint16_t flow_port(struct fcore *c)
{
	uint16_t i = c->next_flow++;
	if (c->next_flow >= c->p.flow_port_count)
		c->next_flow = 0;
	return (uint16_t)(c->p.flow_port_first + i);
}

/* A session becomes remote: its peer, its counters and transport state. */
static int make_remote(struct fcore *c, struct fsession *s, struct fpeer *p, uint16_t port)
{
	s->remote = true;
	s->peer_ip = p->ip;
	s->peer_port = port;
	s->sport = flow_port(c);
	peer_attach(c, p, s);
	c->n_remote++;
	s->c_tx = core_counter(c, FERRY_CTR_COUNT, s->id, "session.%u.tx_messages", s->id);
	s->c_rx = core_counter(c, FERRY_CTR_COUNT, s->id, "session.%u.rx_messages", s->id);
	s->c_srtt = core_counter(c, FERRY_CTR_GAUGE, s->id, "session.%u.srtt_ns", s->id);
	s->c_cwnd = core_counter(c, FERRY_CTR_GAUGE, s->id, "session.%u.cwnd_milli", s->id);
	s->c_retx = core_counter(c, FERRY_CTR_COUNT, s->id, "session.%u.retransmits", s->id);
	struct rtx *t = calloc(1, sizeof(*t));
	if (t == NULL)
		return -ENOMEM;
	s->t = t;
	t->isn = t->snd_next = core_random(c);
	struct ferry_rtt_params rp = FERRY_RTT_PARAMS_DEFAULT;
	rp.rto_min_ns = c->p.rto_min_ns;
	rp.rto_max_ns = c->p.rto_max_ns;
	if (rp.rto_initial_ns < rp.rto_min_ns)
		rp.rto_initial_ns = rp.rto_min_ns;
	if (rp.rto_initial_ns > rp.rto_max_ns)
		rp.rto_initial_ns = rp.rto_max_ns;
	struct ferry_cc_params cp = FERRY_CC_PARAMS_DEFAULT;
	cp.target_delay_ns = c->p.cc_target_ns;
	cp.max_cwnd = WINDOW_PKTS;
	cp.min_cwnd = c->p.cc_min_cwnd;
	if (cp.init_cwnd < cp.min_cwnd)
		cp.init_cwnd = cp.min_cwnd;
	/* one lone timeout (an RPC whose only packet was lost) halves the
	 * window; three in a row mean the path is in trouble: start over */
	cp.rto_reset_threshold = 3;
	uint64_t sm = SBUF_MIN;
	while (sm < 2 * ((uint64_t)c->p.max_message + sizeof(struct ferry_wire_frame)))
		sm *= 2;
	t->scap_max = sm;
	t->max_msg = c->p.max_message;
	t->idle_since_ns = c->now;
	if (ferry_rtt_init(&t->rtt, &rp) != 0 || ferry_cc_init(&t->cc, &cp) != 0)
		return -ENOMEM;
	ferry_cc_init_signal(&t->cc, core_drop_epoch(c));
	return 0;
}

/* The peer's first number is known: the receive side can start. */
static void start_rx(struct fsession *s, uint32_t peer_isn)
{
	s->t->peer_isn = peer_isn;
	s->t->rcv_next = peer_isn;
}

static uint32_t max_window(const struct fcore *c)
{
	uint64_t w = c->p.client_ring_size;
	return w > UINT32_MAX / 2 ? UINT32_MAX / 2 : (uint32_t)w;
}

/* The peer's promise, and its first edge. */
static void peer_window(struct fsession *s, const struct ferry_wire_hdr *h, uint32_t promise)
{
	struct rtx *t = s->t;
	/* an old or odd peer saying 0 is held to the smallest useful window */
	t->peer_max_window = promise ? promise : 65536;
	uint64_t edge = ferry_wire_widen(0, ntohl(h->window));
	t->peer_edge = edge < t->peer_max_window ? edge : t->peer_max_window;
}

static void send_open(struct fcore *c, struct fsession *s)
{
	struct rtx *t = s->t;
	struct ferry_wire_open o = {.incarnation = htonl(c->incarnation),
				    .max_window = htonl(max_window(c))};
	memcpy(o.service, s->service, sizeof(o.service));
	rtx_send_first(c, s, FW_OPEN, c->p.max_message, &o, sizeof(o));
	uint64_t rto = ferry_rtt_rto(&t->rtt) << (t->ctl_tries < 16 ? t->ctl_tries : 16);
	if (rto > c->p.rto_max_ns)
		rto = c->p.rto_max_ns;
	t->ctl_tries++;
	t->ctl_due_ns = c->now + rto;
}

void remote_connect(struct fcore *c, struct fcore_client *cl, uint32_t cookie, uint32_t ip,
		    const char *service)
{
	if (!peer_allowed(c, ip)) {
		LOG_I("client %u: %u.%u.%u.%u is not in net.allowed_peers", cl->id, ip >> 24,
		      (ip >> 16) & 255, (ip >> 8) & 255, ip & 255);
		ctr_add(c->c_sessions_refused, 1);
		emit_down(c, cl, 0, cookie, FERRY_REASON_UNREACHABLE);
		return;
	}
	int reason;
	struct fsession *s = session_new(c, cl, NULL, service, &reason);
	if (s == NULL) {
		ctr_add(c->c_sessions_refused, 1);
		emit_down(c, cl, 0, cookie, reason);
		return;
	}
	s->cookie = cookie;
	s->state = FS_OPENING;
	struct fpeer *p = peer_get(c, ip);
	if (p == NULL || make_remote(c, s, p, c->p.udp_port) != 0) {
		s->peer_done = true;
		session_end(c, s, NULL, FERRY_REASON_LIMIT);
		return;
	}
	send_open(c, s);
	session_rearm(c, s);
}

static void up_event(struct fcore *c, struct fsession *s, int role)
{
	struct fcore_client *cl = local_end(s);
	if (cl == NULL || cl->gone)
		return;
	struct ferry_evt_up up = {
		.role = (uint32_t)role,
		.peer_ipv4 = htonl(s->peer_ip),
		.max_message = s->t->max_msg,
	};
	c->co.emit(c->co.arg, cl, FERRY_EVT_UP, s->id, role == 0 ? s->cookie : 0, &up,
		   sizeof(up));
}

/* Also when the OPEN came again (our ACCEPT was lost): the opener starts
 * its receive window at the ACCEPT's number, so it must be our first one,
 * not the next, or what we sent since would be acked unseen. */
static void send_accept(struct fcore *c, struct fsession *s)
{
	struct ferry_wire_accept a = {.incarnation = htonl(c->incarnation),
				      .max_window = htonl(max_window(c))};
	rtx_send_first(c, s, FW_ACCEPT, c->p.max_message, &a, sizeof(a));
}

void remote_accept(struct fcore *c, struct fsession *s)
{
	s->state = FS_UP;
	s->peer->n_half_open--;
	send_accept(c, s);
	up_event(c, s, 1);
	session_rearm(c, s);
}

static void send_close(struct fcore *c, struct fsession *s)
{
	struct rtx *t = s->t;
	t->close_seq = rtx_snd_next(t);
	rtx_send(c, s, FW_CLOSE, 0, (uint32_t)t->close_reason, NULL, 0);
	t->ctl_tries++;
	t->ctl_due_ns = c->now + (ferry_rtt_rto(&t->rtt) << (t->ctl_tries < 10 ? t->ctl_tries : 10));
}

/* The session outlives its client in @p state: what we held for the
 * client goes, and what is left (a message half assembled, kept so the
 * stream stays in step; out-of-order packets) counts against nobody's
 * ring now. */
static void outlive_client(struct fsession *s, int state, int reason)
{
	struct rtx *t = s->t;
	rtx_drop_held(s);
	struct fcore_client *cl = local_end(s);
	if (cl)
		cl->rx_held -= t->held_bytes;
	s->state = state;
	t->close_reason = reason;
	t->ctl_tries = 0;
}

bool remote_linger(struct fcore *c, struct fsession *s, int reason)
{
	if (s->t == NULL || s->state != FS_UP || c->stopping)
		return false;
	/* the client is gone; what it sent is delivered first */
	outlive_client(s, FS_CLOSING, reason);
	rtx_mark_dirty(c, s);
	return true;
}

bool remote_close(struct fcore *c, struct fsession *s, int reason)
{
	if (s->t == NULL || c->stopping || (s->state != FS_UP && s->state != FS_PEER_CLOSED)) {
		remote_tell_end(c, s, reason);
		return false;
	}
	/* told until it acks: a single lost CLOSE would leave the peer's end
	 * open, idle, for good */
	outlive_client(s, FS_CLOSE_SENT, reason);
	send_close(c, s);
	return true;
}

void remote_tell_end(struct fcore *c, struct fsession *s, int reason)
{
	/* An opener that never heard back has no peer id to address. */
	if (s->state == FS_OPENING || s->t == NULL)
		return;
	if (s->state == FS_INCOMING) {
		send_bare(c, s->peer_ip, s->sport, s->peer_port, FW_REFUSE, s->peer_session, 0, 0,
			  s->t->peer_isn, (uint32_t)reason);
		return;
	}
	s->t->close_reason = reason;
	s->t->close_seq = rtx_snd_next(s->t);
	rtx_send(c, s, FW_CLOSE, 0, (uint32_t)reason, NULL, 0);
}

void rtx_fail(struct fcore *c, struct fsession *s, int reason)
{
	if (s->dead)
		return;
	if (s->state == FS_CLOSING || s->state == FS_CLOSE_SENT) {
		session_kill(c, s);
		return;
	}
	session_end(c, s, NULL, reason);
}

/* The peer closed (CLOSE arrived, after all its data was acked). */
static void peer_closed(struct fcore *c, struct fsession *s, int reason)
{
	struct rtx *t = s->t;
	s->peer_done = true;
	if (s->state == FS_CLOSING || s->state == FS_CLOSE_SENT) {
		session_kill(c, s);
		return;
	}
	rtx_deliver_held(c, s);
	if (t->held == NULL) {
		session_end(c, s, NULL, reason);
		return;
	}
	/* the client gets what we hold first, then the news (rtx_on_room) */
	s->state = FS_PEER_CLOSED;
	t->close_reason = reason;
}

/* An OPEN: find the listener and announce the session, or refuse. */
static void on_open(struct fcore *c, uint32_t ip, uint16_t port, uint16_t dport,
		    const struct ferry_wire_hdr *h, const uint8_t *pl, uint32_t len)
{
	char service[FERRY_SERVICE_MAX];
	struct ferry_wire_open o;
	uint32_t src = ntohl(h->src_session);
	if (len < sizeof(o) || src == 0 || h->dst_session != 0) {
		core_count(c, FC_RX_MALFORMED);
		return;
	}
	memcpy(&o, pl, sizeof(o));
	if (!service_ok(o.service, service)) {
		core_count(c, FC_RX_MALFORMED);
		return;
	}
	struct fpeer *p = peer_get(c, ip);
	if (p == NULL) {
		send_bare(c, ip, dport, port, FW_REFUSE, src, 0, 0, ntohl(h->seq),
			  FERRY_REASON_LIMIT);
		return;
	}
	/* the OPEN again (same first number): our ACCEPT was lost, or is
	 * still to come. The same id with another first number is not ours
	 * to believe: ids are random, so a restarted peer does not reuse
	 * them, and a restart is told by its incarnation. */
	struct fsession *s;
	LIST_FOREACH(s, &p->sessions, peer_link) {
		if (s->dead || s->peer_session != src || s->state == FS_OPENING)
			continue;
		if (s->t->peer_isn == ntohl(h->seq)) {
			core_count(c, FC_RX_DUP);
			if (s->state == FS_UP)
				send_accept(c, s);
		} else {
			core_count(c, FC_RX_REJECTED);
		}
		return;
	}
	peer_incarnation(c, p, ntohl(o.incarnation), false);
	if (p->n_half_open >= c->p.max_half_open_per_peer) {
		core_count(c, FC_HALF_OPEN_REFUSED);
		ctr_add(c->c_sessions_refused, 1);
		send_bare(c, ip, dport, port, FW_REFUSE, src, 0, 0, ntohl(h->seq),
			  FERRY_REASON_LIMIT);
		return;
	}
	struct fservice *svc = service_find(c, service);
	int reason = FERRY_REASON_NO_LISTENER;
	s = svc ? session_new(c, NULL, svc->owner, service, &reason) : NULL;
	if (s == NULL) {
		ctr_add(c->c_sessions_refused, 1);
		send_bare(c, ip, dport, port, FW_REFUSE, src, 0, 0, ntohl(h->seq), (uint32_t)reason);
		return;
	}
	s->state = FS_INCOMING;
	s->peer_session = src;
	s->peer_inc = ntohl(o.incarnation);
	if (make_remote(c, s, p, port) != 0) {
		session_end(c, s, NULL, FERRY_REASON_LIMIT);
		return;
	}
	struct rtx *t = s->t;
	start_rx(s, ntohl(h->seq));
	t->echo_ts = ntohl(h->ts);
	t->echo_at_ns = c->now;
	peer_window(s, h, ntohl(o.max_window));
	/* OPEN and ACCEPT carry the sender's largest message: the session
	 * takes the smaller (an old or odd peer saying 0 gets ours) */
	uint32_t peer_max = ntohl(h->aux);
	if (peer_max && peer_max < t->max_msg)
		t->max_msg = peer_max;
	struct ferry_evt_incoming in = {.peer_ipv4 = htonl(ip)};
	memcpy(in.service, service, sizeof(service));
	if (!svc->owner->gone)
		c->co.emit(c->co.arg, svc->owner, FERRY_EVT_INCOMING, s->id, 0, &in, sizeof(in));
	session_rearm(c, s);
}

/* A packet names a session we do not have. */
static void on_unknown(struct fcore *c, uint32_t ip, uint16_t port, uint16_t dport,
		       const struct ferry_wire_hdr *h)
{
	core_count(c, FC_RX_UNKNOWN);
	uint32_t src = ntohl(h->src_session), dst = ntohl(h->dst_session);
	if (src == 0)
		return;
	if (h->type == FW_CLOSE) {
		/* our CLOSE_ACK was lost and the session is gone: ack again */
		send_bare(c, ip, dport, port, FW_CLOSE_ACK, src, dst, 0, ntohl(h->seq), 0);
	} else if (h->type == FW_DATA || h->type == FW_ACK) {
		/* the peer thinks a session is up that we never had or lost */
		core_count(c, FC_TX_RESETS);
		send_bare(c, ip, dport, port, FW_RESET, src, dst, 0, ntohl(h->seq), c->incarnation);
	}
}

static bool on_accept(struct fcore *c, struct fsession *s, uint16_t port,
		      const struct ferry_wire_hdr *h, const uint8_t *pl, uint32_t len)
{
	struct rtx *t = s->t;
	struct ferry_wire_accept a;
	uint32_t src = ntohl(h->src_session);
	if (s->state != FS_OPENING) {
		/* a second ACCEPT (our OPEN went twice): ack it */
		if (s->state == FS_UP && src == s->peer_session) {
			t->ack_now = true;
			return true;
		}
		core_count(c, FC_RX_UNKNOWN);
		return false;
	}
	if (src == 0 || len < sizeof(a) || ntohl(h->ack) != t->isn) {
		core_count(c, FC_RX_REJECTED);
		return false;
	}
	memcpy(&a, pl, sizeof(a));
	s->peer_session = src;
	s->peer_port = port;
	s->peer_inc = ntohl(a.incarnation);
	s->state = FS_UP;
	start_rx(s, ntohl(h->seq));
	t->ctl_tries = 0;
	if (ntohl(h->aux) && ntohl(h->aux) < t->max_msg)
		t->max_msg = ntohl(h->aux);
	peer_window(s, h, ntohl(a.max_window));
	rtx_on_ack(c, s, h);
	t->ack_now = true; /* so the acceptor has an RTT sample */
	t->echo_ts = ntohl(h->ts);
	t->echo_at_ns = c->now;
	up_event(c, s, 0);
	/* last: it may end sessions of an older incarnation, not this one */
	peer_incarnation(c, s->peer, s->peer_inc, true);
	return true;
}

/* CLOSE: its seq must lie in our receive window, its acks be of what we
 * sent. */
static bool close_fits(struct fcore *c, struct fsession *s, struct ferry_wire_hdr *h)
{
	uint32_t next = rtx_rcv_next(s->t);
	int32_t ahead = ferry_seq_diff(ntohl(h->seq), next);
	return ahead >= 0 && ahead <= (int32_t)WINDOW_PKTS && rtx_check_ack(c, s, h) == 0;
}

static bool on_close(struct fcore *c, struct fsession *s, uint32_t ip, uint16_t port,
		     uint16_t dport, struct ferry_wire_hdr *h)
{
	int reason = (int)ntohl(h->aux);
	if (reason <= 0 || reason > CORE_REASON_MAX)
		reason = FERRY_REASON_CLOSED;
	if (s->state == FS_OPENING || !close_fits(c, s, h)) {
		core_count(c, FC_RX_REJECTED);
		return false;
	}
	send_bare(c, ip, dport, port, FW_CLOSE_ACK, ntohl(h->src_session), s->id, 0, ntohl(h->seq),
		  0);
	if (s->peer_done && s->state == FS_PEER_CLOSED)
		return true; /* the CLOSE again: acked again, nothing more */
	if (s->state == FS_INCOMING) {
		s->peer_done = true;
		session_end(c, s, NULL, reason);
		return true;
	}
	peer_closed(c, s, reason);
	return true;
}

static void on_reset(struct fcore *c, struct fsession *s, const struct ferry_wire_hdr *h)
{
	uint32_t next = rtx_snd_next(s->t);
	int32_t back = ferry_seq_diff(next, ntohl(h->ack));
	if (s->state == FS_OPENING || back < 0 || back > (int32_t)WINDOW_PKTS) {
		core_count(c, FC_RX_REJECTED);
		return;
	}
	LOG_D("session %u (%s): the peer has no such session", s->id, s->service);
	s->peer_done = true;
	rtx_fail(c, s, FERRY_REASON_RESET);
	peer_incarnation(c, s->peer, ntohl(h->aux), true);
}

/* A packet for session @p s, which names this sender. @return whether it
 * passed every check (it is then proof the peer is alive). */
static bool session_input(struct fcore *c, struct fsession *s, uint32_t ip, uint16_t port,
			  uint16_t dport, struct ferry_wire_hdr *h, const uint8_t *pl,
			  uint32_t plen)
{
	struct rtx *t = s->t;
	switch (h->type) {
	case FW_ACCEPT:
		if (!on_accept(c, s, port, h, pl, plen))
			return false;
		break;
	case FW_REFUSE:
		if (s->state != FS_OPENING || ntohl(h->ack) != t->isn) {
			core_count(c, FC_RX_REJECTED);
			return false;
		}
		s->peer_done = true;
		int reason = (int)ntohl(h->aux);
		session_end(c, s, NULL, reason > 0 && reason <= CORE_REASON_MAX
						 ? reason
						 : FERRY_REASON_REFUSED);
		return false;
	case FW_CLOSE:
		return on_close(c, s, ip, port, dport, h);
	case FW_CLOSE_ACK:
		if (s->state != FS_CLOSE_SENT || ntohl(h->ack) != t->close_seq) {
			core_count(c, FC_RX_REJECTED);
			return false;
		}
		session_kill(c, s);
		return true;
	case FW_RESET:
		on_reset(c, s, h);
		return false;
	case FW_DATA:
	case FW_ACK:
		if (s->state == FS_OPENING || s->state == FS_INCOMING) {
			core_count(c, FC_RX_UNKNOWN);
			return false;
		}
		if (rtx_check_ack(c, s, h) != 0) {
			core_count(c, FC_ACKS_INVALID);
			return false;
		}
		/* a dozing session takes an ACK as it is: only data needs the
		 * reorder window (and sending, the scoreboard) */
		if (h->type == FW_DATA && rtx_wake(c, s) != 0)
			return false; /* no memory: not acked, it comes again */
		rtx_on_ack(c, s, h);
		if (h->type == FW_DATA) {
			rtx_on_data(c, s, h, pl, plen);
		} else {
			core_count(c, FC_RX_PACKETS);
			if (ntohs(h->flags) & FWF_PROBE) {
				t->echo_ts = ntohl(h->ts);
				t->echo_at_ns = c->now;
				t->ack_now = true;
			}
		}
		break;
	default:
		return false;
	}
	if (!s->dead && t->ack_now)
		rtx_mark_dirty(c, s);
	return true;
}

bool fcore_input(struct fcore *c, uint32_t ip, uint16_t port, uint16_t dport, const uint8_t *p,
		 uint32_t len)
{
	struct ferry_wire_hdr h;
	bool confirm = false;
	core_enter(c);
	if (!secure_input(c, ip, port, dport, &p, &len))
		goto out;
	if (len < sizeof(h)) {
		core_count(c, FC_RX_MALFORMED);
		goto out;
	}
	memcpy(&h, p, sizeof(h));
	p += sizeof(h);
	uint32_t plen = len - (uint32_t)sizeof(h);
	if (h.type == 0 || h.type >= FW_TYPE_MAX) {
		core_count(c, FC_RX_MALFORMED);
		goto out;
	}
	if (!peer_allowed(c, ip)) {
		core_count(c, FC_RX_NOT_ALLOWED);
		if (h.type == FW_OPEN && h.src_session != 0)
			send_bare(c, ip, dport, port, FW_REFUSE, ntohl(h.src_session), 0, 0,
				  ntohl(h.seq), FERRY_REASON_REFUSED);
		goto out;
	}
	if (h.type == FW_OPEN) {
		on_open(c, ip, port, dport, &h, p, plen);
		goto out;
	}
	/* An idle session's only packets: they confirm the peer's ARP
	 * entry too, so it stays defended while its sessions live. */
	if (h.type == FW_PING) {
		confirm = peer_on_ping(c, ip, port, dport, &h);
		goto out;
	}
	if (h.type == FW_PONG) {
		struct fpeer *pe = peer_find(c, ip);
		if (pe == NULL)
			core_count(c, FC_RX_UNKNOWN);
		else
			confirm = peer_on_pong(c, pe, &h);
		goto out;
	}
	struct fsession *s = fmap_get(&c->sessions, ntohl(h.dst_session));
	uint32_t src = ntohl(h.src_session);
	/* The session must be remote, with this peer, and (once known) the
	 * peer's id must match: anything else is someone else's packet. */
	if (s == NULL || !s->remote || s->peer_ip != ip ||
	    (s->state != FS_OPENING && s->peer_session != src)) {
		on_unknown(c, ip, port, dport, &h);
		goto out;
	}
	struct fpeer *pe = s->peer;
	if (session_input(c, s, ip, port, dport, &h, p, plen))
		confirm = peer_heard(c, pe);
out:
	core_leave(c);
	return confirm;
}

/* ---- timers ------------------------------------------------------------ */

/* How long a packet may go unacked before it is lost: the RTO, which the
 * RTT samples give without the peer's hold time, plus the longest the peer
 * may hold an ack (QUIC's PTO does the same with max_ack_delay). */
static uint64_t loss_rto(const struct fcore *c, const struct rtx *t)
{
	return ferry_rtt_rto(&t->rtt) + c->p.ack_delay_ns;
}

/* When the retransmission timer fires: an RTO after the oldest packet in
 * flight was sent, and an RTO after the last ack that acked anything new.
 * While acks keep coming, packets are not lost to the timer but to the ack
 * pattern (three later ones acked): behind a hole, packets the selective
 * ack cannot yet report wait a retransmission's round trip, and timing
 * them out one by one would resend a whole window that arrived. */
static uint64_t rto_due(const struct fcore *c, const struct rtx *t)
{
	uint64_t rto = loss_rto(c, t);
	uint64_t due = ferry_sack_deadline(t->sack, rto);
	if (due != UINT64_MAX && t->acked_ns + rto > due)
		due = t->acked_ns + rto;
	return due;
}

static uint64_t min64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

/* The window probe's period: the RTO, backed off, at most keepalive. */
static uint64_t probe_every(const struct fcore *c, const struct rtx *t)
{
	uint32_t b = ferry_rtt_backoff(&t->rtt);
	uint64_t every = ferry_rtt_rto(&t->rtt) << (b < 10 ? b : 10);
	return every < c->p.keepalive_ns ? every : c->p.keepalive_ns;
}

uint64_t remote_next_due(struct fcore *c, struct fsession *s)
{
	struct rtx *t = s->t;
	switch (s->state) {
	case FS_OPENING:
		return min64(t->ctl_due_ns, s->deadline_ns);
	case FS_INCOMING:
		return s->deadline_ns;
	case FS_CLOSE_SENT:
		return t->ctl_due_ns;
	case FS_PEER_CLOSED:
		return UINT64_MAX; /* the client's reading moves it (rtx_on_room) */
	default:
		break;
	}
	uint64_t at = UINT64_MAX;
	if (t->sack)
		at = min64(at, rto_due(c, t));
	bool to_send = t->nxt_off < t->end_off || (t->sack && ferry_sack_lost(t->sack));
	if (to_send && !t->blocked && t->next_send_ns > c->now)
		at = min64(at, t->next_send_ns);
	if (t->ack_due_ns)
		at = min64(at, t->ack_due_ns);
	if (t->blocked && (t->sack == NULL || ferry_sack_in_flight(t->sack) == 0))
		at = min64(at, t->last_probe_ns + probe_every(c, t));
	if (rtx_ack_owed(t))
		at = min64(at, t->progress_ns + c->p.peer_timeout_ns);
	if (t->ooo_bytes)
		at = min64(at, t->gap_since_ns + c->p.peer_timeout_ns);
	if (rtx_can_doze(t))
		at = min64(at, t->idle_since_ns + c->p.keepalive_ns);
	return at;
}

void remote_timer(struct fcore *c, struct fsession *s)
{
	struct rtx *t = s->t;
	uint64_t now = c->now;
	switch (s->state) {
	case FS_OPENING:
		if (now >= s->deadline_ns) {
			LOG_D("session %u (%s) not answered within %llu ms", s->id, s->service,
			      (unsigned long long)(c->p.open_timeout_ns / 1000000));
			/* an opener whose peer never answered ARP: unreachable */
			session_end(c, s, NULL,
				    s->peer->arp_failed ? FERRY_REASON_UNREACHABLE
							: FERRY_REASON_TIMEOUT);
			return;
		}
		if (now >= t->ctl_due_ns)
			send_open(c, s);
		session_rearm(c, s);
		return;
	case FS_INCOMING:
		if (now >= s->deadline_ns)
			session_end(c, s, NULL, FERRY_REASON_TIMEOUT);
		return;
	case FS_CLOSE_SENT:
		if (now >= t->ctl_due_ns) {
			if (t->ctl_tries >= CLOSE_TRIES) {
				session_kill(c, s);
				return;
			}
			send_close(c, s);
		}
		session_rearm(c, s);
		return;
	case FS_PEER_CLOSED:
		return;
	default:
		break;
	}
	/* no progress: data outstanding inside the peer's window and
	 * unacked, or a gap unfilled, for as long as a silent peer is given */
	if ((rtx_ack_owed(t) && now - t->progress_ns >= c->p.peer_timeout_ns) ||
	    (t->ooo_bytes && now - t->gap_since_ns >= c->p.peer_timeout_ns)) {
		core_count(c, FC_STALLED);
		LOG_I("session %u (%s): no progress for %llu ms (%s)", s->id, s->service,
		      (unsigned long long)(c->p.peer_timeout_ns / 1000000),
		      t->ooo_bytes ? "a gap in what it receives does not fill"
				   : "what it sent is not acked");
		rtx_fail(c, s, FERRY_REASON_TIMEOUT);
		return;
	}
	/* retransmission timeout */
	uint64_t rto = loss_rto(c, t);
	if (t->sack && now >= rto_due(c, t) && ferry_sack_on_timeout(t->sack, now, rto)) {
		core_count(c, FC_RTO);
		LOG_D("session %u: retransmission timeout, rto %llu us, cwnd %.2f, srtt %llu us, "
		      "in flight %u", s->id, (unsigned long long)rto / 1000, ferry_cc_cwnd(&t->cc),
		      (unsigned long long)ferry_rtt_srtt(&t->rtt) / 1000,
		      ferry_sack_in_flight(t->sack));
		if (!t->rto_probe) {
			t->cc_before = t->cc;
			t->rtt_before = t->rtt;
		}
		t->rto_probe = true;
		t->rto_at = now;
		ferry_rtt_on_timeout(&t->rtt);
		ferry_cc_on_timeout(&t->cc, now);
		pmtu_on_rto(c, s, rto);
	}
	/* an ack owed on the timer: the flush sends it */
	if (t->ack_due_ns && now >= t->ack_due_ns)
		t->ack_now = true;
	/* a window that stays shut: probe */
	if (t->blocked && (t->sack == NULL || ferry_sack_in_flight(t->sack) == 0) &&
	    now - t->last_probe_ns >= probe_every(c, t)) {
		core_count(c, FC_TX_PROBES);
		LOG_D("session %u: window probe", s->id);
		t->last_probe_ns = now;
		rtx_send(c, s, FW_ACK, FWF_PROBE, 0, NULL, 0);
	}
	rtx_doze(c, s);
	rtx_mark_dirty(c, s);
}

/* Send, ack, and finish closing: the sessions marked dirty. */
void remote_flush(struct fcore *c)
{
	struct fsession *s;
	while ((s = TAILQ_FIRST(&c->dirty)) != NULL) {
		TAILQ_REMOVE(&c->dirty, s, dirty_link);
		struct rtx *t = s->t;
		t->dirty = false;
		if (s->state == FS_UP || s->state == FS_CLOSING)
			rtx_transmit(c, s);
		if (t->ack_now && !s->dead)
			rtx_send(c, s, FW_ACK, 0, 0, NULL, 0);
		if (s->state == FS_CLOSING && t->una_off == t->end_off) {
			s->state = FS_CLOSE_SENT;
			t->ctl_tries = 0;
			send_close(c, s);
		}
		session_rearm(c, s);
	}
}
