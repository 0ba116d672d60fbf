/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Descriptor counts against a driver's limits, before any queue is set up:
 * a count the driver cannot take would otherwise fail deep in
 * rte_eth_rx_queue_setup() with EINVAL and a message in the PMD's log that
 * names no setting. Pure (no DPDK), so the rule is unit-tested.
 *
 * The rule: a power of two (ENA rejects anything else without saying so in
 * dev_info, and every DPDK driver takes a power of two that fits its
 * limits), between the driver's nb_min and nb_max, a multiple of its
 * nb_align.
 */
#ifndef FERRY_PORT_DESC_H
#define FERRY_PORT_DESC_H

#include <stddef.h>
#include <stdint.h>

/** rte_eth_desc_lim's counts, copied so this file needs no DPDK. */
struct ferry_desc_lim {
	uint16_t nb_min, nb_max, nb_align; /* nb_align 0 means 1 */
};

/**
 * Check @p value against @p lim.
 *
 * @param setting  the setting's name for the message, e.g. "port.rx_desc"
 * @param value    its value
 * @param dev      the device for the message, e.g. "0000:00:06.0 (net_ena)"
 * @param lim      the driver's limits (dev_info.rx_desc_lim or tx_desc_lim)
 * @param err      on failure: one line naming the setting, its value, and
 *                 the values the driver takes, e.g. "port.rx_desc = 1000,
 *                 but 0000:00:06.0 (net_ena) takes 128, 256, 512, 1024,
 *                 2048, 4096 or 8192: set port.rx_desc to one of them"
 * @param errlen   size of @p err
 * @return 0 when @p value is allowed, -EINVAL otherwise
 */
int ferry_port_desc_check(const char *setting, int64_t value, const char *dev,
			  const struct ferry_desc_lim *lim, char *err, size_t errlen);

#endif
