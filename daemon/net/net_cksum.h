/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Internet checksum (RFC 1071) for IPv4, UDP and ICMP, in software.
 *
 * Every value these functions take or return is a 16-bit number in host
 * byte order whose big-endian encoding is what goes on the wire: store it
 * with ferry_st16(), compare it with ferry_ld16(). A "sum" is the one's
 * complement sum before the final inversion; a "checksum" is inverted.
 */
#ifndef FERRY_NET_CKSUM_H
#define FERRY_NET_CKSUM_H

#include <stddef.h>
#include <stdint.h>

/**
 * One's complement sum of @p len bytes at @p buf, added to @p sum.
 *
 * @param buf  bytes, any alignment
 * @param len  byte count; when chaining calls, every chunk but the last
 *             must have an even length (an odd byte pads with zero)
 * @param sum  a previous sum to continue from, 0 to start
 * @return the folded 16-bit sum, not inverted (0xffff for an all-ones
 *         buffer and for a buffer that carries its own valid checksum)
 */
uint16_t ferry_cksum_sum(const void *buf, size_t len, uint16_t sum);

/** @return the one's complement sum of two sums. */
static inline uint16_t ferry_cksum_add(uint16_t a, uint16_t b)
{
	uint32_t s = (uint32_t)a + b;
	return (uint16_t)((s & 0xffff) + (s >> 16));
}

/**
 * Sum of the IPv4 pseudo-header {src, dst, 0, proto, l4_len}, not inverted.
 * This is what a NIC doing UDP checksum offload expects in the UDP checksum
 * field (the value DPDK's rte_ipv4_phdr_cksum() computes).
 *
 * @param src, dst  addresses, host byte order
 * @param proto     IP protocol number
 * @param l4_len    UDP length (header + payload)
 */
uint16_t ferry_ipv4_phdr_sum(uint32_t src, uint32_t dst, uint8_t proto, uint16_t l4_len);

/**
 * Checksum of an IPv4 header whose checksum field is zero.
 *
 * @param iph  the header
 * @param hlen its length in bytes (IHL * 4)
 * @return the value to store in the checksum field
 */
static inline uint16_t ferry_ipv4_hdr_cksum(const uint8_t *iph, size_t hlen)
{
	return (uint16_t)~ferry_cksum_sum(iph, hlen, 0);
}

/**
 * UDP checksum over the pseudo-header and @p udp_len bytes at @p udp whose
 * checksum field is zero.
 *
 * @param src, dst  IPv4 addresses, host byte order
 * @return the value to store; 0xffff where the arithmetic gives 0, since a
 *         zero UDP checksum means "none" (RFC 768)
 */
uint16_t ferry_ipv4_udp_cksum(uint32_t src, uint32_t dst, const uint8_t *udp, uint16_t udp_len);

/**
 * Incremental checksum update (RFC 1624, eqn. 3) when one 16-bit word of
 * the covered data changes from @p old_word to @p new_word.
 *
 * @param cksum  the checksum as stored in the header
 * @return the checksum to store after the change, never 0x0000: eqn. 3
 *         gives 0x0000 when the covered data now sums to zero (only
 *         all-zero data does), where only 0xffff verifies; and 0xffff
 *         verifies wherever 0x0000 does
 */
static inline uint16_t ferry_cksum_update16(uint16_t cksum, uint16_t old_word, uint16_t new_word)
{
	uint16_t s = ferry_cksum_add((uint16_t)~cksum, (uint16_t)~old_word);
	uint16_t c = (uint16_t)~ferry_cksum_add(s, new_word);
	return c ? c : 0xffff;
}

#endif
