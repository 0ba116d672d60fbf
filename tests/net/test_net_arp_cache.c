/* SPDX-License-Identifier: BSD-3-Clause */
/* ARP cache with a stepped clock: resolution and retries, failure and the
 * hold-down, expiry and re-confirmation, the pending queue and its limit,
 * table pressure, next-hop use with a gateway, the defence of entries live
 * sessions confirm, and static entries. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "net_test_util.h"

#define MS 1000000ull

/* What the callbacks saw. Packets are small integers cast to pointers. */
struct calls {
	int requests;
	uint32_t last_request_ip;
	int flushes;
	uint32_t flush_ip;
	uint8_t flush_mac[6];
	uintptr_t flushed[64];
	unsigned nflushed;
	int unreachables;
	uint32_t unreach_ip;
	uintptr_t freed[64];
	unsigned nfreed;
};

static void cb_request(void *arg, uint32_t ip)
{
	struct calls *c = arg;
	c->requests++;
	c->last_request_ip = ip;
}

static void cb_flush(void *arg, uint32_t ip, const uint8_t mac[6], void **pkts, unsigned n)
{
	struct calls *c = arg;
	c->flushes++;
	c->flush_ip = ip;
	memcpy(c->flush_mac, mac, 6);
	for (unsigned i = 0; i < n; i++)
		c->flushed[c->nflushed++] = (uintptr_t)pkts[i];
}

static void cb_unreachable(void *arg, uint32_t ip, void **pkts, unsigned n)
{
	struct calls *c = arg;
	c->unreachables++;
	c->unreach_ip = ip;
	for (unsigned i = 0; i < n; i++)
		c->freed[c->nfreed++] = (uintptr_t)pkts[i];
}

struct fixture {
	struct calls calls;
	struct ferry_arp_cache *cache;
};

static struct ferry_arp_cache *make_p(struct fixture *fx, const struct ferry_arp_params *p)
{
	struct ferry_arp_ops ops = {.arg = &fx->calls, .request = cb_request, .flush = cb_flush,
				    .unreachable = cb_unreachable};
	memset(&fx->calls, 0, sizeof(fx->calls));
	assert_int_equal(ferry_arp_cache_create(&fx->cache, p, &ops), 0);
	return fx->cache;
}

static struct ferry_arp_cache *make(struct fixture *fx, uint32_t entries, uint16_t qlen)
{
	struct ferry_arp_params p = FERRY_ARP_PARAMS_DEFAULT;
	p.entries = entries;
	p.queue_len = qlen;
	return make_p(fx, &p);
}

static int setup(void **state)
{
	*state = calloc(1, sizeof(struct fixture));
	return *state ? 0 : -1;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;
	ferry_arp_cache_destroy(fx->cache);
	free(fx);
	return 0;
}

#define PKT(n) ((void *)(uintptr_t)(n))

static void test_resolve_then_reply_flushes_in_order(void **state)
{
	struct fixture *fx = *state;
	struct ferry_arp_cache *c = make(fx, 16, 4);
	uint8_t mac[6];
	uint64_t t = 1000 * MS;

	assert_int_equal(ferry_arp_resolve(c, IP_B, PKT(1), t, mac), FERRY_ARP_QUEUED);
	assert_int_equal(fx->calls.requests, 1);
	assert_int_equal(fx->calls.last_request_ip, IP_B);
	assert_int_equal(ferry_arp_resolve(c, IP_B, PKT(2), t + 1, mac), FERRY_ARP_QUEUED);
	assert_int_equal(ferry_arp_resolve(c, IP_B, PKT(3), t + 2, mac), FERRY_ARP_QUEUED);
	assert_int_equal(fx->calls.requests, 1); /* one request per resolution */

	struct ferry_arp_info info;
	assert_int_equal(ferry_arp_cache_get(c, IP_B, &info), 0);
	assert_int_equal(info.state, FERRY_ARP_INCOMPLETE);
	assert_int_equal(info.queued, 3);
	assert_int_equal(info.deadline_ns, t + 200 * MS);

	assert_int_equal(ferry_arp_input(c, IP_B, MAC_B, t + 5 * MS, FERRY_ARP_CLAIM_REPLY), 0);
	assert_int_equal(fx->calls.flushes, 1);
	assert_int_equal(fx->calls.flush_ip, IP_B);
	assert_memory_equal(fx->calls.flush_mac, MAC_B, 6);
	assert_int_equal(fx->calls.nflushed, 3);
	assert_int_equal(fx->calls.flushed[0], 1);
	assert_int_equal(fx->calls.flushed[1], 2);
	assert_int_equal(fx->calls.flushed[2], 3);

	memset(mac, 0, 6);
	assert_int_equal(ferry_arp_resolve(c, IP_B, PKT(4), t + 6 * MS, mac), FERRY_ARP_RESOLVED);
	assert_memory_equal(mac, MAC_B, 6);
	assert_int_equal(ferry_arp_cache_stats(c)->flushed, 3);
	assert_int_equal(ferry_arp_cache_stats(c)->learned, 1);
	/* nothing due until long after: the tick is a no-op */
	assert_int_equal(ferry_arp_tick(c, t + 10 * MS), 0);
	assert_int_equal(fx->calls.requests, 1);
}

