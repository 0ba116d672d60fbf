/* SPDX-License-Identifier: BSD-3-Clause */
/* Frame builders, byte for byte: against frames the Linux kernel sent and
 * against a frame whose checksums are worked out by hand below; host setup
 * and next-hop selection. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "net_test_util.h"

static void udp_dst_b(struct ferry_net_udp_dst *d)
{
	memset(d, 0, sizeof(*d)); /* src_port 0: the host's first port */
	memcpy(d->mac, MAC_B, 6);
	d->ip = IP_B;
	d->port = FERRY_PORT;
}

static void test_udp_matches_kernel(void **state)
{
	(void)state;
	struct ferry_net_host a;
	struct ferry_net_udp_dst d;
	uint8_t want[128], f[128];
	host_a(&a);
	udp_dst_b(&d);

	size_t n = hex2bin(K_UDP_A_TO_B, want, sizeof(want));
	memset(f, 0, sizeof(f));
	memcpy(f + 42, "\x01hello ferry", 12);
	assert_int_equal(ferry_net_build_udp(&a, f, &d, 12, K_UDP_A_TO_B_IP_ID, 0), n);
	assert_memory_equal(f, want, n);
}

static void test_udp_offload_matches_kernel_partial(void **state)
{
	(void)state;
	struct ferry_net_host a;
	struct ferry_net_udp_dst d;
	uint8_t want[128], f[128];
	host_a(&a);
	udp_dst_b(&d);

	/* With UDP checksum offload the field holds the pseudo-header sum,
	 * exactly what Linux hands a NIC (seen here through veth). */
	size_t n = hex2bin(K_UDP_A_TO_B_PARTIAL, want, sizeof(want));
	memcpy(f + 42, "\x01hello ferry", 12);
	assert_int_equal(ferry_net_build_udp(&a, f, &d, 12, K_UDP_A_TO_B_PARTIAL_IP_ID,
					     FERRY_NET_TX_UDP_CKSUM_HW),
			 n);
	assert_memory_equal(f, want, n);
	assert_int_equal(ferry_ld16(f + 40), 0x14ee);

	/* IPv4 offload too: the header checksum is left 0, nothing else moves */
	assert_int_equal(ferry_net_build_udp(&a, f, &d, 12, K_UDP_A_TO_B_PARTIAL_IP_ID,
					     FERRY_NET_TX_UDP_CKSUM_HW | FERRY_NET_TX_IPV4_CKSUM_HW),
			 n);
	assert_int_equal(ferry_ld16(f + 24), 0);
	assert_memory_equal(f, want, 24);
	assert_memory_equal(f + 26, want + 26, n - 26);
}

static void test_udp_hand_computed(void **state)
{
	(void)state;
	/*
	 * 10.0.0.1:31850 -> 10.0.0.2:31850, payload 01 00, ID 0, DF, TTL 64.
	 * IPv4: 4500 + 001e + 0000 + 4000 + 4011 + 0a00 + 0001 + 0a00 + 0002
	 *       = d932, checksum ~d932 = 26cd
	 * UDP:  pseudo 0a00 + 0001 + 0a00 + 0002 + 0011 + 000a = 141e
	 *       + 7c6a + 7c6a + 000a + 0100 = 1_0dfc -> 0dfd, checksum f202
	 */
	static const uint8_t want[] = {
		0x02, 0, 0, 0, 0, 0x0b, 0x02, 0, 0, 0, 0, 0x0a, 0x08, 0x00,                 /* eth */
		0x45, 0x00, 0x00, 0x1e, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0x26, 0xcd,     /* ip */
		0x0a, 0x00, 0x00, 0x01, 0x0a, 0x00, 0x00, 0x02,                             /* ip */
		0x7c, 0x6a, 0x7c, 0x6a, 0x00, 0x0a, 0xf2, 0x02,                             /* udp */
		0x01, 0x00,                                                                 /* ferry */
	};
	struct ferry_net_host h;
	struct ferry_net_udp_dst d = {.ip = 0x0a000002u, .port = FERRY_PORT};
	uint8_t f[64] = {0};
	memcpy(d.mac, MAC_B, 6);
	assert_int_equal(ferry_net_host_init(&h, MAC_A, 0x0a000001u, 24, 0, FERRY_PORT, 1500), 0);
	f[42] = 1;
	assert_int_equal(ferry_net_build_udp(&h, f, &d, 2, 0, 0), sizeof(want));
	assert_memory_equal(f, want, sizeof(want));
}

