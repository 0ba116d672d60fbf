/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Fuzz target "net": Ethernet frames into ferryd's host stack (daemon/net),
 * driven the way the NIC glue drives it (daemon/nic/nic.c: nic_poll(),
 * rx_faulty(), handle(), arp_confirm(), and the ARP resolution in
 * nic_send()), with a buffer of exactly the frame's length standing in for
 * each mbuf, so ASan sees any access past the frame.
 *
 * The host is host B of tests/net (02:00:00:00:00:0b, 10.99.0.2, UDP port
 * 31850); the input picks its prefix, gateway, MTU, the ferry header length
 * the transport wants, the ARP cache's size and timers, and the rates of
 * the receive fault injector. Then events, until the input ends:
 *
 *   0 FRAME  u16 len, u8 flags, len bytes: one received frame; flags are
 *            the NIC's checksum verdicts (FERRY_NET_RX_*), and 0x10 / 0x20
 *            ask for the IPv4 / UDP or ICMP checksum to be made right
 *            first, so mutated frames get past the checksums
 *   1 CLOCK  u16: the clock moves on that many ms
 *   2 SEND   u8 pick: below 128 a next hop seen before, else a u32 address
 *            follows: a ferry packet to send (next hop, then ARP)
 *   3 POLL   the end of a burst: late frames released, ARP timers run
 *
 * Checked after every step: exactly one verdict counter and, on a drop,
 * exactly the drop counter named moves; a kept frame passed every check
 * its verdict implies (recomputed here with a plain RFC 1071 sum, which
 * also checks the fast one); a reply fits in its frame and is a valid
 * frame that the asker's own stack accepts; other frames are not written
 * to; the ARP cache never holds more addresses than its capacity, counts
 * every request and queued packet, hands every queued packet back exactly
 * once, and never sets a timer it will not run.
 */
#include <errno.h>
#include <stdbool.h>

#include "ferry_net.h"
#include "fuzz.h"
#include "net_fault.h"
#include "net_test_util.h"
#include "wire.h"

#define OP_FRAME 0
#define OP_CLOCK 1
#define OP_SEND 2
#define OP_POLL 3

#define MAX_SEEN 256  /* addresses remembered for picking and checking */
#define LATE_MAX 16   /* nic_poll() releases BURST / 2 held frames a pass */
#define RETRY_NS 200000000ull
#define HOLD_NS 1000000000ull

#define F_GATEWAY 0x1u
#define F_FAULT 0x2u

#define FIX_IP 0x10u
#define FIX_L4 0x20u

/* An mbuf: the frame alone in its allocation, and the NIC's flags. */
struct frame {
	uint8_t *data;
	uint16_t len;
	unsigned flags;
};

/* A packet nic_send() queues in the ARP cache, and the next hop it waits for. */
struct token {
	uint32_t nh;
};

static struct {
	struct ferry_net_host host;
	struct ferry_net_stats stats;
	uint64_t handled;
	struct ferry_arp_cache *arp;
	struct ferry_arp_params ap;
	uint32_t arp_capacity;
	uint64_t requests; /* ops.request calls */
	uint64_t owned;    /* tokens the cache holds */
	struct ferry_fault fault;
	bool faulty;
	uint64_t now;
	uint32_t seen[MAX_SEEN];
	unsigned nseen;
} g;

/* ---- reference checks ---------------------------------------------- */

/* RFC 1071 as written: big-endian 16-bit words, a 32-bit accumulator. */
static uint32_t ref_sum(const uint8_t *p, size_t n, uint32_t s)
{
	size_t i;
	for (i = 0; i + 1 < n; i += 2)
		s += (uint32_t)p[i] << 8 | p[i + 1];
	if (n & 1)
		s += (uint32_t)p[n - 1] << 8;
	return s;
}

static uint16_t ref_fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

static bool ref_valid(const uint8_t *p, size_t n, uint32_t start)
{
	return ref_fold(ref_sum(p, n, start)) == 0xffff;
}

static uint32_t ref_phdr(uint32_t src, uint32_t dst, uint8_t proto, uint16_t len)
{
	return (src >> 16) + (src & 0xffff) + (dst >> 16) + (dst & 0xffff) + proto + len;
}

/* Make a frame's IPv4 and UDP/ICMP checksums right where it has the room,
 * with the plain sum, so that mutated frames reach past the checks. */