static void test_retries_then_failure(void **state)
{
	struct fixture *fx = *state;
	struct ferry_arp_cache *c = make(fx, 16, 4);
	uint8_t mac[6];
	uint64_t t = 5000 * MS;

	assert_int_equal(ferry_arp_resolve(c, IP_C, PKT(7), t, mac), FERRY_ARP_QUEUED);
	assert_int_equal(ferry_arp_resolve(c, IP_C, PKT(8), t, mac), FERRY_ARP_QUEUED);
	assert_int_equal(ferry_arp_next_deadline(c), t + 200 * MS);
	assert_int_equal(ferry_arp_tick(c, t + 199 * MS), 0);
	assert_int_equal(fx->calls.requests, 1);
	assert_int_equal(ferry_arp_tick(c, t + 200 * MS), 1);
	assert_int_equal(fx->calls.requests, 2);
	assert_int_equal(ferry_arp_tick(c, t + 300 * MS), 0);
	assert_int_equal(ferry_arp_tick(c, t + 400 * MS), 1);
	assert_int_equal(fx->calls.requests, 3); /* 3 requests 200 ms apart */
	assert_int_equal(fx->calls.unreachables, 0);
	assert_int_equal(ferry_arp_tick(c, t + 599 * MS), 0);
	assert_int_equal(ferry_arp_tick(c, t + 600 * MS), 1);
	assert_int_equal(fx->calls.requests, 3);
	assert_int_equal(fx->calls.unreachables, 1);
	assert_int_equal(fx->calls.unreach_ip, IP_C);
	assert_int_equal(fx->calls.nfreed, 2);
	assert_int_equal(fx->calls.freed[0], 7);
	assert_int_equal(fx->calls.freed[1], 8);
	assert_int_equal(ferry_arp_cache_stats(c)->failed, 1);
	assert_int_equal(ferry_arp_cache_stats(c)->dropped_unreachable, 2);

	/* held down: refused without a request, the packet stays the caller's */
	assert_int_equal(ferry_arp_resolve(c, IP_C, PKT(9), t + 1000 * MS, mac), -EHOSTUNREACH);
	assert_int_equal(fx->calls.requests, 3);
	assert_int_equal(ferry_arp_cache_stats(c)->refused, 1);

	/* after the hold a new resolution starts */
	assert_int_equal(ferry_arp_resolve(c, IP_C, PKT(10), t + 1600 * MS, mac), FERRY_ARP_QUEUED);
	assert_int_equal(fx->calls.requests, 4);
	assert_int_equal(ferry_arp_input(c, IP_C, MAC_C, t + 1601 * MS, FERRY_ARP_CLAIM_REPLY), 0);
	assert_int_equal(fx->calls.nflushed, 1);
	assert_int_equal(fx->calls.flushed[0], 10);
}

static void test_reply_during_hold_revives(void **state)
{
	struct fixture *fx = *state;
	struct ferry_arp_cache *c = make(fx, 16, 4);
	uint8_t mac[6];
	assert_int_equal(ferry_arp_resolve(c, IP_C, NULL, 0, mac), FERRY_ARP_QUEUED);
	ferry_arp_tick(c, 200 * MS);
	ferry_arp_tick(c, 400 * MS);
	ferry_arp_tick(c, 600 * MS);
	assert_int_equal(fx->calls.unreachables, 1);
	assert_int_equal(fx->calls.nfreed, 0); /* resolve without a packet queues nothing */
	assert_int_equal(ferry_arp_input(c, IP_C, MAC_C, 700 * MS, FERRY_ARP_CLAIM_REPLY), 0);
	assert_int_equal(ferry_arp_resolve(c, IP_C, PKT(1), 701 * MS, mac), FERRY_ARP_RESOLVED);
	assert_memory_equal(mac, MAC_C, 6);
	assert_int_equal(fx->calls.flushes, 0);
}

static void test_queue_overflow(void **state)
{
	struct fixture *fx = *state;
	struct ferry_arp_cache *c = make(fx, 16, 3);
	uint8_t mac[6];
	for (int i = 1; i <= 3; i++)
		assert_int_equal(ferry_arp_resolve(c, IP_B, PKT(i), 0, mac), FERRY_ARP_QUEUED);
	assert_int_equal(ferry_arp_resolve(c, IP_B, PKT(4), 0, mac), -ENOBUFS);
	assert_int_equal(ferry_arp_cache_stats(c)->queue_full, 1);
	assert_int_equal(ferry_arp_cache_stats(c)->queued, 3);
	ferry_arp_input(c, IP_B, MAC_B, 1, FERRY_ARP_CLAIM_REPLY);
	assert_int_equal(fx->calls.nflushed, 3);
	/* the queue starts over empty */
	ferry_arp_tick(c, 0);
	assert_int_equal(ferry_arp_resolve(c, IP_C, PKT(5), 2, mac), FERRY_ARP_QUEUED);
	assert_int_equal(ferry_arp_input(c, IP_C, MAC_C, 3, FERRY_ARP_CLAIM_REPLY), 0);
	assert_int_equal(fx->calls.flushed[3], 5);
}