static void test_udp_mtu(void **state)
{
	(void)state;
	struct ferry_net_host a;
	struct ferry_net_udp_dst d;
	static uint8_t f[9100];
	udp_dst_b(&d);
	host_a(&a);
	assert_int_equal(ferry_net_build_udp(&a, f, &d, 1472, 0, 0), 1514);
	assert_int_equal(ferry_net_build_udp(&a, f, &d, 1473, 0, 0), -EMSGSIZE);
	assert_int_equal(ferry_net_host_init(&a, MAC_A, IP_A, 24, 0, 40000, 9001), 0);
	assert_int_equal(ferry_net_build_udp(&a, f, &d, 9001 - 28, 0, 0), 9015);
	assert_int_equal(ferry_cksum_sum(f + 14, 20, 0), 0xffff);
	assert_int_equal(ferry_cksum_sum(f + 34, 9001 - 20, ferry_ipv4_phdr_sum(IP_A, IP_B, 17, 9001 - 20)),
			 0xffff);
	assert_int_equal(ferry_net_build_udp(&a, f, &d, 9001 - 27, 0, 0), -EMSGSIZE);
	assert_int_equal(ferry_net_build_udp(&a, f, &d, 65535, 0, 0), -EMSGSIZE);
}

static void test_arp_builders_match_kernel(void **state)
{
	(void)state;
	struct ferry_net_host a, b;
	uint8_t want[64], f[64];
	host_a(&a);
	host_b(&b);

	assert_int_equal(hex2bin(K_ARP_REQ_A_FOR_B, want, sizeof(want)), 42);
	assert_int_equal(ferry_net_build_arp_request(&a, f, IP_B), 42);
	assert_memory_equal(f, want, 42);

	assert_int_equal(hex2bin(K_ARP_REPLY_B_TO_A, want, sizeof(want)), 42);
	assert_int_equal(ferry_net_build_arp_reply(&b, f, MAC_A, IP_A), 42);
	assert_memory_equal(f, want, 42);

	assert_int_equal(hex2bin(K_GARP_A, want, sizeof(want)), 42);
	assert_int_equal(ferry_net_build_garp(&a, f), 42);
	assert_memory_equal(f, want, 42);
}

static void test_icmp_reply_into_buffer(void **state)
{
	(void)state;
	struct ferry_net_host b;
	uint8_t req[128], want[128], out[128];
	host_b(&b);
	uint16_t len = (uint16_t)hex2bin(K_ECHO_REQ_A_TO_B, req, sizeof(req));
	size_t wlen = hex2bin(K_ECHO_REPLY_B_TO_A, want, sizeof(want));
	uint8_t copy[128];
	memcpy(copy, req, len);

	assert_int_equal(ferry_net_build_icmp_echo_reply(&b, req, len, out, (uint16_t)(len - 1)), -ENOSPC);
	assert_int_equal(ferry_net_build_icmp_echo_reply(&b, req, len, out, sizeof(out)), wlen);
	assert_memory_equal(req, copy, len); /* request untouched */
	ferry_st16(out + 18, ferry_ld16(want + 18));
	fix_ip_cksum(out);
	assert_memory_equal(out, want, wlen);
}

static void test_host_checks(void **state)
{
	(void)state;
	struct ferry_net_host h;
	static const uint8_t mcast[6] = {0x01, 0, 0x5e, 0, 0, 1}, zero[6];
	assert_int_equal(ferry_net_host_init(&h, MAC_A, IP_A, 24, IP_A + 253, 1, 1500), 0);
	assert_int_equal(h.netmask, 0xffffff00u);
	assert_int_equal(h.max_frame, 1514);
	assert_int_equal(h.ferry_version, FERRY_WIRE_VERSION);
	assert_int_equal(h.ferry_hdr_min, FERRY_WIRE_HDR_MIN_DEFAULT);

	assert_int_equal(ferry_net_host_init(&h, mcast, IP_A, 24, 0, 1, 1500), -EINVAL);
	assert_int_equal(ferry_net_host_init(&h, zero, IP_A, 24, 0, 1, 1500), -EINVAL);
	assert_int_equal(ferry_net_host_init(&h, MAC_A, 0, 24, 0, 1, 1500), -EINVAL);
	assert_int_equal(ferry_net_host_init(&h, MAC_A, 0x7f000001u, 8, 0, 1, 1500), -EINVAL);
	assert_int_equal(ferry_net_host_init(&h, MAC_A, 0xe0000001u, 24, 0, 1, 1500), -EINVAL);
	assert_int_equal(ferry_net_host_init(&h, MAC_A, IP_A, 33, 0, 1, 1500), -EINVAL);
	assert_int_equal(ferry_net_host_init(&h, MAC_A, IP_A, 24, 0x0a640001u, 1, 1500), -EINVAL);
	assert_int_equal(ferry_net_host_init(&h, MAC_A, IP_A, 24, IP_A, 1, 1500), -EINVAL);
	assert_int_equal(ferry_net_host_init(&h, MAC_A, IP_A, 24, 0, 0, 1500), -EINVAL);
	assert_int_equal(ferry_net_host_init(&h, MAC_A, IP_A, 24, 0, 1, 67), -EINVAL);
	assert_int_equal(ferry_net_host_init(&h, MAC_A, IP_A, 24, 0, 1, 9217), -EINVAL);
	assert_string_equal(ferry_net_host_check(MAC_A, IP_A, 24, 0x0a640001u, 1, 1500),
			    "gateway is not on the local subnet");
	assert_null(ferry_net_host_check(MAC_A, IP_A, 24, 0, 1, 9001));
}

