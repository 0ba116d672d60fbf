/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The link of the daemon under test (fuzz_daemon.h): the NIC's transmit,
 * which records every packet the engine sends and reads it into the
 * virtual peers' models (fuzz_vpeer.c), checking it on the way: its shape
 * and size; for its session, the port it comes from, that it follows the
 * handshake; its stream, reassembled into the messages its client sent;
 * retransmissions against their originals; new data against the peer's
 * window. With the auto peer, what it reads is answered (queued, and sent
 * once the core call is over: fuzz_vpeer.c).
 */
#include <arpa/inet.h>

#include "ferry.h"
#include "fuzz_vpeer_pvt.h"
#include "log.h"
#include "seq.h"

/* ---- what the engine sends ------------------------------------------------ */

/* A new message of the engine's stream: the next its client sent. */
static void framer_feed(struct fd_vsess *v, const uint8_t *p, uint32_t n)
{
	struct fd_framer *f = &v->rx;
	while (n > 0) {
		if (!f->in_msg) {
			uint32_t take = 8 - f->fh_have < n ? 8 - f->fh_have : n;
			memcpy(f->fh + f->fh_have, p, take);
			f->fh_have += take;
			p += take;
			n -= take;
			if (f->fh_have < 8)
				return;
			struct ferry_wire_frame fr;
			memcpy(&fr, f->fh, sizeof(fr));
			f->fh_have = 0;
			f->in_msg = true;
			f->len = ntohl(fr.len);
			f->have = 0;
			f->hash = FNV0;
			FUZZ_CHECK(fr.zero == 0 && f->len <= session_max(),
				   "session %u: the engine framed a message of %u bytes", v->us, f->len);
		}
		uint32_t take = f->len - f->have < n ? f->len - f->have : n;
		f->hash = fnv(p, take, f->hash);
		f->have += take;
		p += take;
		n -= take;
		if (f->have == f->len) {
			f->in_msg = false;
			if (v->tx_checked)
				msgq_match(&v->tx, f->len, f->hash, "the peer got", v->us);
		}
	}
}

static void on_data(struct fd_vsess *v, uint32_t seq, uint32_t aux, const uint8_t *p, uint32_t n)
{
	uint64_t off = ferry_wire_widen(v->eng_off, aux);
	uint64_t hash = fnv(p, n, FNV0);
	FUZZ_CHECK(n > 0, "session %u: an empty DATA packet", v->us);
	int32_t d = ferry_seq_diff(seq, v->eng_next);
	if (d > 0) {
		/* a model made from the engine's packets alone starts here */
		FUZZ_CHECK(v->learned && !v->tx.tail && !v->rx.in_msg && !v->eng_off,
			   "session %u: DATA %u skips numbers (the next new one is %u)", v->us, seq,
			   v->eng_next);
		v->eng_next = seq;
		v->eng_off = off;
		v->tx_checked = false;
		d = 0;
	}
	typeof(v->eng_pk[0]) *k = &v->eng_pk[seq & 255];
	if (d < 0) {
		/* again: the same bytes under the same number */
		if (k->valid && k->seq == seq)
			FUZZ_CHECK(k->off == off && k->len == n && k->hash == hash,
				   "session %u: DATA %u sent again with other bytes (offset %llu, %u "
				   "bytes; first %llu, %u)", v->us, seq, (unsigned long long)off, n,
				   (unsigned long long)k->off, k->len);
		return;
	}
	FUZZ_CHECK(off == v->eng_off, "session %u: new data at offset %llu, the stream is at %llu",
		   v->us, (unsigned long long)off, (unsigned long long)v->eng_off);
	uint64_t edge = v->edge > v->edge_more ? v->edge : v->edge_more;
	FUZZ_CHECK(v->edge_unknown || v->learned || off + n <= edge,
		   "session %u: data up to %llu, past the window the peer advertised (%llu)", v->us,
		   (unsigned long long)(off + n), (unsigned long long)edge);
	*k = (typeof(*k)){.seq = seq, .len = n, .off = off, .hash = hash, .valid = true};
	v->eng_next++;
	v->eng_off += n;
	framer_feed(v, p, n);
}

/* A packet sent again in fragments (the path shrank since, wire.h): only
 * one already sent whole, split as the wire format says, each piece where
 * the packet had it. Its bytes went to the model with the packet. */
