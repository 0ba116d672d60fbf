/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Shared by the net layer's unit tests: two hosts on one subnet and frames
 * the Linux kernel (6.x, veth, checksum offload off) sent between them,
 * captured with an AF_PACKET socket:
 *
 *   host A  02:00:00:00:00:0a  10.99.0.1/24
 *   host B  02:00:00:00:00:0b  10.99.0.2/24   (ferry's UDP port 31850)
 */
#ifndef FERRY_NET_TEST_UTIL_H
#define FERRY_NET_TEST_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ferry_net.h"

#define IP_A 0x0a630001u /* 10.99.0.1 */
#define IP_B 0x0a630002u /* 10.99.0.2 */
#define IP_C 0x0a630003u /* 10.99.0.3, a third host on the subnet */
#define IP_GW 0x0a630001u
#define FERRY_PORT 31850

static const uint8_t MAC_A[6] = {0x02, 0, 0, 0, 0, 0x0a};
static const uint8_t MAC_B[6] = {0x02, 0, 0, 0, 0, 0x0b};
static const uint8_t MAC_C[6] = {0x02, 0, 0, 0, 0, 0x0c};

/* A asks who has 10.99.0.2 */
#define K_ARP_REQ_A_FOR_B \
	"ffffffffffff02000000000a0806000108000604000102000000000a0a6300010000000000000a630002"
/* B's kernel answers */
#define K_ARP_REPLY_B_TO_A \
	"02000000000a02000000000b0806000108000604000202000000000b0a63000202000000000a0a630001"
/* A's kernel announces itself when the link comes up (arp_notify=1) */
#define K_GARP_A \
	"ffffffffffff02000000000a0806000108000604000102000000000a0a6300010000000000000a630001"
/* ping -c 1 -p 41 -s 24 10.99.0.2 from A, and B's kernel's reply */
#define K_ECHO_REQ_A_TO_B                                                                  \
	"02000000000b02000000000a0800450000349cee4000400189120a6300010a6300020800f0a4202d0001" \
	"0ca8026b00000000d0140300000000004141414141414141"
#define K_ECHO_REPLY_B_TO_A                                                                \
	"02000000000a02000000000b08004500003490cd00004001d5330a6300020a6300010000f8a4202d0001" \
	"0ca8026b00000000d0140300000000004141414141414141"
/* sendto("\x01hello ferry") from 10.99.0.1:40000 to 10.99.0.2:31850 */
#define K_UDP_A_TO_B                                                                       \
	"02000000000b02000000000a0800450000287bb140004011aa4b0a6300010a6300029c407c6a001406bd" \
	"0168656c6c6f206665727279"
#define K_UDP_A_TO_B_IP_ID 0x7bb1
/* The same datagram sent with TX checksum offload on: veth delivers the
 * pseudo-header sum that a NIC would complete (0x14ee). */
#define K_UDP_A_TO_B_PARTIAL                                                               \
	"02000000000b02000000000a080045000028048c4000401121710a6300010a6300029c407c6a001414ee" \
	"0168656c6c6f206665727279"
#define K_UDP_A_TO_B_PARTIAL_IP_ID 0x048c
/* B's kernel: ICMP port unreachable for it (nothing listened) */
#define K_ICMP_UNREACH_B_TO_A                                                              \
	"02000000000a02000000000b080045c00044dd0c0000400188240a6300020a630001030311eb00000000" \
	"450000287bb140004011aa4b0a6300010a6300029c407c6a001406bd0168656c6c6f206665727279"

static inline size_t hex2bin(const char *hex, uint8_t *out, size_t cap)
{
	size_t n = 0;
	for (; hex[0] && hex[1] && n < cap; hex += 2) {
		unsigned v;
		char tmp[3] = {hex[0], hex[1], 0};
		v = (unsigned)strtoul(tmp, NULL, 16);
		out[n++] = (uint8_t)v;
	}
	return n;
}

static inline void host_a(struct ferry_net_host *h)
{
	ferry_net_host_init(h, MAC_A, IP_A, 24, 0, 40000, 1500);
}

static inline void host_b(struct ferry_net_host *h)
{
	ferry_net_host_init(h, MAC_B, IP_B, 24, 0, FERRY_PORT, 1500);
}

/* Recompute the IPv4 header checksum after a test edits the header. */
static inline void fix_ip_cksum(uint8_t *frame)
{
	uint8_t *ip = frame + FERRY_ETH_HLEN;
	size_t ihl = (size_t)(ip[0] & 0x0f) * 4;
	ferry_st16(ip + FERRY_IPV4_OFF_CKSUM, 0);
	ferry_st16(ip + FERRY_IPV4_OFF_CKSUM, ferry_ipv4_hdr_cksum(ip, ihl));
}

/* Recompute the UDP checksum over the IPv4 payload length. */
static inline void fix_udp_cksum(uint8_t *frame)
{
	uint8_t *ip = frame + FERRY_ETH_HLEN;
	size_t ihl = (size_t)(ip[0] & 0x0f) * 4;
	uint8_t *udp = ip + ihl;
	uint16_t len = (uint16_t)(ferry_ld16(ip + FERRY_IPV4_OFF_LEN) - ihl);
	ferry_st16(udp + FERRY_UDP_OFF_CKSUM, 0);
	ferry_st16(udp + FERRY_UDP_OFF_CKSUM,
		   ferry_ipv4_udp_cksum(ferry_ld32(ip + FERRY_IPV4_OFF_SRC),
					ferry_ld32(ip + FERRY_IPV4_OFF_DST), udp, len));
}

/* Recompute the ICMP checksum over the IPv4 payload. */
static inline void fix_icmp_cksum(uint8_t *frame)
{
	uint8_t *ip = frame + FERRY_ETH_HLEN;
	size_t ihl = (size_t)(ip[0] & 0x0f) * 4;
	uint8_t *icmp = ip + ihl;
	size_t len = ferry_ld16(ip + FERRY_IPV4_OFF_LEN) - ihl;
	ferry_st16(icmp + FERRY_ICMP_OFF_CKSUM, 0);
	ferry_st16(icmp + FERRY_ICMP_OFF_CKSUM, (uint16_t)~ferry_cksum_sum(icmp, len, 0));
}

/* Bytes of the too-big packet a router quotes in build_frag_needed(). */
#define FRAG_QUOTED 44

/*
 * A router (10.99.0.3, MAC_C) tells B that a packet B sent to A was too
 * big: ICMP destination unreachable, code 4, next-hop MTU @p mtu, quoting
 * the first FRAG_QUOTED bytes of the full-size (1500-byte, DF) ferry packet
 * B built from port @p sport to A:40000. @return the frame length.
 */
static inline uint16_t build_frag_needed(uint8_t *f, uint16_t mtu, uint16_t sport)
{
	struct ferry_net_host b;
	struct ferry_net_udp_dst d = {.port = 40000, .ip = IP_A, .src_port = sport};
	uint8_t big[1514] = {0};
	uint8_t *ip = f + FERRY_ETH_HLEN, *icmp = ip + FERRY_IPV4_HLEN;
	uint16_t ip_len = FERRY_IPV4_HLEN + FERRY_ICMP_HLEN + FRAG_QUOTED;

	ferry_net_host_init(&b, MAC_B, IP_B, 24, 0, FERRY_PORT, 1500);
	ferry_net_host_set_port_count(&b, 16);
	memcpy(d.mac, MAC_A, 6);
	big[FERRY_UDP_FRAME_HLEN] = FERRY_WIRE_VERSION;
	ferry_net_build_udp(&b, big, &d, 1500 - 28, 7, 0);

	memcpy(f, MAC_B, 6);
	memcpy(f + 6, MAC_C, 6);
	ferry_st16(f + FERRY_ETH_OFF_TYPE, FERRY_ETHERTYPE_IPV4);
	memset(ip, 0, FERRY_IPV4_HLEN);
	ip[FERRY_IPV4_OFF_VIHL] = 0x45;
	ip[FERRY_IPV4_OFF_TOS] = 0xc0;
	ferry_st16(ip + FERRY_IPV4_OFF_LEN, ip_len);
	ip[FERRY_IPV4_OFF_TTL] = 64;
	ip[FERRY_IPV4_OFF_PROTO] = FERRY_IPPROTO_ICMP;
	ferry_st32(ip + FERRY_IPV4_OFF_SRC, IP_C);
	ferry_st32(ip + FERRY_IPV4_OFF_DST, IP_B);
	memset(icmp, 0, FERRY_ICMP_HLEN);
	icmp[FERRY_ICMP_OFF_TYPE] = FERRY_ICMP_DEST_UNREACH;
	icmp[FERRY_ICMP_OFF_CODE] = FERRY_ICMP_CODE_FRAG_NEEDED;
	ferry_st16(icmp + FERRY_ICMP_OFF_MTU, mtu);
	memcpy(icmp + FERRY_ICMP_HLEN, big + FERRY_ETH_HLEN, FRAG_QUOTED);
	fix_ip_cksum(f);
	fix_icmp_cksum(f);
	return (uint16_t)(FERRY_ETH_HLEN + ip_len);
}

/* The quoted packet's IPv4 header inside a build_frag_needed() frame. */
static inline uint8_t *frag_quoted_ip(uint8_t *f)
{
	return f + FERRY_ETH_HLEN + FERRY_IPV4_HLEN + FERRY_ICMP_HLEN;
}

#endif
