/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Receive classification. The common case, a ferry UDP packet to our MAC
 * and IP, walks straight down one path of well-predicted branches; each
 * failed check jumps to a single drop exit that counts the reason. Lengths
 * are checked before the bytes they cover are read, so a hostile frame can
 * make this return early but never read past @len.
 *
 * The stricter-than-Linux choices: a UDP length must equal the IPv4
 * payload length (peers are ferry daemons, which never pad inside IP), and
 * IPv4 to the broadcast MAC is dropped (ferry is unicast only).
 */
#include "net_rx.h"

#include <string.h>

#include "net_cksum.h"
#include "net_tx.h"

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

static int src_ip_is_bad(const struct ferry_net_host *h, uint32_t src)
{
	uint8_t top = (uint8_t)(src >> 24);
	return top == 0 || top == 127 || top >= 224 || src == h->ip ||
	       (h->prefix_len <= 30 && (src | h->netmask) == 0xffffffffu &&
		ferry_net_on_subnet(h, src));
}

static enum ferry_drop_reason arp_input(const struct ferry_net_host *h, uint8_t *frame, uint16_t len,
					struct ferry_net_rx *out, enum ferry_net_verdict *v)
{
	uint8_t *arp = frame + FERRY_ETH_HLEN;
	uint16_t op;
	uint32_t spa, tpa;

	if (len < FERRY_ARP_FRAME_LEN)
		return FERRY_DROP_ARP_MALFORMED;
	op = ferry_ld16(arp + FERRY_ARP_OFF_OP);
	if (ferry_ld16(arp + FERRY_ARP_OFF_HTYPE) != FERRY_ARP_HTYPE_ETHER ||
	    ferry_ld16(arp + FERRY_ARP_OFF_PTYPE) != FERRY_ETHERTYPE_IPV4 ||
	    arp[FERRY_ARP_OFF_HLEN] != FERRY_ETH_ALEN || arp[FERRY_ARP_OFF_PLEN] != 4 ||
	    (op != FERRY_ARP_OP_REQUEST && op != FERRY_ARP_OP_REPLY) ||
	    ferry_mac_is_group(arp + FERRY_ARP_OFF_SHA) || ferry_mac_is_zero(arp + FERRY_ARP_OFF_SHA))
		return FERRY_DROP_ARP_MALFORMED;

	spa = ferry_ld32(arp + FERRY_ARP_OFF_SPA);
	tpa = ferry_ld32(arp + FERRY_ARP_OFF_TPA);
	/* A frame of our own looped back by a bridge is not a conflict. */
	if (ferry_mac_equal(arp + FERRY_ARP_OFF_SHA, h->mac))
		return FERRY_DROP_ARP_NOT_FOR_US;
	if (spa == h->ip)
		return FERRY_DROP_ARP_IP_CONFLICT;

	out->src_ip = spa;
	ferry_mac_copy(out->src_mac, arp + FERRY_ARP_OFF_SHA);

	if (op == FERRY_ARP_OP_REQUEST && tpa == h->ip) {
		/* Reply in place; a probe (sender 0.0.0.0, RFC 5227) is answered
		 * too, to the asker's MAC, which is how the owner defends it. */
		out->reply_len = ferry_net_build_arp_reply(h, frame, out->src_mac, spa);
		*v = FERRY_NET_ARP_REQUEST;
		return FERRY_DROP_NONE;
	}
	/* A reply to us, or anyone's announcement (sender == target): the
	 * cache takes it only for entries it already has. */
	if ((op == FERRY_ARP_OP_REPLY && tpa == h->ip) || (spa == tpa && spa != 0)) {
		out->arp_announce = spa == tpa;
		*v = FERRY_NET_ARP_REPLY;
		return FERRY_DROP_NONE;
	}
	return FERRY_DROP_ARP_NOT_FOR_US;
}

/* RFC 1191 section 7: the plateau below a too-big packet's length, for
 * routers that predate the next-hop MTU field and leave it 0. */
