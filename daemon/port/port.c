/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Port bring-up and teardown. Every step that acquires something advances
 * p->state; teardown() walks the states back down, so the error path of
 * ferry_port_open() and ferry_port_close() are the same code and cannot
 * drift apart. Nothing here calls rte_exit(): errors return with a message
 * that names the setting to change.
 */
#include "port.h"

#include <errno.h>
#include <numa.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rte_errno.h>
#include <rte_timer.h>

#include "ferry_config.h"
#include "port_desc.h"
#include "port_intr.h"
#include "port_pvt.h"

#define POOL_CACHE 256
#define MIN_SPARE_MBUFS 512 /* beyond the descriptors: bursts, queued ARP, replies */

static void teardown(struct ferry_port *p)
{
	switch (p->state) {
	case ST_STARTED:
		p->running = false;
		rte_eth_dev_stop(p->port_id);
		/* fall through */
	case ST_CONFIGURED:
		/* close frees the queues and the mbufs they hold, so it must
		 * come before the pool goes */
		rte_eth_dev_close(p->port_id);
		/* fall through */
	case ST_POOL:
		rte_mempool_free(p->pool);
		p->pool = NULL;
		/* fall through */
	case ST_NONE:
		break;
	}
	p->state = ST_NONE;
}

static int find_port(const struct ferry_config *cfg, uint16_t *port_id, char *err, size_t errlen)
{
	uint16_t n = rte_eth_dev_count_avail(), pid, only = 0;
	bool explicit_id = cfg->src[FERRY_CFG_port_id] != FERRY_SRC_DEFAULT;

	if (n == 0) {
		snprintf(err, errlen,
			 "no DPDK port: set eal.vdevs (e.g. net_af_packet0,iface=eth1), or bind a NIC "
			 "to vfio-pci (scripts/bind-nic.sh bind 0000:00:06.0; on AWS "
			 "scripts/setup-aws.sh) and list it in eal.allow");
		return -ENODEV;
	}
	if (cfg->port_id >= 0 && cfg->port_id < RTE_MAX_ETHPORTS &&
	    rte_eth_dev_is_valid_port((uint16_t)cfg->port_id)) {
		*port_id = (uint16_t)cfg->port_id;
		return 0;
	}
	RTE_ETH_FOREACH_DEV(pid)
		only = pid;
	if (n == 1 && !explicit_id) {
		*port_id = only;
		return 0;
	}
	snprintf(err, errlen, "port.id = %lld is not a DPDK port; %u port(s) exist, the last is %u",
		 (long long)cfg->port_id, n, only);
	return -ENODEV;
}

/* The largest MTU the device takes. Many drivers leave max_mtu at 65535
 * and state only max_rx_pktlen (net_af_packet: 1518), so the limit is
 * derived the way ethdev validates it: max_rx_pktlen less the L2 overhead,
 * which is max_rx_pktlen - max_mtu when max_mtu is set, else header + CRC. */
static uint16_t port_max_mtu(const struct rte_eth_dev_info *info)
{
	uint32_t overhead = RTE_ETHER_HDR_LEN + RTE_ETHER_CRC_LEN;
	uint32_t m = info->max_mtu;

	if (info->max_mtu != UINT16_MAX && info->max_rx_pktlen > info->max_mtu)
		overhead = info->max_rx_pktlen - info->max_mtu;
	if (info->max_rx_pktlen > overhead && info->max_rx_pktlen - overhead < m)
		m = info->max_rx_pktlen - overhead;
	return (uint16_t)m;
}

static uint16_t clamp16(int64_t v, uint16_t lo, uint16_t hi)
{
	return v < lo ? lo : v > hi ? hi : (uint16_t)v;
}

/* Checked, never adjusted: a count silently changed at start would make
 * port.rx_desc mean something else on every driver. */
static int check_desc(struct ferry_port *p, const struct ferry_config *cfg,
		      const struct rte_eth_dev_info *info, char *err, size_t errlen)
{
	const struct ferry_desc_lim rx = {info->rx_desc_lim.nb_min, info->rx_desc_lim.nb_max,
					  info->rx_desc_lim.nb_align};
	const struct ferry_desc_lim tx = {info->tx_desc_lim.nb_min, info->tx_desc_lim.nb_max,
					  info->tx_desc_lim.nb_align};
	char dev[RTE_ETH_NAME_MAX_LEN + 40];
	int rc;

	snprintf(dev, sizeof(dev), "%s (%s)", p->name, p->driver);
	rc = ferry_port_desc_check("port.rx_desc", cfg->port_rx_desc, dev, &rx, err, errlen);
	if (rc == 0)
		rc = ferry_port_desc_check("port.tx_desc", cfg->port_tx_desc, dev, &tx, err, errlen);
	if (rc)
		return rc;
	p->nb_rxd = (uint16_t)cfg->port_rx_desc;
	p->nb_txd = (uint16_t)cfg->port_tx_desc;
	return 0;
}