static void test_unsolicited_reply_ignored_request_learned(void **state)
{
	struct fixture *fx = *state;
	struct ferry_arp_cache *c = make(fx, 16, 4);
	struct ferry_arp_info info;
	static const uint8_t mcast[6] = {0x01, 0, 0x5e, 0, 0, 1}, zero[6];

	assert_int_equal(ferry_arp_input(c, IP_B, MAC_B, 0, FERRY_ARP_CLAIM_REPLY), -ENOENT);
	assert_int_equal(ferry_arp_cache_get(c, IP_B, &info), -ENOENT);
	assert_int_equal(ferry_arp_cache_stats(c)->ignored, 1);
	assert_int_equal(ferry_arp_input(c, IP_B, MAC_B, 0, FERRY_ARP_CLAIM_REQUEST), 0);
	assert_int_equal(ferry_arp_cache_get(c, IP_B, &info), 0);
	assert_int_equal(info.state, FERRY_ARP_REACHABLE);
	assert_int_equal(ferry_arp_input(c, IP_C, mcast, 0, FERRY_ARP_CLAIM_REQUEST), -EINVAL);
	assert_int_equal(ferry_arp_input(c, IP_C, zero, 0, FERRY_ARP_CLAIM_REQUEST), -EINVAL);
	assert_int_equal(ferry_arp_input(c, 0, MAC_C, 0, FERRY_ARP_CLAIM_REQUEST), -EINVAL);
	uint8_t mac[6];
	assert_int_equal(ferry_arp_resolve(c, 0, NULL, 0, mac), -EINVAL);
	assert_int_equal(fx->calls.requests, 0);
}

static void test_mac_change_is_taken(void **state)
{
	struct fixture *fx = *state;
	struct ferry_arp_cache *c = make(fx, 16, 4);
	uint8_t mac[6];
	ferry_arp_input(c, IP_B, MAC_B, 0, FERRY_ARP_CLAIM_REQUEST);
	/* B moved to another NIC and announced it (gratuitous ARP) */
	assert_int_equal(ferry_arp_input(c, IP_B, MAC_C, 10 * MS, FERRY_ARP_CLAIM_REPLY), 0);
	assert_int_equal(ferry_arp_resolve(c, IP_B, NULL, 11 * MS, mac), FERRY_ARP_RESOLVED);
	assert_memory_equal(mac, MAC_C, 6);
}

static void test_expiry_probe_and_confirm(void **state)
{
	struct fixture *fx = *state;
	struct ferry_arp_cache *c = make(fx, 16, 4);
	struct ferry_arp_info info;
	uint8_t mac[6];
	const uint64_t T = 60000 * MS; /* default timeout */

	ferry_arp_input(c, IP_B, MAC_B, 0, FERRY_ARP_CLAIM_REQUEST);
	assert_int_equal(ferry_arp_resolve(c, IP_B, PKT(1), T - 1, mac), FERRY_ARP_RESOLVED);
	assert_int_equal(fx->calls.requests, 0);
	assert_int_equal(ferry_arp_tick(c, T), 0); /* expiry itself is lazy */

	/* first use after expiry: still sent to the known MAC, and a request
	 * goes out to confirm it */
	memset(mac, 0, 6);
	assert_int_equal(ferry_arp_resolve(c, IP_B, PKT(2), T + 5, mac), FERRY_ARP_RESOLVED);
	assert_memory_equal(mac, MAC_B, 6);
	assert_int_equal(fx->calls.requests, 1);
	assert_int_equal(ferry_arp_cache_get(c, IP_B, &info), 0);
	assert_int_equal(info.state, FERRY_ARP_PROBE);
	assert_int_equal(ferry_arp_resolve(c, IP_B, PKT(3), T + 6, mac), FERRY_ARP_RESOLVED);
	assert_int_equal(fx->calls.requests, 1);

	assert_int_equal(ferry_arp_input(c, IP_B, MAC_B, T + 10 * MS, FERRY_ARP_CLAIM_REPLY), 0);
	assert_int_equal(ferry_arp_cache_get(c, IP_B, &info), 0);
	assert_int_equal(info.state, FERRY_ARP_REACHABLE);
	assert_int_equal(info.deadline_ns, T + 10 * MS + T);
	assert_int_equal(fx->calls.flushes, 0);
}

static void test_probe_without_answer_fails(void **state)
{
	struct fixture *fx = *state;
	struct ferry_arp_cache *c = make(fx, 16, 4);
	uint8_t mac[6];
	const uint64_t T = 60000 * MS;

	ferry_arp_input(c, IP_B, MAC_B, 0, FERRY_ARP_CLAIM_REQUEST);
	assert_int_equal(ferry_arp_resolve(c, IP_B, NULL, T, mac), FERRY_ARP_RESOLVED);
	assert_int_equal(ferry_arp_tick(c, T + 200 * MS), 1);
	assert_int_equal(ferry_arp_tick(c, T + 400 * MS), 1);
	assert_int_equal(fx->calls.requests, 3);
	/* still usable while probing */
	assert_int_equal(ferry_arp_resolve(c, IP_B, NULL, T + 500 * MS, mac), FERRY_ARP_RESOLVED);
	assert_int_equal(ferry_arp_tick(c, T + 600 * MS), 1);
	assert_int_equal(fx->calls.unreachables, 1);
	assert_int_equal(fx->calls.unreach_ip, IP_B);
	assert_int_equal(fx->calls.nfreed, 0);
	assert_int_equal(ferry_arp_resolve(c, IP_B, PKT(1), T + 700 * MS, mac), -EHOSTUNREACH);
}

