/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * One DPDK Ethernet port, brought up from ferry's settings and driven
 * through burst wrappers the main loop calls. The same code runs on AWS ENA
 * and on the vdevs of the test lab (net_af_packet, net_tap, net_memif,
 * net_null, net_ring); drivers differ only in what dev_info advertises,
 * and every difference is decided from dev_info, never from a driver name.
 *
 * Bring-up (ferry_port_open), in order; ferry_port_close undoes it in
 * reverse, and a failure part way undoes what was done:
 *   1. port: port.id, or the only port when port.id was left at its default
 *   2. queues (port.queues) clamped to max_rx/tx_queues; RSS over IPv4/UDP
 *      when more than one; descriptor counts checked against the driver's
 *      limits (port_desc.h: an error names the setting and what it takes).
 *      ferry_port_rx() serves queue p->queue (0); ferry_port_rx_queue()
 *      reads any queue, and ferryd takes turns over all of them
 *   3. mbuf pool on the port's NUMA socket (rte_eth_dev_socket_id), falling
 *      back to SOCKET_ID_ANY; one segment holds a whole MTU frame, so the
 *      net layer always sees contiguous bytes
 *   4. offloads: IPv4 and UDP checksum on RX and TX, and MBUF_FAST_FREE on
 *      TX, each only when advertised; tx_cksum_flags and rx_cksum_hw tell
 *      the net layer which checksums it must still do itself. FAST_FREE
 *      binds every caller of ferry_port_tx(): see there
 *   5. MTU (port.mtu) through rxmode.mtu and rte_eth_dev_set_mtu(); larger
 *      than 1500 only where max_mtu allows (ENA: 9216, so 9001 in a VPC)
 *   6. queues set up, promiscuous mode off, start, MAC read (a device
 *      without one, such as net_ring, gets a random locally administered
 *      MAC)
 *   7. link: polled with rte_eth_link_get_nowait() for up to
 *      port.link_wait_ms; a link still down is reported, not an error
 *
 * AWS ENA specifics (see README.md for the commands):
 *   - bind the ENI to vfio-pci (no-IOMMU mode on instances without one) and
 *     list it in eal.allow: "0000:00:06.0". Devargs ride along in the same
 *     entry; DPDK 22.11's ENA takes enable_llq=1 (default) and
 *     large_llq_hdr=1 (needed only for headers > 96 bytes); DPDK >= 24.03
 *     replaced both with llq_policy=N
 *   - LLQ (TX descriptors and headers pushed through device memory) needs
 *     the BAR mapped write-combining: vfio-pci with WC support (amzn-drivers'
 *     get-vfio-with-wc.sh) or igb_uio wc_activate=1. Without WC the port
 *     works but TX costs far more CPU, and nothing says so: neither DPDK
 *     22.11 nor its ENA driver can tell how the BAR is mapped (vfio maps it
 *     with whatever attributes the kernel module chose), so ferryd cannot
 *     warn either. scripts/setup-aws.sh --check-wc reads the kernel's PAT
 *     table while ferryd runs
 *   - queues: up to the ENI's queue count (instance type dependent);
 *     port.queues is clamped to it
 *   - RSS: hash function and key are fixed by the device on older
 *     generations; ferry asks only for IPv4/UDP hashing and sets no key
 *   - checksum offload: IPv4 and UDP in both directions; some ENA
 *     generations need the pseudo-header sum in place (ferry_net_build_udp
 *     puts it there) and ferry_port_tx() runs rte_eth_tx_prepare() whenever
 *     TX offloads are on
 *   - the ENA watchdog runs on rte_timer: call ferry_port_housekeeping()
 *     every 100 ms or so (harmless on vdevs)
 *   - xstats include the ENI allowance counters (bw_in_allowance_exceeded,
 *     pps_allowance_exceeded, ...): ferry_port_counters() lists them
 */
#ifndef FERRY_PORT_H
#define FERRY_PORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include "net_rx.h"
#include "net_tx.h"
#include "port_recover.h"

struct ferry_config;

#define FERRY_PORT_STATS(X)                                                         \
	X(rx_packets, "port_rx_packets")                                            \
	X(rx_bursts, "port_rx_bursts") /* bursts that returned packets */           \
	X(tx_packets, "port_tx_packets")                                            \
	X(tx_bursts, "port_tx_bursts")                                              \
	X(tx_dropped, "port_tx_dropped") /* TX ring stayed full: freed */           \
	X(tx_prepare_rejected, "port_tx_prepare_rejected") /* offload prep failed */

#define FERRY_PORT_X_FIELD(f, name) uint64_t f;
struct ferry_port_stats {
	FERRY_PORT_STATS(FERRY_PORT_X_FIELD)
};
#undef FERRY_PORT_X_FIELD

