/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Packets resent in fragments, and their reassembly (the format is in
 * wire.h).
 *
 * A lost packet is sent again under its own number with its own stream
 * bytes: the receiver's reorder window and acks know packets by number,
 * and the sender's scoreboard maps each number to one stretch of the
 * stream. When the path to the peer has shrunk since (pmtu.c), such a
 * packet can never get through whole again, so it goes in fragments, all
 * under its number; new data simply takes the new size.
 *
 * The receiver rebuilds one packet at a time per session, in a buffer of
 * the largest packet's size allocated at its first fragment and given
 * back when the session dozes: fragments of another packet end an
 * unfinished one (the sender sends lost packets lowest first, and sends
 * whatever it still misses again). A fragment is checked before any of
 * it is kept: its count and index, the packet's length, its own length
 * and offset against the fixed split, and that it agrees with the
 * fragments of the same packet already held; a number already received is
 * acked again rather than rebuilt. Only the whole packet enters the
 * reorder window, through the same checks as one that came whole.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "core_pvt.h"
#include "seq.h"

/* The split of a packet of @p len bytes in @p count fragments: each but the
 * last carries this many. */
static uint32_t piece_of(uint32_t len, uint32_t count)
{
	return (len + count - 1) / count;
}

uint32_t frag_send(struct fcore *c, struct fsession *s, uint32_t seq, uint64_t off, uint32_t len,
		   uint32_t max)
{
	/* max >= 472 stream bytes (the 576 floor, less a seal's trailer):
	 * with room >= 96 every
	 * fragment of a packet of at most FERRY_WIRE_PKT_MAX bytes has some */
	uint32_t room = max - (uint32_t)sizeof(struct ferry_wire_frag);
	uint32_t count = (len + room - 1) / room;
	uint32_t piece = piece_of(len, count);
	for (uint32_t i = 0; i < count; i++) {
		uint32_t at = i * piece;
		uint32_t n = len - at < piece ? len - at : piece;
		struct ferry_wire_frag f = {.pkt_len = htons((uint16_t)len),
					    .index = (uint8_t)i,
					    .count = (uint8_t)count};
		rtx_send_data(c, s, seq, FWF_FRAG, off + at, n, &f, sizeof(f));
		core_count(c, FC_TX_FRAGS);
	}
	return piece + (uint32_t)(sizeof(struct ferry_wire_frag) + sizeof(struct ferry_wire_hdr)) +
	       FERRY_WIRE_IPUDP_HLEN + secure_trailer(c);
}

/* Give up the packet being rebuilt; its fragments count as dropped. */
static void give_up(struct fcore *c, struct rfrag *r)
{
	ctr_add(c->c[FC_RX_FRAGS_DROPPED], (uint64_t)__builtin_popcountll(r->have));
	r->busy = false;
}

const uint8_t *frag_input(struct fcore *c, struct fsession *s, const struct ferry_wire_hdr *h,
			  const uint8_t *p, uint32_t plen, uint64_t *off, uint32_t *len)
{
	struct rtx *t = s->t;
	struct ferry_wire_frag f;
	uint32_t seq = ntohl(h->seq);
	if (plen <= sizeof(f))
		goto bad;
	memcpy(&f, p, sizeof(f));
	uint32_t pkt_len = ntohs(f.pkt_len), count = f.count, idx = f.index;
	uint32_t n = plen - (uint32_t)sizeof(f);
	if (count < 2 || count > FERRY_WIRE_FRAG_MAX || idx >= count || pkt_len < count ||
	    pkt_len > FERRY_WIRE_PKT_MAX)
		goto bad;
	uint32_t piece = piece_of(pkt_len, count);
	if ((count - 1) * piece >= pkt_len)
		goto bad; /* a split no sender makes: an empty last fragment */
	uint32_t at = idx * piece;
	if (n != (pkt_len - at < piece ? pkt_len - at : piece))
		goto bad;
	if (ferry_seq_lt(seq, ferry_rxwin_cum(t->rx))) {
		/* received already: the sender has not heard, say it again */
		core_count(c, FC_RX_DUP);
		t->ack_now = true;
		return NULL;
	}
	if (!ferry_seq_lt(seq, ferry_rxwin_limit(t->rx))) {
		core_count(c, FC_RX_BEYOND);
		t->ack_now = true;
		return NULL;
	}
	uint64_t base = ferry_wire_widen(t->r_off, ntohl(h->aux)) - at;
	struct rfrag *r = t->frag;
	if (r == NULL) {
		r = t->frag = malloc(sizeof(*r));
		if (r == NULL)
			return NULL; /* not acked: it comes again */
		r->busy = false;
	}
	if (r->busy && r->seq == seq && (r->len != pkt_len || r->base != base))
		goto bad; /* a packet's bytes do not move */
	if (r->busy && (r->seq != seq || r->count != count))
		give_up(c, r); /* another packet, or this one split anew */
	if (!r->busy) {
		r->seq = seq;
		r->base = base;
		r->len = (uint16_t)pkt_len;
		r->count = (uint16_t)count;
		r->have = 0;
		r->busy = true;
	}
	if (r->have & (1ull << idx)) {
		core_count(c, FC_RX_DUP);
		return NULL;
	}
	memcpy(r->data + at, p + sizeof(f), n);
	r->have |= 1ull << idx;
	core_count(c, FC_RX_FRAGS);
	if (r->have != (1ull << count) - 1)
		return NULL;
	core_count(c, FC_RX_REASSEMBLED);
	*off = r->base;
	*len = r->len;
	return r->data;
bad:
	core_count(c, FC_RX_FRAGS_DROPPED);
	return NULL;
}

void frag_done(struct fsession *s)
{
	if (s->t->frag)
		s->t->frag->busy = false;
}

void frag_free(struct fsession *s)
{
	free(s->t->frag);
	s->t->frag = NULL;
}
