/* SPDX-License-Identifier: BSD-3-Clause */
/* Byte counts on the tools' command lines: "32", "1K", "8M", "1GB". */
#ifndef FERRY_SIZEARG_H
#define FERRY_SIZEARG_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

/**
 * A whole decimal number with an optional K, M or G (powers of 1024) and
 * an optional B, nothing before or after it.
 * @return false (and *out untouched) for anything else or an overflow
 */
static inline bool parse_bytes(const char *s, uint64_t *out)
{
	char *end;
	if (s == NULL || *s < '0' || *s > '9')
		return false;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno)
		return false;
	unsigned shift = 0;
	switch (*end) {
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	}
	if (*end == 'b' || *end == 'B')
		end++;
	if (*end != '\0' || v > (UINT64_MAX >> shift))
		return false;
	*out = (uint64_t)v << shift;
	return true;
}

#endif