static int create_pool(struct ferry_port *p, const struct ferry_config *cfg,
		       const struct rte_eth_dev_info *info, char *err, size_t errlen)
{
	char name[RTE_MEMPOOL_NAMESIZE];
	unsigned n = (unsigned)cfg->port_mbufs;
	unsigned need = (unsigned)p->nb_queues * (p->nb_rxd + p->nb_txd) + MIN_SPARE_MBUFS;
	unsigned cache = POOL_CACHE;
	/* one segment per frame: MTU + Ethernet + a VLAN tag of slack,
	 * rounded up so jumbo pools stay cache-line friendly */
	uint32_t room = RTE_ALIGN_CEIL((uint32_t)p->mtu + RTE_ETHER_HDR_LEN + RTE_VLAN_HLEN, 1024u);
	int socket = rte_eth_dev_socket_id(p->port_id);

	if (room < RTE_MBUF_DEFAULT_DATAROOM)
		room = RTE_MBUF_DEFAULT_DATAROOM;
	if (room < info->min_rx_bufsize)
		room = info->min_rx_bufsize;
	if (n < need) {
		snprintf(err, errlen,
			 "port.mbufs = %u is too small for %u queue(s) of %u RX + %u TX descriptors: "
			 "set port.mbufs >= %u",
			 n, p->nb_queues, p->nb_rxd, p->nb_txd, need);
		return -EINVAL;
	}
	while (cache > 1 && cache * 3 / 2 > n)
		cache /= 2;
	snprintf(name, sizeof(name), "ferry_pool_%u", p->port_id);

	p->pool = NULL;
	if (socket >= 0)
		p->pool = rte_pktmbuf_pool_create(name, n, cache, 0, (uint16_t)(room + RTE_PKTMBUF_HEADROOM),
						  socket);
	if (!p->pool) {
		/* Unknown socket (vdevs report -1), or no memory on the
		 * port's node: any node is slower than failing. */
		if (socket >= 0 && numa_available() >= 0)
			fprintf(stderr,
				"ferry: no memory for the mbuf pool on NUMA node %d (of %d); using any node\n",
				socket, numa_max_node() + 1);
		socket = SOCKET_ID_ANY;
		p->pool = rte_pktmbuf_pool_create(name, n, cache, 0, (uint16_t)(room + RTE_PKTMBUF_HEADROOM),
						  socket);
	}
	if (!p->pool) {
		snprintf(err, errlen,
			 "cannot create a pool of %u mbufs of %u bytes (%s): lower port.mbufs or "
			 "port.mtu, or raise eal.memory_mb",
			 n, room + RTE_PKTMBUF_HEADROOM, rte_strerror(rte_errno));
		return -ENOMEM;
	}
	p->socket_id = socket;
	p->state = ST_POOL;
	return 0;
}

/* Offloads: each checksum only when advertised; what is left to software
 * is exactly what ferry_net_input()/ferry_net_build_udp() do themselves. */
static void choose_offloads(struct ferry_port *p, const struct rte_eth_dev_info *info)
{
	const uint64_t rx_ck = RTE_ETH_RX_OFFLOAD_IPV4_CKSUM | RTE_ETH_RX_OFFLOAD_UDP_CKSUM;

	p->rx_offloads = info->rx_offload_capa & rx_ck;
	/* RX flags are trusted only when both checks are done in hardware:
	 * a half-checked frame would otherwise need per-packet logic. */
	p->rx_cksum_hw = p->rx_offloads == rx_ck;
	if (!p->rx_cksum_hw)
		p->rx_offloads = 0;

	p->tx_offloads = 0;
	p->tx_cksum_flags = 0;
	if (info->tx_offload_capa & RTE_ETH_TX_OFFLOAD_IPV4_CKSUM) {
		p->tx_offloads |= RTE_ETH_TX_OFFLOAD_IPV4_CKSUM;
		p->tx_cksum_flags |= FERRY_NET_TX_IPV4_CKSUM_HW;
	}
	if (info->tx_offload_capa & RTE_ETH_TX_OFFLOAD_UDP_CKSUM) {
		p->tx_offloads |= RTE_ETH_TX_OFFLOAD_UDP_CKSUM;
		p->tx_cksum_flags |= FERRY_NET_TX_UDP_CKSUM_HW;
	}
	/* FAST_FREE lets the driver put sent mbufs straight back in their
	 * pool without looking at them: it holds only because everything
	 * ferry_port_tx() is given comes from p->pool, is one segment, direct,
	 * and has refcount 1 (see port.h; the TX fault injector sends a
	 * duplicate as a copy for this reason). */
	if (info->tx_offload_capa & RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE)
		p->tx_offloads |= RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE;
}