static void test_stale_entry_forgotten(void **state)
{
	struct fixture *fx = *state;
	struct ferry_arp_cache *c = make(fx, 16, 4);
	struct ferry_arp_info info;
	const uint64_t T = 60000 * MS;

	ferry_arp_input(c, IP_B, MAC_B, 0, FERRY_ARP_CLAIM_REQUEST);
	assert_int_equal(ferry_arp_next_deadline(c), 2 * T);
	ferry_arp_tick(c, 2 * T - 1);
	assert_int_equal(ferry_arp_cache_get(c, IP_B, &info), 0);
	ferry_arp_tick(c, 2 * T);
	assert_int_equal(ferry_arp_cache_get(c, IP_B, &info), -ENOENT);
	assert_int_equal(ferry_arp_cache_stats(c)->expired, 1);
	assert_int_equal(ferry_arp_next_deadline(c), UINT64_MAX);
	assert_int_equal(fx->calls.requests, 0);
}

static void test_table_pressure(void **state)
{
	struct fixture *fx = *state;
	/* 4 entries: one set of four ways, so every address collides */
	struct ferry_arp_cache *c = make(fx, 4, 2);
	uint8_t mac[6];
	for (uint32_t i = 0; i < 4; i++)
		assert_int_equal(ferry_arp_resolve(c, 0x0a630010u + i, PKT(i + 1), i, mac), FERRY_ARP_QUEUED);
	/* all four hold packets: none may be evicted */
	assert_int_equal(ferry_arp_resolve(c, 0x0a630020u, PKT(9), 10, mac), -ENOSPC);
	assert_int_equal(ferry_arp_cache_stats(c)->table_full, 1);
	assert_int_equal(ferry_arp_input(c, 0x0a630020u, MAC_C, 10, FERRY_ARP_CLAIM_REQUEST), -ENOENT);

	/* resolve two; the one expiring first is the victim */
	ferry_arp_input(c, 0x0a630011u, MAC_B, 100, FERRY_ARP_CLAIM_REPLY);
	ferry_arp_input(c, 0x0a630012u, MAC_C, 50, FERRY_ARP_CLAIM_REPLY);
	assert_int_equal(ferry_arp_resolve(c, 0x0a630020u, PKT(9), 200, mac), FERRY_ARP_QUEUED);
	assert_int_equal(ferry_arp_cache_stats(c)->evicted, 1);
	struct ferry_arp_info info;
	assert_int_equal(ferry_arp_cache_get(c, 0x0a630012u, &info), -ENOENT);
	assert_int_equal(ferry_arp_cache_get(c, 0x0a630011u, &info), 0);
	assert_int_equal(ferry_arp_cache_get(c, 0x0a630010u, &info), 0);
	assert_int_equal(info.state, FERRY_ARP_INCOMPLETE);
}

static void test_many_entries_spread(void **state)
{
	struct fixture *fx = *state;
	struct ferry_arp_cache *c = make(fx, 256, 1);
	struct ferry_arp_info info;
	uint8_t mac[6] = {0x02, 0, 0, 0, 0, 0};
	/* a /24 worth of learned neighbours fits a 256-entry cache */
	int kept = 0;
	for (uint32_t i = 1; i < 200; i++) {
		mac[5] = (uint8_t)i;
		ferry_arp_input(c, 0x0a630000u + i, mac, 0, FERRY_ARP_CLAIM_REQUEST);
	}
	for (uint32_t i = 1; i < 200; i++)
		if (ferry_arp_cache_get(c, 0x0a630000u + i, &info) == 0) {
			assert_int_equal(info.mac[5], i);
			kept++;
		}
	assert_true(kept >= 190);
	assert_int_equal(kept + (int)ferry_arp_cache_stats(c)->evicted, 199);
}

static void test_gateway_next_hop(void **state)
{
	struct fixture *fx = *state;
	struct ferry_arp_cache *c = make(fx, 16, 4);
	struct ferry_net_host h;
	uint32_t nh;
	uint8_t mac[6];
	/* 10.0.1.5/24, router 10.0.1.1: two off-subnet peers share one entry */
	ferry_net_host_init(&h, MAC_A, 0x0a000105u, 24, 0x0a000101u, FERRY_PORT, 9001);
	assert_int_equal(ferry_net_next_hop(&h, 0x0a000209u, &nh), 0);
	assert_int_equal(ferry_arp_resolve(c, nh, PKT(1), 0, mac), FERRY_ARP_QUEUED);
	assert_int_equal(ferry_net_next_hop(&h, 0x0a000309u, &nh), 0);
	assert_int_equal(ferry_arp_resolve(c, nh, PKT(2), 1, mac), FERRY_ARP_QUEUED);
	assert_int_equal(fx->calls.requests, 1);
	assert_int_equal(fx->calls.last_request_ip, 0x0a000101u);
	ferry_arp_input(c, 0x0a000101u, MAC_C, 2, FERRY_ARP_CLAIM_REPLY);
	assert_int_equal(fx->calls.nflushed, 2);
}