static void fix_checksums(uint8_t *f, uint16_t len, unsigned fix)
{
	uint8_t *ip = f + FERRY_ETH_HLEN;
	if (len < FERRY_ETH_HLEN + FERRY_IPV4_HLEN)
		return;
	unsigned ihl = (ip[0] & 0x0f) * 4u;
	uint16_t ip_len = ferry_ld16(ip + FERRY_IPV4_OFF_LEN);
	if (ihl < FERRY_IPV4_HLEN || ihl > ip_len || ip_len > len - FERRY_ETH_HLEN)
		return;
	uint8_t *l4 = ip + ihl;
	uint16_t l4_len = (uint16_t)(ip_len - ihl);
	if ((fix & FIX_L4) && ip[FERRY_IPV4_OFF_PROTO] == FERRY_IPPROTO_ICMP && l4_len >= 4) {
		ferry_st16(l4 + FERRY_ICMP_OFF_CKSUM, 0);
		ferry_st16(l4 + FERRY_ICMP_OFF_CKSUM, (uint16_t)~ref_fold(ref_sum(l4, l4_len, 0)));
	} else if ((fix & FIX_L4) && ip[FERRY_IPV4_OFF_PROTO] == FERRY_IPPROTO_UDP &&
		   l4_len >= FERRY_UDP_HLEN) {
		ferry_st16(l4 + FERRY_UDP_OFF_CKSUM, 0);
		uint32_t ph = ref_phdr(ferry_ld32(ip + FERRY_IPV4_OFF_SRC),
				       ferry_ld32(ip + FERRY_IPV4_OFF_DST), FERRY_IPPROTO_UDP, l4_len);
		ferry_st16(l4 + FERRY_UDP_OFF_CKSUM, (uint16_t)~ref_fold(ref_sum(l4, l4_len, ph)));
	}
	if (fix & FIX_IP) {
		ferry_st16(ip + FERRY_IPV4_OFF_CKSUM, 0);
		ferry_st16(ip + FERRY_IPV4_OFF_CKSUM, (uint16_t)~ref_fold(ref_sum(ip, ihl, 0)));
	}
}

/* The stack's 16-byte-at-a-time sum against the plain one, at an odd
 * offset and start value the frame picks. */
static void check_cksum_sum(const struct frame *f)
{
	if (!f->len)
		return;
	size_t off = f->data[0] % (f->len < 16 ? f->len : 16);
	uint16_t start = f->len > 1 ? (uint16_t)(f->data[1] << 8 | f->data[f->len - 1]) : 0;
	uint16_t fast = ferry_cksum_sum(f->data + off, f->len - off, start);
	uint16_t slow = ref_fold(ref_sum(f->data + off, f->len - off, start));
	FUZZ_CHECK(fast == slow, "ferry_cksum_sum %#x, RFC 1071 %#x over %zu bytes", fast, slow,
		   (size_t)(f->len - off));
}

static void remember(uint32_t ip)
{
	if (!ip)
		return;
	for (unsigned i = 0; i < g.nseen; i++)
		if (g.seen[i] == ip)
			return;
	if (g.nseen < MAX_SEEN)
		g.seen[g.nseen++] = ip;
}

/* ---- the ARP cache --------------------------------------------------- */

static bool mac_unicast(const uint8_t *mac)
{
	return !ferry_mac_is_group(mac) && !ferry_mac_is_zero(mac);
}

/* A host at @p ip with @p mac, if one could exist there (/32, jumbo MTU). */
static bool peer_host(struct ferry_net_host *p, const uint8_t *mac, uint32_t ip)
{
	return ferry_net_host_init(p, mac, ip, 32, 0, FERRY_PORT, 9216) == 0;
}

static void arp_request(void *arg, uint32_t ip)
{
	static const uint8_t peer_mac[6] = {0x02, 0, 0, 0, 0, 0xee};
	uint8_t req[FERRY_ARP_FRAME_LEN];
	struct ferry_net_host peer;
	struct ferry_net_stats st = {0};
	struct ferry_net_rx rx;

	(void)arg;
	FUZZ_CHECK(ip != 0 && ip != g.host.ip, "ARP request for %#x", ip);
	g.requests++;
	/* The request the NIC glue would send: the host it asks for answers it. */
	uint16_t n = ferry_net_build_arp_request(&g.host, req, ip);
	if (!peer_host(&peer, peer_mac, ip))
		return;
	enum ferry_net_verdict v = ferry_net_input(&peer, req, n, 0, &rx, &st);
	FUZZ_CHECK(v == FERRY_NET_ARP_REQUEST && rx.src_ip == g.host.ip &&
			   ferry_mac_equal(rx.src_mac, g.host.mac),
		   "our ARP request for %#x is %s (%s) at its target", ip, ferry_net_verdict_name(v),
		   ferry_drop_name(rx.drop));
}

static void give_back(uint32_t ip, void **pkts, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		struct token *t = pkts[i];
		FUZZ_CHECK(t->nh == ip, "packet for %#x handed back for %#x", t->nh, ip);
		free(t);
	}
	FUZZ_CHECK(n <= g.owned, "%u packets handed back, the cache held %llu", n,
		   (unsigned long long)g.owned);
	g.owned -= n;
}

static void arp_flush(void *arg, uint32_t ip, const uint8_t mac[6], void **pkts, unsigned n)
{
	(void)arg;
	FUZZ_CHECK(n >= 1 && n <= g.ap.queue_len, "flush of %u packets (queue %u)", n,
		   g.ap.queue_len);
	FUZZ_CHECK(mac_unicast(mac), "packets for %#x flushed to a group or zero MAC", ip);
	give_back(ip, pkts, n);
}

static void arp_unreachable(void *arg, uint32_t ip, void **pkts, unsigned n)
{
	(void)arg;
	FUZZ_CHECK(n <= g.ap.queue_len, "%u packets unreachable (queue %u)", n, g.ap.queue_len);
	give_back(ip, pkts, n);
}

