/* SPDX-License-Identifier: BSD-3-Clause */
/* ferry_net_input(): every drop reason from a crafted frame, the frames
 * the net layer keeps (kernel-captured ARP, ping and UDP), replies built in
 * place compared byte for byte with what the Linux kernel sent, and the
 * NIC checksum flags. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "net_test_util.h"

#define PAYLOAD_LEN 16

/* A valid ferry UDP frame from A (port 40000) to B; returns its length. */
static uint16_t base_udp(uint8_t *f)
{
	struct ferry_net_host a;
	struct ferry_net_udp_dst d = {.port = FERRY_PORT, .ip = IP_B};
	host_a(&a);
	memcpy(d.mac, MAC_B, 6);
	memset(f + FERRY_UDP_FRAME_HLEN, 0x5a, PAYLOAD_LEN);
	f[FERRY_UDP_FRAME_HLEN] = FERRY_WIRE_VERSION;
	return (uint16_t)ferry_net_build_udp(&a, f, &d, PAYLOAD_LEN, 0x1234, 0);
}

static uint16_t base_arp_req(uint8_t *f)
{
	return (uint16_t)hex2bin(K_ARP_REQ_A_FOR_B, f, 2048);
}

static uint16_t base_echo(uint8_t *f)
{
	return (uint16_t)hex2bin(K_ECHO_REQ_A_TO_B, f, 2048);
}

static uint8_t *ip_of(uint8_t *f)
{
	return f + FERRY_ETH_HLEN;
}

static uint8_t *udp_of(uint8_t *f)
{
	return f + FERRY_ETH_HLEN + FERRY_IPV4_HLEN;
}

/* Each mutation edits a valid frame so exactly one check fails, fixing up
 * checksums the edit would otherwise break, and returns the new length. */
typedef uint16_t (*mutate_fn)(uint8_t *f, uint16_t len);

static uint16_t m_runt(uint8_t *f, uint16_t len) { (void)f; (void)len; return 13; }
static uint16_t m_ip_truncated(uint8_t *f, uint16_t len) { (void)f; (void)len; return 14 + 19; }
static uint16_t m_oversize(uint8_t *f, uint16_t len) { (void)f; (void)len; return 1515; }
static uint16_t m_not_our_mac(uint8_t *f, uint16_t len) { memcpy(f, MAC_C, 6); return len; }
static uint16_t m_ipv4_broadcast_mac(uint8_t *f, uint16_t len) { memset(f, 0xff, 6); return len; }
static uint16_t m_ipv6(uint8_t *f, uint16_t len) { ferry_st16(f + 12, 0x86dd); return len; }
static uint16_t m_vlan(uint8_t *f, uint16_t len) { ferry_st16(f + 12, 0x8100); return len; }

static uint16_t m_arp_short(uint8_t *f, uint16_t len) { (void)f; (void)len; return 41; }
static uint16_t m_arp_htype(uint8_t *f, uint16_t len) { ferry_st16(f + 14, 6); return len; }
static uint16_t m_arp_ptype(uint8_t *f, uint16_t len) { ferry_st16(f + 16, 0x86dd); return len; }
static uint16_t m_arp_hlen(uint8_t *f, uint16_t len) { f[18] = 8; return len; }
static uint16_t m_arp_op(uint8_t *f, uint16_t len) { ferry_st16(f + 20, 3); return len; }
static uint16_t m_arp_sha_group(uint8_t *f, uint16_t len) { f[22] |= 1; return len; }
static uint16_t m_arp_other_target(uint8_t *f, uint16_t len) { ferry_st32(f + 38, IP_C); return len; }
static uint16_t m_arp_reply_other(uint8_t *f, uint16_t len)
{
	ferry_st16(f + 20, FERRY_ARP_OP_REPLY);
	ferry_st32(f + 38, IP_C);
	return len;
}
static uint16_t m_arp_own_frame(uint8_t *f, uint16_t len) { memcpy(f + 22, MAC_B, 6); return len; }
static uint16_t m_arp_conflict(uint8_t *f, uint16_t len) { ferry_st32(f + 28, IP_B); return len; }

