/* SPDX-License-Identifier: BSD-3-Clause */
#include "net_tx.h"

#include <errno.h>
#include <string.h>

#include "net_cksum.h"

static const uint8_t mac_broadcast[FERRY_ETH_ALEN] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
static const uint8_t mac_zero[FERRY_ETH_ALEN];

int ferry_net_build_udp(const struct ferry_net_host *h, uint8_t *frame,
			const struct ferry_net_udp_dst *dst, uint16_t payload_len, uint16_t ip_id,
			unsigned flags)
{
	uint8_t *ip = frame + FERRY_ETH_HLEN;
	uint8_t *udp = ip + FERRY_IPV4_HLEN;
	uint32_t udp_len = (uint32_t)FERRY_UDP_HLEN + payload_len;
	uint32_t ip_len = FERRY_IPV4_HLEN + udp_len;
	uint16_t sport = dst->src_port ? dst->src_port : h->udp_port;

	if (ip_len > h->mtu)
		return -EMSGSIZE;
	if (!ferry_net_port_is_ours(h, sport))
		return -EINVAL;

	ferry_mac_copy(frame + FERRY_ETH_OFF_DST, dst->mac);
	ferry_mac_copy(frame + FERRY_ETH_OFF_SRC, h->mac);
	ferry_st16(frame + FERRY_ETH_OFF_TYPE, FERRY_ETHERTYPE_IPV4);

	ip[FERRY_IPV4_OFF_VIHL] = 0x45;
	ip[FERRY_IPV4_OFF_TOS] = 0;
	ferry_st16(ip + FERRY_IPV4_OFF_LEN, (uint16_t)ip_len);
	ferry_st16(ip + FERRY_IPV4_OFF_ID, ip_id);
	/* DF: ferry fragments messages itself and never wants routers to. */
	ferry_st16(ip + FERRY_IPV4_OFF_FRAG, FERRY_IPV4_FLAG_DF);
	ip[FERRY_IPV4_OFF_TTL] = FERRY_IPV4_DEFAULT_TTL;
	ip[FERRY_IPV4_OFF_PROTO] = FERRY_IPPROTO_UDP;
	ferry_st16(ip + FERRY_IPV4_OFF_CKSUM, 0);
	ferry_st32(ip + FERRY_IPV4_OFF_SRC, h->ip);
	ferry_st32(ip + FERRY_IPV4_OFF_DST, dst->ip);
	if (!(flags & FERRY_NET_TX_IPV4_CKSUM_HW))
		ferry_st16(ip + FERRY_IPV4_OFF_CKSUM, ferry_ipv4_hdr_cksum(ip, FERRY_IPV4_HLEN));

	ferry_st16(udp + FERRY_UDP_OFF_SPORT, sport);
	ferry_st16(udp + FERRY_UDP_OFF_DPORT, dst->port);
	ferry_st16(udp + FERRY_UDP_OFF_LEN, (uint16_t)udp_len);
	if (flags & FERRY_NET_TX_UDP_CKSUM_HW) {
		ferry_st16(udp + FERRY_UDP_OFF_CKSUM,
			   ferry_ipv4_phdr_sum(h->ip, dst->ip, FERRY_IPPROTO_UDP, (uint16_t)udp_len));
	} else {
		ferry_st16(udp + FERRY_UDP_OFF_CKSUM, 0);
		ferry_st16(udp + FERRY_UDP_OFF_CKSUM,
			   ferry_ipv4_udp_cksum(h->ip, dst->ip, udp, (uint16_t)udp_len));
	}
	return (int)(FERRY_ETH_HLEN + ip_len);
}

static uint16_t build_arp(const struct ferry_net_host *h, uint8_t *frame, const uint8_t *eth_dst,
			  uint16_t op, const uint8_t *tha, uint32_t tpa)
{
	uint8_t *arp = frame + FERRY_ETH_HLEN;

	ferry_mac_copy(frame + FERRY_ETH_OFF_DST, eth_dst);
	ferry_mac_copy(frame + FERRY_ETH_OFF_SRC, h->mac);
	ferry_st16(frame + FERRY_ETH_OFF_TYPE, FERRY_ETHERTYPE_ARP);
	ferry_st16(arp + FERRY_ARP_OFF_HTYPE, FERRY_ARP_HTYPE_ETHER);
	ferry_st16(arp + FERRY_ARP_OFF_PTYPE, FERRY_ETHERTYPE_IPV4);
	arp[FERRY_ARP_OFF_HLEN] = FERRY_ETH_ALEN;
	arp[FERRY_ARP_OFF_PLEN] = 4;
	ferry_st16(arp + FERRY_ARP_OFF_OP, op);
	ferry_mac_copy(arp + FERRY_ARP_OFF_SHA, h->mac);
	ferry_st32(arp + FERRY_ARP_OFF_SPA, h->ip);
	ferry_mac_copy(arp + FERRY_ARP_OFF_THA, tha);
	ferry_st32(arp + FERRY_ARP_OFF_TPA, tpa);
	return FERRY_ARP_FRAME_LEN;
}

