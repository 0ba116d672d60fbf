/* SPDX-License-Identifier: BSD-3-Clause */
/* Decoding untrusted text (client names in counter labels) for output. */
#ifndef FERRY_UTF8_H
#define FERRY_UTF8_H

#include <stddef.h>
#include <stdint.h>

/**
 * Length of the valid UTF-8 sequence at @p s (@p n > 0 bytes left) with
 * its code point in *cp.
 * @return 1..4, or 0 when the bytes are not valid UTF-8 (overlong forms,
 *         surrogates and values past U+10FFFF included)
 */
static inline size_t utf8_next(const unsigned char *s, size_t n, uint32_t *cp)
{
	static const uint32_t min[5] = {0, 0, 0x80, 0x800, 0x10000};
	uint32_t c = s[0];
	size_t len = c < 0x80 ? 1 : c >> 5 == 6 ? 2 : c >> 4 == 14 ? 3 : c >> 3 == 30 ? 4 : 0;
	if (len == 0 || len > n)
		return 0;
	if (len > 1)
		c &= 0x7f >> len;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if (c < min[len] || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

/** True for C0 controls, DEL and C1 controls. */
static inline int utf8_is_control(uint32_t cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp < 0xa0);
}

#endif