/* Exposed for the inline burst wrappers; fields are read-only to callers. */
struct ferry_port {
	uint16_t port_id;
	uint16_t queue;        /* the RX/TX queue pair these wrappers use */
	uint16_t nb_queues;    /* queue pairs configured */
	uint16_t nb_rxd, nb_txd;
	uint16_t mtu;          /* IP MTU in effect */
	int socket_id;         /* NUMA socket of the pool */
	uint8_t mac[6];
	bool rx_cksum_hw;      /* mbuf RX checksum flags are meaningful */
	bool link_up;          /* as of the last ferry_port_link_update() */
	bool mac_generated;    /* the device had no MAC: a random local one */
	unsigned tx_cksum_flags; /* FERRY_NET_TX_*: pass to ferry_net_build_udp() */
	uint64_t rx_offloads, tx_offloads; /* RTE_ETH_*_OFFLOAD_* enabled */
	uint32_t link_speed;   /* Mb/s, RTE_ETH_SPEED_NUM_* */
	struct rte_mempool *pool;
	struct ferry_port_stats stats;
	int state;             /* bring-up progress, for close */
	bool running;          /* started: rx/tx bursts are allowed */
	bool reset_watched;    /* the RTE_ETH_EVENT_INTR_RESET callback is registered */
	struct rte_eth_conf conf; /* as configured: recovery configures it again */
	struct ferry_recover recover; /* device resets: requested, attempted, given up */
	char name[RTE_ETH_NAME_MAX_LEN];
	char driver[32];
};

/**
 * Find, configure and start the port ferry's settings name.
 *
 * EAL must be up (ferry_eal_init()).
 *
 * @param cfg     port.* settings are read
 * @param out     the started port
 * @param err     on failure: one line with the cause and what to set or
 *                run, e.g. "no DPDK port: set eal.vdevs ... or bind a NIC"
 * @param errlen  size of @p err
 * @return 0; -ENODEV (no such port), -EINVAL (a setting the device cannot
 *         do, such as an MTU above its max), -ENOMEM (pool), or the
 *         -errno DPDK returned at the step @p err names
 */
int ferry_port_open(const struct ferry_config *cfg, struct ferry_port **out, char *err,
		    size_t errlen);

/** Stop the port, free its queues and pool, release it. NULL is a no-op. */
void ferry_port_close(struct ferry_port *p);

/** Stop RX/TX; the port keeps its configuration. @return 0 or -errno. */
int ferry_port_stop(struct ferry_port *p);

/** Start again after ferry_port_stop(). @return 0 or -errno. */
int ferry_port_start(struct ferry_port *p);

/**
 * Poll the link until it is up or @p wait_ms have passed (sleeping 10 ms
 * between polls, never spinning).
 *
 * @return 0 when up, -ETIMEDOUT when still down; p->link_up is updated
 */
int ferry_port_link_wait(struct ferry_port *p, unsigned wait_ms);

/** Read the link state now, without waiting. @return p->link_up. */
bool ferry_port_link_update(struct ferry_port *p);

/** Run driver timers (the ENA watchdog). Call every ~100 ms. */
void ferry_port_housekeeping(struct ferry_port *p);

/**
 * Call @p cb for every counter: ferry's per-port counters first, then the
 * device's extended statistics (rte_eth_xstats_get()). Not for the fast
 * path: it allocates for the xstats names.
 *
 * @return the number of counters reported, or -errno from DPDK
 */
int ferry_port_counters(const struct ferry_port *p,
			void (*cb)(void *arg, const char *name, uint64_t value), void *arg);

/**
 * Listen for the device's reset event (RTE_ETH_EVENT_INTR_RESET: on ENA its
 * keep-alive, an admin command or TX completions timed out). The callback
 * runs on whichever thread raised the event (DPDK's interrupt thread, or
 * the caller of ferry_port_housekeeping() for the ENA's watchdog) and only
 * sets p->recover's flag; the main loop then calls ferry_port_recover().
 * Drivers without the event register fine and never raise it.
 *
 * @return 0 or -errno from rte_eth_dev_callback_register()
 */
int ferry_port_watch_reset(struct ferry_port *p);

/** Undo ferry_port_watch_reset(); ferry_port_close() calls it. */
void ferry_port_unwatch_reset(struct ferry_port *p);

/**
 * Bring the port back after a device reset, keeping everything above it:
 * the pool (so mbufs held by the ARP cache, the fault injector or a pending
 * burst stay valid; those the device's rings held are freed by the driver),
 * the port id, the MAC, the MTU, the queues, offloads and RSS (p->conf).
 *
 * Steps: stop; rte_eth_dev_reset() (-ENOTSUP on every vdev: then the same
 * stop/configure/start without it); for net_af_packet, whose stop closes
 * its sockets for good (DPDK 22.11 to 23.11), the device is removed and
 * probed again from its devargs, which creates new sockets (CAP_NET_RAW;
 * starting it again needs CAP_NET_ADMIN); configure with p->conf; the MTU again after a real reset
 * (a stopped device keeps its own); queues; promiscuous off;
 * start; the MAC checked against p->mac (set again where the device
 * forgot a generated one); the reset callback registered again.
 *
 * Call from the thread that runs the bursts, never while one runs; no
 * other thread may use the port meanwhile (xstats readers pause). Until it
 * succeeds p->running is false and ferry_port_tx() drops what it is given.
 *
 * @return 0, or -errno with @p err saying which step failed
 */
