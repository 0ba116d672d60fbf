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
 *
 * Fault injection (fault.*, off by default) sits at the two edges: every
 * received frame before the stack sees it, and every ferry packet about to
 * be sent. A corrupted received frame loses the NIC's checksum verdict, so
 * the stack checks it in software and drops it as a checksum error, as a
 * real damaged frame would be. Reordered frames are held and released by
 * later passes of the loop: late, never lost.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ferry_net.h"
#include "net_fault.h"
#include "log.h"
#include "nic.h"
#include "port.h"
#include "port_eal.h"
#include "port_eal_args.h"
#include "port_intr.h"
#include "core.h"
#include "port_xstats.h"
#include "telemetry.h"
#include "status.h"
#include "wire.h"

#define BURST 32
#define IP4(a) (a) >> 24, ((a) >> 16) & 255, ((a) >> 8) & 255, (a) & 255
#define MAC_FMT "%02x:%02x:%02x:%02x:%02x:%02x"
#define MAC6(m) (m)[0], (m)[1], (m)[2], (m)[3], (m)[4], (m)[5]
#define HOUSEKEEPING_NS 100000000ull
#define PUBLISH_NS 100000000ull
#define ALLOWANCE_READ_NS 1000000000ull

struct fnic {
	const struct ferry_config *cfg;
	struct fstatus *st;
	struct fcore *core;
	uint64_t now_ns;
	struct ferry_port *port;
	struct ferry_net_host host;
	struct ferry_net_stats stats;
	struct ferry_arp_cache *arp;
	struct ferry_eal_args eal;
	bool eal_up;
	uint16_t ip_id;
	uint16_t ntx;
	uint16_t next_rxq; /* RX queue the next pass reads */
	struct rte_mbuf *tx[BURST];
	uint64_t tx_nombuf, tx_unreachable;
	struct ferry_fault fault[FERRY_FAULT_DIRS];
	bool faulty[FERRY_FAULT_DIRS];
	uint64_t next_housekeeping, next_publish;
	uint64_t published; /* traffic_sum() when counters were last published */
	/* receive interrupts for an idle loop (port_intr.h); wakes: they work */
	struct ferry_port_intr intr;
	bool wakes;
	struct nic_ops ops;
	uint64_t next_frag_log; /* one "fragmentation needed" log line a second */
	uint64_t next_conflict_log, conflicts_logged; /* one ARP conflict line a second */
	uint64_t reset_every_ns, next_reset; /* fault.port_reset_ms */
	uint64_t resets_injected;
	bool failed; /* the port could not be recovered: ferryd must restart */
	uint64_t keep_caps; /* 1 << CAP_*: what recovering this port needs */
	struct ferry_counter *c_resets, *c_reset_failures, *c_resets_injected;
	/* ENI allowance counters, read by a control thread (port_xstats.h) */
	struct ferry_xstats xs;
	struct ferry_xstats_dpdk xsrc;
	struct ferry_counter *c_allow[FERRY_ALLOW_COUNT], *c_allow_last[FERRY_ALLOW_COUNT],
		*c_cloud_epoch;
	/* status-file mirrors of the counters above, same order */
	struct ferry_counter *c_verdict[FERRY_NET_VERDICT_COUNT];
	struct ferry_counter *c_drop[FERRY_DROP_COUNT];
	struct ferry_counter *c_arp[FERRY_ARP_STATS_COUNT];
	struct ferry_counter *c_port_rx, *c_port_tx, *c_port_tx_dropped, *c_tx_nombuf,
		*c_tx_unreachable;
	struct ferry_counter *c_fault[FERRY_FAULT_DIRS][FERRY_FAULT_ACTIONS];
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
	fcore_unreachable(n->core, ip, n->cfg->net_gateway.set && ip == n->cfg->net_gateway.addr);
}

