/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The local host as the net layer sees it: one Ethernet port with one IPv4
 * address, an optional gateway for off-subnet peers, the UDP port ferry
 * listens on, the MTU, and what a ferry header must look like to be handed
 * to the transport. Read-only on the fast path; set up once at start.
 */
#ifndef FERRY_NET_HOST_H
#define FERRY_NET_HOST_H

#include <stdint.h>

#include "net_wire.h"

/* The first byte of every ferry header is its version; the transport owns
 * the rest of the header and tells the net layer its minimum length. */
#define FERRY_WIRE_VERSION 3
#define FERRY_WIRE_HDR_MIN_DEFAULT 1

struct ferry_net_host {
	uint8_t mac[FERRY_ETH_ALEN]; /* our unicast MAC */
	uint16_t mtu;                /* IP MTU: largest IPv4 packet, no L2 header */
	uint32_t ip;                 /* our address, host byte order */
	uint32_t netmask;            /* from prefix_len, host byte order */
	uint32_t gateway;            /* next hop off the subnet; 0 = none */
	uint16_t udp_port;           /* ferry's first UDP port (source and listen) */
	uint16_t udp_port_count;     /* ports udp_port .. udp_port + count - 1 are ours */
	uint8_t prefix_len;          /* 0..32 */
	uint8_t ferry_version;       /* accepted first byte of a ferry header */
	uint16_t ferry_hdr_min;      /* shorter UDP payloads are dropped */
	uint16_t max_frame;          /* mtu + Ethernet header: longer frames drop */
};

/**
 * Fill @p h and check that the addresses make sense.
 *
 * ferry_version and ferry_hdr_min start at FERRY_WIRE_VERSION and
 * FERRY_WIRE_HDR_MIN_DEFAULT; the transport may raise ferry_hdr_min.
 *
 * @param h          out
 * @param mac        our MAC: unicast, not all-zero
 * @param ip         our IPv4 address, host order: not 0, loopback, multicast
 *                   or class E
 * @param prefix_len subnet prefix length, 0..32
 * @param gateway    host order, 0 for none; when set it must lie on our
 *                   subnet and differ from @p ip
 * @param udp_port   1..65535
 * @param mtu        IP MTU, 68..9216
 * @return 0, or -EINVAL naming nothing (the caller knows which setting it
 *         passed; ferry_net_host_check() gives a message)
 */
int ferry_net_host_init(struct ferry_net_host *h, const uint8_t mac[FERRY_ETH_ALEN], uint32_t ip,
			uint8_t prefix_len, uint32_t gateway, uint16_t udp_port, uint16_t mtu);

/**
 * Like ferry_net_host_init()'s checks, but says what is wrong.
 *
 * @return NULL when the values are valid, else a static message such as
 *         "gateway is not on the local subnet"
 */
const char *ferry_net_host_check(const uint8_t mac[FERRY_ETH_ALEN], uint32_t ip, uint8_t prefix_len,
				 uint32_t gateway, uint16_t udp_port, uint16_t mtu);

/**
 * Widen the host's UDP ports to @p count consecutive ports from
 * h->udp_port: packets to any of them are accepted, and each can be a
 * flow's source port (ferry_net_udp_dst.src_port). ferry_net_host_init()
 * sets a range of one.
 *
 * @return 0, or -EINVAL when @p count is 0 or the range passes 65535
 */
int ferry_net_host_set_port_count(struct ferry_net_host *h, uint32_t count);

/** @return non-zero when @p port (host order) is one of the host's UDP ports. */
static inline int ferry_net_port_is_ours(const struct ferry_net_host *h, uint16_t port)
{
	/* one unsigned compare: ports below udp_port wrap to large values */
	return (uint16_t)(port - h->udp_port) < h->udp_port_count;
}

/**
 * Pick the IPv4 next hop for @p dst: @p dst itself when it is on our
 * subnet, else the gateway (as on an AWS VPC, where every other subnet is
 * reached through the subnet's router).
 *
 * @param h   the host
 * @param dst destination, host order
 * @param nh  out: the address to resolve with ARP
 * @return 0; -EINVAL when @p dst is not a unicast address another host can
 *         have (0, ours, loopback, multicast, broadcast, our subnet's
 *         broadcast or network address); -ENETUNREACH when it is off-subnet and no gateway is set
 */
int ferry_net_next_hop(const struct ferry_net_host *h, uint32_t dst, uint32_t *nh);

/** @return non-zero when @p a (host order) is on the host's subnet. */
static inline int ferry_net_on_subnet(const struct ferry_net_host *h, uint32_t a)
{
	return ((a ^ h->ip) & h->netmask) == 0;
}

/** @return the netmask for a prefix length 0..32, host order. */
static inline uint32_t ferry_net_prefix_mask(uint8_t prefix_len)
{
	return prefix_len ? ~(uint32_t)0 << (32 - prefix_len) : 0;
}

#endif