uint16_t ferry_net_build_arp_request(const struct ferry_net_host *h, uint8_t *frame, uint32_t target_ip)
{
	return build_arp(h, frame, mac_broadcast, FERRY_ARP_OP_REQUEST, mac_zero, target_ip);
}

uint16_t ferry_net_build_garp(const struct ferry_net_host *h, uint8_t *frame)
{
	return build_arp(h, frame, mac_broadcast, FERRY_ARP_OP_REQUEST, mac_zero, h->ip);
}

uint16_t ferry_net_build_arp_reply(const struct ferry_net_host *h, uint8_t *frame,
				   const uint8_t dst_mac[FERRY_ETH_ALEN], uint32_t dst_ip)
{
	return build_arp(h, frame, dst_mac, FERRY_ARP_OP_REPLY, dst_mac, dst_ip);
}

int ferry_net_build_icmp_echo_reply(const struct ferry_net_host *h, const uint8_t *req,
				    uint16_t req_len, uint8_t *out, uint16_t out_cap)
{
	const uint8_t *rip = req + FERRY_ETH_HLEN;
	uint16_t ihl = (uint16_t)((rip[FERRY_IPV4_OFF_VIHL] & 0x0f) * 4);
	uint16_t ip_len = ferry_ld16(rip + FERRY_IPV4_OFF_LEN);
	uint16_t icmp_len = (uint16_t)(ip_len - ihl);
	uint16_t reply_len = (uint16_t)(FERRY_ETH_HLEN + FERRY_IPV4_HLEN + icmp_len);
	uint8_t src_mac[FERRY_ETH_ALEN];
	uint32_t src_ip = ferry_ld32(rip + FERRY_IPV4_OFF_SRC);
	uint8_t *ip = out + FERRY_ETH_HLEN;
	uint8_t *icmp = ip + FERRY_IPV4_HLEN;
	uint16_t ck;

	(void)req_len; /* the request was validated: ip_len fits in it */
	if (out_cap < reply_len)
		return -ENOSPC;

	/* Move the ICMP message first: in place with IPv4 options it slides
	 * down over them, and nothing after it is needed from the request but
	 * the fields read above and the ToS and ID read below. */
	ferry_mac_copy(src_mac, req + FERRY_ETH_OFF_SRC);
	uint8_t tos = rip[FERRY_IPV4_OFF_TOS];
	uint16_t id = ferry_ld16(rip + FERRY_IPV4_OFF_ID);
	memmove(icmp, rip + ihl, icmp_len);

	ferry_mac_copy(out + FERRY_ETH_OFF_DST, src_mac);
	ferry_mac_copy(out + FERRY_ETH_OFF_SRC, h->mac);
	ferry_st16(out + FERRY_ETH_OFF_TYPE, FERRY_ETHERTYPE_IPV4);

	ip[FERRY_IPV4_OFF_VIHL] = 0x45;
	ip[FERRY_IPV4_OFF_TOS] = tos;
	ferry_st16(ip + FERRY_IPV4_OFF_LEN, (uint16_t)(FERRY_IPV4_HLEN + icmp_len));
	ferry_st16(ip + FERRY_IPV4_OFF_ID, id);
	/* No DF, as Linux replies: a router may fragment an echo reply. */
	ferry_st16(ip + FERRY_IPV4_OFF_FRAG, 0);
	ip[FERRY_IPV4_OFF_TTL] = FERRY_IPV4_DEFAULT_TTL;
	ip[FERRY_IPV4_OFF_PROTO] = FERRY_IPPROTO_ICMP;
	ferry_st16(ip + FERRY_IPV4_OFF_CKSUM, 0);
	ferry_st32(ip + FERRY_IPV4_OFF_SRC, h->ip);
	ferry_st32(ip + FERRY_IPV4_OFF_DST, src_ip);
	ferry_st16(ip + FERRY_IPV4_OFF_CKSUM, ferry_ipv4_hdr_cksum(ip, FERRY_IPV4_HLEN));

	/* Only the type byte changes (8 -> 0), so the checksum is patched
	 * instead of summed again over a payload that may be 9000 bytes. */
	ck = ferry_ld16(icmp + FERRY_ICMP_OFF_CKSUM);
	ck = ferry_cksum_update16(ck, (uint16_t)(icmp[FERRY_ICMP_OFF_TYPE] << 8 | icmp[FERRY_ICMP_OFF_CODE]),
				  (uint16_t)(FERRY_ICMP_ECHO_REPLY << 8 | icmp[FERRY_ICMP_OFF_CODE]));
	icmp[FERRY_ICMP_OFF_TYPE] = FERRY_ICMP_ECHO_REPLY;
	ferry_st16(icmp + FERRY_ICMP_OFF_CKSUM, ck);
	return reply_len;
}
