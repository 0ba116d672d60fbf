/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ferry-net-responder: a test-lab host built from ferry's port and net
 * libraries. It owns one DPDK port, answers ARP and ping for its address,
 * echoes ferry UDP packets back to their sender (resolving the sender's
 * MAC through the ARP cache, as ferryd does for every peer), and prints
 * every counter when it stops (SIGTERM, SIGINT or --seconds).
 *
 * Output on stdout, one per line, for scripts:
 *   eal ferry-net-responder -l 0 --no-huge ...
 *   ready mac=02:..:.. ip=192.0.2.2 port=31850 mtu=1500 rx_cksum=software
 *   counter net.verdict.icmp_echo 3
 *   counter net.drop.ipv4_bad_checksum 2
 *   counter arp.arp_requests_sent 1
 *   counter port.port_rx_packets 40
 *
 * Exit status: 0; 77 when DPDK cannot start here (a skip for the test
 * harness); 1 on other errors.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ferry_net.h"
#include "port.h"
#include "port_cli.h"
#include "port_eal.h"
#include "port_eal_args.h"

#define BURST 32

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

struct responder {
	struct ferry_port *port;
	struct ferry_net_host host;
	struct ferry_net_stats stats;
	struct ferry_arp_cache *arp;
	uint64_t unreachable_ips;
	uint64_t echo_alloc_failed;
	uint16_t ip_id;
};

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint8_t *frame_of(struct rte_mbuf *m)
{
	return rte_pktmbuf_mtod(m, uint8_t *);
}

/* ARP cache callbacks: requests and flushed packets go straight out. */
static void arp_request(void *arg, uint32_t ip)
{
	struct responder *r = arg;
	struct rte_mbuf *m = ferry_port_alloc(r->port);
	if (!m)
		return;
	uint16_t len = ferry_net_build_arp_request(&r->host, frame_of(m), ip);
	rte_pktmbuf_append(m, len);
	ferry_port_tx(r->port, &m, 1);
}

static void arp_flush(void *arg, uint32_t ip, const uint8_t mac[6], void **pkts, unsigned n)
{
	struct responder *r = arg;
	(void)ip;
	for (unsigned i = 0; i < n; i++)
		ferry_mac_copy(frame_of(pkts[i]) + FERRY_ETH_OFF_DST, mac);
	ferry_port_tx(r->port, (struct rte_mbuf **)pkts, (uint16_t)n);
}

static void arp_unreachable(void *arg, uint32_t ip, void **pkts, unsigned n)
{
	struct responder *r = arg;
	(void)ip;
	r->unreachable_ips++;
	rte_pktmbuf_free_bulk((struct rte_mbuf **)pkts, n);
}

/* Turn a received ferry packet into its echo, in the same mbuf: the
 * payload moves to the standard offset (IPv4 options are not echoed) and
 * fresh headers go in front of it. @return 0 when @m is ready for the
 * next-hop MAC, else -1 (@m left to the caller to free). */
static int make_echo(struct responder *r, struct rte_mbuf *m, const struct ferry_net_rx *rx)
{
	uint8_t *f = frame_of(m);
	struct ferry_net_udp_dst dst = {.ip = rx->src_ip, .port = rx->src_port};
	int len;

	if (rx->payload_off != FERRY_UDP_FRAME_HLEN)
		memmove(f + FERRY_UDP_FRAME_HLEN, f + rx->payload_off, rx->payload_len);
	len = ferry_net_build_udp(&r->host, f, &dst, rx->payload_len, r->ip_id++, r->port->tx_cksum_flags);
	if (len < 0)
		return -1;
	rte_pktmbuf_trim(m, (uint16_t)(rte_pktmbuf_pkt_len(m) - (uint32_t)len));
	ferry_port_tx_udp_offload(r->port, m);
	return 0;
}

