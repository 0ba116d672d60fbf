/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ferryd's NIC: EAL, the DPDK port, the IPv4 host stack and the ARP cache,
 * driven from the main loop. Private to ferryd.
 */
#ifndef FERRY_NIC_H
#define FERRY_NIC_H

#include <stdint.h>

struct ferryd;
struct fnic;

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

/** One line for logs and STATUS=: "port 0 (net_af_packet0) 10.0.0.1/24 mtu 1500 link up". */
const char *nic_describe(const struct ferryd *d);

/**
 * Send one ferry packet to @p ip: the header, then the payload in two
 * pieces (a ring's wrap; either may be empty), copied; resolved through
 * the ARP cache, queued while resolving, batched until the next
 * nic_flush(). @return 0, -EMSGSIZE (larger than the MTU allows),
 * -ENOBUFS (no mbuf), -EHOSTUNREACH (the address failed to resolve
 * lately), -ENETDOWN (no NIC)
 */
int nic_sendv(struct ferryd *d, uint32_t ip, uint16_t port, const void *hdr, uint16_t hlen,
	      const void *p1, uint32_t l1, const void *p2, uint32_t l2);
/** Transmit what nic_sendv() batched. */
void nic_flush(struct ferryd *d);
/** Largest UDP payload (ferry header included) one packet carries. */
uint32_t nic_max_payload(const struct ferryd *d);

/** Stop the port and EAL. Safe when nic_open() failed part way. */
void nic_close(struct ferryd *d);

#endif
