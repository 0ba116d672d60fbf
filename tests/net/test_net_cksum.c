/* SPDX-License-Identifier: BSD-3-Clause */
/* Internet checksum: RFC 1071's worked example, a two-bytes-at-a-time
 * reference over every length and alignment, the pseudo-header sum, the
 * RFC 1624 incremental update, and headers the Linux kernel produced. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "net_test_util.h"

/* Textbook version: big-endian 16-bit words, carries folded at the end. */
static uint16_t ref_sum(const uint8_t *p, size_t len)
{
	uint64_t s = 0;
	for (size_t i = 0; i + 1 < len; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		s += (uint32_t)p[len - 1] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

static void test_rfc1071_example(void **state)
{
	(void)state;
	/* RFC 1071 section 3: 0001 + f203 + f4f5 + f6f7 = ddf2 */
	const uint8_t b[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
	assert_int_equal(ferry_cksum_sum(b, sizeof(b), 0), 0xddf2);
	assert_int_equal((uint16_t)~ferry_cksum_sum(b, sizeof(b), 0), 0x220d);
	assert_int_equal(ferry_cksum_sum(b, 0, 0), 0);
	assert_int_equal(ferry_cksum_sum(b, 1, 0), 0x0000);
	assert_int_equal(ferry_cksum_sum(b + 2, 1, 0), 0xf200);
}

static void test_every_length_and_alignment(void **state)
{
	(void)state;
	uint8_t buf[9100 + 8];
	srand(7);
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)rand();
	for (size_t off = 0; off < 8; off++)
		for (size_t len = 0; len <= 300; len++)
			assert_int_equal(ferry_cksum_sum(buf + off, len, 0), ref_sum(buf + off, len));
	assert_int_equal(ferry_cksum_sum(buf + 3, 9100, 0), ref_sum(buf + 3, 9100));
	/* past the 1 MiB chunk the sum is split into */
	size_t big = (5u << 19) + 7;
	uint8_t *b = malloc(big);
	assert_non_null(b);
	for (size_t i = 0; i < big; i++)
		b[i] = (uint8_t)(i * 131 + (i >> 11));
	assert_int_equal(ferry_cksum_sum(b + 1, big - 1, 0), ref_sum(b + 1, big - 1));
	memset(b, 0xff, big);
	assert_int_equal(ferry_cksum_sum(b, big - 1, 0), 0xffff); /* even length */
	free(b);
	/* all ones: the sum saturates at 0xffff, never wraps to 0 */
	memset(buf, 0xff, 64);
	assert_int_equal(ferry_cksum_sum(buf, 64, 0), 0xffff);
}

static void test_chaining(void **state)
{
	(void)state;
	uint8_t buf[200];
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 37 + 11);
	for (size_t cut = 0; cut <= 198; cut += 2) {
		uint16_t a = ferry_cksum_sum(buf, cut, 0);
		assert_int_equal(ferry_cksum_sum(buf + cut, sizeof(buf) - 1 - cut, a),
				 ref_sum(buf, sizeof(buf) - 1));
	}
	assert_int_equal(ferry_cksum_add(0xffff, 0x0001), 0x0001);
	assert_int_equal(ferry_cksum_add(0x8000, 0x8000), 0x0001);
}

static void test_phdr_sum(void **state)
{
	(void)state;
	/* 10.99.0.1 -> 10.99.0.2, UDP, 20 bytes: 0a63+0001+0a63+0002+0011+0014 */
	assert_int_equal(ferry_ipv4_phdr_sum(IP_A, IP_B, 17, 20), 0x14ee);
	/* carries fold: ffff.ffff -> ffff.ffff, UDP, 0xffff */
	uint8_t ph[12] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 17, 0xff, 0xff};
	assert_int_equal(ferry_ipv4_phdr_sum(0xffffffffu, 0xffffffffu, 17, 0xffff), ref_sum(ph, 12));
}

