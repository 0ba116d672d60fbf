/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ferryd's NIC glue. Each loop pass receives a burst, lets the host stack
 * classify every frame (ARP and ICMP echo are answered in place, anything
 * malformed or not ours is counted under its drop reason and freed), sends
 * the answers in one burst and runs the ARP cache's timers. The stack's
 * counters are plain structs written on the hot path; they are copied into
 * the status file at most every PUBLISH_NS, so ferry-stat costs the
 * datapath nothing.
 *
 * UDP packets addressed to ferry's port are the transport's input
 * (remote.c). Packets to send are batched and go out in one burst per loop
 * pass (nic_flush()).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ferry_net.h"
#include "ferryd.h"
#include "log.h"
#include "nic.h"
#include "port.h"
#include "port_eal.h"
#include "port_eal_args.h"
#include "remote.h"
#include "telemetry.h"
#include "wire.h"

#define BURST 32
#define HOUSEKEEPING_NS 100000000ull
#define PUBLISH_NS 100000000ull

struct fnic {
	struct ferryd *d;
	struct ferry_port *port;
	struct ferry_net_host host;
	struct ferry_net_stats stats;
	struct ferry_arp_cache *arp;
	struct ferry_eal_args eal;
	bool eal_up;
	uint16_t ip_id;
	uint16_t ntx;
	struct rte_mbuf *tx[BURST];
	uint64_t tx_nombuf, tx_unreachable;
	uint64_t next_housekeeping, next_publish;
	/* status-file mirrors of the counters above, same order */
	struct ferry_counter *c_verdict[FERRY_NET_VERDICT_COUNT];
	struct ferry_counter *c_drop[FERRY_DROP_COUNT];
	struct ferry_counter *c_arp[FERRY_ARP_STATS_COUNT];
	struct ferry_counter *c_port_rx, *c_port_tx, *c_port_tx_dropped, *c_tx_nombuf,
		*c_tx_unreachable;
	char desc[160];
};

static uint8_t *frame_of(struct rte_mbuf *m)
{
	return rte_pktmbuf_mtod(m, uint8_t *);
}

/* ARP cache callbacks: requests and flushed packets go out at once. */
static void arp_request(void *arg, uint32_t ip)
{
	struct fnic *n = arg;
	struct rte_mbuf *m = ferry_port_alloc(n->port);
	if (m == NULL)
		return;
	uint16_t len = ferry_net_build_arp_request(&n->host, frame_of(m), ip);
	rte_pktmbuf_append(m, len);
	ferry_port_tx(n->port, &m, 1);
}

static void arp_flush(void *arg, uint32_t ip, const uint8_t mac[6], void **pkts, unsigned cnt)
{
	struct fnic *n = arg;
	(void)ip;
	for (unsigned i = 0; i < cnt; i++)
		ferry_mac_copy(frame_of(pkts[i]) + FERRY_ETH_OFF_DST, mac);
	ferry_port_tx(n->port, (struct rte_mbuf **)pkts, (uint16_t)cnt);
}

static void arp_unreachable(void *arg, uint32_t ip, void **pkts, unsigned cnt)
{
	struct fnic *n = arg;
	rte_pktmbuf_free_bulk((struct rte_mbuf **)pkts, cnt);
	n->tx_unreachable += cnt;
	remote_unreachable(n->d, ip);
}

static void alloc_counters(struct ferryd *d, struct fnic *n)
{
	struct fstatus *s = &d->st;
	for (int v = 0; v < FERRY_NET_VERDICT_COUNT; v++)
		n->c_verdict[v] = fstatus_counter(s, FERRY_CTR_COUNT, 0, "net.%s",
						  ferry_net_verdict_name((enum ferry_net_verdict)v));
	for (int r = 1; r < FERRY_DROP_COUNT; r++)
		n->c_drop[r] = fstatus_counter(s, FERRY_CTR_COUNT, 0, "drop.%s",
					       ferry_drop_name((enum ferry_drop_reason)r));
	for (unsigned i = 0; i < FERRY_ARP_STATS_COUNT; i++)
		n->c_arp[i] = fstatus_counter(s, FERRY_CTR_COUNT, 0, "arp.%s", ferry_arp_stat_name(i));
	n->c_port_rx = fstatus_counter(s, FERRY_CTR_COUNT, 0, "port.rx_packets");
	n->c_port_tx = fstatus_counter(s, FERRY_CTR_COUNT, 0, "port.tx_packets");
	n->c_port_tx_dropped = fstatus_counter(s, FERRY_CTR_COUNT, 0, "port.tx_dropped");
	n->c_tx_nombuf = fstatus_counter(s, FERRY_CTR_COUNT, 0, "port.tx_no_mbuf");
	n->c_tx_unreachable = fstatus_counter(s, FERRY_CTR_COUNT, 0, "port.tx_unreachable");
}

