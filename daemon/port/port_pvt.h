/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Private to daemon/port: the bring-up steps that recovery after a device
 * reset (port_reset.c) repeats, and the states teardown walks back.
 */
#ifndef FERRY_PORT_PVT_H
#define FERRY_PORT_PVT_H

#include "port.h"

/* p->state: bring-up progress, for teardown */
enum {
	ST_NONE = 0,
	ST_POOL,       /* mempool created */
	ST_CONFIGURED, /* rte_eth_dev_configure() done: close releases it */
	ST_STARTED,    /* rte_eth_dev_start() done */
};

/** rte_eth_dev_set_mtu(@p want) and check that the device kept it. */
int ferry_port_apply_mtu(struct ferry_port *p, uint16_t want, char *err, size_t errlen);

/** Set up p->nb_queues RX/TX queue pairs on p->pool with p's offloads. */
int ferry_port_setup_queues(struct ferry_port *p, const struct rte_eth_dev_info *info, char *err,
			    size_t errlen);

/** Promiscuous mode off, then start; p->state and p->running follow. */
int ferry_port_start_configured(struct ferry_port *p, char *err, size_t errlen);

#endif