static void test_next_hop(void **state)
{
	(void)state;
	struct ferry_net_host h;
	uint32_t nh = 0;
	/* an AWS-like subnet: 10.0.1.0/24, router at .1 */
	assert_int_equal(ferry_net_host_init(&h, MAC_A, 0x0a000105u, 24, 0x0a000101u, FERRY_PORT, 9001), 0);
	assert_int_equal(ferry_net_next_hop(&h, 0x0a000109u, &nh), 0);
	assert_int_equal(nh, 0x0a000109u); /* on-subnet: the peer itself */
	assert_int_equal(ferry_net_next_hop(&h, 0x0a000209u, &nh), 0);
	assert_int_equal(nh, 0x0a000101u); /* off-subnet: the gateway */
	assert_int_equal(ferry_net_next_hop(&h, 0x08080808u, &nh), 0);
	assert_int_equal(nh, 0x0a000101u);
	assert_int_equal(ferry_net_next_hop(&h, 0x0a000105u, &nh), -EINVAL); /* ourselves */
	assert_int_equal(ferry_net_next_hop(&h, 0x0a0001ffu, &nh), -EINVAL); /* subnet broadcast */
	assert_int_equal(ferry_net_next_hop(&h, 0x0a000100u, &nh), -EINVAL); /* network address */
	assert_int_equal(ferry_net_next_hop(&h, 0xffffffffu, &nh), -EINVAL);
	assert_int_equal(ferry_net_next_hop(&h, 0xe0000005u, &nh), -EINVAL);
	assert_int_equal(ferry_net_next_hop(&h, 0, &nh), -EINVAL);
	assert_int_equal(ferry_net_next_hop(&h, 0x7f000001u, &nh), -EINVAL);

	/* no gateway: off-subnet is unreachable */
	assert_int_equal(ferry_net_host_init(&h, MAC_A, 0x0a000105u, 24, 0, FERRY_PORT, 1500), 0);
	assert_int_equal(ferry_net_next_hop(&h, 0x0a000209u, &nh), -ENETUNREACH);

	/* /31 point-to-point: both addresses are hosts */
	assert_int_equal(ferry_net_host_init(&h, MAC_A, 0x0a000000u, 31, 0, FERRY_PORT, 1500), 0);
	assert_int_equal(ferry_net_next_hop(&h, 0x0a000001u, &nh), 0);
	assert_int_equal(nh, 0x0a000001u);

	/* /32: everything goes through the gateway... which must be on the
	 * subnet, so a /32 host has none and reaches nobody */
	assert_int_equal(ferry_net_host_init(&h, MAC_A, 0x0a000105u, 32, 0, FERRY_PORT, 1500), 0);
	assert_int_equal(ferry_net_next_hop(&h, 0x0a000106u, &nh), -ENETUNREACH);

	/* /0: everything is on-link */
	assert_int_equal(ferry_net_host_init(&h, MAC_A, 0x0a000105u, 0, 0, FERRY_PORT, 1500), 0);
	assert_int_equal(ferry_net_next_hop(&h, 0x08080808u, &nh), 0);
	assert_int_equal(nh, 0x08080808u);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_udp_matches_kernel),
		cmocka_unit_test(test_udp_offload_matches_kernel_partial),
		cmocka_unit_test(test_udp_hand_computed),
		cmocka_unit_test(test_udp_mtu),
		cmocka_unit_test(test_arp_builders_match_kernel),
		cmocka_unit_test(test_icmp_reply_into_buffer),
		cmocka_unit_test(test_host_checks),
		cmocka_unit_test(test_next_hop),
	};
	return cmocka_run_group_tests_name("net_tx", tests, NULL, NULL);
}
