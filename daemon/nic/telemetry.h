/* SPDX-License-Identifier: BSD-3-Clause */
/* Private to ferryd: ferry's counters through DPDK telemetry. */
#ifndef FERRY_TELEMETRY_H
#define FERRY_TELEMETRY_H

#include "ferry_config.h"
#include "status.h"

/**
 * Register /ferry/info and /ferry/counters with DPDK telemetry, so
 * dpdk-telemetry.py (and anything speaking its socket protocol) can query
 * a running ferryd. Call after EAL is up; the arguments must outlive EAL.
 * @return 0 or -errno
 */
int telemetry_init(const struct ferry_config *cfg, const struct fstatus *st,
		   const char *nic_desc);

#endif