static void test_destroy_hands_back_packets(void **state)
{
	struct fixture *fx = *state;
	struct ferry_arp_cache *c = make(fx, 16, 4);
	uint8_t mac[6];
	ferry_arp_resolve(c, IP_B, PKT(1), 0, mac);
	ferry_arp_resolve(c, IP_C, PKT(2), 0, mac);
	ferry_arp_resolve(c, IP_C, PKT(3), 0, mac);
	ferry_arp_cache_destroy(c);
	fx->cache = NULL;
	assert_int_equal(fx->calls.nfreed, 3);
	assert_int_equal(fx->calls.unreachables, 2);
}

/* ---- defence of confirmed entries -------------------------------------- */

#define SEC (1000 * MS)

static struct ferry_arp_info info_of(const struct ferry_arp_cache *c, uint32_t ip)
{
	struct ferry_arp_info info;
	assert_int_equal(ferry_arp_cache_get(c, ip, &info), 0);
	return info;
}

/* B asked for us at 0, and its session's packets vouched for it at @p t. */
static void learn_confirmed(struct ferry_arp_cache *c, uint64_t t)
{
	assert_int_equal(ferry_arp_input(c, IP_B, MAC_B, 0, FERRY_ARP_CLAIM_REQUEST), 0);
	assert_int_equal(ferry_arp_confirm(c, IP_B, MAC_B, t), 0);
}

static void assert_at(struct ferry_arp_cache *c, uint32_t ip, const uint8_t *want, uint64_t now)
{
	uint8_t mac[6];
	assert_int_equal(ferry_arp_resolve(c, ip, NULL, now, mac), FERRY_ARP_RESOLVED);
	assert_memory_equal(mac, want, 6);
}

static void test_confirmed_entry_refuses_claims(void **state)
{
	struct fixture *fx = *state;
	struct ferry_arp_cache *c = make(fx, 16, 4);
	const uint64_t t = 100 * SEC;

	learn_confirmed(c, t + 1);
	assert_int_equal(ferry_arp_cache_stats(c)->confirmed, 1);
	assert_int_equal(info_of(c, IP_B).defended_until_ns, t + 1 + 5 * SEC);

	/* C says it is B: an unsolicited reply, a gratuitous ARP, a request
	 * to us with B's address as its sender. Each refused and counted. */
	assert_int_equal(ferry_arp_input(c, IP_B, MAC_C, t + 10 * MS, FERRY_ARP_CLAIM_REPLY), -EEXIST);
	assert_int_equal(ferry_arp_cache_stats(c)->conflicts, 1);
	assert_int_equal(ferry_arp_input(c, IP_B, MAC_C, t + 20 * MS, FERRY_ARP_CLAIM_ANNOUNCE), -EEXIST);
	assert_int_equal(ferry_arp_cache_stats(c)->conflicts, 2);
	assert_int_equal(ferry_arp_input(c, IP_B, MAC_C, t + 30 * MS, FERRY_ARP_CLAIM_REQUEST), -EEXIST);
	assert_int_equal(ferry_arp_cache_stats(c)->conflicts, 3);
	assert_int_equal(ferry_arp_cache_stats(c)->learned, 1);
	assert_at(c, IP_B, MAC_B, t + 40 * MS);
	assert_int_equal(fx->calls.requests, 0);

	/* packets from C's MAC confirm nothing; B itself still refreshes */
	assert_int_equal(ferry_arp_confirm(c, IP_B, MAC_C, t + 50 * MS), -ENOENT);
	assert_int_equal(ferry_arp_input(c, IP_B, MAC_B, t + 60 * MS, FERRY_ARP_CLAIM_ANNOUNCE), 0);
	assert_int_equal(ferry_arp_cache_stats(c)->conflicts, 3);
	assert_int_equal(ferry_arp_cache_stats(c)->learned, 2);

	/* as long as the sessions keep confirming, C keeps losing */
	for (uint64_t s = 1; s <= 30; s++) {
		assert_int_equal(ferry_arp_confirm(c, IP_B, MAC_B, t + s * SEC), 0);
		assert_int_equal(ferry_arp_input(c, IP_B, MAC_C, t + s * SEC + 500 * MS,
						 FERRY_ARP_CLAIM_ANNOUNCE), -EEXIST);
		assert_int_equal(ferry_arp_tick(c, t + s * SEC + 600 * MS), 0);
		assert_at(c, IP_B, MAC_B, t + s * SEC + 700 * MS);
	}
	assert_int_equal(ferry_arp_cache_stats(c)->conflicts, 33);
	assert_int_equal(fx->calls.requests, 0);
	assert_int_equal(info_of(c, IP_B).state, FERRY_ARP_REACHABLE);
}