static void check_arp(void)
{
	const struct ferry_arp_stats *st = ferry_arp_cache_stats(g.arp);
	uint64_t next = ferry_arp_next_deadline(g.arp);
	unsigned present = 0;
	uint64_t queued = 0;

	FUZZ_CHECK(st->requests == g.requests, "requests counted %llu, sent %llu",
		   (unsigned long long)st->requests, (unsigned long long)g.requests);
	FUZZ_CHECK(st->queued - st->flushed - st->dropped_unreachable == g.owned,
		   "queued %llu flushed %llu unreachable %llu, but %llu held",
		   (unsigned long long)st->queued, (unsigned long long)st->flushed,
		   (unsigned long long)st->dropped_unreachable, (unsigned long long)g.owned);
	for (unsigned i = 0; i < g.nseen; i++) {
		struct ferry_arp_info e;
		if (ferry_arp_cache_get(g.arp, g.seen[i], &e) != 0)
			continue;
		present++;
		queued += e.queued;
		FUZZ_CHECK(e.state > FERRY_ARP_FREE && e.state <= FERRY_ARP_FAILED, "state %d", e.state);
		FUZZ_CHECK(e.queued <= g.ap.queue_len &&
				   (e.queued == 0 || e.state == FERRY_ARP_INCOMPLETE),
			   "%u packets queued in state %s", e.queued, ferry_arp_state_name(e.state));
		FUZZ_CHECK(e.requests <= g.ap.max_requests, "%u requests sent (at most %u)",
			   e.requests, g.ap.max_requests);
		if (e.state == FERRY_ARP_REACHABLE || e.state == FERRY_ARP_PROBE)
			FUZZ_CHECK(mac_unicast(e.mac), "%#x resolved to a group or zero MAC", g.seen[i]);
		/* A timer later than the cache's next deadline would never run:
		 * packets stuck in a queue, an address refused for ever. */
		uint64_t due = e.state == FERRY_ARP_REACHABLE ? e.deadline_ns + g.ap.timeout_ns
							      : e.deadline_ns;
		FUZZ_CHECK(due >= next, "%#x (%s) is due at %llu, before the next deadline %llu",
			   g.seen[i], ferry_arp_state_name(e.state), (unsigned long long)due,
			   (unsigned long long)next);
	}
	FUZZ_CHECK(present <= g.arp_capacity, "%u addresses in a cache of %u", present,
		   g.arp_capacity);
	FUZZ_CHECK(queued <= g.owned, "%llu packets queued, %llu held",
		   (unsigned long long)queued, (unsigned long long)g.owned);
}

/* ---- what ferry_net_input() kept ------------------------------------- */

static void check_counters(const struct ferry_net_stats *before, enum ferry_net_verdict v,
			   const struct ferry_net_rx *rx)
{
	uint64_t verdicts = 0, drops = 0;

	FUZZ_CHECK((unsigned)v < FERRY_NET_VERDICT_COUNT, "verdict %d", v);
	FUZZ_CHECK((v == FERRY_NET_DROP) == (rx->drop != FERRY_DROP_NONE) &&
			   rx->drop < FERRY_DROP_COUNT,
		   "verdict %s with drop reason %u", ferry_net_verdict_name(v), rx->drop);
	for (int i = 0; i < FERRY_NET_VERDICT_COUNT; i++) {
		uint64_t d = g.stats.verdict[i] - before->verdict[i];
		FUZZ_CHECK(d == (i == (int)v), "verdict %s moved by %llu for a %s",
			   ferry_net_verdict_name(i), (unsigned long long)d, ferry_net_verdict_name(v));
		verdicts += g.stats.verdict[i];
	}
	for (int i = 0; i < FERRY_DROP_COUNT; i++) {
		uint64_t d = g.stats.drop[i] - before->drop[i];
		FUZZ_CHECK(d == (v == FERRY_NET_DROP && i == rx->drop), "drop.%s moved by %llu",
			   ferry_drop_name(i), (unsigned long long)d);
		drops += g.stats.drop[i];
	}
	FUZZ_CHECK(g.stats.drop[FERRY_DROP_NONE] == 0, "drop.none counted");
	FUZZ_CHECK(verdicts == g.handled && drops == g.stats.verdict[FERRY_NET_DROP],
		   "%llu frames, %llu verdicts, %llu drops for %llu dropped",
		   (unsigned long long)g.handled, (unsigned long long)verdicts,
		   (unsigned long long)drops, (unsigned long long)g.stats.verdict[FERRY_NET_DROP]);
}