static void handle(struct responder *r, struct rte_mbuf *m, uint64_t now, struct rte_mbuf **tx,
		   uint16_t *ntx)
{
	struct ferry_net_rx rx;
	enum ferry_net_verdict v;
	uint8_t mac[6];
	uint32_t nh;

	v = ferry_net_input(&r->host, frame_of(m), rte_pktmbuf_data_len(m),
			    ferry_port_rx_flags(r->port, m), &rx, &r->stats);
	switch (v) {
	case FERRY_NET_ARP_REQUEST:
		/* the asker is about to talk to us: learn it (RFC 826) */
		ferry_arp_input(r->arp, rx.src_ip, rx.src_mac, now, FERRY_ARP_CLAIM_REQUEST);
		/* fall through */
	case FERRY_NET_ICMP_ECHO:
		rte_pktmbuf_trim(m, (uint16_t)(rte_pktmbuf_pkt_len(m) - rx.reply_len));
		tx[(*ntx)++] = m;
		return;
	case FERRY_NET_ARP_REPLY:
		ferry_arp_input(r->arp, rx.src_ip, rx.src_mac, now,
				rx.arp_announce ? FERRY_ARP_CLAIM_ANNOUNCE : FERRY_ARP_CLAIM_REPLY);
		break;
	case FERRY_NET_UDP:
		if (ferry_net_next_hop(&r->host, rx.src_ip, &nh) != 0 || make_echo(r, m, &rx) != 0)
			break;
		switch (ferry_arp_resolve(r->arp, nh, m, now, mac)) {
		case FERRY_ARP_RESOLVED:
			ferry_mac_copy(frame_of(m) + FERRY_ETH_OFF_DST, mac);
			tx[(*ntx)++] = m;
			return;
		case FERRY_ARP_QUEUED:
			return; /* the cache owns it now */
		default:
			break;
		}
		break;
	default:
		break;
	}
	rte_pktmbuf_free(m);
}

static void print_port_counter(void *arg, const char *name, uint64_t value)
{
	(void)arg;
	printf("counter port.%s %" PRIu64 "\n", name, value);
}

static void print_counters(const struct responder *r)
{
	const uint64_t *arp = (const uint64_t *)ferry_arp_cache_stats(r->arp);

	for (int v = 0; v < FERRY_NET_VERDICT_COUNT; v++)
		printf("counter net.verdict.%s %" PRIu64 "\n",
		       ferry_net_verdict_name((enum ferry_net_verdict)v), r->stats.verdict[v]);
	for (int d = 1; d < FERRY_DROP_COUNT; d++)
		printf("counter net.drop.%s %" PRIu64 "\n", ferry_drop_name((enum ferry_drop_reason)d),
		       r->stats.drop[d]);
	for (unsigned i = 0; i < FERRY_ARP_STATS_COUNT; i++)
		printf("counter arp.%s %" PRIu64 "\n", ferry_arp_stat_name(i), arp[i]);
	printf("counter responder.unreachable_ips %" PRIu64 "\n", r->unreachable_ips);
	ferry_port_counters(r->port, print_port_counter, NULL);
}

