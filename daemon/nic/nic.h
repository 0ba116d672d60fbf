/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The NIC edge: EAL, the DPDK port, the IPv4 host stack and the ARP cache,
 * driven from the main loop. Ferry packets it receives go to the core
 * (fcore_input()); the core sends through the link ops it is given here.
 */
#ifndef FERRY_NIC_H
#define FERRY_NIC_H

#include <stdbool.h>
#include <stdint.h>

#include "core.h"
#include "ferry_config.h"
#include "status.h"

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

/** Install the callbacks (copied), after nic_open(). */
void nic_set_ops(struct fnic *n, const struct nic_ops *ops);

/**
 * Start EAL and the port named by the settings, set up the host stack and
 * announce our address (gratuitous ARP). Runs as root, before privileges
 * are dropped. Logs one line with the cause and what to do on failure;
 * on failure *out may be set and must be closed with nic_close().
 * @return 0 or -1
 */
int nic_open(struct fnic **out, const struct ferry_config *cfg, struct fstatus *st);
/** The ops the core sends through. */
void nic_link_ops(struct fnic *n, struct fcore_link_ops *ops);
void nic_set_core(struct fnic *n, struct fcore *core);
void nic_set_now(struct fnic *n, uint64_t now_ns);

/** Receive, answer ARP and ICMP, hand ferry packets to the core, transmit,
 *  run ARP timers. @return packets handled (the loop's work count) */
unsigned nic_poll(struct fnic *n);

/**
 * For an idle loop that sleeps on the NIC's receive interrupts
 * (idle.strategy = interrupt, port_intr.h): the fd to add to its epoll,
 * readable once an armed queue has received a frame (its events need no
 * handling beyond a nic_poll()). -1 when the port has none (net_af_packet,
 * net_memif) or they failed: poll it every idle.sleep_us instead. The fd
 * stays the same for the life of @p n; after a failure it stays quiet.
 */
int nic_wake_fd(const struct fnic *n);

/**
 * Going to sleep: arm the receive interrupts, then poll every queue once
 * more, since a frame that landed after the loop's last poll raised none.
 * @return frames that poll found: work, so do not sleep; 0 also when the
 *         port has no interrupts (nic_wake_fd() then says -1)
 */
unsigned nic_arm(struct fnic *n);

/** After the sleep: disarm (a no-op for always-armed queues, net_tap). */
void nic_disarm(struct fnic *n);

/**
 * When an idle loop must run nic_poll() for the NIC's own timers: ARP
 * retries and expiry, frames the fault injector holds back, counters not
 * yet published, an injected port reset. @return ns from the time last
 * given to nic_set_now() (0: due), or -1 for none
 */
int64_t nic_next_timer(const struct fnic *n);

/** Copy the NIC's counters into the status file (not per packet). */
void nic_publish_counters(struct fnic *n);

/**
 * The cloud's drop epoch: how many readings of the ENI allowance counters
 * (bw_in/bw_out/pps/conntrack/linklocal_allowance_exceeded, read about once
 * a second off the datapath) found one of them risen. Congestion control
 * backs off when it moves (ferry_cc_on_signal()). 0 on a PMD without those
 * counters.
 */
uint64_t nic_cloud_drop_epoch(const struct fnic *n);

/** Device resets the port recovered from (each logged at notice level). */
uint64_t nic_port_resets(const struct fnic *n);

/** True once the port could not be recovered after a device reset
 *  (logged with the reason): ferryd cannot go on and must be restarted. */
bool nic_failed(const struct fnic *n);

/** Capabilities (1 << CAP_*) recovering this port after a device reset
 *  needs once root is dropped (ferry_port_recover_caps()). */
uint64_t nic_keep_caps(const struct fnic *n);

/** One line for logs and STATUS=: "port 0 (net_af_packet0) 10.0.0.1/24
 *  mtu 1500 link up"; "local mode" for NULL. */
const char *nic_describe(const struct fnic *n);

/**
 * Send one ferry packet to @p ip:@p port from our UDP port @p sport (one of
 * net.udp_port .. net.udp_port + net.udp_port_count - 1, the flow's; 0 for
 * net.udp_port): the header, then the payload in two pieces (a ring's
 * wrap; either may be empty), copied; resolved through the ARP cache,
 * queued while resolving, batched until the next nic_flush().
 * @return 0, -EMSGSIZE (larger than the MTU allows), -EINVAL (@p sport is
 * not ours), -ENOBUFS (no mbuf), -EHOSTUNREACH (the address failed to
 * resolve lately)
 */
int nic_sendv(struct fnic *n, uint32_t ip, uint16_t port, uint16_t sport, const void *hdr,
	      uint16_t hlen, const void *p1, uint32_t l1, const void *p2, uint32_t l2);
/** Transmit what nic_sendv() batched. */
void nic_flush(struct fnic *n);
/** Largest UDP payload (ferry header included) one packet carries. */
uint32_t nic_max_payload(const struct fnic *n);

/** Stop the port and EAL. Safe when nic_open() failed part way; NULL is a
 *  no-op. */
void nic_close(struct fnic *n);

#endif
