/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ferryd's NIC: EAL, the DPDK port, the IPv4 host stack and the ARP cache,
 * driven from the main loop. Private to ferryd.
 */
#ifndef FERRY_NIC_H
#define FERRY_NIC_H

#include <stdbool.h>
#include <stdint.h>

struct ferryd;
struct fnic;

/** What the NIC tells the layers above; each entry may be NULL. */
struct nic_ops {
	void *arg;
	/**
	 * A router said a packet we sent to @p peer_ip:@p peer_port from our
	 * port @p our_port was too big for a link of @p mtu bytes (IP MTU,
	 * validated: at least 68, below the packet's size). Sessions to that
	 * peer on that flow should send packets of at most @p mtu bytes.
	 */
	void (*frag_needed)(void *arg, uint32_t peer_ip, uint16_t peer_port, uint16_t our_port,
			    uint16_t mtu);
};

/** Install the callbacks (copied), after nic_open(); a no-op without a NIC. */
void nic_set_ops(struct ferryd *d, const struct nic_ops *ops);

/**
 * Start EAL and the port named by the settings, set up the host stack and
 * announce our address (gratuitous ARP). Runs as root, before privileges
 * are dropped. Logs one line with the cause and what to do on failure.
 * @return 0 or -1
 */
int nic_open(struct ferryd *d);

/** Receive, answer ARP and ICMP, transmit, run ARP timers.
 *  @return packets handled (the loop's work count) */
unsigned nic_poll(struct ferryd *d);

/** Copy the NIC's counters into the status file (not per packet). */
void nic_publish_counters(struct ferryd *d);

/**
 * The cloud's drop epoch: how many readings of the ENI allowance counters
 * (bw_in/bw_out/pps/conntrack/linklocal_allowance_exceeded, read about once
 * a second off the datapath) found one of them risen. Congestion control
 * backs off when it moves (ferry_cc_on_signal()). 0 without a NIC or on a
 * PMD without those counters.
 */
uint64_t nic_cloud_drop_epoch(const struct ferryd *d);

/** Device resets the port recovered from (each logged at notice level). */
uint64_t nic_port_resets(const struct ferryd *d);

/** True once the port could not be recovered after a device reset
 *  (logged with the reason): ferryd cannot go on and must be restarted. */
bool nic_failed(const struct ferryd *d);

/** One line for logs and STATUS=: "port 0 (net_af_packet0) 10.0.0.1/24 mtu 1500 link up". */
const char *nic_describe(const struct ferryd *d);

/**
 * Send one ferry packet to @p ip:@p port from our UDP port @p sport (one of
 * net.udp_port .. net.udp_port + net.udp_port_count - 1, the flow's; 0 for
 * net.udp_port): the header, then the payload in two pieces (a ring's
 * wrap; either may be empty), copied; resolved through the ARP cache,
 * queued while resolving, batched until the next nic_flush().
 * @return 0, -EMSGSIZE (larger than the MTU allows), -EINVAL (@p sport is
 * not ours), -ENOBUFS (no mbuf), -EHOSTUNREACH (the address failed to
 * resolve lately), -ENETDOWN (no NIC)
 */
int nic_sendv(struct ferryd *d, uint32_t ip, uint16_t port, uint16_t sport, const void *hdr,
	      uint16_t hlen, const void *p1, uint32_t l1, const void *p2, uint32_t l2);
/** Transmit what nic_sendv() batched. */
void nic_flush(struct ferryd *d);
/** Largest UDP payload (ferry header included) one packet carries. */
uint32_t nic_max_payload(const struct ferryd *d);

/** Stop the port and EAL. Safe when nic_open() failed part way. */
void nic_close(struct ferryd *d);

#endif