/* An IPv4 header of a kept frame passed every check (RFC 1071 here). */
static void check_ipv4(const uint8_t *f, uint16_t len, unsigned flags, uint8_t proto)
{
	const uint8_t *ip = f + FERRY_ETH_HLEN;
	unsigned ihl = (ip[0] & 0x0f) * 4u;
	uint16_t ip_len = ferry_ld16(ip + FERRY_IPV4_OFF_LEN);

	FUZZ_CHECK(ferry_mac_equal(f, g.host.mac) && ferry_ld16(f + 12) == FERRY_ETHERTYPE_IPV4,
		   "kept an IPv4 frame not to our MAC");
	FUZZ_CHECK(len <= g.host.max_frame && ip[0] >> 4 == 4 && ihl >= 20 && ip_len >= ihl &&
			   ip_len <= len - FERRY_ETH_HLEN,
		   "kept IPv4 with version/IHL %#x, length %u in a %u-byte frame", ip[0], ip_len, len);
	FUZZ_CHECK((flags & FERRY_NET_RX_IP_CKSUM_GOOD) || ref_valid(ip, ihl, 0),
		   "kept IPv4 with a bad header checksum");
	FUZZ_CHECK(!(ferry_ld16(ip + FERRY_IPV4_OFF_FRAG) & 0x3fff) && ip[FERRY_IPV4_OFF_TTL] &&
			   ip[FERRY_IPV4_OFF_PROTO] == proto &&
			   ferry_ld32(ip + FERRY_IPV4_OFF_DST) == g.host.ip,
		   "kept a fragment, TTL 0, protocol %u or another address", ip[FERRY_IPV4_OFF_PROTO]);
}

static void check_udp(const uint8_t *f, uint16_t len, unsigned flags, const struct ferry_net_rx *rx)
{
	const uint8_t *ip = f + FERRY_ETH_HLEN;
	const uint8_t *udp = ip + (ip[0] & 0x0f) * 4;
	uint16_t udp_len = (uint16_t)(rx->payload_len + FERRY_UDP_HLEN);

	check_ipv4(f, len, flags, FERRY_IPPROTO_UDP);
	FUZZ_CHECK(rx->payload_off == udp - f + FERRY_UDP_HLEN &&
			   (uint32_t)rx->payload_off + rx->payload_len <= len,
		   "payload at %u, %u bytes, in a %u-byte frame", rx->payload_off, rx->payload_len,
		   len);
	FUZZ_CHECK(ferry_ld16(udp + FERRY_UDP_OFF_LEN) == udp_len &&
			   ferry_ld16(ip + FERRY_IPV4_OFF_LEN) - (ip[0] & 0x0f) * 4 == udp_len,
		   "UDP length %u kept for a %u-byte payload", ferry_ld16(udp + FERRY_UDP_OFF_LEN),
		   rx->payload_len);
	FUZZ_CHECK(ferry_ld16(udp + FERRY_UDP_OFF_DPORT) == g.host.udp_port &&
			   rx->src_port == ferry_ld16(udp) && rx->src_ip == ferry_ld32(ip + 12),
		   "UDP port or source wrong");
	FUZZ_CHECK(rx->payload_len >= g.host.ferry_hdr_min && rx->payload_len > 0 &&
			   f[rx->payload_off] == g.host.ferry_version,
		   "ferry header of %u bytes, version %u kept", rx->payload_len, f[rx->payload_off]);
	FUZZ_CHECK(ferry_ld16(udp + FERRY_UDP_OFF_CKSUM) == 0 || (flags & FERRY_NET_RX_L4_CKSUM_GOOD) ||
			   ref_valid(udp, udp_len,
				     ref_phdr(rx->src_ip, g.host.ip, FERRY_IPPROTO_UDP, udp_len)),
		   "kept UDP with a bad checksum");
}

static void check_arp_reply(const uint8_t *req, const uint8_t *f, const struct ferry_net_rx *rx)
{
	const uint8_t *arp = f + FERRY_ETH_HLEN;
	const uint8_t *q = req + FERRY_ETH_HLEN;
	struct ferry_net_host peer;
	struct ferry_net_stats st = {0};
	struct ferry_net_rx back;

	FUZZ_CHECK(ferry_ld16(q + FERRY_ARP_OFF_OP) == FERRY_ARP_OP_REQUEST &&
			   ferry_ld32(q + FERRY_ARP_OFF_TPA) == g.host.ip,
		   "answered an ARP that is no request for us");
	FUZZ_CHECK(rx->reply_len == FERRY_ARP_FRAME_LEN, "ARP reply of %u bytes", rx->reply_len);
	FUZZ_CHECK(ferry_mac_equal(f, rx->src_mac) && ferry_mac_equal(f + 6, g.host.mac) &&
			   ferry_ld16(arp + FERRY_ARP_OFF_OP) == FERRY_ARP_OP_REPLY &&
			   ferry_mac_equal(arp + FERRY_ARP_OFF_SHA, g.host.mac) &&
			   ferry_ld32(arp + FERRY_ARP_OFF_SPA) == g.host.ip &&
			   ferry_mac_equal(arp + FERRY_ARP_OFF_THA, q + FERRY_ARP_OFF_SHA) &&
			   ferry_ld32(arp + FERRY_ARP_OFF_TPA) == ferry_ld32(q + FERRY_ARP_OFF_SPA),
		   "ARP reply does not answer the request");
	/* The asker's own stack takes the reply as a reply from us. */
	if (!peer_host(&peer, rx->src_mac, rx->src_ip))
		return;
	enum ferry_net_verdict v = ferry_net_input(&peer, (uint8_t *)f, rx->reply_len, 0, &back, &st);
	FUZZ_CHECK(v == FERRY_NET_ARP_REPLY && back.src_ip == g.host.ip &&
			   ferry_mac_equal(back.src_mac, g.host.mac),
		   "the asker's stack takes our ARP reply as %s (%s)", ferry_net_verdict_name(v),
		   ferry_drop_name(back.drop));
}

