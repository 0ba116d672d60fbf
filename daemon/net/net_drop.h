/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Why a received frame was dropped, and what the net layer did with the
 * ones it kept. Each drop reason is an index into a counter array; the name
 * table gives the counter names ferry-stat and the logs show.
 */
#ifndef FERRY_NET_DROP_H
#define FERRY_NET_DROP_H

#include <stdint.h>

/* X(ENUM_SUFFIX, "counter_name", "what it means") */
#define FERRY_DROP_REASONS(X)                                                               \
	X(NONE, "none", "not dropped")                                                     \
	X(RUNT, "eth_runt", "frame shorter than an Ethernet header")                       \
	X(TRUNCATED, "truncated", "frame ends inside the IPv4 or ICMP header")             \
	X(OVERSIZE, "oversize", "frame longer than MTU + Ethernet header")                 \
	X(ETH_NOT_OUR_MAC, "eth_not_our_mac", "destination MAC is not ours (or broadcast for ARP)") \
	X(ETH_UNKNOWN_TYPE, "eth_unknown_type", "ethertype is neither IPv4 nor ARP")       \
	X(ARP_MALFORMED, "arp_malformed", "ARP not Ethernet/IPv4, bad op, short or group sender") \
	X(ARP_NOT_FOR_US, "arp_not_for_us", "ARP about another host's address")            \
	X(ARP_IP_CONFLICT, "arp_ip_conflict", "another host claims our IPv4 address")      \
	X(IPV4_BAD_VERSION, "ipv4_bad_version", "IP version is not 4")                     \
	X(IPV4_BAD_IHL, "ipv4_bad_ihl", "IPv4 header length below 20 bytes")               \
	X(IPV4_BAD_TOTAL_LENGTH, "ipv4_bad_total_length", "total length beyond the frame or below the header") \
	X(IPV4_BAD_CHECKSUM, "ipv4_bad_checksum", "IPv4 header checksum wrong")            \
	X(IPV4_FRAGMENT, "ipv4_fragment", "IPv4 fragment (MF set or offset != 0)")         \
	X(IPV4_TTL_EXPIRED, "ipv4_ttl_expired", "IPv4 TTL is 0")                           \
	X(IPV4_NOT_OUR_IP, "ipv4_not_our_ip", "IPv4 destination is not our address")       \
	X(IPV4_BAD_SOURCE, "ipv4_bad_source", "IPv4 source is ours, 0, loopback, multicast or broadcast") \
	X(IPV4_BAD_PROTOCOL, "ipv4_bad_protocol", "IP protocol is neither UDP nor ICMP")   \
	X(UDP_BAD_LENGTH, "udp_bad_length", "UDP length disagrees with the IPv4 length")   \
	X(UDP_BAD_CHECKSUM, "udp_bad_checksum", "UDP checksum wrong (0 = none is accepted)") \
	X(UDP_WRONG_PORT, "udp_wrong_port", "UDP destination port is not one of ferry's") \
	X(FERRY_TOO_SHORT, "ferry_too_short", "UDP payload shorter than a ferry header")   \
	X(FERRY_BAD_VERSION, "ferry_bad_version", "ferry header version unknown")          \
	X(ICMP_NOT_ECHO, "icmp_not_echo", "ICMP message other than echo request or fragmentation needed") \
	X(ICMP_BAD_CHECKSUM, "icmp_bad_checksum", "ICMP checksum wrong")                   \
	X(ICMP_FRAG_MALFORMED, "icmp_frag_malformed", "fragmentation needed: quoted header short or not IPv4/UDP with DF, or an MTU that makes no sense") \
	X(ICMP_FRAG_NOT_OURS, "icmp_frag_not_ours", "fragmentation needed about a packet ferry did not send (source address or port)")

#define FERRY_DROP_X_ENUM(e, name, desc) FERRY_DROP_##e,
enum ferry_drop_reason {
	FERRY_DROP_REASONS(FERRY_DROP_X_ENUM)
	FERRY_DROP_COUNT
};
#undef FERRY_DROP_X_ENUM

/** What ferry_net_input() decided about a frame. */
enum ferry_net_verdict {
	FERRY_NET_DROP = 0,     /* counted under a drop reason; free the frame */
	FERRY_NET_UDP,          /* a ferry packet: hand the payload to the transport */
	FERRY_NET_ARP_REQUEST,  /* someone asks for our MAC: the frame now holds the reply */
	FERRY_NET_ARP_REPLY,    /* a reply or announcement: feed the sender to the ARP cache */
	FERRY_NET_ICMP_ECHO,    /* ping: the frame now holds the echo reply */
	FERRY_NET_ICMP_FRAG_NEEDED, /* a router says a packet we sent was too big: see
				     * struct ferry_net_rx's frag fields */
	FERRY_NET_VERDICT_COUNT
};

/** Per-port receive counters; index drop[] with enum ferry_drop_reason. */
struct ferry_net_stats {
	uint64_t verdict[FERRY_NET_VERDICT_COUNT];
	uint64_t drop[FERRY_DROP_COUNT];
};

/**
 * @return the counter name of @p r, e.g. "ipv4_bad_checksum"; "unknown"
 *         for values out of range
 */
const char *ferry_drop_name(enum ferry_drop_reason r);

/** @return a one-line description of @p r for logs and --help output. */
const char *ferry_drop_desc(enum ferry_drop_reason r);

/** @return "drop", "udp", "arp_request", "arp_reply", "icmp_echo" or
 *  "icmp_frag_needed". */
const char *ferry_net_verdict_name(enum ferry_net_verdict v);

#endif