int ferry_port_apply_mtu(struct ferry_port *p, uint16_t want, char *err, size_t errlen)
{
	uint16_t got = 0;
	int rc = rte_eth_dev_set_mtu(p->port_id, want);

	/* Drivers without mtu_set took rxmode.mtu at configure time. */
	if (rc < 0 && rc != -ENOTSUP) {
		snprintf(err, errlen, "cannot set MTU %u on %s (%s): lower port.mtu", want, p->name,
			 rte_strerror(-rc));
		return rc;
	}
	if (rte_eth_dev_get_mtu(p->port_id, &got) == 0 && got && got < want) {
		snprintf(err, errlen, "%s keeps MTU %u below port.mtu = %u: lower port.mtu", p->name, got,
			 want);
		return -EINVAL;
	}
	p->mtu = want;
	return 0;
}

int ferry_port_start_configured(struct ferry_port *p, char *err, size_t errlen)
{
	int rc = rte_eth_promiscuous_disable(p->port_id);
	if (rc && rc != -ENOTSUP) {
		snprintf(err, errlen, "cannot turn promiscuous mode off on %s (%s)", p->name,
			 rte_strerror(-rc));
		return rc;
	}
	rc = rte_eth_dev_start(p->port_id);
	if (rc) {
		snprintf(err, errlen, "cannot start %s (%s)", p->name, rte_strerror(-rc));
		return rc;
	}
	p->state = ST_STARTED;
	p->running = true;
	return 0;
}

int ferry_port_setup_queues(struct ferry_port *p, const struct rte_eth_dev_info *info, char *err,
			    size_t errlen)
{
	struct rte_eth_rxconf rxq = info->default_rxconf;
	struct rte_eth_txconf txq = info->default_txconf;
	int rc;

	rxq.offloads = p->rx_offloads;
	txq.offloads = p->tx_offloads;
	for (uint16_t q = 0; q < p->nb_queues; q++) {
		/* rings next to the pool; SOCKET_ID_ANY (as unsigned) is allowed */
		rc = rte_eth_rx_queue_setup(p->port_id, q, p->nb_rxd, (unsigned)p->socket_id, &rxq,
					    p->pool);
		if (rc < 0) {
			snprintf(err, errlen, "RX queue %u setup on %s failed (%s)", q, p->name,
				 rte_strerror(-rc));
			return rc;
		}
		rc = rte_eth_tx_queue_setup(p->port_id, q, p->nb_txd, (unsigned)p->socket_id, &txq);
		if (rc < 0) {
			snprintf(err, errlen, "TX queue %u setup on %s failed (%s)", q, p->name,
				 rte_strerror(-rc));
			return rc;
		}
	}
	return 0;
}

