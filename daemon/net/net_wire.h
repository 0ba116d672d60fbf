/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * On-wire layout of the headers ferry speaks: Ethernet II, ARP (Ethernet /
 * IPv4 only), IPv4, UDP and ICMP echo. Offsets, not structs: a received
 * frame's IPv4 header sits 14 bytes into an mbuf, so it is only 2-byte
 * aligned, and reading it through a packed struct pointer would be undefined
 * behaviour on paper and slow on some targets. The load/store helpers below
 * go through memcpy, which compilers turn into a single (unaligned-safe)
 * move on x86-64 and arm64.
 *
 *   Ethernet  0 dst[6] | 6 src[6] | 12 type[2]                      (14)
 *   ARP       0 htype[2] 2 ptype[2] 4 hlen 5 plen 6 op[2]
 *             8 sha[6] 14 spa[4] 18 tha[6] 24 tpa[4]               (28)
 *   IPv4      0 ver/ihl 1 tos 2 total_len[2] 4 id[2] 6 flags/frag[2]
 *             8 ttl 9 proto 10 cksum[2] 12 src[4] 16 dst[4]        (20+)
 *   UDP       0 sport[2] 2 dport[2] 4 len[2] 6 cksum[2]            (8)
 *   ICMP echo 0 type 1 code 2 cksum[2] 4 id[2] 6 seq[2]            (8)
 *   ICMP frag 0 type 3 1 code 4 2 cksum[2] 4 unused[2] 6 mtu[2]     (8)
 *   needed    then the IPv4 header and first 8 bytes of the packet
 *             that was too big
 *
 * Multi-byte fields are big-endian on the wire. Everything the net layer's
 * API takes or returns (addresses, ports, lengths) is in host byte order.
 */
#ifndef FERRY_NET_WIRE_H
#define FERRY_NET_WIRE_H

#include <stdint.h>
#include <string.h>

#define FERRY_ETH_ALEN 6
#define FERRY_ETH_HLEN 14
#define FERRY_ETH_ZLEN 60 /* shortest frame on the wire, without FCS */
#define FERRY_ETHERTYPE_IPV4 0x0800
#define FERRY_ETHERTYPE_ARP 0x0806

#define FERRY_ETH_OFF_DST 0
#define FERRY_ETH_OFF_SRC 6
#define FERRY_ETH_OFF_TYPE 12

#define FERRY_ARP_LEN 28
#define FERRY_ARP_HTYPE_ETHER 1
#define FERRY_ARP_OP_REQUEST 1
#define FERRY_ARP_OP_REPLY 2
#define FERRY_ARP_OFF_HTYPE 0
#define FERRY_ARP_OFF_PTYPE 2
#define FERRY_ARP_OFF_HLEN 4
#define FERRY_ARP_OFF_PLEN 5
#define FERRY_ARP_OFF_OP 6
#define FERRY_ARP_OFF_SHA 8
#define FERRY_ARP_OFF_SPA 14
#define FERRY_ARP_OFF_THA 18
#define FERRY_ARP_OFF_TPA 24
/* Ethernet + ARP: what every ARP frame we build measures */
#define FERRY_ARP_FRAME_LEN (FERRY_ETH_HLEN + FERRY_ARP_LEN)

#define FERRY_IPV4_HLEN 20 /* without options */
#define FERRY_IPV4_OFF_VIHL 0
#define FERRY_IPV4_OFF_TOS 1
#define FERRY_IPV4_OFF_LEN 2
#define FERRY_IPV4_OFF_ID 4
#define FERRY_IPV4_OFF_FRAG 6
#define FERRY_IPV4_OFF_TTL 8
#define FERRY_IPV4_OFF_PROTO 9
#define FERRY_IPV4_OFF_CKSUM 10
#define FERRY_IPV4_OFF_SRC 12
#define FERRY_IPV4_OFF_DST 16
#define FERRY_IPV4_FLAG_DF 0x4000
#define FERRY_IPV4_FLAG_MF 0x2000
#define FERRY_IPV4_FRAG_OFF_MASK 0x1fff
#define FERRY_IPV4_DEFAULT_TTL 64
#define FERRY_IPPROTO_ICMP 1
#define FERRY_IPPROTO_UDP 17

#define FERRY_UDP_HLEN 8
#define FERRY_UDP_OFF_SPORT 0
#define FERRY_UDP_OFF_DPORT 2
#define FERRY_UDP_OFF_LEN 4
#define FERRY_UDP_OFF_CKSUM 6

#define FERRY_ICMP_HLEN 8
#define FERRY_ICMP_ECHO_REPLY 0
#define FERRY_ICMP_ECHO_REQUEST 8
#define FERRY_ICMP_DEST_UNREACH 3
#define FERRY_ICMP_CODE_FRAG_NEEDED 4 /* RFC 792; next-hop MTU: RFC 1191 */
#define FERRY_ICMP_OFF_MTU 6          /* destination unreachable, code 4 */
#define FERRY_ICMP_OFF_TYPE 0
#define FERRY_ICMP_OFF_CODE 1
#define FERRY_ICMP_OFF_CKSUM 2

/* Ethernet + IPv4 (no options) + UDP: the headers in front of every ferry
 * payload this host sends. */
#define FERRY_UDP_FRAME_HLEN (FERRY_ETH_HLEN + FERRY_IPV4_HLEN + FERRY_UDP_HLEN)

static inline uint16_t ferry_ld16(const uint8_t *p)
{
	return (uint16_t)((uint16_t)p[0] << 8 | p[1]);
}

static inline uint32_t ferry_ld32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, sizeof(v));
	return __builtin_bswap32(v);
}

static inline void ferry_st16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void ferry_st32(uint8_t *p, uint32_t v)
{
	v = __builtin_bswap32(v);
	memcpy(p, &v, sizeof(v));
}

static inline void ferry_mac_copy(uint8_t *dst, const uint8_t *src)
{
	memcpy(dst, src, FERRY_ETH_ALEN);
}

/** @return non-zero when @p mac has the group (multicast/broadcast) bit. */
static inline int ferry_mac_is_group(const uint8_t *mac)
{
	return mac[0] & 1;
}

/** @return non-zero when @p mac is ff:ff:ff:ff:ff:ff. */
static inline int ferry_mac_is_broadcast(const uint8_t *mac)
{
	return (mac[0] & mac[1] & mac[2] & mac[3] & mac[4] & mac[5]) == 0xff;
}

/** @return non-zero when @p mac is 00:00:00:00:00:00. */
static inline int ferry_mac_is_zero(const uint8_t *mac)
{
	return (mac[0] | mac[1] | mac[2] | mac[3] | mac[4] | mac[5]) == 0;
}

/** @return non-zero when the two MAC addresses are equal. */
static inline int ferry_mac_equal(const uint8_t *a, const uint8_t *b)
{
	return memcmp(a, b, FERRY_ETH_ALEN) == 0;
}

#endif