static uint16_t m_ip_version(uint8_t *f, uint16_t len)
{
	ip_of(f)[0] = 0x65;
	fix_ip_cksum(f);
	return len;
}
static uint16_t m_ip_ihl(uint8_t *f, uint16_t len) { ip_of(f)[0] = 0x44; return len; }
static uint16_t m_ip_total_long(uint8_t *f, uint16_t len)
{
	ferry_st16(ip_of(f) + 2, (uint16_t)(len - 14 + 1));
	fix_ip_cksum(f);
	return len;
}
static uint16_t m_ip_total_short(uint8_t *f, uint16_t len)
{
	ferry_st16(ip_of(f) + 2, 19);
	fix_ip_cksum(f);
	return len;
}
static uint16_t m_ip_ihl_beyond(uint8_t *f, uint16_t len)
{
	/* IHL 15 = 60 bytes, more than the 36-byte total length */
	ip_of(f)[0] = 0x4f;
	(void)len;
	return 14 + 36;
}
static uint16_t m_ip_cksum(uint8_t *f, uint16_t len) { ip_of(f)[10] ^= 0x01; return len; }
static uint16_t m_ip_mf(uint8_t *f, uint16_t len)
{
	ferry_st16(ip_of(f) + 6, FERRY_IPV4_FLAG_MF);
	fix_ip_cksum(f);
	return len;
}
static uint16_t m_ip_frag_off(uint8_t *f, uint16_t len)
{
	ferry_st16(ip_of(f) + 6, FERRY_IPV4_FLAG_DF | 1);
	fix_ip_cksum(f);
	return len;
}
static uint16_t m_ip_ttl0(uint8_t *f, uint16_t len) { ip_of(f)[8] = 0; fix_ip_cksum(f); return len; }
static uint16_t set_dst(uint8_t *f, uint16_t len, uint32_t ip)
{
	ferry_st32(ip_of(f) + 16, ip);
	fix_ip_cksum(f);
	fix_udp_cksum(f);
	return len;
}
static uint16_t m_ip_other_dst(uint8_t *f, uint16_t len) { return set_dst(f, len, IP_C); }
static uint16_t m_ip_bcast_dst(uint8_t *f, uint16_t len) { return set_dst(f, len, 0x0a6300ffu); }
static uint16_t set_src(uint8_t *f, uint16_t len, uint32_t ip)
{
	ferry_st32(ip_of(f) + 12, ip);
	fix_ip_cksum(f);
	fix_udp_cksum(f);
	return len;
}
static uint16_t m_src_zero(uint8_t *f, uint16_t len) { return set_src(f, len, 0); }
static uint16_t m_src_ours(uint8_t *f, uint16_t len) { return set_src(f, len, IP_B); }
static uint16_t m_src_loopback(uint8_t *f, uint16_t len) { return set_src(f, len, 0x7f000001u); }
static uint16_t m_src_multicast(uint8_t *f, uint16_t len) { return set_src(f, len, 0xe0000001u); }
static uint16_t m_src_bcast(uint8_t *f, uint16_t len) { return set_src(f, len, 0xffffffffu); }
static uint16_t m_src_subnet_bcast(uint8_t *f, uint16_t len) { return set_src(f, len, 0x0a6300ffu); }
static uint16_t m_ip_tcp(uint8_t *f, uint16_t len) { ip_of(f)[9] = 6; fix_ip_cksum(f); return len; }

static uint16_t m_udp_len_field(uint8_t *f, uint16_t len)
{
	ferry_st16(udp_of(f) + 4, (uint16_t)(8 + PAYLOAD_LEN - 1));
	fix_udp_cksum(f);
	return len;
}
static uint16_t m_udp_len_big(uint8_t *f, uint16_t len)
{
	ferry_st16(udp_of(f) + 4, (uint16_t)(8 + PAYLOAD_LEN + 1));
	return len;
}
static uint16_t m_udp_hdr_short(uint8_t *f, uint16_t len)
{
	/* IPv4 says 4 bytes of payload: not even a UDP header */
	ferry_st16(ip_of(f) + 2, 24);
	fix_ip_cksum(f);
	(void)len;
	return 14 + 24;
}
static uint16_t m_udp_cksum(uint8_t *f, uint16_t len) { f[len - 1] ^= 0x80; return len; }
static uint16_t m_udp_port(uint8_t *f, uint16_t len)
{
	ferry_st16(udp_of(f) + 2, 53);
	fix_udp_cksum(f);
	return len;
}
static uint16_t m_ferry_empty(uint8_t *f, uint16_t len)
{
	(void)len;
	ferry_st16(ip_of(f) + 2, 28);
	ferry_st16(udp_of(f) + 4, 8);
	fix_ip_cksum(f);
	fix_udp_cksum(f);
	return 14 + 28;
}
static uint16_t m_ferry_version(uint8_t *f, uint16_t len)
{
	f[FERRY_UDP_FRAME_HLEN] = FERRY_WIRE_VERSION + 1;
	fix_udp_cksum(f);
	return len;
}
static uint16_t m_ferry_version0(uint8_t *f, uint16_t len)
{
	f[FERRY_UDP_FRAME_HLEN] = 0;
	fix_udp_cksum(f);
	return len;
}