static void test_incremental_update(void **state)
{
	(void)state;
	uint8_t buf[64];
	srand(11);
	for (int round = 0; round < 2000; round++) {
		for (size_t i = 0; i < sizeof(buf); i++)
			buf[i] = (uint8_t)rand();
		ferry_st16(buf + 2, 0);
		uint16_t ck = (uint16_t)~ferry_cksum_sum(buf, sizeof(buf), 0);
		ferry_st16(buf + 2, ck);
		size_t w = 4 + 2 * (size_t)(rand() % 30);
		uint16_t old = ferry_ld16(buf + w), nw = (uint16_t)rand();
		if (round % 5 == 0)
			nw = 0;
		ferry_st16(buf + w, nw);
		ck = ferry_cksum_update16(ck, old, nw);
		ferry_st16(buf + 2, ck);
		assert_int_equal(ferry_cksum_sum(buf, sizeof(buf), 0), 0xffff);
	}
}

/* An echo request with identifier, sequence and data all zero: its reply
 * is all zero but for the checksum, which must be 0xffff to verify. */
static void test_incremental_update_to_zero_data(void **state)
{
	(void)state;
	uint8_t icmp[8] = {8, 0, 0, 0, 0, 0, 0, 0};
	ferry_st16(icmp + 2, (uint16_t)~ferry_cksum_sum(icmp, sizeof(icmp), 0));
	assert_int_equal(ferry_ld16(icmp + 2), 0xf7ff);
	ferry_st16(icmp + 2, ferry_cksum_update16(0xf7ff, 0x0800, 0x0000));
	icmp[0] = 0;
	assert_int_equal(ferry_ld16(icmp + 2), 0xffff);
	assert_int_equal(ferry_cksum_sum(icmp, sizeof(icmp), 0), 0xffff);
}

static void test_kernel_headers_verify(void **state)
{
	(void)state;
	uint8_t f[128];
	size_t n = hex2bin(K_UDP_A_TO_B, f, sizeof(f));
	uint8_t *ip = f + 14, *udp = f + 34;
	assert_int_equal(ferry_cksum_sum(ip, 20, 0), 0xffff);
	assert_int_equal(ferry_cksum_sum(udp, n - 34, ferry_ipv4_phdr_sum(IP_A, IP_B, 17, (uint16_t)(n - 34))),
			 0xffff);
	uint16_t stored = ferry_ld16(udp + 6);
	ferry_st16(udp + 6, 0);
	assert_int_equal(ferry_ipv4_udp_cksum(IP_A, IP_B, udp, (uint16_t)(n - 34)), stored);
	ferry_st16(ip + 10, 0);
	assert_int_equal(ferry_ipv4_hdr_cksum(ip, 20), 0xaa4b);

	n = hex2bin(K_ECHO_REPLY_B_TO_A, f, sizeof(f));
	assert_int_equal(ferry_cksum_sum(f + 14, 20, 0), 0xffff);
	assert_int_equal(ferry_cksum_sum(f + 34, n - 34, 0), 0xffff);
}

static void test_udp_zero_becomes_ffff(void **state)
{
	(void)state;
	/* Find a payload whose checksum computes to 0: it must go out as
	 * 0xffff, since 0 means "no checksum". The pseudo-header sum for
	 * 10.99.0.1 -> 10.99.0.2, len 10 is fixed; choose the last word so the
	 * total is 0xffff. */
	uint8_t udp[10] = {0x9c, 0x40, 0x7c, 0x6a, 0x00, 0x0a, 0, 0, 0, 0};
	uint16_t s = ferry_cksum_sum(udp, 10, ferry_ipv4_phdr_sum(IP_A, IP_B, 17, 10));
	ferry_st16(udp + 8, (uint16_t)~s);
	assert_int_equal(ferry_cksum_sum(udp, 10, ferry_ipv4_phdr_sum(IP_A, IP_B, 17, 10)), 0xffff);
	assert_int_equal(ferry_ipv4_udp_cksum(IP_A, IP_B, udp, 10), 0xffff);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc1071_example),
		cmocka_unit_test(test_every_length_and_alignment),
		cmocka_unit_test(test_chaining),
		cmocka_unit_test(test_phdr_sum),
		cmocka_unit_test(test_incremental_update),
		cmocka_unit_test(test_incremental_update_to_zero_data),
		cmocka_unit_test(test_kernel_headers_verify),
		cmocka_unit_test(test_udp_zero_becomes_ffff),
	};
	return cmocka_run_group_tests_name("net_cksum", tests, NULL, NULL);
}
