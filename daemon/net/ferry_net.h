/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ferry's IPv4 host stack, DPDK-free: everything works on byte buffers.
 *
 *   net_wire.h       header offsets, byte-order loads/stores, MAC helpers
 *   net_cksum.h      Internet checksum, pseudo-header sum, RFC 1624 update
 *   net_host.h       struct ferry_net_host, next-hop selection
 *   net_drop.h       drop reasons, verdicts, receive counters and names
 *   net_rx.h         ferry_net_input(): validate, classify, reply in place
 *   net_tx.h         UDP/ARP/ICMP frame builders (checksum offload aware)
 *   net_arp_cache.h  ARP cache with retries, expiry and pending queues
 */
#ifndef FERRY_NET_H
#define FERRY_NET_H

#include "net_arp_cache.h"
#include "net_cksum.h"
#include "net_drop.h"
#include "net_host.h"
#include "net_rx.h"
#include "net_tx.h"
#include "net_wire.h"

#endif