static uint16_t m_icmp_short(uint8_t *f, uint16_t len)
{
	(void)len;
	ferry_st16(ip_of(f) + 2, 20 + 4);
	fix_ip_cksum(f);
	return 14 + 24;
}
static uint16_t m_icmp_type(uint8_t *f, uint16_t len) { f[34] = 13; fix_icmp_cksum(f); return len; }
static uint16_t m_icmp_reply(uint8_t *f, uint16_t len) { f[34] = 0; fix_icmp_cksum(f); return len; }
static uint16_t m_icmp_code(uint8_t *f, uint16_t len) { f[35] = 1; fix_icmp_cksum(f); return len; }
static uint16_t m_icmp_cksum(uint8_t *f, uint16_t len) { f[len - 1] ^= 0x11; return len; }

/* Edits of a "fragmentation needed" (build_frag_needed()), each fixing
 * the checksums it breaks: the quoted header's and the ICMP message's. */
static uint16_t frag_fixed(uint8_t *f, uint16_t len)
{
	uint8_t *q = frag_quoted_ip(f);
	ferry_st16(q + FERRY_IPV4_OFF_CKSUM, 0);
	ferry_st16(q + FERRY_IPV4_OFF_CKSUM, ferry_ipv4_hdr_cksum(q, FERRY_IPV4_HLEN));
	fix_icmp_cksum(f);
	return len;
}
static uint16_t m_frag_cksum(uint8_t *f, uint16_t len) { f[len - 1] ^= 0x40; return len; }
static uint16_t m_frag_cut(uint8_t *f, uint16_t len)
{
	/* IPv4 header and 4 bytes of UDP: the ports are not all there */
	(void)len;
	ferry_st16(ip_of(f) + 2, 20 + 8 + 24);
	fix_ip_cksum(f);
	fix_icmp_cksum(f);
	return 14 + 20 + 8 + 24;
}
static uint16_t m_frag_tcp(uint8_t *f, uint16_t len) { frag_quoted_ip(f)[9] = 6; return frag_fixed(f, len); }
static uint16_t m_frag_no_df(uint8_t *f, uint16_t len)
{
	ferry_st16(frag_quoted_ip(f) + 6, 0);
	return frag_fixed(f, len);
}
static uint16_t m_frag_mtu_big(uint8_t *f, uint16_t len)
{
	/* "1500 bytes did not fit through 1500": nonsense */
	ferry_st16(f + 34 + 6, 1500);
	return frag_fixed(f, len);
}
static uint16_t m_frag_mtu_tiny(uint8_t *f, uint16_t len) { ferry_st16(f + 34 + 6, 60); return frag_fixed(f, len); }
static uint16_t m_frag_other_src(uint8_t *f, uint16_t len)
{
	ferry_st32(frag_quoted_ip(f) + 12, IP_C);
	return frag_fixed(f, len);
}
static uint16_t m_frag_other_port(uint8_t *f, uint16_t len)
{
	/* B's range is one port here: 31851 is not B's */
	ferry_st16(frag_quoted_ip(f) + 20, FERRY_PORT + 1);
	return frag_fixed(f, len);
}

enum base { UDP, ARP, ECHO, FRAG };

struct drop_case {
	const char *what;
	enum base base;
	mutate_fn mutate;
	enum ferry_drop_reason want;
	unsigned rx_flags;
};

