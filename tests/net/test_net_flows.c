/* SPDX-License-Identifier: BSD-3-Clause */
/* Many flows and the path MTU at the host-stack level: a range of UDP
 * ports accepted and used as source ports, and ICMP "fragmentation needed"
 * turned into a verdict that names the peer, our flow and the MTU. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "net_test_util.h"

/* A valid ferry packet from A:40000 to B:@dport. */
static uint16_t udp_to(uint8_t *f, uint16_t dport)
{
	struct ferry_net_host a;
	struct ferry_net_udp_dst d = {.port = dport, .ip = IP_B};
	host_a(&a);
	memcpy(d.mac, MAC_B, 6);
	memset(f, 0, FERRY_UDP_FRAME_HLEN + 16);
	f[FERRY_UDP_FRAME_HLEN] = FERRY_WIRE_VERSION;
	return (uint16_t)ferry_net_build_udp(&a, f, &d, 16, 1, 0);
}

static void test_port_count_limits(void **state)
{
	(void)state;
	struct ferry_net_host h;
	host_b(&h);
	assert_int_equal(h.udp_port_count, 1);
	assert_int_equal(ferry_net_host_set_port_count(&h, 0), -EINVAL);
	assert_int_equal(ferry_net_host_set_port_count(&h, 65535 - FERRY_PORT + 2), -EINVAL);
	assert_int_equal(h.udp_port_count, 1);
	assert_int_equal(ferry_net_host_set_port_count(&h, 65535 - FERRY_PORT + 1), 0);
	assert_true(ferry_net_port_is_ours(&h, 65535));
	assert_false(ferry_net_port_is_ours(&h, FERRY_PORT - 1));
	assert_false(ferry_net_port_is_ours(&h, 0));

	/* a range starting at port 1 may end at 65535 */
	ferry_net_host_init(&h, MAC_B, IP_B, 24, 0, 1, 1500);
	assert_int_equal(ferry_net_host_set_port_count(&h, 65535), 0);
	assert_true(ferry_net_port_is_ours(&h, 1));
	assert_true(ferry_net_port_is_ours(&h, 65535));
	assert_false(ferry_net_port_is_ours(&h, 0));
}

static void test_receiver_accepts_the_range(void **state)
{
	(void)state;
	struct ferry_net_host b;
	struct ferry_net_stats st = {0};
	struct ferry_net_rx rx;
	uint8_t f[256];
	host_b(&b);

	/* one port: the next one is another application's */
	assert_int_equal(ferry_net_input(&b, f, udp_to(f, FERRY_PORT + 1), 0, &rx, &st), FERRY_NET_DROP);
	assert_int_equal(rx.drop, FERRY_DROP_UDP_WRONG_PORT);

	assert_int_equal(ferry_net_host_set_port_count(&b, 64), 0);
	for (uint32_t p = FERRY_PORT; p < FERRY_PORT + 64; p++) {
		assert_int_equal(ferry_net_input(&b, f, udp_to(f, (uint16_t)p), 0, &rx, &st), FERRY_NET_UDP);
		assert_int_equal(rx.dst_port, p);
		assert_int_equal(rx.src_port, 40000);
	}
	assert_int_equal(st.verdict[FERRY_NET_UDP], 64);

	/* either side of the range: dropped and counted as a wrong port */
	uint64_t wrong = st.drop[FERRY_DROP_UDP_WRONG_PORT];
	assert_int_equal(ferry_net_input(&b, f, udp_to(f, FERRY_PORT - 1), 0, &rx, &st), FERRY_NET_DROP);
	assert_int_equal(rx.drop, FERRY_DROP_UDP_WRONG_PORT);
	assert_int_equal(ferry_net_input(&b, f, udp_to(f, FERRY_PORT + 64), 0, &rx, &st), FERRY_NET_DROP);
	assert_int_equal(rx.drop, FERRY_DROP_UDP_WRONG_PORT);
	assert_int_equal(st.drop[FERRY_DROP_UDP_WRONG_PORT], wrong + 2);
}

static void test_sender_picks_the_source_port(void **state)
{
	(void)state;
	struct ferry_net_host a;
	struct ferry_net_udp_dst d = {.port = FERRY_PORT, .ip = IP_B};
	uint8_t f[256] = {0};
	host_a(&a);
	memcpy(d.mac, MAC_B, 6);

	/* 0 is the first port of the range */
	assert_int_equal(ferry_net_build_udp(&a, f, &d, 16, 1, 0), 42 + 16);
	assert_int_equal(ferry_ld16(f + 34), 40000);

	/* outside the range: refused, not sent from someone else's port */
	d.src_port = 40001;
	assert_int_equal(ferry_net_build_udp(&a, f, &d, 16, 1, 0), -EINVAL);
	assert_int_equal(ferry_net_host_set_port_count(&a, 8), 0);
	for (uint16_t p = 40000; p < 40008; p++) {
		d.src_port = p;
		f[42] = FERRY_WIRE_VERSION;
		assert_int_equal(ferry_net_build_udp(&a, f, &d, 16, 1, 0), 42 + 16);
		assert_int_equal(ferry_ld16(f + 34), p);
		/* the checksum covers the port: B accepts the frame */
		struct ferry_net_host b;
		struct ferry_net_stats st = {0};
		struct ferry_net_rx rx;
		host_b(&b);
		assert_int_equal(ferry_net_input(&b, f, 42 + 16, 0, &rx, &st), FERRY_NET_UDP);
		assert_int_equal(rx.src_port, p);
	}
	d.src_port = 40008;
	assert_int_equal(ferry_net_build_udp(&a, f, &d, 16, 1, 0), -EINVAL);
	d.src_port = 39999;
	assert_int_equal(ferry_net_build_udp(&a, f, &d, 16, 1, 0), -EINVAL);
}

