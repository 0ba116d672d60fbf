/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ferry-port-probe: bring a port up exactly as ferryd would, say what it
 * found, and stop. For checking a host's setup (hugepages, NIC binding,
 * vdev arguments) before starting the daemon, and for the test lab.
 *
 *   ferry-port-probe --hugepages off --file-prefix probe \
 *       --vdev net_af_packet0,iface=veth0
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_ethdev.h>

#include "port.h"
#include "port_cli.h"
#include "port_eal.h"
#include "port_eal_args.h"

static void print_counter(void *arg, const char *name, uint64_t value)
{
	(void)arg;
	printf("  %-40s %" PRIu64 "\n", name, value);
}

int main(int argc, char **argv)
{
	struct ferry_port_cli cli;
	struct ferry_eal_env env;
	struct ferry_eal_args eal;
	struct ferry_port *port = NULL;
	struct rte_eth_link link;
	char err[512], line[1024], speed[16];
	int rc;

	rc = ferry_port_cli_parse(&cli, argc, argv, stderr);
	if (rc)
		return rc > 0 ? 0 : 2;
	ferry_eal_read_env(&env);
	if (ferry_eal_args_build(&cli.cfg, &env, "ferry-port-probe", &eal, err, sizeof(err))) {
		fprintf(stderr, "ferry-port-probe: %s\n", err);
		return 1;
	}
	ferry_eal_args_format(&eal, line, sizeof(line));
	printf("eal: %s\n", line);
	printf("hugepages: %ld free of %ld kB -> %s\n", env.free_hugepages, env.hugepage_kb,
	       eal.hugepages ? "on (--in-memory)" : "off (--no-huge)");
	fflush(stdout);
	if (ferry_eal_init(&eal, err, sizeof(err))) {
		fprintf(stderr, "ferry-port-probe: %s\n", err);
		ferry_eal_args_free(&eal);
		return 1;
	}
	rc = ferry_port_open(&cli.cfg, &port, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "ferry-port-probe: %s\n", err);
		ferry_eal_cleanup();
		ferry_eal_args_free(&eal);
		return 1;
	}

	printf("port: %u %s (driver %s), NUMA socket %d\n", port->port_id, port->name, port->driver,
	       port->socket_id);
	printf("mac: %02x:%02x:%02x:%02x:%02x:%02x%s\n", port->mac[0], port->mac[1], port->mac[2],
	       port->mac[3], port->mac[4], port->mac[5],
	       port->mac_generated ? " (generated: the device has none)" : "");
	printf("mtu: %u\n", port->mtu);
	printf("queues: %u (rx_desc %u, tx_desc %u), pool %u mbufs\n", port->nb_queues, port->nb_rxd,
	       port->nb_txd, port->pool->size);
	ferry_port_offloads_str(port, line, sizeof(line));
	printf("offloads: %s\n", line);
	printf("checksums: rx %s, tx ipv4 %s, tx udp %s\n", port->rx_cksum_hw ? "hardware" : "software",
	       port->tx_cksum_flags & FERRY_NET_TX_IPV4_CKSUM_HW ? "hardware" : "software",
	       port->tx_cksum_flags & FERRY_NET_TX_UDP_CKSUM_HW ? "hardware" : "software");
	memset(&link, 0, sizeof(link));
	rte_eth_link_get_nowait(port->port_id, &link);
	if (link.link_speed == RTE_ETH_SPEED_NUM_UNKNOWN)
		snprintf(speed, sizeof(speed), "unknown");
	else
		snprintf(speed, sizeof(speed), "%u", link.link_speed);
	printf("link: %s, %s Mb/s, %s-duplex%s\n", link.link_status ? "up" : "down", speed,
	       link.link_duplex ? "full" : "half", link.link_autoneg ? ", autoneg" : "");
	if (cli.counters) {
		printf("counters:\n");
		ferry_port_counters(port, print_counter, NULL);
	}
	ferry_port_close(port);
	ferry_eal_cleanup();
	ferry_eal_args_free(&eal);
	printf("stopped\n");
	return 0;
}