static const struct drop_case drop_cases[] = {
	{"13-byte frame", UDP, m_runt, FERRY_DROP_RUNT, 0},
	{"IPv4 header cut", UDP, m_ip_truncated, FERRY_DROP_TRUNCATED, 0},
	{"ICMP header cut", ECHO, m_icmp_short, FERRY_DROP_TRUNCATED, 0},
	{"1515-byte frame at MTU 1500", UDP, m_oversize, FERRY_DROP_OVERSIZE, 0},
	{"other unicast MAC", UDP, m_not_our_mac, FERRY_DROP_ETH_NOT_OUR_MAC, 0},
	{"IPv4 to broadcast MAC", UDP, m_ipv4_broadcast_mac, FERRY_DROP_ETH_NOT_OUR_MAC, 0},
	{"IPv6", UDP, m_ipv6, FERRY_DROP_ETH_UNKNOWN_TYPE, 0},
	{"802.1Q tag", UDP, m_vlan, FERRY_DROP_ETH_UNKNOWN_TYPE, 0},
	{"ARP cut", ARP, m_arp_short, FERRY_DROP_ARP_MALFORMED, 0},
	{"ARP htype", ARP, m_arp_htype, FERRY_DROP_ARP_MALFORMED, 0},
	{"ARP ptype", ARP, m_arp_ptype, FERRY_DROP_ARP_MALFORMED, 0},
	{"ARP hlen", ARP, m_arp_hlen, FERRY_DROP_ARP_MALFORMED, 0},
	{"ARP op 3", ARP, m_arp_op, FERRY_DROP_ARP_MALFORMED, 0},
	{"ARP group sender", ARP, m_arp_sha_group, FERRY_DROP_ARP_MALFORMED, 0},
	{"ARP request for C", ARP, m_arp_other_target, FERRY_DROP_ARP_NOT_FOR_US, 0},
	{"ARP reply to C", ARP, m_arp_reply_other, FERRY_DROP_ARP_NOT_FOR_US, 0},
	{"ARP from our MAC", ARP, m_arp_own_frame, FERRY_DROP_ARP_NOT_FOR_US, 0},
	{"ARP claims our IP", ARP, m_arp_conflict, FERRY_DROP_ARP_IP_CONFLICT, 0},
	{"IP version 6", UDP, m_ip_version, FERRY_DROP_IPV4_BAD_VERSION, 0},
	{"IHL 4", UDP, m_ip_ihl, FERRY_DROP_IPV4_BAD_IHL, 0},
	{"total length past frame", UDP, m_ip_total_long, FERRY_DROP_IPV4_BAD_TOTAL_LENGTH, 0},
	{"total length below header", UDP, m_ip_total_short, FERRY_DROP_IPV4_BAD_TOTAL_LENGTH, 0},
	{"IHL past total length", UDP, m_ip_ihl_beyond, FERRY_DROP_IPV4_BAD_TOTAL_LENGTH, 0},
	{"IPv4 checksum", UDP, m_ip_cksum, FERRY_DROP_IPV4_BAD_CHECKSUM, 0},
	{"IPv4 checksum, NIC says bad", UDP, m_ip_ttl0, FERRY_DROP_IPV4_BAD_CHECKSUM,
	 FERRY_NET_RX_IP_CKSUM_BAD},
	{"MF", UDP, m_ip_mf, FERRY_DROP_IPV4_FRAGMENT, 0},
	{"fragment offset", UDP, m_ip_frag_off, FERRY_DROP_IPV4_FRAGMENT, 0},
	{"TTL 0", UDP, m_ip_ttl0, FERRY_DROP_IPV4_TTL_EXPIRED, 0},
	{"to 10.99.0.3", UDP, m_ip_other_dst, FERRY_DROP_IPV4_NOT_OUR_IP, 0},
	{"to subnet broadcast", UDP, m_ip_bcast_dst, FERRY_DROP_IPV4_NOT_OUR_IP, 0},
	{"from 0.0.0.0", UDP, m_src_zero, FERRY_DROP_IPV4_BAD_SOURCE, 0},
	{"from ourselves", UDP, m_src_ours, FERRY_DROP_IPV4_BAD_SOURCE, 0},
	{"from 127.0.0.1", UDP, m_src_loopback, FERRY_DROP_IPV4_BAD_SOURCE, 0},
	{"from 224.0.0.1", UDP, m_src_multicast, FERRY_DROP_IPV4_BAD_SOURCE, 0},
	{"from 255.255.255.255", UDP, m_src_bcast, FERRY_DROP_IPV4_BAD_SOURCE, 0},
	{"from subnet broadcast", UDP, m_src_subnet_bcast, FERRY_DROP_IPV4_BAD_SOURCE, 0},
	{"TCP", UDP, m_ip_tcp, FERRY_DROP_IPV4_BAD_PROTOCOL, 0},
	{"UDP length < IPv4 payload", UDP, m_udp_len_field, FERRY_DROP_UDP_BAD_LENGTH, 0},
	{"UDP length > IPv4 payload", UDP, m_udp_len_big, FERRY_DROP_UDP_BAD_LENGTH, 0},
	{"IPv4 payload < UDP header", UDP, m_udp_hdr_short, FERRY_DROP_UDP_BAD_LENGTH, 0},
	{"UDP checksum", UDP, m_udp_cksum, FERRY_DROP_UDP_BAD_CHECKSUM, 0},
	{"UDP checksum, NIC says bad", UDP, m_ferry_version, FERRY_DROP_UDP_BAD_CHECKSUM,
	 FERRY_NET_RX_L4_CKSUM_BAD},
	{"UDP port 53", UDP, m_udp_port, FERRY_DROP_UDP_WRONG_PORT, 0},
	{"empty UDP payload", UDP, m_ferry_empty, FERRY_DROP_FERRY_TOO_SHORT, 0},
	{"ferry version + 1", UDP, m_ferry_version, FERRY_DROP_FERRY_BAD_VERSION, 0},
	{"ferry version 0", UDP, m_ferry_version0, FERRY_DROP_FERRY_BAD_VERSION, 0},
	{"ICMP timestamp", ECHO, m_icmp_type, FERRY_DROP_ICMP_NOT_ECHO, 0},
	{"ICMP echo reply", ECHO, m_icmp_reply, FERRY_DROP_ICMP_NOT_ECHO, 0},
	{"ICMP echo code 1", ECHO, m_icmp_code, FERRY_DROP_ICMP_NOT_ECHO, 0},
	{"ICMP checksum", ECHO, m_icmp_cksum, FERRY_DROP_ICMP_BAD_CHECKSUM, 0},
	{"frag needed, ICMP checksum", FRAG, m_frag_cksum, FERRY_DROP_ICMP_BAD_CHECKSUM, 0},
	{"frag needed, quote cut", FRAG, m_frag_cut, FERRY_DROP_ICMP_FRAG_MALFORMED, 0},
	{"frag needed about TCP", FRAG, m_frag_tcp, FERRY_DROP_ICMP_FRAG_MALFORMED, 0},
	{"frag needed without DF", FRAG, m_frag_no_df, FERRY_DROP_ICMP_FRAG_MALFORMED, 0},
	{"frag needed, MTU = length", FRAG, m_frag_mtu_big, FERRY_DROP_ICMP_FRAG_MALFORMED, 0},
	{"frag needed, MTU 60", FRAG, m_frag_mtu_tiny, FERRY_DROP_ICMP_FRAG_MALFORMED, 0},
	{"frag needed, other source", FRAG, m_frag_other_src, FERRY_DROP_ICMP_FRAG_NOT_OURS, 0},
	{"frag needed, other port", FRAG, m_frag_other_port, FERRY_DROP_ICMP_FRAG_NOT_OURS, 0},
};