static void test_unconfirmed_entry_learns(void **state)
{
	struct fixture *fx = *state;
	struct ferry_arp_cache *c = make(fx, 16, 4);

	/* never confirmed: a gratuitous ARP moves it (RFC 826) */
	ferry_arp_input(c, IP_B, MAC_B, 0, FERRY_ARP_CLAIM_REQUEST);
	assert_int_equal(ferry_arp_input(c, IP_B, MAC_C, 1 * SEC, FERRY_ARP_CLAIM_ANNOUNCE), 0);
	assert_at(c, IP_B, MAC_C, 1 * SEC);

	/* confirmed, then the sessions went quiet: once the defence lapses
	 * an unsolicited reply is taken again, and the defence is gone */
	assert_int_equal(ferry_arp_confirm(c, IP_B, MAC_C, 2 * SEC), 0);
	assert_int_equal(ferry_arp_input(c, IP_B, MAC_B, 7 * SEC - 1, FERRY_ARP_CLAIM_REPLY), -EEXIST);
	assert_int_equal(ferry_arp_input(c, IP_B, MAC_B, 7 * SEC, FERRY_ARP_CLAIM_REPLY), 0);
	assert_at(c, IP_B, MAC_B, 7 * SEC);
	assert_int_equal(info_of(c, IP_B).defended_until_ns, 0);
	assert_int_equal(ferry_arp_input(c, IP_B, MAC_C, 7 * SEC + 1, FERRY_ARP_CLAIM_ANNOUNCE), 0);
	assert_int_equal(ferry_arp_cache_stats(c)->conflicts, 1);
}

/* B's ferryd came back on another NIC (a new MAC) and announced it while
 * its old sessions still confirmed the old one: refused, but nothing
 * confirms the old MAC any more, so the entry goes stale when its defence
 * ends and the probe that follows finds the new MAC. */
static void test_moved_peer_is_re_resolved(void **state)
{
	struct fixture *fx = *state;
	struct ferry_arp_cache *c = make(fx, 16, 4);
	const uint64_t t = 10 * SEC;

	learn_confirmed(c, t);
	assert_int_equal(ferry_arp_input(c, IP_B, MAC_C, t + 1 * SEC, FERRY_ARP_CLAIM_ANNOUNCE), -EEXIST);
	assert_int_equal(info_of(c, IP_B).deadline_ns, t + 5 * SEC); /* stale when the defence ends */

	/* still the old MAC until then, without a request */
	assert_at(c, IP_B, MAC_B, t + 5 * SEC - 1);
	assert_int_equal(fx->calls.requests, 0);
	/* then the next use probes */
	assert_at(c, IP_B, MAC_B, t + 5 * SEC);
	assert_int_equal(fx->calls.requests, 1);
	assert_int_equal(fx->calls.last_request_ip, IP_B);
	assert_int_equal(info_of(c, IP_B).state, FERRY_ARP_PROBE);
	/* and the answer to our request is taken */
	assert_int_equal(ferry_arp_input(c, IP_B, MAC_C, t + 5 * SEC + MS, FERRY_ARP_CLAIM_REPLY), 0);
	assert_at(c, IP_B, MAC_C, t + 5 * SEC + 2 * MS);
	assert_int_equal(info_of(c, IP_B).state, FERRY_ARP_REACHABLE);
	assert_int_equal(ferry_arp_cache_stats(c)->conflicts, 1);
}

/* A dispute does not shorten an entry its sessions keep confirming. */
static void test_confirmation_outlasts_dispute(void **state)
{
	struct fixture *fx = *state;
	struct ferry_arp_cache *c = make(fx, 16, 4);
	const uint64_t T = 60 * SEC;

	learn_confirmed(c, 1 * SEC);
	assert_int_equal(ferry_arp_input(c, IP_B, MAC_C, 2 * SEC, FERRY_ARP_CLAIM_REPLY), -EEXIST);
	ferry_arp_confirm(c, IP_B, MAC_B, 3 * SEC);
	assert_int_equal(info_of(c, IP_B).deadline_ns, 3 * SEC + T);
	assert_at(c, IP_B, MAC_B, 20 * SEC);
	assert_int_equal(fx->calls.requests, 0);
}

/* With an ARP timeout shorter than the defence, a defended entry is probed
 * while defended: the answer to our request may still change it, a
 * gratuitous ARP meanwhile may not. */
static void test_solicited_reply_updates_defended_entry(void **state)
{
	struct fixture *fx = *state;
	struct ferry_arp_params p = FERRY_ARP_PARAMS_DEFAULT;
	p.timeout_ns = 1 * SEC;
	struct ferry_arp_cache *c = make_p(fx, &p);

	learn_confirmed(c, 1 * SEC);
	assert_at(c, IP_B, MAC_B, 2 * SEC);
	assert_int_equal(fx->calls.requests, 1);
	assert_int_equal(info_of(c, IP_B).state, FERRY_ARP_PROBE);
	assert_true(info_of(c, IP_B).defended_until_ns > 2 * SEC);
	assert_int_equal(ferry_arp_input(c, IP_B, MAC_C, 2 * SEC + MS, FERRY_ARP_CLAIM_ANNOUNCE), -EEXIST);
	assert_int_equal(ferry_arp_input(c, IP_B, MAC_C, 2 * SEC + 2 * MS, FERRY_ARP_CLAIM_REPLY), 0);
	assert_at(c, IP_B, MAC_C, 2 * SEC + 3 * MS);
	assert_int_equal(ferry_arp_cache_stats(c)->conflicts, 1);
	/* the confirmation was for the old MAC: the new one is not defended */
	assert_int_equal(info_of(c, IP_B).defended_until_ns, 0);
	/* a reply while REACHABLE is not an answer to anything */
	ferry_arp_confirm(c, IP_B, MAC_C, 2 * SEC + 4 * MS);
	assert_int_equal(ferry_arp_input(c, IP_B, MAC_B, 2 * SEC + 5 * MS, FERRY_ARP_CLAIM_REPLY), -EEXIST);
}

