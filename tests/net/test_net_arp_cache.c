/* SPDX-License-Identifier: BSD-3-Clause */
/* ARP cache with a stepped clock: resolution and retries, failure and the
 * hold-down, expiry and re-confirmation, the pending queue and its limit,
 * table pressure, and next-hop use with a gateway. */
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

static struct ferry_arp_cache *make(struct fixture *fx, uint32_t entries, uint16_t qlen)
{
	struct ferry_arp_params p = FERRY_ARP_PARAMS_DEFAULT;
	struct ferry_arp_ops ops = {.arg = &fx->calls, .request = cb_request, .flush = cb_flush,
				    .unreachable = cb_unreachable};
	p.entries = entries;
	p.queue_len = qlen;
	memset(&fx->calls, 0, sizeof(fx->calls));
	assert_int_equal(ferry_arp_cache_create(&fx->cache, &p, &ops), 0);
	return fx->cache;
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

	assert_int_equal(ferry_arp_input(c, IP_B, MAC_B, t + 5 * MS, false), 0);
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
	assert_int_equal(ferry_arp_input(c, IP_C, MAC_C, t + 1601 * MS, false), 0);
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
	assert_int_equal(ferry_arp_input(c, IP_C, MAC_C, 700 * MS, false), 0);
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
	ferry_arp_input(c, IP_B, MAC_B, 1, false);
	assert_int_equal(fx->calls.nflushed, 3);
	/* the queue starts over empty */
	ferry_arp_tick(c, 0);
	assert_int_equal(ferry_arp_resolve(c, IP_C, PKT(5), 2, mac), FERRY_ARP_QUEUED);
	assert_int_equal(ferry_arp_input(c, IP_C, MAC_C, 3, false), 0);
	assert_int_equal(fx->calls.flushed[3], 5);
}

static void test_unsolicited_reply_ignored_request_learned(void **state)
{
	struct fixture *fx = *state;
	struct ferry_arp_cache *c = make(fx, 16, 4);
	struct ferry_arp_info info;
	static const uint8_t mcast[6] = {0x01, 0, 0x5e, 0, 0, 1}, zero[6];

	assert_int_equal(ferry_arp_input(c, IP_B, MAC_B, 0, false), -ENOENT);
	assert_int_equal(ferry_arp_cache_get(c, IP_B, &info), -ENOENT);
	assert_int_equal(ferry_arp_cache_stats(c)->ignored, 1);
	assert_int_equal(ferry_arp_input(c, IP_B, MAC_B, 0, true), 0);
	assert_int_equal(ferry_arp_cache_get(c, IP_B, &info), 0);
	assert_int_equal(info.state, FERRY_ARP_REACHABLE);
	assert_int_equal(ferry_arp_input(c, IP_C, mcast, 0, true), -EINVAL);
	assert_int_equal(ferry_arp_input(c, IP_C, zero, 0, true), -EINVAL);
	assert_int_equal(ferry_arp_input(c, 0, MAC_C, 0, true), -EINVAL);
	uint8_t mac[6];
	assert_int_equal(ferry_arp_resolve(c, 0, NULL, 0, mac), -EINVAL);
	assert_int_equal(fx->calls.requests, 0);
}

static void test_mac_change_is_taken(void **state)
{
	struct fixture *fx = *state;
	struct ferry_arp_cache *c = make(fx, 16, 4);
	uint8_t mac[6];
	ferry_arp_input(c, IP_B, MAC_B, 0, true);
	/* B moved to another NIC and announced it (gratuitous ARP) */
	assert_int_equal(ferry_arp_input(c, IP_B, MAC_C, 10 * MS, false), 0);
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

	ferry_arp_input(c, IP_B, MAC_B, 0, true);
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

	assert_int_equal(ferry_arp_input(c, IP_B, MAC_B, T + 10 * MS, false), 0);
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

	ferry_arp_input(c, IP_B, MAC_B, 0, true);
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

	ferry_arp_input(c, IP_B, MAC_B, 0, true);
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
	assert_int_equal(ferry_arp_input(c, 0x0a630020u, MAC_C, 10, true), -ENOENT);

	/* resolve two; the one expiring first is the victim */
	ferry_arp_input(c, 0x0a630011u, MAC_B, 100, false);
	ferry_arp_input(c, 0x0a630012u, MAC_C, 50, false);
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
		ferry_arp_input(c, 0x0a630000u + i, mac, 0, true);
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
	ferry_arp_input(c, 0x0a000101u, MAC_C, 2, false);
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
	assert_string_equal(ferry_arp_stat_name(0), "arp_requests_sent");
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
		cmocka_unit_test(test_bad_params),
	};
	return cmocka_run_group_tests_name("net_arp_cache", tests, NULL, NULL);
}