static void check_echo_reply(const uint8_t *req, uint16_t req_len, unsigned flags, const uint8_t *f,
			     const struct ferry_net_rx *rx)
{
	const uint8_t *rip = req + FERRY_ETH_HLEN, *ip = f + FERRY_ETH_HLEN;
	unsigned ihl = (rip[0] & 0x0f) * 4u;
	uint16_t icmp_len = (uint16_t)(ferry_ld16(rip + FERRY_IPV4_OFF_LEN) - ihl);
	const uint8_t *q = rip + ihl, *icmp = ip + FERRY_IPV4_HLEN;
	struct ferry_net_host peer;
	struct ferry_net_stats st = {0};
	struct ferry_net_rx back;

	check_ipv4(req, req_len, flags, FERRY_IPPROTO_ICMP);
	FUZZ_CHECK(icmp_len >= FERRY_ICMP_HLEN && q[0] == FERRY_ICMP_ECHO_REQUEST && q[1] == 0 &&
			   ref_valid(q, icmp_len, 0),
		   "answered ICMP type %u code %u of %u bytes, or with a bad checksum", q[0], q[1],
		   icmp_len);
	FUZZ_CHECK(rx->reply_len <= req_len &&
			   rx->reply_len == FERRY_ETH_HLEN + FERRY_IPV4_HLEN + icmp_len,
		   "echo reply of %u bytes for a %u-byte request with %u ICMP bytes", rx->reply_len,
		   req_len, icmp_len);
	FUZZ_CHECK(ferry_mac_equal(f, req + 6) && ferry_mac_equal(f + 6, g.host.mac) &&
			   ip[0] == 0x45 && ferry_ld16(ip + FERRY_IPV4_OFF_LEN) == rx->reply_len - 14 &&
			   ip[FERRY_IPV4_OFF_PROTO] == FERRY_IPPROTO_ICMP &&
			   ferry_ld32(ip + FERRY_IPV4_OFF_SRC) == g.host.ip &&
			   ferry_ld32(ip + FERRY_IPV4_OFF_DST) == rx->src_ip && ref_valid(ip, 20, 0),
		   "echo reply's Ethernet or IPv4 header wrong");
	FUZZ_CHECK(icmp[0] == FERRY_ICMP_ECHO_REPLY && icmp[1] == 0 && ref_valid(icmp, icmp_len, 0) &&
			   memcmp(icmp + 4, q + 4, icmp_len - 4u) == 0,
		   "echo reply's ICMP message is not the request's, answered, with a valid checksum");
	if (!peer_host(&peer, rx->src_mac, rx->src_ip))
		return;
	/* The asker's stack gets past every IPv4 check to the ICMP type. */
	enum ferry_net_verdict v = ferry_net_input(&peer, (uint8_t *)f, rx->reply_len, 0, &back, &st);
	FUZZ_CHECK(v == FERRY_NET_DROP && back.drop == FERRY_DROP_ICMP_NOT_ECHO,
		   "the asker's stack takes our echo reply as %s (%s)", ferry_net_verdict_name(v),
		   ferry_drop_name(back.drop));
}

/* ---- the NIC glue, as daemon/nic/nic.c has it ---------------------------- */

static void frame_free(struct frame *m)
{
	free(m->data);
	free(m);
}

static struct frame *frame_new(const uint8_t *p, uint16_t len, unsigned flags)
{
	struct frame *m = malloc(sizeof(*m));
	FUZZ_CHECK(m != NULL, "out of memory");
	m->data = malloc(len);
	FUZZ_CHECK(m->data != NULL || len == 0, "out of memory");
	if (len)
		memcpy(m->data, p, len);
	m->len = len;
	m->flags = flags;
	return m;
}

/* A packet from a peer tells the NIC glue that the peer is there: the
 * entry of its next hop is confirmed when the MAC is the one kept. */
static void arp_confirm(uint32_t ip, const uint8_t *mac)
{
	uint32_t nh;
	struct ferry_arp_info info;
	if (ferry_net_next_hop(&g.host, ip, &nh) != 0)
		return;
	bool kept = ferry_arp_cache_get(g.arp, nh, &info) == 0 &&
		    (info.state == FERRY_ARP_REACHABLE || info.state == FERRY_ARP_PROBE) &&
		    memcmp(info.mac, mac, FERRY_ETH_ALEN) == 0;
	int rc = ferry_arp_confirm(g.arp, nh, mac, g.now);
	FUZZ_CHECK(!kept || rc == 0, "confirming a resolved entry failed: %d", rc);
}

/* An ARP sender as the NIC glue hands it to the cache: a request may add
 * its sender; replies and announcements only update, and a claim of
 * another MAC for a defended entry is refused and counted. */