int ferry_port_recover(struct ferry_port *p, char *err, size_t errlen);

/** @return the capabilities ferry_port_recover() needs on this port as a
 *  mask of (1ull << CAP_*), 0 for none (ENA, tap, memif, null, ring). */
uint64_t ferry_port_recover_caps(const struct ferry_port *p);

/**
 * Describe the enabled offloads, e.g. "rx: ipv4_cksum udp_cksum; tx: none".
 *
 * @return like snprintf()
 */
int ferry_port_offloads_str(const struct ferry_port *p, char *buf, size_t len);

/** Allocate an mbuf for a frame ferry builds (ARP, a UDP packet). */
static inline struct rte_mbuf *ferry_port_alloc(struct ferry_port *p)
{
	return rte_pktmbuf_alloc(p->pool);
}

/** Receive up to @p n frames from RX queue @p q. @return how many. */
static inline uint16_t ferry_port_rx_queue(struct ferry_port *p, uint16_t q,
					   struct rte_mbuf **pkts, uint16_t n)
{
	uint16_t got;
	if (__builtin_expect(!p->running, 0))
		return 0; /* stopped for recovery */
	got = rte_eth_rx_burst(p->port_id, q, pkts, n);
	if (got) {
		p->stats.rx_packets += got;
		p->stats.rx_bursts++;
	}
	return got;
}

/** Receive up to @p n frames from the wrappers' queue. @return how many. */
static inline uint16_t ferry_port_rx(struct ferry_port *p, struct rte_mbuf **pkts, uint16_t n)
{
	return ferry_port_rx_queue(p, p->queue, pkts, n);
}

/**
 * The NIC's checksum verdicts for @p m as FERRY_NET_RX_* flags for
 * ferry_net_input(). "None" (valid but not in the data) counts as good.
 */
static inline unsigned ferry_port_rx_flags(const struct ferry_port *p, const struct rte_mbuf *m)
{
	unsigned f = 0;
	uint64_t ip, l4;

	if (!p->rx_cksum_hw)
		return 0;
	ip = m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK;
	l4 = m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK;
	if (ip == RTE_MBUF_F_RX_IP_CKSUM_GOOD || ip == RTE_MBUF_F_RX_IP_CKSUM_NONE)
		f |= FERRY_NET_RX_IP_CKSUM_GOOD;
	else if (ip == RTE_MBUF_F_RX_IP_CKSUM_BAD)
		f |= FERRY_NET_RX_IP_CKSUM_BAD;
	if (l4 == RTE_MBUF_F_RX_L4_CKSUM_GOOD || l4 == RTE_MBUF_F_RX_L4_CKSUM_NONE)
		f |= FERRY_NET_RX_L4_CKSUM_GOOD;
	else if (l4 == RTE_MBUF_F_RX_L4_CKSUM_BAD)
		f |= FERRY_NET_RX_L4_CKSUM_BAD;
	return f;
}

/**
 * Mark a UDP frame built with ferry_net_build_udp(..., p->tx_cksum_flags)
 * for the NIC to finish its checksums. A no-op without TX offloads; frames
 * with software checksums (ARP, ICMP) skip this call.
 */
static inline void ferry_port_tx_udp_offload(const struct ferry_port *p, struct rte_mbuf *m)
{
	if (!p->tx_cksum_flags)
		return;
	m->l2_len = FERRY_ETH_HLEN;
	m->l3_len = FERRY_IPV4_HLEN;
	m->ol_flags |= RTE_MBUF_F_TX_IPV4;
	if (p->tx_cksum_flags & FERRY_NET_TX_IPV4_CKSUM_HW)
		m->ol_flags |= RTE_MBUF_F_TX_IP_CKSUM;
	if (p->tx_cksum_flags & FERRY_NET_TX_UDP_CKSUM_HW)
		m->ol_flags |= RTE_MBUF_F_TX_UDP_CKSUM;
}

/**
 * Send @p n frames. Takes ownership of all of them: what the TX ring does
 * not accept after a few immediate retries is freed and counted in
 * stats.tx_dropped (the transport retransmits; blocking the loop on a full
 * ring would stall receive).
 *
 * Every frame must come from p->pool, be one direct segment and have
 * reference count 1: with RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE on (ENA,
 * p->tx_offloads) the driver returns sent mbufs to p->pool in bulk without
 * checking any of that. To send one frame twice, send a copy
 * (rte_pktmbuf_copy() into p->pool), never the same mbuf with its
 * reference count raised.
 *
 * @return frames handed to the NIC
 */
uint16_t ferry_port_tx(struct ferry_port *p, struct rte_mbuf **pkts, uint16_t n);

#endif
