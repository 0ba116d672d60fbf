/* SPDX-License-Identifier: BSD-3-Clause */
#include "port_desc.h"

#include <errno.h>
#include <stdio.h>

static int allowed(int64_t v, const struct ferry_desc_lim *lim)
{
	uint16_t align = lim->nb_align ? lim->nb_align : 1;

	return v > 0 && (v & (v - 1)) == 0 && v >= lim->nb_min && v <= lim->nb_max &&
	       v % align == 0;
}

int ferry_port_desc_check(const char *setting, int64_t value, const char *dev,
			  const struct ferry_desc_lim *lim, char *err, size_t errlen)
{
	size_t n;
	int count = 0, shown = 0;

	if (allowed(value, lim))
		return 0;
	for (int64_t v = 1; v <= 65536; v <<= 1)
		count += allowed(v, lim);
	n = (size_t)snprintf(err, errlen, "%s = %lld, but %s takes ", setting, (long long)value, dev);
	if (count == 0) {
		snprintf(err + (n < errlen ? n : errlen), n < errlen ? errlen - n : 0,
			 "no power of two: its limits are %u..%u, a multiple of %u", lim->nb_min,
			 lim->nb_max, lim->nb_align ? lim->nb_align : 1);
		return -EINVAL;
	}
	/* at most 17 powers of two fit in 16 bits: list them all */
	for (int64_t v = 1; v <= 65536; v <<= 1) {
		if (!allowed(v, lim))
			continue;
		shown++;
		n += (size_t)snprintf(err + (n < errlen ? n : errlen), n < errlen ? errlen - n : 0,
				      "%s%lld", shown == 1 ? "" : shown == count ? " or " : ", ",
				      (long long)v);
	}
	snprintf(err + (n < errlen ? n : errlen), n < errlen ? errlen - n : 0,
		 count == 1 ? ": set %s to it" : ": set %s to one of them", setting);
	return -EINVAL;
}
