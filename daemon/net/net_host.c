/* SPDX-License-Identifier: BSD-3-Clause */
#include "net_host.h"

#include <errno.h>
#include <string.h>

/* Addresses no peer can have: 0/8 ("this network"), 127/8, 224/4 and above
 * (multicast, reserved, limited broadcast). */
static int ip_is_special(uint32_t a)
{
	uint8_t top = (uint8_t)(a >> 24);
	return top == 0 || top == 127 || top >= 224;
}

const char *ferry_net_host_check(const uint8_t mac[FERRY_ETH_ALEN], uint32_t ip, uint8_t prefix_len,
				 uint32_t gateway, uint16_t udp_port, uint16_t mtu)
{
	if (ferry_mac_is_group(mac) || ferry_mac_is_zero(mac))
		return "MAC address is not a unicast address";
	if (ip_is_special(ip))
		return "address is not a unicast host address";
	if (prefix_len > 32)
		return "prefix length is larger than 32";
	if (gateway) {
		uint32_t mask = ferry_net_prefix_mask(prefix_len);
		if (ip_is_special(gateway))
			return "gateway is not a unicast host address";
		if (gateway == ip)
			return "gateway is the local address";
		if ((gateway ^ ip) & mask)
			return "gateway is not on the local subnet";
	}
	if (udp_port == 0)
		return "UDP port is 0";
	if (mtu < 68 || mtu > 9216)
		return "MTU is outside 68..9216";
	return NULL;
}

int ferry_net_host_init(struct ferry_net_host *h, const uint8_t mac[FERRY_ETH_ALEN], uint32_t ip,
			uint8_t prefix_len, uint32_t gateway, uint16_t udp_port, uint16_t mtu)
{
	if (ferry_net_host_check(mac, ip, prefix_len, gateway, udp_port, mtu))
		return -EINVAL;
	memset(h, 0, sizeof(*h));
	ferry_mac_copy(h->mac, mac);
	h->ip = ip;
	h->prefix_len = prefix_len;
	h->netmask = ferry_net_prefix_mask(prefix_len);
	h->gateway = gateway;
	h->udp_port = udp_port;
	h->udp_port_count = 1;
	h->mtu = mtu;
	h->max_frame = (uint16_t)(mtu + FERRY_ETH_HLEN);
	h->ferry_version = FERRY_WIRE_VERSION;
	h->ferry_hdr_min = FERRY_WIRE_HDR_MIN_DEFAULT;
	return 0;
}

int ferry_net_host_set_port_count(struct ferry_net_host *h, uint32_t count)
{
	if (count == 0 || (uint32_t)h->udp_port + count - 1 > 65535)
		return -EINVAL;
	h->udp_port_count = (uint16_t)count;
	return 0;
}

int ferry_net_next_hop(const struct ferry_net_host *h, uint32_t dst, uint32_t *nh)
{
	if (ip_is_special(dst) || dst == h->ip)
		return -EINVAL;
	if (ferry_net_on_subnet(h, dst)) {
		/* The subnet's network and broadcast addresses name no host, except
		 * on /31 (RFC 3021) and /32 links, which have neither. */
		if (h->prefix_len <= 30 &&
		    ((dst | h->netmask) == 0xffffffffu || (dst & ~h->netmask) == 0))
			return -EINVAL;
		*nh = dst;
		return 0;
	}
	if (!h->gateway)
		return -ENETUNREACH;
	*nh = h->gateway;
	return 0;
}
