/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Sessions between this host and another: the handshake (OPEN, ACCEPT or
 * REFUSE), messages (DATA) and the end (CLOSE), carried one message per
 * packet in the header of wire.h.
 *
 *   opener's ferryd                          acceptor's ferryd
 *   CMD_CONNECT  -> OPENING --OPEN-->        INCOMING -> EVT_INCOMING
 *                                            CMD_ACCEPT
 *   EVT_UP       <- UP     <--ACCEPT--       UP       -> EVT_UP
 *   DATA records --DATA-->  EVT(DATA) ...    and back the same way
 *   CMD_CLOSE / client gone --CLOSE-->       EVT_DOWN (closed / gone)
 *
 * This layer does not yet make delivery reliable: a lost packet is a lost
 * message, and a message for a client whose event ring is full is dropped
 * and counted. Every packet that does not fit a session it names (wrong
 * sender, unknown id, bad length or type) is counted and dropped.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "ferry.h"
#include "ferryd.h"
#include "log.h"
#include "net_host.h"
#include "nic.h"
#include "remote.h"
#include "sessions_pvt.h"
#include "wire.h"

static const char *const rc_names[RC_COUNT] = {
	"remote.rx_malformed", "remote.rx_unknown_session", "remote.rx_messages",
	"remote.rx_messages_dropped_ring_full", "remote.tx_messages", "remote.tx_failed",
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

static int send_pkt(struct ferryd *d, uint32_t ip, uint16_t port, uint8_t type, uint16_t flags,
		    uint32_t dst, uint32_t src, uint32_t aux, const void *payload, uint32_t plen)
{
	struct ferry_wire_hdr h = {.version = FERRY_WIRE_VERSION,
				   .type = type,
				   .flags = htons(flags),
				   .dst_session = htonl(dst),
				   .src_session = htonl(src),
				   .aux = htonl(aux)};
	int rc = nic_send(d, ip, port, &h, sizeof(h), payload, plen);
	if (rc < 0)
		count(d, RC_TX_FAILED);
	return rc;
}

static int send_ctl(struct ferryd *d, uint32_t ip, uint16_t port, uint8_t type, uint32_t dst,
		    uint32_t src, uint32_t aux, const void *payload, uint32_t plen)
{
	return send_pkt(d, ip, port, type, 0, dst, src, aux, payload, plen);
}

static struct fclient *local_end(const struct fsession *s)
{
	return s->end[0] ? s->end[0] : s->end[1];
}

/* A session becomes remote: its peer and its counters. */
static void make_remote(struct ferryd *d, struct fsession *s, uint32_t ip, uint16_t port)
{
	s->remote = true;
	s->peer_ip = ip;
	s->peer_port = port;
	s->c_tx = fstatus_counter(&d->st, FERRY_CTR_COUNT, s->id, "session.%u.tx_messages", s->id);
	s->c_rx = fstatus_counter(&d->st, FERRY_CTR_COUNT, s->id, "session.%u.rx_messages", s->id);
	s->c_rx_dropped = fstatus_counter(&d->st, FERRY_CTR_COUNT, s->id,
					  "session.%u.rx_dropped_ring_full", s->id);
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
	make_remote(d, s, ip, (uint16_t)d->cfg->net_udp_port);
	struct ferry_wire_open o;
	memcpy(o.service, service, sizeof(o.service));
	if (send_ctl(d, ip, s->peer_port, FW_OPEN, 0, s->id, 0, &o, sizeof(o)) < 0) {
		s->peer_done = true;
		session_end(d, s, NULL, FERRY_REASON_UNREACHABLE);
	}
}

static void up_event(struct ferryd *d, struct fsession *s, int role)
{
	struct ferry_evt_up up = {
		.role = (uint32_t)role,
		.peer_ipv4 = htonl(s->peer_ip),
		.max_message = nic_max_payload(d) - (uint32_t)sizeof(struct ferry_wire_hdr),
	};
	clients_emit(d, local_end(s), FERRY_EVT_UP, s->id, role == 0 ? s->cookie : 0, &up,
		     sizeof(up));
}

void remote_accept(struct ferryd *d, struct fsession *s)
{
	timed_unlink(d, s);
	s->state = FS_UP;
	send_ctl(d, s->peer_ip, s->peer_port, FW_ACCEPT, s->peer_session, s->id, 0, NULL, 0);
	up_event(d, s, 1);
}

void remote_tell_end(struct ferryd *d, struct fsession *s, int reason)
{
	/* An opener that never heard back has no peer id to address. */
	if (s->state == FS_OPENING)
		return;
	uint8_t type = s->state == FS_INCOMING ? FW_REFUSE : FW_CLOSE;
	send_ctl(d, s->peer_ip, s->peer_port, type, s->peer_session, s->id, (uint32_t)reason, NULL,
		 0);
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
	/* record flags ride along (FERRY_RECF_RPC: an RPC message) */
	if (send_pkt(d, s->peer_ip, s->peer_port, FW_DATA, v->flags & FERRY_RECF_RPC,
		     s->peer_session, s->id, 0, v->payload, v->len) == 0) {
		fctr_add(s->c_tx, 1);
		count(d, RC_TX_DATA);
	}
	return 0;
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
	struct fservice *svc = service_find(d, service);
	int reason = FERRY_REASON_NO_LISTENER;
	struct fsession *s = svc ? session_new(d, NULL, svc->owner, service, &reason) : NULL;
	if (s == NULL) {
		fctr_add(d->c.sessions_refused, 1);
		send_ctl(d, ip, port, FW_REFUSE, src, 0, (uint32_t)reason, NULL, 0);
		return;
	}
	s->state = FS_INCOMING;
	make_remote(d, s, ip, port);
	s->peer_session = src;
	struct ferry_evt_incoming in = {.peer_ipv4 = htonl(ip)};
	memcpy(in.service, service, sizeof(service));
	clients_emit(d, svc->owner, FERRY_EVT_INCOMING, s->id, 0, &in, sizeof(in));
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
		count(d, RC_RX_UNKNOWN);
		return;
	}
	switch (h.type) {
	case FW_ACCEPT:
		if (s->state != FS_OPENING || src == 0) {
			count(d, RC_RX_UNKNOWN);
			return;
		}
		timed_unlink(d, s);
		s->state = FS_UP;
		s->peer_session = src;
		s->peer_port = port;
		up_event(d, s, 0);
		return;
	case FW_REFUSE:
	case FW_CLOSE: {
		int reason = (int)ntohl(h.aux);
		if (reason <= 0 || reason > FERRY_REASON_SHUTDOWN)
			reason = FERRY_REASON_CLOSED;
		/* a peer's client that died is "gone" to ours as well */
		s->peer_done = true;
		session_end(d, s, NULL, reason);
		return;
	}
	case FW_DATA:
		if (s->state != FS_UP) {
			count(d, RC_RX_UNKNOWN);
			return;
		}
		fctr_add(s->c_rx, 1);
		count(d, RC_RX_DATA);
		if (clients_emit_data(d, local_end(s), s->id, ntohs(h.flags) & FERRY_RECF_RPC, p,
				      plen) < 0) {
			fctr_add(s->c_rx_dropped, 1);
			count(d, RC_RX_DATA_DROPPED);
		}
		return;
	}
}

void remote_unreachable(struct ferryd *d, uint32_t ip)
{
	uint32_t gw = d->cfg->net_gateway.set ? d->cfg->net_gateway.addr : 0;
	for (uint32_t i = 0; i <= d->sessions.mask; i++) {
		for (;;) {
			struct fsession *s = d->sessions.s[i].val;
			if (d->sessions.s[i].key == 0 || !s->remote ||
			    (s->peer_ip != ip && ip != gw))
				break;
			LOG_I("session %u (%s): %u.%u.%u.%u does not answer ARP", s->id, s->service,
			      ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255, ip & 255);
			/* nothing to tell a peer we cannot reach; deleting may
			 * shift another session into this slot: look again */
			s->peer_done = true;
			session_end(d, s, NULL, FERRY_REASON_UNREACHABLE);
		}
	}
}