static void on_frag(struct fd_vsess *v, uint32_t seq, uint32_t aux, const uint8_t *p, uint32_t n)
{
	struct ferry_wire_frag f;
	FUZZ_CHECK(n > sizeof(f), "session %u: DATA %u, a fragment of %u bytes", v->us, seq, n);
	memcpy(&f, p, sizeof(f));
	uint32_t len = ntohs(f.pkt_len), piece = f.count ? (len + f.count - 1) / f.count : 0;
	n -= (uint32_t)sizeof(f);
	FUZZ_CHECK(f.count >= 2 && f.count <= FERRY_WIRE_FRAG_MAX && f.index < f.count &&
			   n == (f.index + 1u < f.count ? piece : len - f.index * piece),
		   "session %u: DATA %u, fragment %u of %u with %u of %u bytes", v->us, seq,
		   f.index, f.count, n, len);
	FUZZ_CHECK(ferry_seq_diff(seq, v->eng_next) < 0,
		   "session %u: DATA %u in fragments before it was sent whole", v->us, seq);
	typeof(v->eng_pk[0]) *k = &v->eng_pk[seq & 255];
	if (!k->valid || k->seq != seq)
		return;
	uint64_t off = ferry_wire_widen(k->off, aux);
	FUZZ_CHECK(k->len == len && off == k->off + (uint64_t)f.index * piece,
		   "session %u: DATA %u, fragment %u at offset %llu of a packet of %u bytes; it "
		   "was sent whole at %llu with %u", v->us, seq, f.index, (unsigned long long)off,
		   len, (unsigned long long)k->off, k->len);
}

/* The engine's cumulative ack moved: so much of our stream it holds. */
static void on_ack(struct fd_vsess *v, uint32_t ack)
{
	if (v->learned || !ferry_seq_gt(ack, v->isn) || ferry_seq_gt(ack, v->next_seq))
		return;
	const typeof(v->pk[0]) *k = &v->pk[(ack - 1) & 63];
	if (k->seq == ack - 1 && k->len && k->off + k->len > v->acked_off)
		v->acked_off = k->off + k->len;
}

/* A model for a session the engine talks on that we never modelled (a
 * raw OPEN it accepted, an answer that changed its peer). */
static struct fd_vsess *learn(const struct fd_pkt *k, uint32_t us, uint32_t them, uint32_t ack)
{
	struct fd_vsess *v = vs_new(host_of(k->ip) < 0 ? FD_HOSTS : host_of(k->ip));
	if (v == NULL)
		return NULL;
	v->state = VS_UP;
	v->learned = true;
	v->us = us;
	v->them = them;
	v->eport = k->sport;
	v->pport = k->dport;
	v->isn = v->next_seq = ack;
	v->tx_checked = false;
	return v;
}