/* Confirmation needs a resolved entry with that MAC: it never creates one
 * and never ends a resolution. */
static void test_confirm_needs_resolved_entry(void **state)
{
	struct fixture *fx = *state;
	struct ferry_arp_cache *c = make(fx, 16, 4);
	struct ferry_arp_info info;
	uint8_t mac[6];

	assert_int_equal(ferry_arp_confirm(c, IP_B, MAC_B, 0), -ENOENT);
	assert_int_equal(ferry_arp_cache_get(c, IP_B, &info), -ENOENT);
	assert_int_equal(ferry_arp_resolve(c, IP_B, PKT(1), 0, mac), FERRY_ARP_QUEUED);
	assert_int_equal(ferry_arp_confirm(c, IP_B, MAC_B, 1), -ENOENT);
	assert_int_equal(info_of(c, IP_B).state, FERRY_ARP_INCOMPLETE);
	assert_int_equal(ferry_arp_cache_stats(c)->confirmed, 0);
	/* the claim kind must be one of the three */
	assert_int_equal(ferry_arp_input(c, IP_B, MAC_B, 2, (enum ferry_arp_claim)0), -EINVAL);
	assert_int_equal(ferry_arp_input(c, IP_B, MAC_B, 2, (enum ferry_arp_claim)4), -EINVAL);
	assert_int_equal(fx->calls.flushes, 0);
}

/* ---- static entries ---------------------------------------------------- */

static void test_static_entry_fixed(void **state)
{
	struct fixture *fx = *state;
	struct ferry_arp_cache *c = make(fx, 16, 4);

	assert_int_equal(ferry_arp_add_static(c, IP_GW, MAC_C), 0);
	assert_int_equal(ferry_arp_add_static(c, IP_GW, MAC_C), 0);
	assert_int_equal(ferry_arp_add_static(c, IP_GW, MAC_B), -EEXIST);
	assert_int_equal(info_of(c, IP_GW).state, FERRY_ARP_STATIC);
	assert_int_equal(info_of(c, IP_GW).deadline_ns, UINT64_MAX);
	assert_string_equal(ferry_arp_state_name(info_of(c, IP_GW).state), "static");

	/* resolved at once, never requested, never expires */
	assert_at(c, IP_GW, MAC_C, 0);
	assert_int_equal(ferry_arp_next_deadline(c), UINT64_MAX);
	for (uint64_t h = 1; h <= 48; h++) {
		assert_int_equal(ferry_arp_tick(c, h * 3600 * SEC), 0);
		assert_at(c, IP_GW, MAC_C, h * 3600 * SEC + 1);
	}
	assert_int_equal(fx->calls.requests, 0);
	assert_int_equal(ferry_arp_cache_stats(c)->expired, 0);

	/* nothing heard replaces it, confirmed or not */
	assert_int_equal(ferry_arp_input(c, IP_GW, MAC_B, 1, FERRY_ARP_CLAIM_REPLY), -EEXIST);
	assert_int_equal(ferry_arp_input(c, IP_GW, MAC_B, 2, FERRY_ARP_CLAIM_ANNOUNCE), -EEXIST);
	assert_int_equal(ferry_arp_input(c, IP_GW, MAC_B, 3, FERRY_ARP_CLAIM_REQUEST), -EEXIST);
	assert_int_equal(ferry_arp_cache_stats(c)->conflicts, 3);
	/* its own MAC agrees, and changes nothing */
	assert_int_equal(ferry_arp_input(c, IP_GW, MAC_C, 4, FERRY_ARP_CLAIM_ANNOUNCE), 0);
	assert_int_equal(ferry_arp_confirm(c, IP_GW, MAC_C, 5), -ENOENT);
	assert_int_equal(ferry_arp_cache_stats(c)->learned, 0);
	assert_int_equal(info_of(c, IP_GW).state, FERRY_ARP_STATIC);
	assert_int_equal(info_of(c, IP_GW).deadline_ns, UINT64_MAX);
	assert_at(c, IP_GW, MAC_C, 6);

	assert_int_equal(ferry_arp_add_static(c, 0, MAC_C), -EINVAL);
	static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, zero[6];
	assert_int_equal(ferry_arp_add_static(c, IP_B, bcast), -EINVAL);
	assert_int_equal(ferry_arp_add_static(c, IP_B, zero), -EINVAL);
}