static uint16_t mtu_plateau_below(uint16_t len)
{
	static const uint16_t plateau[] = {32000, 17914, 8166, 4352, 2002, 1492, 1006, 508, 296, 68};

	for (size_t i = 0; i < sizeof(plateau) / sizeof(plateau[0]); i++)
		if (plateau[i] < len)
			return plateau[i];
	return 0;
}

/* The quoted packet is checked as hostile input like any other: a forged
 * "fragmentation needed" could otherwise shrink a session's packets to
 * nothing. Only packets that look exactly like ferry's own (DF, UDP, from
 * our address and ports) are believed, and only an MTU that would have
 * made that packet too big. */
static enum ferry_drop_reason frag_needed_input(const struct ferry_net_host *h, const uint8_t *icmp,
						uint16_t icmp_len, struct ferry_net_rx *out)
{
	const uint8_t *ip = icmp + FERRY_ICMP_HLEN;
	uint16_t quoted = (uint16_t)(icmp_len - FERRY_ICMP_HLEN), ihl, too_big, mtu;
	const uint8_t *udp;

	if (quoted < FERRY_IPV4_HLEN || (ip[FERRY_IPV4_OFF_VIHL] >> 4) != 4)
		return FERRY_DROP_ICMP_FRAG_MALFORMED;
	ihl = (uint16_t)((ip[FERRY_IPV4_OFF_VIHL] & 0x0f) * 4);
	too_big = ferry_ld16(ip + FERRY_IPV4_OFF_LEN);
	if (ihl < FERRY_IPV4_HLEN || quoted < ihl + FERRY_UDP_HLEN ||
	    too_big < ihl + FERRY_UDP_HLEN || ip[FERRY_IPV4_OFF_PROTO] != FERRY_IPPROTO_UDP ||
	    !(ferry_ld16(ip + FERRY_IPV4_OFF_FRAG) & FERRY_IPV4_FLAG_DF))
		return FERRY_DROP_ICMP_FRAG_MALFORMED;
	udp = ip + ihl;
	if (ferry_ld32(ip + FERRY_IPV4_OFF_SRC) != h->ip ||
	    !ferry_net_port_is_ours(h, ferry_ld16(udp + FERRY_UDP_OFF_SPORT)))
		return FERRY_DROP_ICMP_FRAG_NOT_OURS;
	mtu = ferry_ld16(icmp + FERRY_ICMP_OFF_MTU);
	if (mtu == 0)
		mtu = mtu_plateau_below(too_big);
	if (mtu < 68 || mtu >= too_big)
		return FERRY_DROP_ICMP_FRAG_MALFORMED;
	out->frag.dst_ip = ferry_ld32(ip + FERRY_IPV4_OFF_DST);
	out->frag.src_port = ferry_ld16(udp + FERRY_UDP_OFF_SPORT);
	out->frag.dst_port = ferry_ld16(udp + FERRY_UDP_OFF_DPORT);
	out->frag.mtu = mtu;
	out->frag.too_big = too_big;
	return FERRY_DROP_NONE;
}

static enum ferry_drop_reason icmp_input(const struct ferry_net_host *h, uint8_t *frame, uint16_t len,
					 const uint8_t *icmp, uint16_t icmp_len, struct ferry_net_rx *out,
					 enum ferry_net_verdict *v)
{
	enum ferry_drop_reason why;
	int r;

