/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Frame builders: the headers ferry sends. Each writes into a caller's
 * buffer (an mbuf's data room, a stack array in tests) and returns the
 * frame length; none allocates, none reads a clock.
 *
 * Frames shorter than 60 bytes (ARP) are not padded: every Ethernet MAC,
 * virtual ones included, pads short frames itself, and Linux sends its ARP
 * at 42 bytes too.
 */
#ifndef FERRY_NET_TX_H
#define FERRY_NET_TX_H

#include <stdint.h>

#include "net_host.h"

/* Checksum work left to the NIC (see ferry_port's tx_cksum_flags). */
#define FERRY_NET_TX_IPV4_CKSUM_HW 0x1u /* IPv4 header checksum field left 0 */
#define FERRY_NET_TX_UDP_CKSUM_HW 0x2u  /* UDP field holds the pseudo-header sum */

/** Where a UDP frame goes: the next hop's MAC, the peer's IP and port,
 *  and the flow's source port. */
struct ferry_net_udp_dst {
	uint8_t mac[FERRY_ETH_ALEN]; /* resolved next-hop MAC (ARP cache) */
	uint16_t port;               /* destination UDP port, host order */
	uint32_t ip;                 /* destination IPv4, host order */
	uint16_t src_port;           /* source port, one of the host's range;
				      * 0: the first, h->udp_port */
};

/**
 * Write Ethernet, IPv4 (20 bytes, DF set, TTL 64) and UDP headers in front
 * of a payload that already sits at @p frame + FERRY_UDP_FRAME_HLEN.
 *
 * Without FERRY_NET_TX_UDP_CKSUM_HW the UDP checksum covers the payload, so
 * the payload must be in place first. With it, the UDP checksum field gets
 * the IPv4 pseudo-header sum, as DPDK's TX UDP checksum offload expects
 * (the mbuf then needs RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_UDP_CKSUM, l2_len
 * and l3_len set). With FERRY_NET_TX_IPV4_CKSUM_HW the IPv4 checksum is left
 * 0 for RTE_MBUF_F_TX_IP_CKSUM.
 *
 * @param h           the local host (source MAC, IP, port; MTU)
 * @param frame       at least FERRY_UDP_FRAME_HLEN + @p payload_len bytes
 * @param dst         destination and source port
 * @param payload_len bytes of ferry header + data after the UDP header
 * @param ip_id       IPv4 identification (any value: DF is set, RFC 6864)
 * @param flags       FERRY_NET_TX_* checksum offload flags, 0 for software
 * @return the frame length, -EMSGSIZE when the IPv4 packet would exceed
 *         the host's MTU, or -EINVAL when dst->src_port is not one of the
 *         host's ports (ferry_net_host_set_port_count())
 */
int ferry_net_build_udp(const struct ferry_net_host *h, uint8_t *frame,
			const struct ferry_net_udp_dst *dst, uint16_t payload_len, uint16_t ip_id,
			unsigned flags);

/**
 * Broadcast ARP request: who has @p target_ip? tell our address.
 *
 * @param frame at least FERRY_ARP_FRAME_LEN bytes
 * @return FERRY_ARP_FRAME_LEN
 */
uint16_t ferry_net_build_arp_request(const struct ferry_net_host *h, uint8_t *frame, uint32_t target_ip);

/**
 * Gratuitous ARP (announcement): a broadcast request whose sender and
 * target address are both ours, so neighbours refresh their caches after a
 * restart or a MAC change.
 *
 * @param frame at least FERRY_ARP_FRAME_LEN bytes
 * @return FERRY_ARP_FRAME_LEN
 */
uint16_t ferry_net_build_garp(const struct ferry_net_host *h, uint8_t *frame);

/**
 * Unicast ARP reply telling @p dst_mac / @p dst_ip that our IP is at our MAC.
 *
 * @param frame at least FERRY_ARP_FRAME_LEN bytes
 * @return FERRY_ARP_FRAME_LEN
 */
uint16_t ferry_net_build_arp_reply(const struct ferry_net_host *h, uint8_t *frame,
				   const uint8_t dst_mac[FERRY_ETH_ALEN], uint32_t dst_ip);

/**
 * Echo reply to an echo request that ferry_net_input() accepted (or that
 * the caller validated the same way): addresses swapped, type 0, TTL 64,
 * IPv4 options dropped and DF clear (as Linux replies), IPv4 ToS and ID and
 * the ICMP identifier, sequence and data kept.
 *
 * @param h       the local host
 * @param req     the request frame, starting at its Ethernet header
 * @param req_len its length (Ethernet padding beyond the IPv4 total length
 *                is ignored)
 * @param out     where to write the reply; may equal @p req (in place)
 * @param out_cap bytes available at @p out
 * @return the reply length, or -ENOSPC when @p out_cap is too small
 */
int ferry_net_build_icmp_echo_reply(const struct ferry_net_host *h, const uint8_t *req,
				    uint16_t req_len, uint8_t *out, uint16_t out_cap);

#endif
