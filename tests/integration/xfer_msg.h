/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ferry-xfer's messages: message k of a run is a function of (seed, k)
 * alone. Its length is drawn log-uniformly between min_size and max_size
 * (a power-of-two bucket, then a length within it, all in integers so that
 * every build and CPU draws the same); its bytes come from splitmix64
 * seeded with (seed, k). A message of XFER_MSG_HDR bytes or more starts
 * with {le64 k; le64 hash of the rest}, which only helps say what went
 * wrong: the check regenerates message k and compares every byte.
 */
#ifndef FERRY_XFER_MSG_H
#define FERRY_XFER_MSG_H

#include <stddef.h>
#include <stdint.h>

#define XFER_MSG_HDR 16 /* {le64 k; le64 hash of the rest} */

struct xfer_msgs {
	uint64_t seed;
	uint64_t min_size, max_size; /* 1 <= min_size <= max_size */
};

/** Write message k into @p buf (room for max_size). @return its length */
size_t xfer_msg_gen(const struct xfer_msgs *g, uint8_t *buf, uint64_t k);

/**
 * Compare what arrived as message k with message k regenerated in @p exp
 * (room for max_size).
 * @return 0 if equal, else -1 after printing to stderr what differs: a
 *         whole other message (lost, duplicated or reordered), a length,
 *         or the first byte
 */
int xfer_msg_verify(const struct xfer_msgs *g, const uint8_t *got, size_t len, uint64_t k,
		    uint8_t *exp);

#endif