	if (icmp_len < FERRY_ICMP_HLEN)
		return FERRY_DROP_TRUNCATED;
	if (icmp[FERRY_ICMP_OFF_TYPE] == FERRY_ICMP_DEST_UNREACH &&
	    icmp[FERRY_ICMP_OFF_CODE] == FERRY_ICMP_CODE_FRAG_NEEDED) {
		if (ferry_cksum_sum(icmp, icmp_len, 0) != 0xffff)
			return FERRY_DROP_ICMP_BAD_CHECKSUM;
		why = frag_needed_input(h, icmp, icmp_len, out);
		if (why == FERRY_DROP_NONE)
			*v = FERRY_NET_ICMP_FRAG_NEEDED;
		return why;
	}
	if (icmp[FERRY_ICMP_OFF_TYPE] != FERRY_ICMP_ECHO_REQUEST || icmp[FERRY_ICMP_OFF_CODE] != 0)
		return FERRY_DROP_ICMP_NOT_ECHO;
	if (ferry_cksum_sum(icmp, icmp_len, 0) != 0xffff)
		return FERRY_DROP_ICMP_BAD_CHECKSUM;
	r = ferry_net_build_icmp_echo_reply(h, frame, len, frame, len);
	if (r < 0) /* cannot happen: the reply is never longer */
		return FERRY_DROP_TRUNCATED;
	out->reply_len = (uint16_t)r;
	*v = FERRY_NET_ICMP_ECHO;
	return FERRY_DROP_NONE;
}

static enum ferry_drop_reason udp_input(const struct ferry_net_host *h, const uint8_t *frame,
					const uint8_t *udp, uint16_t udp_len, uint32_t src,
					unsigned rx_flags, struct ferry_net_rx *out)
{
	uint16_t ck;
	const uint8_t *payload;

	if (unlikely(udp_len < FERRY_UDP_HLEN || ferry_ld16(udp + FERRY_UDP_OFF_LEN) != udp_len))
		return FERRY_DROP_UDP_BAD_LENGTH;
	if (unlikely(!ferry_net_port_is_ours(h, ferry_ld16(udp + FERRY_UDP_OFF_DPORT))))
		return FERRY_DROP_UDP_WRONG_PORT;
	ck = ferry_ld16(udp + FERRY_UDP_OFF_CKSUM);
	if (ck != 0 && !(rx_flags & FERRY_NET_RX_L4_CKSUM_GOOD)) {
		if (unlikely(rx_flags & FERRY_NET_RX_L4_CKSUM_BAD))
			return FERRY_DROP_UDP_BAD_CHECKSUM;
		uint16_t s = ferry_cksum_sum(udp, udp_len,
					     ferry_ipv4_phdr_sum(src, h->ip, FERRY_IPPROTO_UDP, udp_len));
		if (unlikely(s != 0xffff))
			return FERRY_DROP_UDP_BAD_CHECKSUM;
	}
	payload = udp + FERRY_UDP_HLEN;
	out->payload_len = (uint16_t)(udp_len - FERRY_UDP_HLEN);
	if (unlikely(out->payload_len < h->ferry_hdr_min || out->payload_len == 0))
		return FERRY_DROP_FERRY_TOO_SHORT;
	if (unlikely(payload[0] != h->ferry_version))
		return FERRY_DROP_FERRY_BAD_VERSION;
	out->payload_off = (uint16_t)(payload - frame);
	out->src_port = ferry_ld16(udp + FERRY_UDP_OFF_SPORT);
	out->dst_port = ferry_ld16(udp + FERRY_UDP_OFF_DPORT);
	return FERRY_DROP_NONE;
}

static enum ferry_drop_reason ipv4_input(const struct ferry_net_host *h, uint8_t *frame, uint16_t len,
					 unsigned rx_flags, struct ferry_net_rx *out,
					 enum ferry_net_verdict *v)
{
	const uint8_t *ip = frame + FERRY_ETH_HLEN;
	uint16_t ihl, ip_len, frag;
	uint32_t src;
	enum ferry_drop_reason r;