static void observe(const struct fd_pkt *k)
{
	struct ferry_wire_hdr h;
	FUZZ_CHECK(k->len >= HDR, "the engine sent %u bytes", k->len);
	memcpy(&h, k->data, HDR);
	FUZZ_CHECK(h.version == FERRY_WIRE_VERSION && h.type >= FW_OPEN && h.type < FW_TYPE_MAX,
		   "the engine sent version %u type %u", h.version, h.type);
	const uint8_t *pl = k->data + HDR;
	uint32_t n = k->len - HDR;
	uint32_t dst = ntohl(h.dst_session), src = ntohl(h.src_session);
	uint32_t seq = ntohl(h.seq), ack = ntohl(h.ack), aux = ntohl(h.aux);
	int host = host_of(k->ip);
	struct fd_vsess *v;
	struct ferry_wire_hdr a;
	switch (h.type) {
	case FW_PING:
		if (host >= 0)
			fd.host_ping[host] = seq;
		hdr(&a, FW_PONG, 0, 0, 0, seq, host >= 0 ? fd.host_inc[host] : 1);
		if (fd.auto_peer)
			queue_answer(k->ip, k->dport, k->sport, &a, NULL, 0);
		return;
	case FW_OPEN:
		FUZZ_CHECK(n == sizeof(struct ferry_wire_open) && dst == 0 && src != 0,
			   "OPEN: %u bytes, dst %u src %u", n, dst, src);
		v = fd_vsess_by_us(src);
		if (v && v->state == VS_ENG_OPENING) {
			FUZZ_CHECK(seq == v->eng_isn && k->sport == v->eport,
				   "session %u: OPEN again with another first number or port", src);
			return;
		}
		if (v == NULL && (v = vs_new(host < 0 ? FD_HOSTS : host)) == NULL)
			return;
		v->state = VS_ENG_OPENING;
		v->us = src;
		v->eng_isn = v->eng_next = seq;
		v->eport = k->sport;
		v->pport = k->dport;
		FUZZ_CHECK(aux == session_max(), "OPEN says %u bytes at most, ours is %u", aux,
			   session_max());
		if (fd.auto_peer && host >= 0)
			do_accept(v, 0x10000u * (src & 0xfff), 0, WIN_DEFAULT, false, false, true);
		return;
	case FW_HS_REJECT:
		/* security.mode none answers a handshake: not ours to run */
		FUZZ_CHECK(aux == FERRY_REASON_SECURITY && src == 0,
			   "HS_REJECT for %u says reason %u", dst, aux);
		return;
	case FW_REFUSE:
	case FW_RESET:
	case FW_CLOSE_ACK:
	case FW_PONG:
		/* bare answers: an ack field that echoes, not a cumulative ack */
		if ((v = by_them(dst, host)) != NULL && h.type == FW_REFUSE &&
		    v->state == VS_PEER_OPENING)
			v->state = VS_GONE;
		return;
	default:
		break;
	}
	/* a session packet: ACCEPT, DATA, CLOSE or ACK, with the ack fields,
	 * only once the handshake is done (for the acceptor: ACCEPT first) */
	FUZZ_CHECK(src != 0 && dst != 0, "type %u with ids %u, %u", h.type, dst, src);
	v = by_them(dst, host);
	FUZZ_CHECK(h.type == FW_ACCEPT || v == NULL || v->state != VS_PEER_OPENING,
		   "session %u: type %u before its ACCEPT", src, h.type);
	if (h.type == FW_ACCEPT && (v = by_them(dst, host)) != NULL && v->has_alt &&
	    ack == v->isn_alt && v->us != src) {
		/* its id reused with another first number, taken as a new
		 * session once the old one had ended */
		uint16_t pport = v->pport;
		v->state = VS_GONE;
		if ((v = vs_new(host)) == NULL)
			return;
		v->state = VS_PEER_OPENING;
		v->them = dst;
		v->pport = pport;
		v->isn = v->next_seq = ack;
		v->learned = true;
	}
	if (h.type == FW_ACCEPT && (v = by_them(dst, host)) != NULL && v->state == VS_PEER_OPENING) {
		FUZZ_CHECK(ack == v->isn, "ACCEPT does not echo the OPEN's first number");
		FUZZ_CHECK(n == sizeof(struct ferry_wire_accept) && aux == session_max(),
			   "ACCEPT: %u bytes, largest message %u", n, aux);
		v->state = VS_UP;
		v->us = src;
		v->eng_isn = v->eng_next = seq;
		v->eport = k->sport;
	}
	v = fd_vsess_by_us(src);
	if (v && v->state == VS_ENG_OPENING) {
		/* an answer the model did not write made it UP: learn its peer */
		v->state = VS_UP;
		v->them = dst;
		v->isn = v->next_seq = ack;
		v->learned = true;
	}
	if (v == NULL && (v = learn(k, src, dst, ack)) == NULL)
		return;
	if (v->them != dst) {
		v->them = dst; /* told of another peer id by a packet we forged */
		v->learned = true;
	}
	FUZZ_CHECK(k->sport == v->eport, "session %u sends from port %u, and from %u", src, k->sport,
		   v->eport);
	v->eng_ts = ntohl(h.ts);
	on_ack(v, ack);
	switch (h.type) {
	case FW_DATA:
		if (ntohs(h.flags) & FWF_FRAG)
			on_frag(v, seq, aux, pl, n);
		else
			on_data(v, seq, aux, pl, n);
		if (fd.auto_peer && v->state == VS_UP) {
			vs_hdr(v, &a, FW_ACK, v->next_seq, 0);
			vs_answer(v, &a, NULL, 0);
		}
		break;
	case FW_CLOSE:
		v->eng_closed = true;
		v->eng_close_seq = seq;
		if (fd.auto_peer) {
			hdr(&a, FW_CLOSE_ACK, src, dst, 0, seq, 0);
			vs_answer(v, &a, NULL, 0);
			v->state = VS_GONE;
		}
		break;
	case FW_ACK:
		if (fd.auto_peer && (ntohs(h.flags) & FWF_PROBE) && v->state == VS_UP) {
			vs_hdr(v, &a, FW_ACK, v->next_seq, 0);
			vs_answer(v, &a, NULL, 0);
		}
		break;
	}
}

static int link_send(void *arg, uint32_t ip, uint16_t sport, uint16_t dport, const void *h,
		     uint16_t hlen, const void *p1, uint32_t l1, const void *p2, uint32_t l2)
{
	(void)arg;
	uint64_t len = (uint64_t)hlen + l1 + l2;
	FUZZ_CHECK(hlen == HDR && len <= fd.mtu, "the engine sent %llu bytes (header %u), the link "
						 "carries %u", (unsigned long long)len, hlen, fd.mtu);
	FUZZ_CHECK(ip != FD_LOCAL_IP && ip != 0, "the engine sent a packet to %08x", ip);
	if (flog_enabled(FLOG_DEBUG)) {
		const struct ferry_wire_hdr *x = h;
		fprintf(stderr, "  engine -> %08x: type %u dst %u src %u seq %u ack %u aux %u, %llu "
				"bytes\n", ip, x->type, ntohl(x->dst_session), ntohl(x->src_session),
			ntohl(x->seq), ntohl(x->ack), ntohl(x->aux), (unsigned long long)len);
	}
	struct fd_pkt *k = &fd.sent[fd.n_sent++ % FD_SENT];
	*k = (struct fd_pkt){.ip = ip, .sport = sport, .dport = dport, .len = (uint32_t)len};
	memcpy(k->data, h, hlen);
	if (l1)
		memcpy(k->data + hlen, p1, l1);
	if (l2)
		memcpy(k->data + hlen + l1, p2, l2);
	observe(k);
	return 0;
}

static uint32_t link_max_payload(void *arg, uint32_t ip)
{
	(void)arg, (void)ip;
	return fd.mtu;
}

void fd_link_ops(struct fcore_link_ops *lo)
{
	*lo = (struct fcore_link_ops){.send = link_send, .max_payload = link_max_payload};
}