static void alloc_counters(struct fnic *n)
{
	struct fstatus *s = n->st;
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
	for (int dir = 0; dir < FERRY_FAULT_DIRS; dir++)
		for (int a = 1; a < FERRY_FAULT_ACTIONS && n->faulty[dir]; a++)
			n->c_fault[dir][a] = fstatus_counter(
				s, FERRY_CTR_COUNT, 0, "%s",
				ferry_fault_action_name(dir, (enum ferry_fault_action)a));
	n->c_tx_nombuf = fstatus_counter(s, FERRY_CTR_COUNT, 0, "port.tx_no_mbuf");
	n->c_tx_unreachable = fstatus_counter(s, FERRY_CTR_COUNT, 0, "port.tx_unreachable");
	n->c_resets = fstatus_counter(s, FERRY_CTR_COUNT, 0, "port.resets");
	n->c_reset_failures = fstatus_counter(s, FERRY_CTR_COUNT, 0, "port.reset_failures");
	n->c_resets_injected = fstatus_counter(s, FERRY_CTR_COUNT, 0, "fault.port_resets");
	/* unavailable until a reading says the device has them */
	for (unsigned i = 0; i < FERRY_ALLOW_COUNT; i++) {
		n->c_allow[i] = fstatus_counter(s, FERRY_CTR_COUNT, 0, "eni.%s", ferry_allowance_name(i));
		n->c_allow_last[i] = fstatus_counter(s, FERRY_CTR_GAUGE, 0, "eni.%s_last_interval",
						     ferry_allowance_name(i));
		fctr_set_unavailable(n->c_allow[i], true);
		fctr_set_unavailable(n->c_allow_last[i], true);
	}
	n->c_cloud_epoch = fstatus_counter(s, FERRY_CTR_COUNT, 0, "eni.drop_epoch");
}

/* A new reading of the allowance counters: publish it, and say which rose
 * (each is the hypervisor dropping our packets over an allowance). */