static int send_garp(struct fnic *n)
{
	struct rte_mbuf *m = ferry_port_alloc(n->port);
	if (m == NULL)
		return -ENOMEM;
	uint16_t len = ferry_net_build_garp(&n->host, frame_of(m));
	rte_pktmbuf_append(m, len);
	return ferry_port_tx(n->port, &m, 1) == 1 ? 0 : -EAGAIN;
}

int nic_open(struct ferryd *d)
{
	const struct ferry_config *cfg = d->cfg;
	char err[512];
	struct fnic *n = calloc(1, sizeof(*n));
	if (n == NULL)
		return -1;
	n->d = d;
	d->nic = n;

	struct ferry_eal_env env;
	ferry_eal_read_env(&env);
	if (ferry_eal_args_build(cfg, &env, "ferryd", &n->eal, err, sizeof(err)) != 0) {
		LOG_E("eal: %s", err);
		return -1;
	}
	ferry_eal_args_format(&n->eal, err, sizeof(err));
	LOG_I("EAL arguments: %s", err);
	if (ferry_eal_init(&n->eal, err, sizeof(err)) != 0) {
		LOG_E("eal: %s", err);
		return -1;
	}
	n->eal_up = true;
	if (ferry_port_open(cfg, &n->port, err, sizeof(err)) != 0) {
		LOG_E("port: %s", err);
		return -1;
	}
	const char *bad = ferry_net_host_check(n->port->mac, cfg->net_address.addr,
					       cfg->net_address.prefix_len, cfg->net_gateway.addr,
					       (uint16_t)cfg->net_udp_port, n->port->mtu);
	if (bad) {
		LOG_E("net.address / net.gateway: %s", bad);
		return -1;
	}
	ferry_net_host_init(&n->host, n->port->mac, cfg->net_address.addr, cfg->net_address.prefix_len,
			    cfg->net_gateway.addr, (uint16_t)cfg->net_udp_port, n->port->mtu);
	n->host.ferry_hdr_min = sizeof(struct ferry_wire_hdr);
	struct ferry_arp_params ap = FERRY_ARP_PARAMS_DEFAULT;
	ap.timeout_ns = (uint64_t)cfg->net_arp_timeout_ms * 1000000ull;
	struct ferry_arp_ops ops = {.arg = n, .request = arp_request, .flush = arp_flush,
				    .unreachable = arp_unreachable};
	if (ferry_arp_cache_create(&n->arp, &ap, &ops) != 0) {
		LOG_E("cannot create the ARP cache: out of memory");
		return -1;
	}
	if (ferry_port_link_wait(n->port, (unsigned)cfg->port_link_wait_ms) != 0)
		LOG_W("port %u (%s): link still down after port.link_wait_ms = %lld ms; carrying on",
		      n->port->port_id, n->port->name, (long long)cfg->port_link_wait_ms);
	alloc_counters(d, n);
	telemetry_init(d);
	if (send_garp(n) != 0)
		LOG_W("could not send the gratuitous ARP");

	uint32_t a = cfg->net_address.addr;
	char offl[96];
	ferry_port_offloads_str(n->port, offl, sizeof(offl));
	snprintf(n->desc, sizeof(n->desc), "port %u (%s) %u.%u.%u.%u/%u mtu %u link %s",
		 n->port->port_id, n->port->driver, a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255,
		 cfg->net_address.prefix_len, n->port->mtu, n->port->link_up ? "up" : "down");
	LOG_N("%s, mac %02x:%02x:%02x:%02x:%02x:%02x, offloads %s", n->desc, n->port->mac[0],
	      n->port->mac[1], n->port->mac[2], n->port->mac[3], n->port->mac[4], n->port->mac[5],
	      offl);
	return 0;
}

static void handle(struct fnic *n, struct rte_mbuf *m, uint64_t now, struct rte_mbuf **tx,
		   uint16_t *ntx)
{
	struct ferry_net_rx rx;
	enum ferry_net_verdict v = ferry_net_input(&n->host, frame_of(m), rte_pktmbuf_data_len(m),
						   ferry_port_rx_flags(n->port, m), &rx, &n->stats);
	switch (v) {
	case FERRY_NET_ARP_REQUEST:
		/* the asker is about to talk to us: learn it (RFC 826) */
		ferry_arp_input(n->arp, rx.src_ip, rx.src_mac, now, true);
		/* fall through */
	case FERRY_NET_ICMP_ECHO:
		/* the stack rewrote the frame into its answer */
		rte_pktmbuf_trim(m, (uint16_t)(rte_pktmbuf_pkt_len(m) - rx.reply_len));
		tx[(*ntx)++] = m;
		return;
	case FERRY_NET_ARP_REPLY:
		ferry_arp_input(n->arp, rx.src_ip, rx.src_mac, now, false);
		break;
	case FERRY_NET_UDP:
		remote_input(n->d, rx.src_ip, rx.src_port, frame_of(m) + rx.payload_off, rx.payload_len);
		break;
	default:
		break;
	}
	rte_pktmbuf_free(m);
}

