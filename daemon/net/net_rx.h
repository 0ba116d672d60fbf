/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Receive path: one call classifies a frame, validates every header on the
 * way and, for ARP requests and pings addressed to us, rewrites the frame
 * into the reply so the port can send the same buffer straight back.
 */
#ifndef FERRY_NET_RX_H
#define FERRY_NET_RX_H

#include <stdint.h>

#include "net_drop.h"
#include "net_host.h"

/* What the NIC already checked (see ferry_port_rx_flags()). A GOOD flag
 * skips the software check, a BAD flag drops without one, neither means
 * "check in software". */
#define FERRY_NET_RX_IP_CKSUM_GOOD 0x1u
#define FERRY_NET_RX_IP_CKSUM_BAD 0x2u
#define FERRY_NET_RX_L4_CKSUM_GOOD 0x4u
#define FERRY_NET_RX_L4_CKSUM_BAD 0x8u

/** What an ICMP "fragmentation needed" says about a packet ferry sent. */
struct ferry_net_frag_needed {
	uint32_t dst_ip;   /* the too-big packet's destination (the peer), host order */
	uint16_t src_port; /* its UDP source port: one of ours */
	uint16_t dst_port; /* its UDP destination port: the peer's */
	uint16_t mtu;      /* the path MTU to use, 68 or more and below the
			    * too-big packet's length: the router's next-hop
			    * MTU, or the RFC 1191 plateau below that length
			    * when the router left the field 0 */
	uint16_t too_big;  /* the IPv4 total length of the packet that did not fit */
};

/** Details of a frame ferry_net_input() kept. */
struct ferry_net_rx {
	uint32_t src_ip;      /* UDP/ICMP: IPv4 source; ARP: sender IP (may be 0 for a probe) */
	uint16_t src_port;    /* UDP: source port */
	uint16_t dst_port;    /* UDP: destination port, one of the host's range */
	uint16_t payload_off; /* UDP: offset of the ferry header in the frame */
	uint16_t payload_len; /* UDP: ferry header + data bytes */
	uint16_t reply_len;   /* ARP_REQUEST, ICMP_ECHO: reply length now in the frame */
	uint8_t src_mac[FERRY_ETH_ALEN]; /* UDP/ICMP: Ethernet source; ARP: sender MAC */
	uint8_t drop;         /* DROP: enum ferry_drop_reason; else FERRY_DROP_NONE */
	uint8_t arp_announce; /* ARP_REPLY: 1 for a gratuitous ARP (sender == target),
			       * 0 for a reply addressed to us */
	struct ferry_net_frag_needed frag; /* ICMP_FRAG_NEEDED only (src_ip: the router) */
};

/**
 * Validate and classify one received frame.
 *
 * The checks, in order: length (runt, oversize), destination MAC (ours;
 * broadcast only for ARP), ethertype; for ARP: format, sender, target; for
 * IPv4: version, IHL, total length, header checksum, fragment, TTL,
 * destination, source, protocol; for UDP: length, port (any of the
 * host's range), checksum (0 = none accepted), ferry header length and
 * version; for ICMP: length, type (echo request, or destination
 * unreachable code 4, "fragmentation needed"), checksum. A fragmentation
 * needed is kept only when it quotes an IPv4/UDP packet with DF from our
 * address and one of our ports, long enough to be quoted whole (IPv4
 * header and the 8-byte UDP header), and an MTU of 68 or more below that
 * packet's length; it is about a packet ferry sent, so the verdict
 * carries the peer and the MTU (out->frag). Ethernet padding after the
 * IPv4 total length is ignored.
 *
 * On FERRY_NET_ARP_REQUEST and FERRY_NET_ICMP_ECHO the frame has been
 * rewritten in place into the reply (out->reply_len bytes, never longer than
 * @p len); @p out still describes the request's sender. The sender of an
 * ARP request may be fed to the ARP cache too (RFC 826: the target learns
 * the asker, who is about to talk to it).
 *
 * @param h        the local host
 * @param frame    the frame, starting at the Ethernet header, writable
 * @param len      bytes in @p frame (without FCS)
 * @param rx_flags FERRY_NET_RX_* from the NIC, 0 when it checked nothing
 * @param out      filled for every verdict; out->drop tells why on DROP
 * @param st       counters: exactly one verdict[] and, on DROP, one drop[]
 *                 counter is incremented
 * @return the verdict
 */
enum ferry_net_verdict ferry_net_input(const struct ferry_net_host *h, uint8_t *frame, uint16_t len,
				       unsigned rx_flags, struct ferry_net_rx *out,
				       struct ferry_net_stats *st);

#endif