static int run(struct responder *r, long seconds)
{
	struct rte_mbuf *rx[BURST], *tx[BURST];
	const struct timespec idle = {.tv_sec = 0, .tv_nsec = 100 * 1000};
	uint64_t start = now_ns(), next_housekeeping = start;
	uint64_t end = seconds > 0 ? start + (uint64_t)seconds * 1000000000ull : UINT64_MAX;

	while (!stop) {
		uint64_t now = now_ns();
		uint16_t n = ferry_port_rx(r->port, rx, BURST), ntx = 0;

		for (uint16_t i = 0; i < n; i++)
			handle(r, rx[i], now, tx, &ntx);
		ferry_port_tx(r->port, tx, ntx);
		ferry_arp_tick(r->arp, now);
		if (now >= next_housekeeping) {
			ferry_port_housekeeping(r->port);
			next_housekeeping = now + 100000000ull;
		}
		if (now >= end)
			break;
		/* A test tool on a 2-core box: sleep when idle rather than
		 * spin, so the kernel side of the test gets the CPU. */
		if (n == 0)
			nanosleep(&idle, NULL);
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct ferry_port_cli cli;
	struct ferry_eal_env env;
	struct ferry_eal_args eal;
	struct responder r;
	struct ferry_arp_params ap = FERRY_ARP_PARAMS_DEFAULT;
	struct ferry_arp_ops ops = {.arg = &r, .request = arp_request, .flush = arp_flush,
				    .unreachable = arp_unreachable};
	char err[512];
	const char *msg;
	int rc;

	memset(&r, 0, sizeof(r));
	rc = ferry_port_cli_parse(&cli, argc, argv, stderr);
	if (rc)
		return rc > 0 ? 0 : 1;
	if (!cli.cfg.net_address.set) {
		fprintf(stderr, "ferry-net-responder: --address A.B.C.D/LEN is required\n");
		return 1;
	}
	ferry_eal_read_env(&env);
	if (ferry_eal_args_build(&cli.cfg, &env, "ferry-net-responder", &eal, err, sizeof(err))) {
		fprintf(stderr, "ferry-net-responder: %s\n", err);
		return 1;
	}
	ferry_eal_args_format(&eal, err, sizeof(err));
	printf("eal %s\n", err);
	fflush(stdout);
	if (ferry_eal_init(&eal, err, sizeof(err))) {
		fprintf(stderr, "ferry-net-responder: %s\n", err);
		ferry_eal_args_free(&eal);
		return 77;
	}
	rc = ferry_port_open(&cli.cfg, &r.port, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "ferry-net-responder: %s\n", err);
		rc = 1;
		goto out_eal;
	}
	msg = ferry_net_host_check(r.port->mac, cli.cfg.net_address.addr, cli.cfg.net_address.prefix_len,
				   cli.cfg.net_gateway.addr, (uint16_t)cli.cfg.net_udp_port, r.port->mtu);
	if (msg) {
		fprintf(stderr, "ferry-net-responder: net.address/net.gateway: %s\n", msg);
		rc = 1;
		goto out_port;
	}
	ferry_net_host_init(&r.host, r.port->mac, cli.cfg.net_address.addr, cli.cfg.net_address.prefix_len,
			    cli.cfg.net_gateway.addr, (uint16_t)cli.cfg.net_udp_port, r.port->mtu);
	ap.timeout_ns = (uint64_t)cli.cfg.net_arp_timeout_ms * 1000000ull;
	rc = ferry_arp_cache_create(&r.arp, &ap, &ops);
	if (rc) {
		fprintf(stderr, "ferry-net-responder: ARP cache: %s\n", strerror(-rc));
		rc = 1;
		goto out_port;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);

	/* Announce ourselves, as ferryd does once its port is up. */
	struct rte_mbuf *garp = ferry_port_alloc(r.port);
	if (garp) {
		rte_pktmbuf_append(garp, ferry_net_build_garp(&r.host, frame_of(garp)));
		ferry_port_tx(r.port, &garp, 1);
	}
	printf("ready mac=%02x:%02x:%02x:%02x:%02x:%02x ip=%u.%u.%u.%u port=%u mtu=%u rx_cksum=%s "
	       "tx_cksum=%s\n",
	       r.host.mac[0], r.host.mac[1], r.host.mac[2], r.host.mac[3], r.host.mac[4], r.host.mac[5],
	       r.host.ip >> 24, (r.host.ip >> 16) & 0xff, (r.host.ip >> 8) & 0xff, r.host.ip & 0xff,
	       r.host.udp_port, r.host.mtu, r.port->rx_cksum_hw ? "hardware" : "software",
	       r.port->tx_cksum_flags ? "hardware" : "software");
	fflush(stdout);

	run(&r, cli.seconds);
	print_counters(&r);
	fflush(stdout);
	ferry_arp_cache_destroy(r.arp);
	rc = 0;
out_port:
	ferry_port_close(r.port);
out_eal:
	ferry_eal_cleanup();
	ferry_eal_args_free(&eal);
	return rc;
}
