/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Bringing up DPDK's environment abstraction layer without ever exiting:
 * failures come back as -errno with a message that says what to do.
 */
#ifndef FERRY_PORT_EAL_H
#define FERRY_PORT_EAL_H

#include <stddef.h>

#include "port_eal_args.h"

/**
 * Read the free hugepages of the default size from /proc/meminfo.
 *
 * @param env out: zeroed when the file cannot be read or has no hugepages
 * @return 0, or -errno from opening /proc/meminfo
 */
int ferry_eal_read_env(struct ferry_eal_env *env);

/**
 * rte_eal_init() with @p a (copied: EAL reorders the array it is given).
 * Once per process: EAL cannot be initialised again, even after a failure.
 *
 * @param a       arguments from ferry_eal_args_build(); keep them until
 *                ferry_eal_cleanup()
 * @param err     on failure: what went wrong and what to run or set, e.g.
 *                "no usable hugepages: run scripts/setup-hugepages.sh or set
 *                eal.hugepages = off"
 * @param errlen  size of @p err
 * @return 0; -EALREADY when EAL is already up; another -errno from EAL
 *         (rte_errno) on failure
 */
int ferry_eal_init(const struct ferry_eal_args *a, char *err, size_t errlen);

/** rte_eal_cleanup(), once every port is closed. */
void ferry_eal_cleanup(void);

#endif