static void test_every_drop_reason(void **state)
{
	(void)state;
	struct ferry_net_host b;
	struct ferry_net_stats st;
	uint8_t covered[FERRY_DROP_COUNT] = {0};
	host_b(&b);
	memset(&st, 0, sizeof(st));

	for (size_t i = 0; i < sizeof(drop_cases) / sizeof(drop_cases[0]); i++) {
		const struct drop_case *c = &drop_cases[i];
		uint8_t f[2048] = {0};
		struct ferry_net_rx rx;
		uint16_t len = c->base == UDP    ? base_udp(f)
			       : c->base == ARP  ? base_arp_req(f)
			       : c->base == ECHO ? base_echo(f)
						 : build_frag_needed(f, 1400, 0);
		len = c->mutate(f, len);
		uint64_t before = st.drop[c->want];
		enum ferry_net_verdict v = ferry_net_input(&b, f, len, c->rx_flags, &rx, &st);
		if (v != FERRY_NET_DROP || rx.drop != c->want)
			fail_msg("%s: verdict %s, drop %s, want %s", c->what, ferry_net_verdict_name(v),
				 ferry_drop_name((enum ferry_drop_reason)rx.drop), ferry_drop_name(c->want));
		assert_int_equal(st.drop[c->want], before + 1);
		covered[c->want] = 1;
	}
	for (int r = 1; r < FERRY_DROP_COUNT; r++)
		if (!covered[r])
			fail_msg("no test frame for drop reason %s", ferry_drop_name((enum ferry_drop_reason)r));
	uint64_t total = 0;
	for (int r = 0; r < FERRY_DROP_COUNT; r++)
		total += st.drop[r];
	assert_int_equal(total, sizeof(drop_cases) / sizeof(drop_cases[0]));
	assert_int_equal(st.verdict[FERRY_NET_DROP], total);
	assert_int_equal(st.drop[FERRY_DROP_NONE], 0);
}