/* A static entry takes over a resolution in progress: its packets go. */
static void test_static_entry_replaces_learned(void **state)
{
	struct fixture *fx = *state;
	struct ferry_arp_cache *c = make(fx, 16, 4);
	uint8_t mac[6];

	assert_int_equal(ferry_arp_resolve(c, IP_B, PKT(1), 0, mac), FERRY_ARP_QUEUED);
	assert_int_equal(ferry_arp_resolve(c, IP_B, PKT(2), 0, mac), FERRY_ARP_QUEUED);
	assert_int_equal(ferry_arp_add_static(c, IP_B, MAC_B), 0);
	assert_int_equal(fx->calls.flushes, 1);
	assert_memory_equal(fx->calls.flush_mac, MAC_B, 6);
	assert_int_equal(fx->calls.nflushed, 2);
	assert_int_equal(fx->calls.flushed[0], 1);
	assert_int_equal(fx->calls.flushed[1], 2);
	/* its retry timer is gone with it */
	assert_int_equal(ferry_arp_tick(c, 10 * SEC), 0);
	assert_int_equal(fx->calls.requests, 1);
	assert_int_equal(fx->calls.unreachables, 0);

	/* a learned, even confirmed, entry becomes static too */
	ferry_arp_input(c, IP_C, MAC_C, 0, FERRY_ARP_CLAIM_REQUEST);
	ferry_arp_confirm(c, IP_C, MAC_C, 1);
	assert_int_equal(ferry_arp_add_static(c, IP_C, MAC_B), 0);
	assert_at(c, IP_C, MAC_B, 2);
}

static void test_static_entries_never_evicted(void **state)
{
	struct fixture *fx = *state;
	/* one set of four ways */
	struct ferry_arp_cache *c = make(fx, 4, 2);
	struct ferry_arp_info info;
	uint8_t mac[6];

	for (uint32_t i = 0; i < 3; i++)
		assert_int_equal(ferry_arp_add_static(c, 0x0a630010u + i, MAC_B), 0);
	/* the last way stays for learned addresses */
	assert_int_equal(ferry_arp_add_static(c, 0x0a630013u, MAC_B), -ENOSPC);
	assert_int_equal(ferry_arp_resolve(c, 0x0a630020u, PKT(1), 0, mac), FERRY_ARP_QUEUED);
	assert_int_equal(ferry_arp_resolve(c, 0x0a630021u, PKT(2), 0, mac), -ENOSPC);
	ferry_arp_input(c, 0x0a630020u, MAC_C, 1, FERRY_ARP_CLAIM_REPLY);
	/* a new address takes the learned entry's way, never a static one */
	assert_int_equal(ferry_arp_resolve(c, 0x0a630021u, PKT(3), 2, mac), FERRY_ARP_QUEUED);
	assert_int_equal(ferry_arp_cache_get(c, 0x0a630020u, &info), -ENOENT);
	assert_int_equal(ferry_arp_input(c, 0x0a630022u, MAC_C, 3, FERRY_ARP_CLAIM_REQUEST), -ENOENT);
	for (uint32_t i = 0; i < 3; i++)
		assert_int_equal(info_of(c, 0x0a630010u + i).state, FERRY_ARP_STATIC);
	assert_int_equal(ferry_arp_cache_stats(c)->evicted, 1);
}

static void test_bad_params(void **state)
{
	(void)state;
	struct ferry_arp_cache *c = NULL;
	struct ferry_arp_params p = FERRY_ARP_PARAMS_DEFAULT;
	struct ferry_arp_ops ops = {.request = cb_request, .flush = cb_flush, .unreachable = cb_unreachable};
	p.queue_len = 0;
	assert_int_equal(ferry_arp_cache_create(&c, &p, &ops), -EINVAL);
	p.queue_len = 1;
	ops.flush = NULL;
	assert_int_equal(ferry_arp_cache_create(&c, &p, &ops), -EINVAL);
	assert_null(c);
	p.queue_len = 1;
	ops.flush = cb_flush;
	p.confirm_ns = 0;
	assert_int_equal(ferry_arp_cache_create(&c, &p, &ops), -EINVAL);
	assert_null(c);
	assert_string_equal(ferry_arp_stat_name(0), "arp_requests_sent");
	assert_string_equal(ferry_arp_stat_name(FERRY_ARP_STATS_COUNT - 1), "arp_conflicts");
	assert_string_equal(ferry_arp_stat_name(FERRY_ARP_STATS_COUNT), "unknown");
	assert_string_equal(ferry_arp_state_name(FERRY_ARP_PROBE), "probe");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_resolve_then_reply_flushes_in_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retries_then_failure, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reply_during_hold_revives, setup, teardown),
		cmocka_unit_test_setup_teardown(test_queue_overflow, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unsolicited_reply_ignored_request_learned, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mac_change_is_taken, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expiry_probe_and_confirm, setup, teardown),
		cmocka_unit_test_setup_teardown(test_probe_without_answer_fails, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stale_entry_forgotten, setup, teardown),
		cmocka_unit_test_setup_teardown(test_table_pressure, setup, teardown),
		cmocka_unit_test_setup_teardown(test_many_entries_spread, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gateway_next_hop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_destroy_hands_back_packets, setup, teardown),
		cmocka_unit_test_setup_teardown(test_confirmed_entry_refuses_claims, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unconfirmed_entry_learns, setup, teardown),
		cmocka_unit_test_setup_teardown(test_moved_peer_is_re_resolved, setup, teardown),
		cmocka_unit_test_setup_teardown(test_confirmation_outlasts_dispute, setup, teardown),
		cmocka_unit_test_setup_teardown(test_solicited_reply_updates_defended_entry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_confirm_needs_resolved_entry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_static_entry_fixed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_static_entry_replaces_learned, setup, teardown),
		cmocka_unit_test_setup_teardown(test_static_entries_never_evicted, setup, teardown),
		cmocka_unit_test(test_bad_params),
	};
	return cmocka_run_group_tests_name("net_arp_cache", tests, NULL, NULL);
}
