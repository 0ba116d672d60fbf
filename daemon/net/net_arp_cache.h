/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ARP cache: IPv4 next hop -> MAC, with resolution, retries, expiry, a
 * bounded queue of packets waiting for each resolution, static entries,
 * and defence of entries that live sessions vouch for.
 *
 * Entry life cycle (RFC 826 / RFC 1122 2.3.2.1, in the spirit of Linux's
 * neighbour states):
 *
 *   (none) --resolve--> INCOMPLETE --reply--> REACHABLE --timeout--> stale
 *                        |  request every retry_ns,       |  (still REACHABLE
 *                        |  max_requests in all           |   with an old MAC)
 *                        v                                v used while stale
 *                      FAILED <--no reply after--------- PROBE: packets keep
 *                        |      max_requests              going to the old
 *                        v after fail_hold_ns             MAC while requests
 *                      (none)                             re-confirm it
 *
 *   STATIC: configured (ferry_arp_add_static()); never requested, never
 *   expires, never evicted, never changed by anything received.
 *
 * While INCOMPLETE, packets for the entry are queued (up to queue_len);
 * the reply flushes them to ops.flush, failure hands them to
 * ops.unreachable to be freed. While FAILED, new packets are refused with
 * -EHOSTUNREACH so a vanished peer cannot cause an ARP storm.
 *
 * Defence (ARP has no authentication, so anyone on the segment may claim
 * any address): a session's packets from the peer's known MAC confirm the
 * entry (ferry_arp_confirm(), RFC 1122's upper-layer confirmation). For
 * confirm_ns after a confirmation, a claim of another MAC for that address
 * -- an unsolicited reply, a gratuitous ARP, a request to us whose sender
 * says it has that address -- is refused and counted as a conflict; so is
 * any claim against a static entry. Only a reply while the entry is being
 * probed (an answer to our own request) may still change a confirmed
 * entry. A peer that really changed its MAC stops confirming the old one:
 * a disputed entry then goes stale when its confirmation lapses, and the
 * next use probes it and takes the answer. An entry nobody confirms is
 * learned from ARP as RFC 826 says.
 *
 * Time is injected: every call takes now_ns from the caller's clock, and
 * nothing here reads one, so tests step time deterministically. Memory is
 * allocated once at create; no call on the packet path allocates. Single
 * threaded: one cache per datapath thread.
 */
#ifndef FERRY_NET_ARP_CACHE_H
#define FERRY_NET_ARP_CACHE_H

#include <stdbool.h>
#include <stdint.h>

#include "net_wire.h"

struct ferry_arp_cache;

/** Callbacks through which the cache acts; they must not call the cache. */
struct ferry_arp_ops {
	void *arg; /* passed to every callback */
	/** Broadcast an ARP request for @p ip (host order). */
	void (*request)(void *arg, uint32_t ip);
	/** @p ip resolved to @p mac: send the @p n queued packets (n >= 1). */
	void (*flush)(void *arg, uint32_t ip, const uint8_t mac[FERRY_ETH_ALEN], void **pkts,
		      unsigned n);
	/** @p ip did not answer: free the @p n queued packets (n may be 0) and
	 *  fail whatever depends on that next hop. */
	void (*unreachable)(void *arg, uint32_t ip, void **pkts, unsigned n);
};

struct ferry_arp_params {
	uint32_t entries;     /* capacity; rounded up to a power of two, >= 4 */
	uint16_t queue_len;   /* packets held per unresolved entry, >= 1 */
	uint8_t max_requests; /* requests before giving up, >= 1 */
	uint64_t retry_ns;    /* gap between requests */
	uint64_t timeout_ns;  /* how long a reply stays valid (net.arp_timeout_ms) */
	uint64_t fail_hold_ns; /* how long a failed address is refused */
	uint64_t confirm_ns;   /* how long a confirmation defends an entry */
};

/** Defaults: 256 entries, 8 queued, 3 requests 200 ms apart, 60 s valid,
 *  1 s hold, 5 s defended after a confirmation. */
#define FERRY_ARP_PARAMS_DEFAULT                                                              \
	{                                                                                     \
		.entries = 256, .queue_len = 8, .max_requests = 3, .retry_ns = 200000000ull,  \
		.timeout_ns = 60000000000ull, .fail_hold_ns = 1000000000ull,                 \
		.confirm_ns = 5000000000ull,                                                  \
	}

enum ferry_arp_state {
	FERRY_ARP_FREE = 0,
	FERRY_ARP_INCOMPLETE,
	FERRY_ARP_REACHABLE,
	FERRY_ARP_PROBE,
	FERRY_ARP_FAILED,
	FERRY_ARP_STATIC,
};

/** What an ARP packet fed to ferry_arp_input() was. */
enum ferry_arp_claim {
	FERRY_ARP_CLAIM_REPLY = 1, /* a reply addressed to us: solicited while we probe */
	FERRY_ARP_CLAIM_REQUEST,   /* a request for our address: its sender may be added */
	FERRY_ARP_CLAIM_ANNOUNCE,  /* a gratuitous ARP (sender == target), never solicited */
};

/* ferry_arp_resolve() results that are not errors */
#define FERRY_ARP_RESOLVED 0 /* mac filled in: send now */
#define FERRY_ARP_QUEUED 1   /* packet held until the reply (or failure) */

#define FERRY_ARP_STATS(X)                                                    \
	X(requests, "arp_requests_sent")                                      \
	X(learned, "arp_replies_learned")                                     \
	X(ignored, "arp_replies_ignored")                                     \
	X(queued, "arp_packets_queued")                                       \
	X(flushed, "arp_packets_flushed")                                     \
	X(queue_full, "arp_queue_full")                                       \
	X(table_full, "arp_table_full")                                       \
	X(failed, "arp_resolve_failed")                                       \
	X(dropped_unreachable, "arp_packets_unreachable")                    \
	X(refused, "arp_refused_failed")                                      \
	X(evicted, "arp_entries_evicted")                                     \
	X(expired, "arp_entries_expired")                                     \
	X(confirmed, "arp_confirmations")                                     \
	X(conflicts, "arp_conflicts")

#define FERRY_ARP_X_FIELD(f, name) uint64_t f;
struct ferry_arp_stats {
	FERRY_ARP_STATS(FERRY_ARP_X_FIELD)
};
#undef FERRY_ARP_X_FIELD

/** Number of counters in struct ferry_arp_stats, in declaration order. */
#define FERRY_ARP_STATS_COUNT (sizeof(struct ferry_arp_stats) / sizeof(uint64_t))

/** One entry, as ferry_arp_cache_get() reports it. */
struct ferry_arp_info {
	enum ferry_arp_state state;
	uint8_t mac[FERRY_ETH_ALEN]; /* valid in REACHABLE and PROBE */
	uint8_t requests;            /* requests sent in this resolution */
	uint16_t queued;             /* packets waiting */
	uint64_t deadline_ns;        /* next retry, expiry or end of hold;
				      * UINT64_MAX when STATIC */
	uint64_t defended_until_ns;  /* claims of another MAC are refused
				      * before this (0: never confirmed) */
};

/**
 * Create a cache.
 *
 * @param out  the new cache
 * @param p    sizes and timers (see FERRY_ARP_PARAMS_DEFAULT)
 * @param ops  callbacks; copied
 * @return 0, -EINVAL for a zero size/count/timer or a missing callback,
 *         -ENOMEM
 */
int ferry_arp_cache_create(struct ferry_arp_cache **out, const struct ferry_arp_params *p,
			   const struct ferry_arp_ops *ops);

/** Hand every queued packet to ops.unreachable, then free @p c (NULL ok). */
void ferry_arp_cache_destroy(struct ferry_arp_cache *c);

/**
 * Find the MAC for next hop @p ip, starting a resolution if needed.
 *
 * @param c    the cache
 * @param ip   next hop (ferry_net_next_hop()), host order
 * @param pkt  the packet to queue if unresolved (opaque, e.g. an mbuf), or
 *             NULL to only start resolving
 * @param now  the caller's clock, ns
 * @param mac  out: filled on FERRY_ARP_RESOLVED
 * @return FERRY_ARP_RESOLVED (an expired entry still resolves, while a
 *         request re-confirms it), FERRY_ARP_QUEUED (pkt is now the cache's),
 *         or, with pkt still the caller's: -ENOBUFS (the entry's queue is
 *         full), -ENOSPC (no entry can be freed for a new address),
 *         -EHOSTUNREACH (a recent resolution of @p ip failed), -EINVAL (ip 0)
 */
int ferry_arp_resolve(struct ferry_arp_cache *c, uint32_t ip, void *pkt, uint64_t now,
		      uint8_t mac[FERRY_ETH_ALEN]);

/**
 * Feed an ARP sender (from FERRY_NET_ARP_REPLY, or FERRY_NET_ARP_REQUEST)
 * to the cache. An entry waiting for it becomes REACHABLE and its queue
 * goes to ops.flush. A claim of another MAC than the entry's is refused
 * when the entry is STATIC, or defended (confirmed within confirm_ns) and
 * the claim is not a reply to our probe; a refused claim also makes a
 * defended entry go stale when its defence lapses, unless confirmed again.
 *
 * @param how  what the packet was; only FERRY_ARP_CLAIM_REQUEST adds an
 *             entry when none exists (the asker is about to talk to us),
 *             so unsolicited replies cannot fill the table
 * @return 0 when an entry was updated or added, or agrees (STATIC, same
 *         MAC); -ENOENT when ignored (no entry); -EEXIST when refused as a
 *         conflict (counted in conflicts; ferry_arp_cache_get() tells the
 *         MAC kept); -EINVAL for ip 0 or a group/zero MAC
 */
int ferry_arp_input(struct ferry_arp_cache *c, uint32_t ip, const uint8_t mac[FERRY_ETH_ALEN],
		    uint64_t now, enum ferry_arp_claim how);

/**
 * Upper-layer confirmation (RFC 1122 2.3.2.1): a packet of a live session
 * came from @p ip at @p mac. A REACHABLE or PROBE entry with that MAC
 * becomes REACHABLE for another timeout_ns and is defended for confirm_ns.
 * A packet from another MAC confirms nothing.
 *
 * @return 0 when the entry was confirmed; -ENOENT when there is no
 *         resolved entry for @p ip with @p mac (STATIC ones need none)
 */
int ferry_arp_confirm(struct ferry_arp_cache *c, uint32_t ip, const uint8_t mac[FERRY_ETH_ALEN],
		      uint64_t now);

/**
 * Make @p ip a STATIC entry at @p mac. A dynamic entry for @p ip is
 * replaced, and packets it held are flushed to @p mac.
 *
 * @return 0 (also when the same static entry exists); -EINVAL for ip 0 or
 *         a group/zero MAC; -EEXIST when @p ip is already static at
 *         another MAC; -ENOSPC when its set of the table already holds the
 *         most static entries a set may (all but one way, so learned
 *         addresses that hash there still fit): make the table larger
 */
int ferry_arp_add_static(struct ferry_arp_cache *c, uint32_t ip, const uint8_t mac[FERRY_ETH_ALEN]);

/**
 * Run due timers: resend requests, fail resolutions that ran out of
 * requests, forget failed and long-stale entries. Cheap when nothing is
 * due (one comparison), so call it every loop iteration.
 *
 * @return the number of requests sent and resolutions failed (work done)
 */
unsigned ferry_arp_tick(struct ferry_arp_cache *c, uint64_t now);

/** @return the earliest time ferry_arp_tick() has work, UINT64_MAX if none. */
uint64_t ferry_arp_next_deadline(const struct ferry_arp_cache *c);

/**
 * Look at the entry for @p ip without changing anything.
 *
 * @return 0 with @p info filled, or -ENOENT
 */
int ferry_arp_cache_get(const struct ferry_arp_cache *c, uint32_t ip, struct ferry_arp_info *info);

/** @return the cache's counters. */
const struct ferry_arp_stats *ferry_arp_cache_stats(const struct ferry_arp_cache *c);

/** @return the counter name of field @p i of struct ferry_arp_stats. */
const char *ferry_arp_stat_name(unsigned i);

/** @return "free", "incomplete", "reachable", "probe", "failed" or "static". */
const char *ferry_arp_state_name(enum ferry_arp_state s);

#endif