static void test_drop_names(void **state)
{
	(void)state;
	assert_string_equal(ferry_drop_name(FERRY_DROP_IPV4_BAD_CHECKSUM), "ipv4_bad_checksum");
	assert_string_equal(ferry_drop_name(FERRY_DROP_UDP_WRONG_PORT), "udp_wrong_port");
	assert_string_equal(ferry_drop_name(FERRY_DROP_COUNT), "unknown");
	assert_string_equal(ferry_net_verdict_name(FERRY_NET_ICMP_ECHO), "icmp_echo");
	for (int i = 0; i < FERRY_DROP_COUNT; i++) {
		const char *n = ferry_drop_name((enum ferry_drop_reason)i);
		assert_non_null(n);
		assert_true(strlen(n) > 0 && strlen(n) < 32);
		for (const char *p = n; *p; p++)
			assert_true((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_');
		for (int j = 0; j < i; j++)
			assert_string_not_equal(n, ferry_drop_name((enum ferry_drop_reason)j));
		assert_true(strlen(ferry_drop_desc((enum ferry_drop_reason)i)) > 0);
	}
}

static void test_udp_delivered(void **state)
{
	(void)state;
	struct ferry_net_host b;
	struct ferry_net_stats st = {0};
	struct ferry_net_rx rx;
	uint8_t f[2048];
	host_b(&b);

	uint16_t len = base_udp(f);
	assert_int_equal(ferry_net_input(&b, f, len, 0, &rx, &st), FERRY_NET_UDP);
	assert_int_equal(rx.payload_off, 42);
	assert_int_equal(rx.payload_len, PAYLOAD_LEN);
	assert_int_equal(rx.src_ip, IP_A);
	assert_int_equal(rx.src_port, 40000);
	assert_memory_equal(rx.src_mac, MAC_A, 6);
	assert_int_equal(rx.drop, FERRY_DROP_NONE);
	assert_int_equal(st.verdict[FERRY_NET_UDP], 1);

	/* Ethernet padding after the IPv4 packet is ignored */
	memset(f + len, 0xee, 20);
	assert_int_equal(ferry_net_input(&b, f, (uint16_t)(len + 20), 0, &rx, &st), FERRY_NET_UDP);
	assert_int_equal(rx.payload_len, PAYLOAD_LEN);

	/* the kernel's datagram: "\x01hello ferry", captured when the wire
	 * version was 1; the layer checks whichever version it is given */
	b.ferry_version = 1;
	len = (uint16_t)hex2bin(K_UDP_A_TO_B, f, sizeof(f));
	assert_int_equal(ferry_net_input(&b, f, len, 0, &rx, &st), FERRY_NET_UDP);
	assert_int_equal(rx.payload_len, 12);
	assert_memory_equal(f + rx.payload_off, "\x01hello ferry", 12);
	assert_int_equal(rx.src_port, 40000);
	b.ferry_version = FERRY_WIRE_VERSION;

	/* a zero UDP checksum means none */
	len = base_udp(f);
	ferry_st16(udp_of(f) + 6, 0);
	assert_int_equal(ferry_net_input(&b, f, len, 0, &rx, &st), FERRY_NET_UDP);

	/* the transport raises the minimum header length */
	b.ferry_hdr_min = PAYLOAD_LEN + 1;
	len = base_udp(f);
	assert_int_equal(ferry_net_input(&b, f, len, 0, &rx, &st), FERRY_NET_DROP);
	assert_int_equal(rx.drop, FERRY_DROP_FERRY_TOO_SHORT);
	b.ferry_hdr_min = PAYLOAD_LEN;
	assert_int_equal(ferry_net_input(&b, f, len, 0, &rx, &st), FERRY_NET_UDP);

	/* a full-MTU frame is not oversize */
	struct ferry_net_host a;
	struct ferry_net_udp_dst d = {.port = FERRY_PORT, .ip = IP_B};
	host_a(&a);
	memcpy(d.mac, MAC_B, 6);
	memset(f, 0, sizeof(f));
	f[42] = FERRY_WIRE_VERSION;
	int n = ferry_net_build_udp(&a, f, &d, 1500 - 28, 1, 0);
	assert_int_equal(n, 1514);
	assert_int_equal(ferry_net_input(&b, f, 1514, 0, &rx, &st), FERRY_NET_UDP);
}

static void test_nic_checksum_flags(void **state)
{
	(void)state;
	struct ferry_net_host b;
	struct ferry_net_stats st = {0};
	struct ferry_net_rx rx;
	uint8_t f[2048];
	host_b(&b);

	/* GOOD from the NIC: software checks skipped, so a wrong field that
	 * the NIC vouched for (it saw the frame before us) passes */
	uint16_t len = base_udp(f);
	ip_of(f)[10] ^= 1;
	f[len - 1] ^= 1;
	assert_int_equal(ferry_net_input(&b, f, len, FERRY_NET_RX_IP_CKSUM_GOOD | FERRY_NET_RX_L4_CKSUM_GOOD,
					 &rx, &st),
			 FERRY_NET_UDP);
	/* without the flags the same frame is dropped */
	assert_int_equal(ferry_net_input(&b, f, len, 0, &rx, &st), FERRY_NET_DROP);
	assert_int_equal(rx.drop, FERRY_DROP_IPV4_BAD_CHECKSUM);

	/* the kernel's offloaded datagram carries only the pseudo-header
	 * sum: fine when the NIC vouches for it, dropped otherwise */
	b.ferry_version = 1; /* captured at wire version 1 */
	len = (uint16_t)hex2bin(K_UDP_A_TO_B_PARTIAL, f, sizeof(f));
	assert_int_equal(ferry_net_input(&b, f, len, FERRY_NET_RX_L4_CKSUM_GOOD, &rx, &st), FERRY_NET_UDP);
	assert_int_equal(ferry_net_input(&b, f, len, 0, &rx, &st), FERRY_NET_DROP);
	assert_int_equal(rx.drop, FERRY_DROP_UDP_BAD_CHECKSUM);
	b.ferry_version = FERRY_WIRE_VERSION;

	/* BAD from the NIC on a zero UDP checksum: there is nothing to be
	 * bad, the datagram has no checksum */
	len = base_udp(f);
	ferry_st16(udp_of(f) + 6, 0);
	assert_int_equal(ferry_net_input(&b, f, len, FERRY_NET_RX_L4_CKSUM_BAD, &rx, &st), FERRY_NET_UDP);
}

static void test_arp_request_reply_in_place(void **state)
{
	(void)state;
	struct ferry_net_host b;
	struct ferry_net_stats st = {0};
	struct ferry_net_rx rx;
	uint8_t f[64], want[64];
	host_b(&b);

	uint16_t len = base_arp_req(f);
	/* padded to 60 bytes as it would arrive from a physical NIC */
	memset(f + len, 0, 60 - len);
	assert_int_equal(ferry_net_input(&b, f, 60, 0, &rx, &st), FERRY_NET_ARP_REQUEST);
	assert_int_equal(rx.reply_len, 42);
	assert_int_equal(rx.src_ip, IP_A);
	assert_memory_equal(rx.src_mac, MAC_A, 6);
	size_t n = hex2bin(K_ARP_REPLY_B_TO_A, want, sizeof(want));
	assert_int_equal(n, 42);
	assert_memory_equal(f, want, 42);
	assert_int_equal(st.verdict[FERRY_NET_ARP_REQUEST], 1);

	/* a unicast request (the kernel's refresh) is answered the same way */
	len = base_arp_req(f);
	memcpy(f, MAC_B, 6);
	assert_int_equal(ferry_net_input(&b, f, len, 0, &rx, &st), FERRY_NET_ARP_REQUEST);
	assert_memory_equal(f, want, 42);

	/* an RFC 5227 probe (sender 0.0.0.0) is answered, to the asker */
	len = base_arp_req(f);
	ferry_st32(f + 28, 0);
	assert_int_equal(ferry_net_input(&b, f, len, 0, &rx, &st), FERRY_NET_ARP_REQUEST);
	assert_int_equal(rx.src_ip, 0);
	assert_memory_equal(f, MAC_A, 6);
	assert_int_equal(ferry_ld16(f + 20), FERRY_ARP_OP_REPLY);
	assert_int_equal(ferry_ld32(f + 38), 0);
}

static void test_arp_replies_and_announcements(void **state)
{
	(void)state;
	struct ferry_net_host a, b;
	struct ferry_net_stats st = {0};
	struct ferry_net_rx rx;
	uint8_t f[64];
	host_a(&a);
	host_b(&b);

	/* B's kernel replying to A */
	uint16_t len = (uint16_t)hex2bin(K_ARP_REPLY_B_TO_A, f, sizeof(f));
	assert_int_equal(ferry_net_input(&a, f, len, 0, &rx, &st), FERRY_NET_ARP_REPLY);
	assert_int_equal(rx.src_ip, IP_B);
	assert_memory_equal(rx.src_mac, MAC_B, 6);
	assert_int_equal(rx.arp_announce, 0);

	/* A's gratuitous ARP seen by B: an update for B's cache, and said to
	 * be an announcement, which no request of B's solicited */
	len = (uint16_t)hex2bin(K_GARP_A, f, sizeof(f));
	assert_int_equal(ferry_net_input(&b, f, len, 0, &rx, &st), FERRY_NET_ARP_REPLY);
	assert_int_equal(rx.src_ip, IP_A);
	assert_memory_equal(rx.src_mac, MAC_A, 6);
	assert_int_equal(rx.arp_announce, 1);
	/* the same announcement as a reply (as some hosts send it) */
	ferry_st16(f + 20, FERRY_ARP_OP_REPLY);
	assert_int_equal(ferry_net_input(&b, f, len, 0, &rx, &st), FERRY_NET_ARP_REPLY);
	assert_int_equal(rx.arp_announce, 1);

	/* our own announcement coming back from a bridge is not a conflict */
	ferry_net_build_garp(&b, f);
	assert_int_equal(ferry_net_input(&b, f, 42, 0, &rx, &st), FERRY_NET_DROP);
	assert_int_equal(rx.drop, FERRY_DROP_ARP_NOT_FOR_US);
	assert_int_equal(st.drop[FERRY_DROP_ARP_IP_CONFLICT], 0);
}

static void test_icmp_echo_in_place(void **state)
{
	(void)state;
	struct ferry_net_host b;
	struct ferry_net_stats st = {0};
	struct ferry_net_rx rx;
	uint8_t f[128], want[128];
	host_b(&b);

	uint16_t len = base_echo(f);
	size_t wlen = hex2bin(K_ECHO_REPLY_B_TO_A, want, sizeof(want));
	assert_int_equal(ferry_net_input(&b, f, len, 0, &rx, &st), FERRY_NET_ICMP_ECHO);
	assert_int_equal(rx.reply_len, wlen);
	assert_int_equal(rx.src_ip, IP_A);
	/* Linux picked its own IPv4 ID for the reply (ferry keeps the
	 * request's); with that one field aligned the frames are identical */
	assert_int_equal(ferry_ld16(f + 18), 0x9cee);
	ferry_st16(f + 18, ferry_ld16(want + 18));
	fix_ip_cksum(f);
	assert_memory_equal(f, want, wlen);
	assert_int_equal(st.verdict[FERRY_NET_ICMP_ECHO], 1);
}

static void test_icmp_echo_with_options_and_padding(void **state)
{
	(void)state;
	struct ferry_net_host b;
	struct ferry_net_stats st = {0};
	struct ferry_net_rx rx;
	uint8_t req[128], f[128];
	host_b(&b);

	/* Insert 4 bytes of IPv4 options (NOP NOP NOP EOL) into the kernel's
	 * request and pad the frame: the reply drops both. */
	uint16_t len = base_echo(req);
	memcpy(f, req, 34);
	f[14] = 0x46;
	f[34] = 1, f[35] = 1, f[36] = 1, f[37] = 0;
	memcpy(f + 38, req + 34, len - 34);
	ferry_st16(f + 16, (uint16_t)(ferry_ld16(req + 16) + 4));
	fix_ip_cksum(f);
	uint16_t flen = (uint16_t)(len + 4 + 10);
	memset(f + len + 4, 0xee, 10);
	assert_int_equal(ferry_net_input(&b, f, flen, 0, &rx, &st), FERRY_NET_ICMP_ECHO);
	assert_int_equal(rx.reply_len, len);
	assert_int_equal(f[14], 0x45);
	assert_int_equal(ferry_ld16(f + 16), len - 14);
	assert_int_equal(ferry_cksum_sum(f + 14, 20, 0), 0xffff);
	assert_int_equal(ferry_cksum_sum(f + 34, len - 34, 0), 0xffff);
	assert_int_equal(f[34], 0);
	assert_memory_equal(f + 38, req + 38, len - 38); /* id, seq, data */
	assert_memory_equal(f, MAC_A, 6);
	assert_memory_equal(f + 6, MAC_B, 6);
	assert_int_equal(ferry_ld32(f + 26), IP_B);
	assert_int_equal(ferry_ld32(f + 30), IP_A);
}

static void test_every_prefix_of_a_frame(void **state)
{
	(void)state;
	/* No truncation of a valid frame may be accepted or read past its
	 * end (run under ASan/valgrind to see the latter). */
	struct ferry_net_host b;
	struct ferry_net_stats st = {0};
	struct ferry_net_rx rx;
	host_b(&b);
	for (int base = 0; base < 4; base++) {
		uint8_t tmpl[128];
		uint16_t full = base == 0   ? base_udp(tmpl)
				: base == 1 ? base_arp_req(tmpl)
				: base == 2 ? base_echo(tmpl)
					    : build_frag_needed(tmpl, 1400, 0);
		for (uint16_t n = 0; n < full; n++) {
			uint8_t *f = malloc(n ? n : 1);
			memcpy(f, tmpl, n);
			assert_int_equal(ferry_net_input(&b, f, n, 0, &rx, &st), FERRY_NET_DROP);
			free(f);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_drop_reason),
		cmocka_unit_test(test_drop_names),
		cmocka_unit_test(test_udp_delivered),
		cmocka_unit_test(test_nic_checksum_flags),
		cmocka_unit_test(test_arp_request_reply_in_place),
		cmocka_unit_test(test_arp_replies_and_announcements),
		cmocka_unit_test(test_icmp_echo_in_place),
		cmocka_unit_test(test_icmp_echo_with_options_and_padding),
		cmocka_unit_test(test_every_prefix_of_a_frame),
	};
	return cmocka_run_group_tests_name("net_rx", tests, NULL, NULL);
}