	if (unlikely(len < FERRY_ETH_HLEN + FERRY_IPV4_HLEN))
		return FERRY_DROP_TRUNCATED;
	if (unlikely((ip[FERRY_IPV4_OFF_VIHL] >> 4) != 4))
		return FERRY_DROP_IPV4_BAD_VERSION;
	ihl = (uint16_t)((ip[FERRY_IPV4_OFF_VIHL] & 0x0f) * 4);
	if (unlikely(ihl < FERRY_IPV4_HLEN))
		return FERRY_DROP_IPV4_BAD_IHL;
	ip_len = ferry_ld16(ip + FERRY_IPV4_OFF_LEN);
	if (unlikely(ip_len > len - FERRY_ETH_HLEN || ip_len < ihl))
		return FERRY_DROP_IPV4_BAD_TOTAL_LENGTH;
	if (!(rx_flags & FERRY_NET_RX_IP_CKSUM_GOOD)) {
		if (unlikely((rx_flags & FERRY_NET_RX_IP_CKSUM_BAD) || ferry_cksum_sum(ip, ihl, 0) != 0xffff))
			return FERRY_DROP_IPV4_BAD_CHECKSUM;
	}
	frag = ferry_ld16(ip + FERRY_IPV4_OFF_FRAG);
	if (unlikely(frag & (FERRY_IPV4_FLAG_MF | FERRY_IPV4_FRAG_OFF_MASK)))
		return FERRY_DROP_IPV4_FRAGMENT;
	if (unlikely(ip[FERRY_IPV4_OFF_TTL] == 0))
		return FERRY_DROP_IPV4_TTL_EXPIRED;
	if (unlikely(ferry_ld32(ip + FERRY_IPV4_OFF_DST) != h->ip))
		return FERRY_DROP_IPV4_NOT_OUR_IP;
	src = ferry_ld32(ip + FERRY_IPV4_OFF_SRC);
	if (unlikely(src_ip_is_bad(h, src)))
		return FERRY_DROP_IPV4_BAD_SOURCE;
	out->src_ip = src;
	ferry_mac_copy(out->src_mac, frame + FERRY_ETH_OFF_SRC);

	if (likely(ip[FERRY_IPV4_OFF_PROTO] == FERRY_IPPROTO_UDP)) {
		r = udp_input(h, frame, ip + ihl, (uint16_t)(ip_len - ihl), src, rx_flags, out);
		if (likely(r == FERRY_DROP_NONE))
			*v = FERRY_NET_UDP;
		return r;
	}
	if (ip[FERRY_IPV4_OFF_PROTO] == FERRY_IPPROTO_ICMP)
		return icmp_input(h, frame, len, ip + ihl, (uint16_t)(ip_len - ihl), out, v);
	return FERRY_DROP_IPV4_BAD_PROTOCOL;
}

enum ferry_net_verdict ferry_net_input(const struct ferry_net_host *h, uint8_t *frame, uint16_t len,
				       unsigned rx_flags, struct ferry_net_rx *out,
				       struct ferry_net_stats *st)
{
	enum ferry_net_verdict v = FERRY_NET_DROP;
	enum ferry_drop_reason r;
	uint16_t type;

	memset(out, 0, sizeof(*out));
	if (unlikely(len < FERRY_ETH_HLEN)) {
		r = FERRY_DROP_RUNT;
		goto drop;
	}
	if (unlikely(len > h->max_frame)) {
		r = FERRY_DROP_OVERSIZE;
		goto drop;
	}
	type = ferry_ld16(frame + FERRY_ETH_OFF_TYPE);
	if (likely(ferry_mac_equal(frame + FERRY_ETH_OFF_DST, h->mac))) {
		if (likely(type == FERRY_ETHERTYPE_IPV4))
			r = ipv4_input(h, frame, len, rx_flags, out, &v);
		else if (type == FERRY_ETHERTYPE_ARP)
			r = arp_input(h, frame, len, out, &v);
		else
			r = FERRY_DROP_ETH_UNKNOWN_TYPE;
	} else if (ferry_mac_is_broadcast(frame + FERRY_ETH_OFF_DST) && type == FERRY_ETHERTYPE_ARP) {
		r = arp_input(h, frame, len, out, &v);
	} else {
		r = FERRY_DROP_ETH_NOT_OUR_MAC;
	}
	if (likely(r == FERRY_DROP_NONE)) {
		st->verdict[v]++;
		return v;
	}
drop:
	out->drop = (uint8_t)r;
	st->verdict[FERRY_NET_DROP]++;
	st->drop[r]++;
	return FERRY_NET_DROP;
}