unsigned nic_poll(struct ferryd *d)
{
	struct fnic *n = d->nic;
	struct rte_mbuf *rx[BURST], *tx[BURST];
	uint16_t got = ferry_port_rx(n->port, rx, BURST), ntx = 0;
	for (uint16_t i = 0; i < got; i++)
		handle(n, rx[i], d->now_ns, tx, &ntx);
	if (ntx)
		ferry_port_tx(n->port, tx, ntx);
	nic_flush(d);
	ferry_arp_tick(n->arp, d->now_ns);
	if (d->now_ns >= n->next_housekeeping) {
		ferry_port_housekeeping(n->port);
		n->next_housekeeping = d->now_ns + HOUSEKEEPING_NS;
	}
	if (d->now_ns >= n->next_publish) {
		nic_publish_counters(d);
		n->next_publish = d->now_ns + PUBLISH_NS;
	}
	return got;
}

void nic_publish_counters(struct ferryd *d)
{
	struct fnic *n = d->nic;
	if (n == NULL || n->port == NULL || n->arp == NULL)
		return;
	for (int v = 0; v < FERRY_NET_VERDICT_COUNT; v++)
		fctr_set(n->c_verdict[v], n->stats.verdict[v]);
	for (int r = 1; r < FERRY_DROP_COUNT; r++)
		fctr_set(n->c_drop[r], n->stats.drop[r]);
	const uint64_t *arp = (const uint64_t *)ferry_arp_cache_stats(n->arp);
	for (unsigned i = 0; i < FERRY_ARP_STATS_COUNT; i++)
		fctr_set(n->c_arp[i], arp[i]);
	fctr_set(n->c_port_rx, n->port->stats.rx_packets);
	fctr_set(n->c_port_tx, n->port->stats.tx_packets);
	fctr_set(n->c_port_tx_dropped, n->port->stats.tx_dropped);
	fctr_set(n->c_tx_nombuf, n->tx_nombuf);
	fctr_set(n->c_tx_unreachable, n->tx_unreachable);
}

void nic_flush(struct ferryd *d)
{
	struct fnic *n = d->nic;
	if (n && n->ntx) {
		ferry_port_tx(n->port, n->tx, n->ntx);
		n->ntx = 0;
	}
}

uint32_t nic_max_payload(const struct ferryd *d)
{
	return d->nic ? (uint32_t)d->nic->host.mtu - FERRY_IPV4_HLEN - FERRY_UDP_HLEN : 0;
}

int nic_send(struct ferryd *d, uint32_t ip, uint16_t port, const void *hdr, uint16_t hlen,
	     const void *payload, uint32_t plen)
{
	struct fnic *n = d->nic;
	uint32_t nh;
	uint8_t mac[FERRY_ETH_ALEN];
	if (hlen + plen > nic_max_payload(d))
		return -EMSGSIZE;
	if (ferry_net_next_hop(&n->host, ip, &nh) != 0)
		return -EHOSTUNREACH;
	struct rte_mbuf *m = ferry_port_alloc(n->port);
	if (m == NULL) {
		n->tx_nombuf++;
		return -ENOBUFS;
	}
	uint8_t *f = frame_of(m);
	memcpy(f + FERRY_UDP_FRAME_HLEN, hdr, hlen);
	if (plen)
		memcpy(f + FERRY_UDP_FRAME_HLEN + hlen, payload, plen);
	struct ferry_net_udp_dst dst = {.ip = ip, .port = port};
	int len = ferry_net_build_udp(&n->host, f, &dst, (uint16_t)(hlen + plen), n->ip_id++,
				      n->port->tx_cksum_flags);
	if (len < 0) {
		rte_pktmbuf_free(m);
		return len;
	}
	rte_pktmbuf_append(m, (uint16_t)len);
	ferry_port_tx_udp_offload(n->port, m);
	int rc = ferry_arp_resolve(n->arp, nh, m, d->now_ns, mac);
	if (rc == FERRY_ARP_QUEUED)
		return 0; /* the cache owns it until the reply */
	if (rc != FERRY_ARP_RESOLVED) {
		rte_pktmbuf_free(m);
		n->tx_unreachable++;
		return -EHOSTUNREACH;
	}
	ferry_mac_copy(f + FERRY_ETH_OFF_DST, mac);
	n->tx[n->ntx++] = m;
	if (n->ntx == BURST)
		nic_flush(d);
	return 0;
}

const char *nic_describe(const struct ferryd *d)
{
	return d->nic ? d->nic->desc : "local mode";
}

void nic_close(struct ferryd *d)
{
	struct fnic *n = d->nic;
	if (n == NULL)
		return;
	nic_publish_counters(d);
	nic_flush(d);
	if (n->arp)
		ferry_arp_cache_destroy(n->arp);
	if (n->port)
		ferry_port_close(n->port);
	if (n->eal_up)
		ferry_eal_cleanup();
	ferry_eal_args_free(&n->eal);
	free(n);
	d->nic = NULL;
}
