/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Transport sequence numbers: uint32 that wrap.
 *
 * Comparisons are serial-number arithmetic (RFC 1982 style): a is before b
 * when the signed 32-bit difference a - b is negative. This orders any two
 * numbers less than 2^31 apart, whichever side of 2^32 they sit; every
 * window in the transport is far smaller (at most 2^15 packets), so the
 * ambiguous case never arises between live sequence numbers.
 */
#ifndef FERRY_TRANSPORT_SEQ_H
#define FERRY_TRANSPORT_SEQ_H

#include <stdbool.h>
#include <stdint.h>

/** @return b - a as a signed distance: > 0 when b is after a. */
static inline int32_t ferry_seq_diff(uint32_t b, uint32_t a)
{
	return (int32_t)(b - a);
}

/** @return true when a comes before b. */
static inline bool ferry_seq_lt(uint32_t a, uint32_t b)
{
	return ferry_seq_diff(a, b) < 0;
}

/** @return true when a comes before b or equals it. */
static inline bool ferry_seq_le(uint32_t a, uint32_t b)
{
	return ferry_seq_diff(a, b) <= 0;
}

/** @return true when a comes after b. */
static inline bool ferry_seq_gt(uint32_t a, uint32_t b)
{
	return ferry_seq_diff(a, b) > 0;
}

/** @return true when a comes after b or equals it. */
static inline bool ferry_seq_ge(uint32_t a, uint32_t b)
{
	return ferry_seq_diff(a, b) >= 0;
}

/** @return true when lo <= s < lo + len (len < 2^31). */
static inline bool ferry_seq_in(uint32_t s, uint32_t lo, uint32_t len)
{
	return s - lo < len;
}

/*
 * The ack fields, as rxwin builds them and sack reads them:
 *
 *   cum_ack  the next sequence number the receiver expects; every number
 *            before it has arrived
 *   sack     bit i (least significant = 0) is set when cum_ack + 1 + i has
 *            arrived. cum_ack itself is missing by definition, so the map
 *            starts one past it and covers cum_ack + 1 .. cum_ack + 64.
 *
 * The receiver never discards what it has acknowledged (selectively or
 * not), so a sender may stop tracking a packet once any ack covers it.
 */
#define FERRY_ACK_SACK_BITS 64

#endif