static void learn(const struct ferry_net_rx *rx, enum ferry_arp_claim how)
{
	uint64_t conflicts = ferry_arp_cache_stats(g.arp)->conflicts;
	int rc = ferry_arp_input(g.arp, rx->src_ip, rx->src_mac, g.now, how);
	FUZZ_CHECK(rc == 0 || rc == -ENOENT || rc == -EEXIST || (rc == -EINVAL && rx->src_ip == 0),
		   "ferry_arp_input: %d for %#x", rc, rx->src_ip);
	FUZZ_CHECK((rc == -EEXIST) == (ferry_arp_cache_stats(g.arp)->conflicts == conflicts + 1),
		   "a refused claim and the conflict count disagree");
	remember(rx->src_ip);
}

static void handle(struct frame *m, unsigned flags)
{
	struct ferry_net_stats before = g.stats;
	struct ferry_net_rx rx;
	uint8_t *orig = malloc(m->len ? m->len : 1);

	FUZZ_CHECK(orig != NULL, "out of memory");
	if (m->len)
		memcpy(orig, m->data, m->len);
	check_cksum_sum(m);
	enum ferry_net_verdict v = ferry_net_input(&g.host, m->data, m->len, flags, &rx, &g.stats);
	g.handled++;
	check_counters(&before, v, &rx);
	if (v != FERRY_NET_ARP_REQUEST && v != FERRY_NET_ICMP_ECHO)
		FUZZ_CHECK(m->len == 0 || memcmp(orig, m->data, m->len) == 0,
			   "a frame %s was written to", v == FERRY_NET_DROP ? "dropped" : "kept");
	switch (v) {
	case FERRY_NET_ARP_REQUEST:
		check_arp_reply(orig, m->data, &rx);
		learn(&rx, FERRY_ARP_CLAIM_REQUEST);
		break;
	case FERRY_NET_ICMP_ECHO:
		check_echo_reply(orig, m->len, flags, m->data, &rx);
		break;
	case FERRY_NET_ARP_REPLY:
		learn(&rx, rx.arp_announce ? FERRY_ARP_CLAIM_ANNOUNCE : FERRY_ARP_CLAIM_REPLY);
		break;
	case FERRY_NET_UDP:
		check_udp(m->data, m->len, flags, &rx);
		/* remote_input() says whether a session took the packet; let
		 * the packet's type byte stand for that answer. */
		if (rx.payload_len > 1 && (m->data[rx.payload_off + 1] & 1))
			arp_confirm(rx.src_ip, rx.src_mac);
		remember(rx.src_ip);
		break;
	default:
		break;
	}
	check_arp();
	free(orig);
	frame_free(m);
}

static void rx_faulty(struct frame *m)
{
	switch (ferry_fault_decide(&g.fault)) {
	case FERRY_FAULT_DROP:
		frame_free(m);
		return;
	case FERRY_FAULT_DUP: {
		struct frame *copy = frame_new(m->data, m->len, m->flags);
		handle(m, m->flags);
		handle(copy, copy->flags);
		return;
	}
	case FERRY_FAULT_REORDER:
		if (ferry_fault_hold(&g.fault, m, g.now))
			return;
		break;
	case FERRY_FAULT_CORRUPT:
		ferry_fault_corrupt(&g.fault, m->data, m->len, FERRY_ETH_HLEN);
		handle(m, 0);
		return;
	default:
		break;
	}
	handle(m, m->flags);
}

static void release_late(bool force)
{
	void *late[LATE_MAX];
	unsigned k;
	do {
		k = ferry_fault_release(&g.fault, g.now, late, LATE_MAX, force);
		FUZZ_CHECK(k <= LATE_MAX, "released %u into %u slots", k, LATE_MAX);
		for (unsigned i = 0; i < k; i++)
			handle(late[i], ((struct frame *)late[i])->flags);
	} while (force && k);
	FUZZ_CHECK(!force || ferry_fault_held(&g.fault) == 0, "frames held after a forced release");
}

static void poll_end(void)
{
	if (g.faulty)
		release_late(false);
	ferry_arp_tick(g.arp, g.now);
	check_arp();
}

/* nic_send(): next hop, then the ARP cache, which may keep the packet. */
static void send_to(uint32_t ip)
{
	uint32_t nh = 0;
	uint8_t mac[FERRY_ETH_ALEN];

	if (ferry_net_next_hop(&g.host, ip, &nh) != 0)
		return;
	FUZZ_CHECK(nh != 0 && nh != g.host.ip &&
			   (nh == ip ? ferry_net_on_subnet(&g.host, ip) : nh == g.host.gateway),
		   "next hop %#x for %#x", nh, ip);
	remember(nh);
	struct token *t = malloc(sizeof(*t));
	FUZZ_CHECK(t != NULL, "out of memory");
	t->nh = nh;
	int rc = ferry_arp_resolve(g.arp, nh, t, g.now, mac);
	if (rc == FERRY_ARP_QUEUED) {
		g.owned++;
	} else {
		FUZZ_CHECK(rc == FERRY_ARP_RESOLVED || rc == -ENOBUFS || rc == -ENOSPC ||
				   rc == -EHOSTUNREACH,
			   "ferry_arp_resolve: %d", rc);
		FUZZ_CHECK(rc != FERRY_ARP_RESOLVED || mac_unicast(mac), "resolved to a group MAC");
		free(t);
	}
	check_arp();
}