static void publish_allowance(struct fnic *n, uint32_t moved)
{
	const struct ferry_allowance *a = &n->xs.allow;
	for (unsigned i = 0; i < FERRY_ALLOW_COUNT; i++) {
		bool have = a->avail & (1u << i);
		fctr_set_unavailable(n->c_allow[i], !have);
		fctr_set_unavailable(n->c_allow_last[i], !have);
		fctr_set(n->c_allow[i], a->value[i]);
		fctr_set(n->c_allow_last[i], a->delta[i]);
		if (moved & (1u << i))
			LOG_W("ENI allowance exceeded: %s rose by %llu in the last %.0f s (%llu in all); "
			      "the cloud dropped that many packets, sessions back off",
			      ferry_allowance_name(i), (unsigned long long)a->delta[i],
			      (double)ALLOWANCE_READ_NS / 1e9, (unsigned long long)a->value[i]);
	}
	fctr_set(n->c_cloud_epoch, a->epoch);
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

/* The ARP cache, with the operator's static neighbours (which the
 * settings rules checked). A session's packets confirm its peer's entry at
 * most once a second while it is busy, and its PING or PONG once a
 * keepalive interval while it idles: an entry is defended for two of the
 * longer of those. */
static int arp_open(struct fnic *n)
{
	const struct ferry_config *cfg = n->cfg;
	struct ferry_neighbor nb[FERRY_STATIC_NEIGHBORS_MAX];
	char why[256];
	int nn = ferry_config_parse_neighbors(&cfg->net_static_neighbors, nb,
					      FERRY_STATIC_NEIGHBORS_MAX, why, sizeof(why));
	if (nn < 0) {
		LOG_E("net.static_neighbors: %s", why);
		return -1;
	}
	struct ferry_arp_params ap = FERRY_ARP_PARAMS_DEFAULT;
	ap.timeout_ns = (uint64_t)cfg->net_arp_timeout_ms * 1000000ull;
	uint64_t keepalive_ns = (uint64_t)cfg->transport_keepalive_ms * 1000000ull;
	if (2 * keepalive_ns > ap.confirm_ns)
		ap.confirm_ns = 2 * keepalive_ns;
	/* room to spare: a set of the table holds at most three static entries */
	if (ap.entries < 64u * (uint32_t)nn)
		ap.entries = 64u * (uint32_t)nn;
	struct ferry_arp_ops ops = {.arg = n, .request = arp_request, .flush = arp_flush,
				    .unreachable = arp_unreachable};
	if (ferry_arp_cache_create(&n->arp, &ap, &ops) != 0) {
		LOG_E("cannot create the ARP cache: out of memory");
		return -1;
	}
	for (int i = 0; i < nn; i++) {
		const uint8_t *m = nb[i].mac;
		uint32_t ip = nb[i].ip;
		int rc = ferry_arp_add_static(n->arp, ip, m);
		if (rc != 0) {
			LOG_E("net.static_neighbors: \"%u.%u.%u.%u " MAC_FMT "\": %s", IP4(ip), MAC6(m),
			      rc == -ENOSPC ? "too many static entries share its slot of the ARP "
					      "table; list fewer"
					    : strerror(-rc));
			return -1;
		}
		LOG_I("ARP: %u.%u.%u.%u is at " MAC_FMT " (static)", IP4(ip), MAC6(m));
	}
	return 0;
}

/* Receive interrupts, when idle.strategy = interrupt asked for them at
 * bring-up; said at start-up either way, since it decides what an idle
 * ferryd costs and how fast its first packet after an idle spell is. */
static void intr_open(struct fnic *n)
{
	const struct ferry_config *cfg = n->cfg;
	const struct ferry_port *p = n->port;
	char why[160];

	if (!ferry_port_intr_wanted(cfg)) {
		LOG_I("idle: an idle ferryd polls %s every idle.sleep_us = %lld us (idle.strategy "
		      "= interrupt would sleep on its receive interrupts)",
		      p->name, (long long)cfg->idle_sleep_us);
		return;
	}
	if (ferry_port_intr_open(&n->intr, p, why, sizeof(why)) < 0) {
		LOG_N("idle: %s; an idle ferryd polls it every idle.sleep_us = %lld us", why,
		      (long long)cfg->idle_sleep_us);
		return;
	}
	n->wakes = true;
	LOG_N("idle: an idle ferryd sleeps until %s (%s) raises a receive interrupt on any of "
	      "its %u queue(s)%s",
	      p->name, p->driver, n->intr.nb_queues,
	      n->intr.always_on ? " (its queue fds are always armed)" : "");
}

/* After a recovery the PMD may have new vectors and queue fds. */
static void intr_reopen(struct fnic *n)
{
	char why[160];
	if (n->intr.epfd < 0 || ferry_port_intr_reopen(&n->intr, n->port, why, sizeof(why)) == 0)
		return;
	n->wakes = false;
	LOG_W("idle: %s after the device reset; an idle ferryd polls it every idle.sleep_us "
	      "from now on", why);
}

int nic_open(struct fnic **out, const struct ferry_config *cfg, struct fstatus *st)
{
	char err[512];
	struct fnic *n = calloc(1, sizeof(*n));
	if (n == NULL)
		return -1;
	n->cfg = cfg;
	n->st = st;
	n->intr.epfd = -1;
	*out = n;

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
	/* the settings rules keep the range below 65536 */
	ferry_net_host_set_port_count(&n->host, (uint32_t)cfg->net_udp_port_count);
	n->host.ferry_hdr_min = sizeof(struct ferry_wire_hdr);
	if (arp_open(n) != 0)
		return -1;
	if (ferry_port_link_wait(n->port, (unsigned)cfg->port_link_wait_ms) != 0)
		LOG_W("port %u (%s): link still down after port.link_wait_ms = %lld ms; carrying on",
		      n->port->port_id, n->port->name, (long long)cfg->port_link_wait_ms);
	/* rates are validated by the settings rules; init can only agree */
	ferry_fault_init(&n->fault[FERRY_FAULT_RX], (uint64_t)cfg->fault_seed, FERRY_FAULT_RX,
			 cfg->fault_rx_drop, cfg->fault_rx_dup, cfg->fault_rx_reorder,
			 cfg->fault_rx_corrupt);
	ferry_fault_init(&n->fault[FERRY_FAULT_TX], (uint64_t)cfg->fault_seed, FERRY_FAULT_TX,
			 cfg->fault_tx_drop, cfg->fault_tx_dup, cfg->fault_tx_reorder,
			 cfg->fault_tx_corrupt);
	for (int dir = 0; dir < FERRY_FAULT_DIRS; dir++)
		n->faulty[dir] = ferry_fault_active(&n->fault[dir]);
	if (n->faulty[0] || n->faulty[1])
		LOG_W("fault injection is on (seed %lld): rx drop %g dup %g reorder %g corrupt %g; "
		      "tx drop %g dup %g reorder %g corrupt %g",
		      (long long)cfg->fault_seed, cfg->fault_rx_drop, cfg->fault_rx_dup,
		      cfg->fault_rx_reorder, cfg->fault_rx_corrupt, cfg->fault_tx_drop,
		      cfg->fault_tx_dup, cfg->fault_tx_reorder, cfg->fault_tx_corrupt);
	n->keep_caps = ferry_port_recover_caps(n->port);
	if (ferry_port_watch_reset(n->port) != 0)
		LOG_W("port %u (%s): cannot listen for device resets; a reset will need a restart",
		      n->port->port_id, n->port->name);
	n->reset_every_ns = (uint64_t)cfg->fault_port_reset_ms * 1000000ull;
	if (n->reset_every_ns)
		LOG_W("fault injection: the port is reset every %lld ms (fault.port_reset_ms)",
		      (long long)cfg->fault_port_reset_ms);
	intr_open(n);
	alloc_counters(n);
	struct ferry_xstats_ops xops;
	ferry_xstats_dpdk_ops(&n->xsrc, n->port->port_id, &xops);
	if (ferry_xstats_start(&n->xs, &xops, ALLOWANCE_READ_NS, true) != 0)
		LOG_W("cannot start the thread that reads the ENI allowance counters; they stay "
		      "unavailable");
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

/* A session's packet shows its peer is there: confirm the ARP entry it
 * came through (the peer's, or the gateway's for an off-subnet peer) when
 * its MAC is the one we have, so a busy session never depends on ARP
 * probes getting through a lossy link, and the entry is defended against
 * claims of another MAC while the session lives. */
static void arp_confirm(struct fnic *n, uint32_t ip, const uint8_t *mac, uint64_t now)
{
	uint32_t nh;
	if (ferry_net_next_hop(&n->host, ip, &nh) == 0)
		ferry_arp_confirm(n->arp, nh, mac, now);
}

/* An ARP sender for the cache. A claim it refuses is someone on the
 * segment (or a peer that moved) saying another MAC has an address we
 * keep: logged at most once a second, with how many since the last line. */
static void arp_claim(struct fnic *n, const struct ferry_net_rx *rx, enum ferry_arp_claim how,
		      uint64_t now)
{
	struct ferry_arp_info info;
	if (ferry_arp_input(n->arp, rx->src_ip, rx->src_mac, now, how) != -EEXIST ||
	    now < n->next_conflict_log || ferry_arp_cache_get(n->arp, rx->src_ip, &info) != 0)
		return;
	uint64_t all = ferry_arp_cache_stats(n->arp)->conflicts;
	LOG_W("ARP conflict: " MAC_FMT " claims %u.%u.%u.%u, which is at " MAC_FMT
	      " (%s); the claim is ignored (%" PRIu64 " such claims since the last line, %" PRIu64
	      " in all)",
	      MAC6(rx->src_mac), IP4(rx->src_ip), MAC6(info.mac),
	      info.state == FERRY_ARP_STATIC ? "static" : "confirmed by its sessions",
	      all - n->conflicts_logged, all);
	n->conflicts_logged = all;
	n->next_conflict_log = now + 1000000000ull;
}

/* Counted under net.icmp_frag_needed by the stack; logged at most once a
 * second (a path that shrank sends one per packet that still does not
 * fit), and passed up to whoever sizes the sessions' packets. */
static void frag_needed(struct fnic *n, const struct ferry_net_rx *rx, uint64_t now)
{
	const struct ferry_net_frag_needed *f = &rx->frag;
	if (now >= n->next_frag_log) {
		uint32_t r = rx->src_ip, p = f->dst_ip;
		LOG_I("%u.%u.%u.%u: fragmentation needed for %u.%u.%u.%u:%u from port %u: "
		      "a %u-byte packet did not fit, path MTU %u",
		      r >> 24, (r >> 16) & 255, (r >> 8) & 255, r & 255, p >> 24, (p >> 16) & 255,
		      (p >> 8) & 255, p & 255, f->dst_port, f->src_port, f->too_big, f->mtu);
		n->next_frag_log = now + 1000000000ull;
	}
	if (n->ops.frag_needed)
		n->ops.frag_needed(n->ops.arg, f->dst_ip, f->dst_port, f->src_port, f->mtu);
}

static void handle(struct fnic *n, struct rte_mbuf *m, unsigned flags, uint64_t now,
		   struct rte_mbuf **tx, uint16_t *ntx)
{
	struct ferry_net_rx rx;
	enum ferry_net_verdict v = ferry_net_input(&n->host, frame_of(m), rte_pktmbuf_data_len(m),
						   flags, &rx, &n->stats);
	switch (v) {
	case FERRY_NET_ARP_REQUEST:
		/* the asker is about to talk to us: learn it (RFC 826) */
		arp_claim(n, &rx, FERRY_ARP_CLAIM_REQUEST, now);
		/* fall through */
	case FERRY_NET_ICMP_ECHO:
		/* the stack rewrote the frame into its answer */
		rte_pktmbuf_trim(m, (uint16_t)(rte_pktmbuf_pkt_len(m) - rx.reply_len));
		tx[(*ntx)++] = m;
		return;
	case FERRY_NET_ARP_REPLY:
		arp_claim(n, &rx, rx.arp_announce ? FERRY_ARP_CLAIM_ANNOUNCE : FERRY_ARP_CLAIM_REPLY,
			  now);
		break;
	case FERRY_NET_ICMP_FRAG_NEEDED:
		frag_needed(n, &rx, now);
		break;
	case FERRY_NET_UDP:
		if (fcore_input(n->core, rx.src_ip, rx.src_port, rx.dst_port,
				frame_of(m) + rx.payload_off, rx.payload_len))
			arp_confirm(n, rx.src_ip, rx.src_mac, now);
		break;
	default:
		break;
	}
	rte_pktmbuf_free(m);
}

/* One received frame through the rx fault injector: a duplicate is
 * handled, and may be answered, twice. */
static void rx_faulty(struct fnic *n, struct rte_mbuf *m, uint64_t now, struct rte_mbuf **tx,
		      uint16_t *ntx)
{
	struct ferry_fault *f = &n->fault[FERRY_FAULT_RX];
	struct rte_mbuf *copy;
	switch (ferry_fault_decide(f)) {
	case FERRY_FAULT_DROP:
		rte_pktmbuf_free(m);
		return;
	case FERRY_FAULT_DUP:
		/* a copy: handling may rewrite the frame into an answer */
		copy = rte_pktmbuf_copy(m, n->port->pool, 0, UINT32_MAX);
		handle(n, m, ferry_port_rx_flags(n->port, m), now, tx, ntx);
		if (copy)
			handle(n, copy, ferry_port_rx_flags(n->port, copy), now, tx, ntx);
		return;
	case FERRY_FAULT_REORDER:
		if (ferry_fault_hold(f, m, now))
			return;
		break;
	case FERRY_FAULT_CORRUPT:
		ferry_fault_corrupt(f, frame_of(m), rte_pktmbuf_data_len(m), FERRY_ETH_HLEN);
		handle(n, m, 0, now, tx, ntx); /* no checksum verdict: checked in software */
		return;
	default:
		break;
	}
	handle(n, m, ferry_port_rx_flags(n->port, m), now, tx, ntx);
}

/* The device asked to be reset (or fault.port_reset_ms did): stop,
 * reset, configure and start it again here, between two passes of the
 * loop, so no burst is running. Sessions do not notice beyond the packets
 * lost meanwhile, which they retransmit. */
static void recover_port(struct fnic *n, uint64_t now)
{
	struct ferry_port *p = n->port;
	struct timespec t0, t1;
	char err[384];

	clock_gettime(CLOCK_MONOTONIC, &t0);
	ferry_recover_begin(&p->recover);
	/* no admin command (the xstats read) may meet the device mid-reset */
	ferry_xstats_pause(&n->xs);
	n->xsrc.port_id = p->port_id;
	int rc = ferry_port_recover(p, err, sizeof(err));
	n->xsrc.port_id = p->port_id; /* a probed-again vdev may move */
	ferry_xstats_resume(&n->xs, true);
	enum ferry_recover_result r = ferry_recover_end(&p->recover, now, rc);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	switch (r) {
	case FERRY_RECOVER_OK:
		LOG_N("port %u (%s): device reset %llu recovered in %.1f ms, link %s; sessions carry on",
		      p->port_id, p->name, (unsigned long long)p->recover.recovered, ms,
		      p->link_up ? "up" : "down");
		if (send_garp(n) != 0)
			LOG_W("could not send the gratuitous ARP after the reset");
		intr_reopen(n);
		break;
	case FERRY_RECOVER_RETRY:
		LOG_W("port %u (%s): recovery after a device reset failed: %s; trying again in 1 s",
		      p->port_id, p->name, err);
		break;
	case FERRY_RECOVER_GAVE_UP:
		LOG_E("port %u (%s): recovery after a device reset failed %u times in a row, last: %s; "
		      "the port stays down and ferryd must be restarted",
		      p->port_id, p->name, p->recover.failures_in_row, err);
		n->failed = true;
		break;
	}
	nic_publish_counters(n);
}

unsigned nic_poll(struct fnic *n)
{
	if (FERRY_UNLIKELY(n->reset_every_ns) && n->now_ns >= n->next_reset) {
		/* the same request the device's reset event makes */
		if (n->next_reset) {
			ferry_recover_request(&n->port->recover);
			n->resets_injected++;
		}
		n->next_reset = n->now_ns + n->reset_every_ns;
	}
	if (FERRY_UNLIKELY(ferry_recover_due(&n->port->recover, n->now_ns)))
		recover_port(n, n->now_ns);
	/* answers: two per frame at most (a duplicate), plus one per late
	 * frame the rx injector releases (BURST / 2 at most) */
	struct rte_mbuf *rx[BURST], *tx[2 * BURST + BURST / 2];
	/* One thread serves every RX queue, so nothing RSS spreads over
	 * port.queues is left unread; a burst per queue per pass, taking
	 * turns so no queue waits behind a busy one. */
	uint16_t q = n->next_rxq;
	n->next_rxq = (uint16_t)((q + 1) % n->port->nb_queues);
	uint16_t got = ferry_port_rx_queue(n->port, q, rx, BURST), ntx = 0;
	if (FERRY_UNLIKELY(n->faulty[FERRY_FAULT_RX])) {
		for (uint16_t i = 0; i < got; i++)
			rx_faulty(n, rx[i], n->now_ns, tx, &ntx);
		void *late[BURST / 2];
		unsigned k = ferry_fault_release(&n->fault[FERRY_FAULT_RX], n->now_ns, late,
						 BURST / 2, false);
		for (unsigned i = 0; i < k; i++) {
			struct rte_mbuf *m = late[i];
			handle(n, m, ferry_port_rx_flags(n->port, m), n->now_ns, tx, &ntx);
		}
	} else {
		for (uint16_t i = 0; i < got; i++)
			handle(n, rx[i], ferry_port_rx_flags(n->port, rx[i]), n->now_ns, tx, &ntx);
	}
	if (ntx)
		ferry_port_tx(n->port, tx, ntx);
	nic_flush(n);
	ferry_arp_tick(n->arp, n->now_ns);
	if (n->now_ns >= n->next_housekeeping) {
		ferry_port_housekeeping(n->port);
		n->next_housekeeping = n->now_ns + HOUSEKEEPING_NS;
	}
	if (n->now_ns >= n->next_publish) {
		nic_publish_counters(n);
		n->next_publish = n->now_ns + PUBLISH_NS;
	}
	return got;
}

/* Every counter moves only when a frame comes or goes (or an mbuf is
 * missing for one): while this sum stands still, nothing is unpublished. */
static uint64_t traffic_sum(const struct fnic *n)
{
	return n->port->stats.rx_packets + n->port->stats.tx_packets + n->port->stats.tx_dropped +
	       n->tx_nombuf + n->tx_unreachable;
}

void nic_publish_counters(struct fnic *n)
{
	if (n == NULL || n->port == NULL || n->arp == NULL)
		return;
	n->published = traffic_sum(n);
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
	for (int dir = 0; dir < FERRY_FAULT_DIRS; dir++)
		for (int a = 1; a < FERRY_FAULT_ACTIONS && n->faulty[dir]; a++)
			fctr_set(n->c_fault[dir][a], n->fault[dir].count[a]);
	fctr_set(n->c_tx_nombuf, n->tx_nombuf);
	fctr_set(n->c_tx_unreachable, n->tx_unreachable);
	fctr_set(n->c_resets, n->port->recover.recovered);
	fctr_set(n->c_reset_failures, n->port->recover.failed);
	fctr_set(n->c_resets_injected, n->resets_injected);
	uint32_t moved = ferry_xstats_poll(&n->xs);
	if (n->xs.allow.primed)
		publish_allowance(n, moved);
}

/* The batched ferry packets through the tx fault injector, into @p out
 * (room for 2 * BURST + FERRY_FAULT_HOLD_CAP). @return how many to send. */
static uint16_t tx_faulty(struct fnic *n, uint64_t now, struct rte_mbuf **out, bool force)
{
	struct ferry_fault *f = &n->fault[FERRY_FAULT_TX];
	uint16_t k = 0;
	for (uint16_t i = 0; i < n->ntx; i++) {
		struct rte_mbuf *m = n->tx[i];
		switch (ferry_fault_decide(f)) {
		case FERRY_FAULT_DROP:
			rte_pktmbuf_free(m);
			continue;
		case FERRY_FAULT_DUP: {
			/* a copy, not a second reference: ferry_port_tx() frees
			 * with FAST_FREE, which assumes refcount 1 */
			struct rte_mbuf *c = rte_pktmbuf_copy(m, n->port->pool, 0, UINT32_MAX);
			if (c)
				out[k++] = c;
			break;
		}
		case FERRY_FAULT_REORDER:
			if (ferry_fault_hold(f, m, now))
				continue;
			break;
		case FERRY_FAULT_CORRUPT:
			ferry_fault_corrupt(f, frame_of(m), rte_pktmbuf_data_len(m), FERRY_ETH_HLEN);
			break;
		default:
			break;
		}
		out[k++] = m;
	}
	void *late[FERRY_FAULT_HOLD_CAP];
	unsigned r = ferry_fault_release(f, now, late, FERRY_FAULT_HOLD_CAP, force);
	for (unsigned i = 0; i < r; i++)
		out[k++] = late[i];
	return k;
}

void nic_flush(struct fnic *n)
{
	if (n == NULL)
		return;
	if (FERRY_UNLIKELY(n->faulty[FERRY_FAULT_TX])) {
		struct rte_mbuf *out[2 * BURST + FERRY_FAULT_HOLD_CAP];
		uint16_t k = tx_faulty(n, n->now_ns, out, false);
		n->ntx = 0;
		if (k)
			ferry_port_tx(n->port, out, k);
		return;
	}
	if (n->ntx) {
		ferry_port_tx(n->port, n->tx, n->ntx);
		n->ntx = 0;
	}
}

uint32_t nic_max_payload(const struct fnic *n)
{
	return (uint32_t)n->host.mtu - FERRY_IPV4_HLEN - FERRY_UDP_HLEN;
}

int nic_sendv(struct fnic *n, uint32_t ip, uint16_t port, uint16_t sport, const void *hdr,
	      uint16_t hlen, const void *p1, uint32_t l1, const void *p2, uint32_t l2)
{
	uint32_t nh;
	uint8_t mac[FERRY_ETH_ALEN];
	uint32_t plen = l1 + l2;
	if (hlen + plen > nic_max_payload(n))
		return -EMSGSIZE;
	if (sport && !ferry_net_port_is_ours(&n->host, sport))
		return -EINVAL;
	if (ferry_net_next_hop(&n->host, ip, &nh) != 0)
		return -EHOSTUNREACH;
	struct rte_mbuf *m = ferry_port_alloc(n->port);
	if (m == NULL) {
		n->tx_nombuf++;
		return -ENOBUFS;
	}
	uint8_t *f = frame_of(m);
	memcpy(f + FERRY_UDP_FRAME_HLEN, hdr, hlen);
	if (l1)
		memcpy(f + FERRY_UDP_FRAME_HLEN + hlen, p1, l1);
	if (l2)
		memcpy(f + FERRY_UDP_FRAME_HLEN + hlen + l1, p2, l2);
	struct ferry_net_udp_dst dst = {.ip = ip, .port = port, .src_port = sport};
	int len = ferry_net_build_udp(&n->host, f, &dst, (uint16_t)(hlen + plen), n->ip_id++,
				      n->port->tx_cksum_flags);
	if (len < 0) {
		rte_pktmbuf_free(m);
		return len;
	}
	rte_pktmbuf_append(m, (uint16_t)len);
	ferry_port_tx_udp_offload(n->port, m);
	int rc = ferry_arp_resolve(n->arp, nh, m, n->now_ns, mac);
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
		nic_flush(n);
	return 0;
}

int64_t nic_next_timer(const struct fnic *n)
{
	uint64_t t = ferry_arp_next_deadline(n->arp);
	/* held frames of the fault injector go on after FERRY_FAULT_HOLD_NS
	 * at the latest; the oldest is first */
	for (int dir = 0; dir < FERRY_FAULT_DIRS; dir++)
		if (ferry_fault_held(&n->fault[dir]) && n->fault[dir].held[0].due_ns < t)
			t = n->fault[dir].held[0].due_ns;
	if (traffic_sum(n) != n->published && n->next_publish < t)
		t = n->next_publish;
	if (n->reset_every_ns && n->next_reset < t)
		t = n->next_reset;
	/* A device's reset request comes from another thread, and
	 * ferry_port_housekeeping() (the ENA watchdog's timer) needs no
	 * precision: the idle loop's tick, once a second, looks at both. */
	if (t == UINT64_MAX)
		return -1;
	return t > n->now_ns ? (int64_t)(t - n->now_ns) : 0;
}

int nic_wake_fd(const struct fnic *n)
{
	return n->wakes ? n->intr.epfd : -1;
}

unsigned nic_arm(struct fnic *n)
{
	if (!n->wakes)
		return 0;
	int rc = ferry_port_intr_arm(&n->intr);
	if (rc < 0) {
		LOG_W("idle: cannot arm the receive interrupts of %s (%s); polling it every "
		      "idle.sleep_us from now on",
		      n->port->name, strerror(-rc));
		n->wakes = false;
		return 0;
	}
	/* the race (port_intr.h): a frame that landed after the loop's last
	 * poll and before the arm raised no interrupt; look once more */
	unsigned got = 0;
	for (uint16_t q = 0; q < n->port->nb_queues; q++)
		got += nic_poll(n);
	return got;
}

void nic_disarm(struct fnic *n)
{
	if (n->wakes)
		ferry_port_intr_disarm(&n->intr);
}

void nic_set_ops(struct fnic *n, const struct nic_ops *ops)
{
	n->ops = *ops;
}

uint64_t nic_cloud_drop_epoch(const struct fnic *n)
{
	return n->xs.allow.epoch;
}

uint64_t nic_port_resets(const struct fnic *n)
{
	return n->port ? n->port->recover.recovered : 0;
}

bool nic_failed(const struct fnic *n)
{
	return n->failed;
}

uint64_t nic_keep_caps(const struct fnic *n)
{
	return n->keep_caps;
}

const char *nic_describe(const struct fnic *n)
{
	return n ? n->desc : "local mode";
}

void nic_close(struct fnic *n)
{
	if (n == NULL)
		return;
	nic_flush(n);
	if (n->port) {
		/* what the injectors still hold: sent, or freed if received */
		struct rte_mbuf *out[2 * BURST + FERRY_FAULT_HOLD_CAP];
		uint16_t k;
		n->ntx = 0;
		while (n->faulty[FERRY_FAULT_TX] && (k = tx_faulty(n, n->now_ns, out, true)) > 0)
			ferry_port_tx(n->port, out, k);
		void *late[FERRY_FAULT_HOLD_CAP];
		unsigned r;
		while ((r = ferry_fault_release(&n->fault[FERRY_FAULT_RX], n->now_ns, late,
						FERRY_FAULT_HOLD_CAP, true)) > 0)
			rte_pktmbuf_free_bulk((struct rte_mbuf **)late, r);
	}
	nic_publish_counters(n);
	ferry_xstats_stop(&n->xs);
	if (n->port)
		ferry_port_intr_close(&n->intr);
	if (n->arp)
		ferry_arp_cache_destroy(n->arp);
	if (n->port)
		ferry_port_close(n->port);
	if (n->eal_up)
		ferry_eal_cleanup();
	ferry_eal_args_free(&n->eal);
	free(n);
}

void nic_set_core(struct fnic *n, struct fcore *core)
{
	n->core = core;
}

void nic_set_now(struct fnic *n, uint64_t now_ns)
{
	n->now_ns = now_ns;
}

static int link_send(void *arg, uint32_t ip, uint16_t sport, uint16_t dport, const void *hdr,
		     uint16_t hlen, const void *p1, uint32_t l1, const void *p2, uint32_t l2)
{
	return nic_sendv(arg, ip, dport, sport, hdr, hlen, p1, l1, p2, l2);
}

static uint32_t link_max_payload(void *arg, uint32_t ip)
{
	(void)ip;
	return nic_max_payload(arg);
}

static uint64_t link_drop_epoch(void *arg)
{
	return nic_cloud_drop_epoch(arg);
}

void nic_link_ops(struct fnic *n, struct fcore_link_ops *ops)
{
	*ops = (struct fcore_link_ops){.arg = n,
				       .send = link_send,
				       .max_payload = link_max_payload,
				       .drop_epoch = link_drop_epoch};
}
