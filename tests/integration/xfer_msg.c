/* SPDX-License-Identifier: BSD-3-Clause */
/* ferry-xfer's messages: see xfer_msg.h. */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "xfer_msg.h"

static inline uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

enum { STREAM_LEN = 0x4c454e, STREAM_DATA = 0x44415441 };

/* The generator state of message k's length or bytes: seed and k through
 * two rounds of splitmix64, so neighbouring seeds and indexes give
 * unrelated streams. */
static uint64_t stream(uint64_t seed, uint64_t k, uint64_t which)
{
	uint64_t x = seed ^ (which << 40);
	x = splitmix64(&x) ^ (k * 0xd1b54a32d192ed03ull);
	return splitmix64(&x);
}

static inline void put_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline uint64_t get_le64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

static unsigned ilog2(uint64_t v)
{
	return 63u - (unsigned)__builtin_clzll(v);
}

/* Log-uniform in [lo, hi]: a power-of-two bucket uniformly, then a length
 * uniformly within the bucket's part of [lo, hi]. Integers only. */
static size_t msg_len(uint64_t seed, uint64_t k, uint64_t lo, uint64_t hi)
{
	uint64_t st = stream(seed, k, STREAM_LEN);
	unsigned blo = ilog2(lo), bhi = ilog2(hi);
	unsigned b = blo + (unsigned)(splitmix64(&st) % (bhi - blo + 1));
	uint64_t a = 1ull << b, z = (a << 1) - 1;
	if (a < lo)
		a = lo;
	if (z > hi)
		z = hi;
	return (size_t)(a + splitmix64(&st) % (z - a + 1));
}

static void fill(uint8_t *p, size_t n, uint64_t *st)
{
	size_t i = 0;
	for (; i + 8 <= n; i += 8)
		put_le64(p + i, splitmix64(st));
	if (i < n)
		for (uint64_t w = splitmix64(st); i < n; i++, w >>= 8)
			p[i] = (uint8_t)w;
}

/* Hash of a message's bytes after the header, for diagnosis only. */
static uint64_t hash_rest(const uint8_t *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull ^ n;
	size_t i = 0;
	for (; i + 8 <= n; i += 8) {
		h = (h ^ get_le64(p + i)) * 0x100000001b3ull;
		h ^= h >> 29;
	}
	for (; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	h ^= h >> 32;
	h *= 0xd6e8feb86659fd93ull;
	return h ^ (h >> 32);
}

size_t xfer_msg_gen(const struct xfer_msgs *g, uint8_t *buf, uint64_t k)
{
	size_t len = msg_len(g->seed, k, g->min_size, g->max_size);
	uint64_t st = stream(g->seed, k, STREAM_DATA);
	if (len < XFER_MSG_HDR) {
		fill(buf, len, &st);
		return len;
	}
	fill(buf + XFER_MSG_HDR, len - XFER_MSG_HDR, &st);
	put_le64(buf, k);
	put_le64(buf + 8, hash_rest(buf + XFER_MSG_HDR, len - XFER_MSG_HDR));
	return len;
}

int xfer_msg_verify(const struct xfer_msgs *g, const uint8_t *got, size_t len, uint64_t k,
		    uint8_t *exp)
{
	size_t elen = xfer_msg_gen(g, exp, k);
	if (len == elen && memcmp(got, exp, len) == 0)
		return 0;
	if (len >= XFER_MSG_HDR) {
		uint64_t hk = get_le64(got);
		if (hk != k && hash_rest(got + XFER_MSG_HDR, len - XFER_MSG_HDR) == get_le64(got + 8)) {
			/* intact by its own header: is it exactly message hk? */
			size_t hlen = xfer_msg_gen(g, exp, hk);
			if (hlen == len && memcmp(got, exp, len) == 0) {
				fprintf(stderr, "recv: expected message %" PRIu64 ", got %" PRIu64 " (%s)\n",
					k, hk, hk > k ? "a loss or reorder" : "a duplicate or reorder");
				return -1;
			}
			xfer_msg_gen(g, exp, k);
		}
	}
	/* a well-formed message k, but not the one expected: the other side
	 * draws from other parameters */
	bool other = len >= XFER_MSG_HDR && get_le64(got) == k &&
		     hash_rest(got + XFER_MSG_HDR, len - XFER_MSG_HDR) == get_le64(got + 8);
	const char *hint = other ? " (intact by its own header, so drawn differently: the same "
				   "--seed, --min-size and --max-size, clamped alike, on both sides?)"
				 : "";
	if (len != elen) {
		fprintf(stderr, "recv: message %" PRIu64 ": length %zu expected %zu%s\n", k, len, elen,
			hint);
		return -1;
	}
	size_t at = 0, ndiff = 0;
	for (size_t i = 0; i < len; i++)
		if (got[i] != exp[i] && ndiff++ == 0)
			at = i;
	fprintf(stderr, "recv: message %" PRIu64 ": content differs at byte %zu (got 0x%02x, expected "
			"0x%02x; %zu of %zu bytes differ%s)%s\n",
		k, at, got[at], exp[at], ndiff, len, at < XFER_MSG_HDR ? "; in the header" : "", hint);
	return -1;
}