/* ---- one input ------------------------------------------------------- */

static int setup(struct fuzz_in *in)
{
	uint8_t prefix = fuzz_u8(in) % 33, flags = fuzz_u8(in);
	uint16_t mtu = (uint16_t)(576 + fuzz_u16(in) % (9001 - 576 + 1));
	uint8_t hdr_min = fuzz_u8(in);
	uint32_t gw = (flags & F_GATEWAY) ? IP_GW : 0;
	struct ferry_arp_ops ops = {.request = arp_request, .flush = arp_flush,
				    .unreachable = arp_unreachable};

	memset(&g, 0, sizeof(g));
	if (ferry_net_host_init(&g.host, MAC_B, IP_B, prefix, gw, FERRY_PORT, mtu) != 0)
		return -1; /* the daemon refuses such settings at start */
	/* nic_open() sets the transport's header length; let the input vary it */
	g.host.ferry_hdr_min = hdr_min ? hdr_min : sizeof(struct ferry_wire_hdr);
	g.ap = (struct ferry_arp_params){
		.entries = 1 + fuzz_u8(in) % 64,
		.queue_len = (uint16_t)(1 + fuzz_u8(in) % 8),
		.max_requests = (uint8_t)(1 + fuzz_u8(in) % 4),
		.retry_ns = RETRY_NS,
		.timeout_ns = (1000ull + fuzz_u16(in)) * 1000000ull, /* net.arp_timeout_ms >= 1000 */
		.fail_hold_ns = HOLD_NS,
		.confirm_ns = 5000000000ull, /* FERRY_ARP_PARAMS_DEFAULT's */
	};
	FUZZ_CHECK(ferry_arp_cache_create(&g.arp, &g.ap, &ops) == 0, "cannot create the ARP cache");
	for (g.arp_capacity = 4; g.arp_capacity < g.ap.entries; g.arp_capacity <<= 1)
		;
	if (flags & F_FAULT) {
		/* each rate up to a quarter, so they always add up to at most 1 */
		double r[4];
		for (int i = 0; i < 4; i++)
			r[i] = fuzz_u8(in) / 1020.0;
		FUZZ_CHECK(ferry_fault_init(&g.fault, fuzz_u32(in), FERRY_FAULT_RX, r[0], r[1], r[2],
					    r[3]) == 0,
			   "fault rates refused");
		g.faulty = ferry_fault_active(&g.fault);
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = {data, size};
	size_t got;

	if (setup(&in) != 0)
		return -1;
	g.now = 1000000000ull;
	while (in.n) {
		switch (fuzz_u8(&in) % 4) {
		case OP_FRAME: {
			uint16_t len = fuzz_u16(&in);
			unsigned flags = fuzz_u8(&in);
			const uint8_t *p = fuzz_bytes(&in, len, &got);
			struct frame *m = frame_new(p, (uint16_t)got, flags & 0xf);
			fix_checksums(m->data, m->len, flags);
			if (g.faulty)
				rx_faulty(m);
			else
				handle(m, flags);
			break;
		}
		case OP_CLOCK:
			g.now += fuzz_u16(&in) * 1000000ull;
			break;
		case OP_SEND: {
			uint8_t pick = fuzz_u8(&in);
			if (pick < 128)
				send_to(g.nseen ? g.seen[pick % g.nseen] : IP_A);
			else
				send_to(fuzz_u32(&in));
			break;
		}
		case OP_POLL:
			poll_end();
			break;
		}
	}
	/* nic_close(): what is held is released, then the cache hands back
	 * every packet it still holds. */
	if (g.faulty)
		release_late(true);
	check_arp();
	ferry_arp_cache_destroy(g.arp);
	FUZZ_CHECK(g.owned == 0, "%llu queued packets never handed back",
		   (unsigned long long)g.owned);
	return 0;
}

/* ---- seeds ------------------------------------------------------------- */

static void put_setup(struct fuzz_out *o, uint8_t flags)
{
	fuzz_put8(o, 24);               /* 10.99.0.2/24 */
	fuzz_put8(o, flags);
	fuzz_put16(o, 1500 - 576);      /* MTU 1500 */
	fuzz_put8(o, 0);                /* the daemon's ferry header length */
	fuzz_put8(o, 7);                /* 8 ARP entries */
	fuzz_put8(o, 3);                /* 4 packets queued per entry */
	fuzz_put8(o, 2);                /* 3 requests */
	fuzz_put16(o, 0);               /* valid 1 s */
	if (flags & F_FAULT) {
		fuzz_put8(o, 60);       /* drop, dup, reorder, corrupt: ~6 % each */
		fuzz_put8(o, 60);
		fuzz_put8(o, 60);
		fuzz_put8(o, 60);
		fuzz_put32(o, 1);
	}
}

static void put_frame(struct fuzz_out *o, const uint8_t *f, uint16_t len, uint8_t flags)
{
	fuzz_put8(o, OP_FRAME);
	fuzz_put16(o, len);
	fuzz_put8(o, flags);
	fuzz_put(o, f, len);
}

static void put_hex_frame(struct fuzz_out *o, const char *hex, uint8_t flags)
{
	uint8_t f[256];
	put_frame(o, f, (uint16_t)hex2bin(hex, f, sizeof(f)), flags);
}

static void put_clock(struct fuzz_out *o, uint16_t ms)
{
	fuzz_put8(o, OP_CLOCK);
	fuzz_put16(o, ms);
	fuzz_put8(o, OP_POLL);
}

static void put_send(struct fuzz_out *o, uint32_t ip)
{
	fuzz_put8(o, OP_SEND);
	fuzz_put8(o, 0x80);
	fuzz_put32(o, ip);
}

/* A ferry OPEN from host A, as ferryd builds it. */
static uint16_t ferry_open(uint8_t *f)
{
	struct ferry_net_host a;
	struct ferry_wire_hdr h = {.version = FERRY_WIRE_VERSION, .type = FW_OPEN,
				   .src_session = __builtin_bswap32(7), .seq = __builtin_bswap32(1000),
				   .window = __builtin_bswap32(1u << 20)};
	struct ferry_wire_open open = {.service = "echo"};
	struct ferry_net_udp_dst dst = {.mac = {0x02, 0, 0, 0, 0, 0x0b}, .port = FERRY_PORT, .ip = IP_B};

	ferry_net_host_init(&a, MAC_A, IP_A, 24, 0, FERRY_PORT, 1500);
	memcpy(f + FERRY_UDP_FRAME_HLEN, &h, sizeof(h));
	memcpy(f + FERRY_UDP_FRAME_HLEN + sizeof(h), &open, sizeof(open));
	return (uint16_t)ferry_net_build_udp(&a, f, &dst, sizeof(h) + sizeof(open), 0x1234, 0);
}

void fuzz_seeds(fuzz_emit_fn *emit)
{
	static struct fuzz_out o;
	uint8_t f[FERRY_UDP_FRAME_HLEN + 256];
	struct ferry_net_host a;

	ferry_net_host_init(&a, MAC_A, IP_A, 24, 0, FERRY_PORT, 1500);

	/* The Linux kernel of host A asks for us, pings us, sends UDP. */
	o.n = 0;
	put_setup(&o, 0);
	put_hex_frame(&o, K_ARP_REQ_A_FOR_B, 0);
	put_hex_frame(&o, K_GARP_A, 0);
	put_hex_frame(&o, K_ECHO_REQ_A_TO_B, 0);
	put_hex_frame(&o, K_UDP_A_TO_B, 0);
	put_hex_frame(&o, K_UDP_A_TO_B_PARTIAL, FERRY_NET_RX_L4_CKSUM_GOOD);
	put_hex_frame(&o, K_ICMP_UNREACH_B_TO_A, 0);
	fuzz_put8(&o, OP_POLL);
	emit("kernel-frames", o.buf, o.n);

	/* We resolve A, A's ferryd answers, a ferry OPEN from A arrives. */
	o.n = 0;
	put_setup(&o, 0);
	put_send(&o, IP_A);
	put_send(&o, IP_A);
	put_frame(&o, f, ferry_net_build_arp_reply(&a, f, MAC_B, IP_B), 0);
	put_send(&o, IP_A);
	put_frame(&o, f, ferry_open(f), 0);
	put_clock(&o, 1500); /* stale: the next send probes */
	put_send(&o, IP_A);
	put_clock(&o, 300);
	put_frame(&o, f, ferry_open(f), FERRY_NET_RX_IP_CKSUM_GOOD | FERRY_NET_RX_L4_CKSUM_GOOD);
	emit("resolve-and-open", o.buf, o.n);

	/* Nobody answers for 10.99.0.3: three requests, failure, refusal,
	 * and after the hold a new resolution; off-subnet via the gateway. */
	o.n = 0;
	put_setup(&o, F_GATEWAY);
	put_send(&o, IP_C);
	for (int i = 0; i < 4; i++)
		put_clock(&o, 200);
	put_send(&o, IP_C);
	put_clock(&o, 1000);
	put_send(&o, IP_C);
	put_send(&o, 0xc0000207); /* 192.0.2.7, through 10.99.0.1 */
	put_frame(&o, f, ferry_net_build_arp_reply(&a, f, MAC_B, IP_B), 0);
	emit("arp-timeout-gateway", o.buf, o.n);

	/* The same traffic through the receive fault injector. */
	o.n = 0;
	put_setup(&o, F_FAULT);
	for (int i = 0; i < 8; i++) {
		put_hex_frame(&o, K_ARP_REQ_A_FOR_B, 0);
		put_hex_frame(&o, K_ECHO_REQ_A_TO_B, 0);
		put_frame(&o, f, ferry_open(f), 0);
		put_clock(&o, 1);
	}
	emit("fault-injection", o.buf, o.n);
}