int ferry_port_open(const struct ferry_config *cfg, struct ferry_port **out, char *err,
		    size_t errlen)
{
	struct rte_eth_dev_info info;
	struct rte_eth_conf conf;
	struct rte_ether_addr mac;
	struct ferry_port *p;
	uint16_t max_mtu;
	int rc;

	p = calloc(1, sizeof(*p));
	if (!p) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	/* three failed attempts a second apart: then the watchdog restarts us */
	ferry_recover_init(&p->recover, 3, 1000000000ull);
	rc = find_port(cfg, &p->port_id, err, errlen);
	if (rc)
		goto err;
	rte_eth_dev_get_name_by_port(p->port_id, p->name);
	rc = rte_eth_dev_info_get(p->port_id, &info);
	if (rc) {
		snprintf(err, errlen, "cannot query port %u (%s)", p->port_id, rte_strerror(-rc));
		goto err;
	}
	snprintf(p->driver, sizeof(p->driver), "%s", info.driver_name ? info.driver_name : "?");

	max_mtu = port_max_mtu(&info);
	if (cfg->port_mtu > max_mtu || cfg->port_mtu < info.min_mtu) {
		snprintf(err, errlen, "port.mtu = %lld but %s (%s) allows %u..%u: change port.mtu",
			 (long long)cfg->port_mtu, p->name, p->driver, info.min_mtu, max_mtu);
		rc = -EINVAL;
		goto err;
	}
	p->mtu = (uint16_t)cfg->port_mtu;
	p->nb_queues = clamp16(cfg->port_queues, 1, RTE_MIN(info.max_rx_queues, info.max_tx_queues));
	if (p->nb_queues == 0)
		p->nb_queues = 1;
	rc = check_desc(p, cfg, &info, err, errlen);
	if (rc)
		goto err;
	choose_offloads(p, &info);

	memset(&conf, 0, sizeof(conf));
	conf.rxmode.mtu = p->mtu;
	conf.rxmode.offloads = p->rx_offloads;
	conf.txmode.offloads = p->tx_offloads;
	conf.intr_conf.rxq = ferry_port_intr_wanted(cfg);
	if (p->nb_queues > 1) {
		conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
		conf.rx_adv_conf.rss_conf.rss_hf =
			(RTE_ETH_RSS_IPV4 | RTE_ETH_RSS_NONFRAG_IPV4_UDP) & info.flow_type_rss_offloads;
		if (!conf.rx_adv_conf.rss_conf.rss_hf) {
			/* No IPv4 hashing: more queues would get nothing. */
			conf.rxmode.mq_mode = RTE_ETH_MQ_RX_NONE;
			p->nb_queues = 1;
		}
	}

	rc = create_pool(p, cfg, &info, err, errlen);
	if (rc)
		goto err;
configure:
	p->conf = conf; /* recovery configures the device again with it */
	rc = rte_eth_dev_configure(p->port_id, p->nb_queues, p->nb_queues, &conf);
	if (rc) {
		snprintf(err, errlen, "cannot configure %s with %u queue(s) (%s)", p->name, p->nb_queues,
			 rte_strerror(-rc));
		goto err;
	}
	p->state = ST_CONFIGURED;
	rc = ferry_port_apply_mtu(p, p->mtu, err, errlen);
	if (rc)
		goto err;
	rc = ferry_port_setup_queues(p, &info, err, errlen);
	if (rc)
		goto err;
	rc = ferry_port_start_configured(p, err, errlen);
	if (rc && conf.intr_conf.rxq) {
		/* receive interrupts asked for and refused: see port_intr.h */
		ferry_port_intr_refused(p, rc);
		conf.intr_conf.rxq = 0;
		goto configure;
	}
	if (rc)
		goto err;
	rc = rte_eth_macaddr_get(p->port_id, &mac);
	if (rc) {
		snprintf(err, errlen, "cannot read the MAC address of %s (%s)", p->name, rte_strerror(-rc));
		goto err;
	}
	if (!rte_is_valid_assigned_ether_addr(&mac)) {
		/* net_ring and a few other vdevs report 00:00:00:00:00:00, which
		 * no peer could address: give the port a random locally
		 * administered MAC, in the device too where it takes one. */
		rte_eth_random_addr(mac.addr_bytes);
		rte_eth_dev_default_mac_addr_set(p->port_id, &mac);
		p->mac_generated = true;
	}
	memcpy(p->mac, mac.addr_bytes, sizeof(p->mac));
	/* ENA's watchdog is an rte_timer; a second init is harmless. */
	rte_timer_subsystem_init();
	ferry_port_link_wait(p, (unsigned)cfg->port_link_wait_ms);
	*out = p;
	return 0;
err:
	teardown(p);
	free(p);
	return rc < 0 ? rc : -EIO;
}

void ferry_port_close(struct ferry_port *p)
{
	if (!p)
		return;
	ferry_port_unwatch_reset(p);
	teardown(p);
	free(p);
}

int ferry_port_stop(struct ferry_port *p)
{
	int rc;
	if (p->state != ST_STARTED)
		return 0;
	rc = rte_eth_dev_stop(p->port_id);
	if (rc == 0) {
		p->state = ST_CONFIGURED;
		p->running = false;
	}
	return rc;
}

int ferry_port_start(struct ferry_port *p)
{
	int rc;
	if (p->state == ST_STARTED)
		return 0;
	if (p->state != ST_CONFIGURED)
		return -EINVAL;
	rc = rte_eth_dev_start(p->port_id);
	if (rc == 0) {
		p->state = ST_STARTED;
		p->running = true;
	}
	return rc;
}

bool ferry_port_link_update(struct ferry_port *p)
{
	struct rte_eth_link link;
	memset(&link, 0, sizeof(link));
	if (rte_eth_link_get_nowait(p->port_id, &link) == 0) {
		p->link_up = link.link_status == RTE_ETH_LINK_UP;
		p->link_speed = link.link_speed;
	} else {
		p->link_up = false;
	}
	return p->link_up;
}

int ferry_port_link_wait(struct ferry_port *p, unsigned wait_ms)
{
	const struct timespec tick = {.tv_sec = 0, .tv_nsec = 10 * 1000 * 1000};
	for (unsigned waited = 0;; waited += 10) {
		if (ferry_port_link_update(p))
			return 0;
		if (waited >= wait_ms)
			return -ETIMEDOUT;
		nanosleep(&tick, NULL);
	}
}

void ferry_port_housekeeping(struct ferry_port *p)
{
	(void)p;
	rte_timer_manage();
}