static void test_frag_needed_verdict(void **state)
{
	(void)state;
	struct ferry_net_host b;
	struct ferry_net_stats st = {0};
	struct ferry_net_rx rx;
	uint8_t f[256];
	host_b(&b);

	uint16_t len = build_frag_needed(f, 1400, 0);
	assert_int_equal(ferry_net_input(&b, f, len, 0, &rx, &st), FERRY_NET_ICMP_FRAG_NEEDED);
	assert_int_equal(rx.src_ip, IP_C); /* the router */
	assert_int_equal(rx.frag.dst_ip, IP_A);
	assert_int_equal(rx.frag.src_port, FERRY_PORT);
	assert_int_equal(rx.frag.dst_port, 40000);
	assert_int_equal(rx.frag.mtu, 1400);
	assert_int_equal(rx.frag.too_big, 1500);
	assert_int_equal(st.verdict[FERRY_NET_ICMP_FRAG_NEEDED], 1);
	assert_string_equal(ferry_net_verdict_name(FERRY_NET_ICMP_FRAG_NEEDED), "icmp_frag_needed");

	/* Ethernet padding after the ICMP message changes nothing */
	memset(f + len, 0, 30);
	assert_int_equal(ferry_net_input(&b, f, (uint16_t)(len + 30), 0, &rx, &st),
			 FERRY_NET_ICMP_FRAG_NEEDED);
	assert_int_equal(rx.frag.mtu, 1400);

	/* an RFC 792 router leaves the MTU 0: the plateau below 1500 */
	len = build_frag_needed(f, 0, 0);
	assert_int_equal(ferry_net_input(&b, f, len, 0, &rx, &st), FERRY_NET_ICMP_FRAG_NEEDED);
	assert_int_equal(rx.frag.mtu, 1492);

	/* the smallest MTU IPv4 allows is believed */
	len = build_frag_needed(f, 68, 0);
	assert_int_equal(ferry_net_input(&b, f, len, 0, &rx, &st), FERRY_NET_ICMP_FRAG_NEEDED);
	assert_int_equal(rx.frag.mtu, 68);
	len = build_frag_needed(f, 1499, 0);
	assert_int_equal(ferry_net_input(&b, f, len, 0, &rx, &st), FERRY_NET_ICMP_FRAG_NEEDED);
	assert_int_equal(rx.frag.mtu, 1499);
}

static void test_frag_needed_for_each_flow(void **state)
{
	(void)state;
	struct ferry_net_host b;
	struct ferry_net_stats st = {0};
	struct ferry_net_rx rx;
	uint8_t f[256];
	host_b(&b);

	/* about a packet from the range's fourth port: ours only once the
	 * range has four ports */
	uint16_t len = build_frag_needed(f, 1200, FERRY_PORT + 3);
	assert_int_equal(ferry_net_input(&b, f, len, 0, &rx, &st), FERRY_NET_DROP);
	assert_int_equal(rx.drop, FERRY_DROP_ICMP_FRAG_NOT_OURS);
	assert_int_equal(ferry_net_host_set_port_count(&b, 4), 0);
	assert_int_equal(ferry_net_input(&b, f, len, 0, &rx, &st), FERRY_NET_ICMP_FRAG_NEEDED);
	assert_int_equal(rx.frag.src_port, FERRY_PORT + 3);
	assert_int_equal(rx.frag.mtu, 1200);
	assert_int_equal(st.drop[FERRY_DROP_ICMP_FRAG_NOT_OURS], 1);

	/* other ICMP errors stay unwanted: the kernel's port unreachable */
	len = (uint16_t)hex2bin(K_ICMP_UNREACH_B_TO_A, f, sizeof(f));
	struct ferry_net_host a;
	host_a(&a);
	assert_int_equal(ferry_net_input(&a, f, len, 0, &rx, &st), FERRY_NET_DROP);
	assert_int_equal(rx.drop, FERRY_DROP_ICMP_NOT_ECHO);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_port_count_limits),
		cmocka_unit_test(test_receiver_accepts_the_range),
		cmocka_unit_test(test_sender_picks_the_source_port),
		cmocka_unit_test(test_frag_needed_verdict),
		cmocka_unit_test(test_frag_needed_for_each_flow),
	};
	return cmocka_run_group_tests_name("net_flows", tests, NULL, NULL);
}
