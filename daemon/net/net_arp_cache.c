/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The table is 4-way set associative: an address hashes to a set of four
 * entries, and lookup compares at most four keys that share a cache line or
 * two. There is no deletion protocol to get wrong (as there is with open
 * addressing and tombstones); the price is that five busy next hops in one
 * set evict each other, which costs a re-resolution, never correctness. A
 * multiplicative hash spreads the addresses of one subnet, which differ
 * only in their low bits, across sets.
 *
 * Entries holding packets (INCOMPLETE) are never evicted: their packets are
 * owned by the cache until the reply or the failure hands them back, and
 * STATIC entries are the operator's. The victim is otherwise the entry
 * whose deadline comes first, which prefers free, then long-failed, then
 * the stalest resolved entries. A set keeps at least one way that is not
 * STATIC, so every address can still be resolved.
 *
 * Timers: each entry has one deadline whose meaning depends on its state.
 * The cache keeps the earliest of them so ferry_arp_tick() scans only when
 * something is due; scans are O(entries) but happen at most a few times per
 * resolution. A REACHABLE entry's deadline is when it goes stale; the tick
 * forgets it one timeout later, so that is the time it tracks for it.
 *
 * Defence: defended_until is the end of the window a confirmation opened.
 * Only a change of MAC is ever refused: a claim of the MAC we have is the
 * peer itself and refreshes the entry as before. Refusing rather than
 * learning costs a peer that truly moved at most one window plus a probe:
 * its old MAC stops confirming, the refused claim has pulled the entry's
 * staleness in to the window's end, and the probe that follows is
 * answered by the new MAC.
 */
#include "net_arp_cache.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define WAYS 4

struct arp_entry {
	uint32_t ip;
	uint8_t state; /* enum ferry_arp_state */
	uint8_t requests;
	uint8_t mac[FERRY_ETH_ALEN];
	uint16_t q_len; /* packets waiting: always drained whole */
	uint64_t deadline;
	uint64_t defended_until; /* a MAC change is refused before this */
};

struct ferry_arp_cache {
	struct ferry_arp_params p;
	struct ferry_arp_ops ops;
	struct ferry_arp_stats st;
	uint32_t nentries;
	uint32_t set_shift; /* 32 - log2(number of sets) */
	uint64_t next_deadline;
	struct arp_entry *e;
	void **queue;   /* nentries * queue_len slots, one array per entry */
	void **scratch; /* queue_len slots: a queue handed to a callback */
};

static const char *const stat_names[] = {
#define X_NAME(f, name) name,
	FERRY_ARP_STATS(X_NAME)
#undef X_NAME
};

const char *ferry_arp_stat_name(unsigned i)
{
	return i < FERRY_ARP_STATS_COUNT ? stat_names[i] : "unknown";
}

const char *ferry_arp_state_name(enum ferry_arp_state s)
{
	static const char *const names[] = {"free",   "incomplete", "reachable",
					    "probe",  "failed",     "static"};
	return (unsigned)s < sizeof(names) / sizeof(names[0]) ? names[s] : "unknown";
}

static uint32_t round_pow2(uint32_t v)
{
	uint32_t r = WAYS;
	while (r < v && r < (1u << 30))
		r <<= 1;
	return r;
}

int ferry_arp_cache_create(struct ferry_arp_cache **out, const struct ferry_arp_params *p,
			   const struct ferry_arp_ops *ops)
{
	struct ferry_arp_cache *c;
	uint32_t nsets, bits = 0;

	if (!p->entries || !p->queue_len || !p->max_requests || !p->retry_ns || !p->timeout_ns ||
	    !p->fail_hold_ns || !p->confirm_ns || !ops->request || !ops->flush || !ops->unreachable)
		return -EINVAL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->p = *p;
	c->ops = *ops;
	c->nentries = round_pow2(p->entries);
	for (nsets = c->nentries / WAYS; nsets > 1; nsets >>= 1)
		bits++;
	c->set_shift = 32 - bits;
	c->next_deadline = UINT64_MAX;
	c->e = calloc(c->nentries, sizeof(*c->e));
	c->queue = calloc((size_t)c->nentries * p->queue_len, sizeof(void *));
	c->scratch = calloc(p->queue_len, sizeof(void *));
	if (!c->e || !c->queue || !c->scratch) {
		free(c->scratch);
		free(c->queue);
		free(c->e);
		free(c);
		return -ENOMEM;
	}
	*out = c;
	return 0;
}

static struct arp_entry *set_of(const struct ferry_arp_cache *c, uint32_t ip)
{
	uint32_t h = ip * 0x9e3779b1u;
	uint32_t set = c->set_shift == 32 ? 0 : h >> c->set_shift;
	return &c->e[set * WAYS];
}

static struct arp_entry *find(const struct ferry_arp_cache *c, uint32_t ip)
{
	struct arp_entry *s = set_of(c, ip);
	for (int i = 0; i < WAYS; i++)
		if (s[i].state != FERRY_ARP_FREE && s[i].ip == ip)
			return &s[i];
	return NULL;
}

static void set_deadline(struct ferry_arp_cache *c, struct arp_entry *e, uint64_t when)
{
	e->deadline = when;
	if (when < c->next_deadline)
		c->next_deadline = when;
}

/* REACHABLE for another timeout; the tick's business with it is then the
 * forgetting, one timeout after it goes stale (see ferry_arp_tick()). */
static void set_stale_at(struct ferry_arp_cache *c, struct arp_entry *e, uint64_t when)
{
	e->deadline = when;
	if (when + c->p.timeout_ns < c->next_deadline)
		c->next_deadline = when + c->p.timeout_ns;
}

static bool has_mac(const struct arp_entry *e)
{
	return e->state == FERRY_ARP_REACHABLE || e->state == FERRY_ARP_PROBE ||
	       e->state == FERRY_ARP_STATIC;
}

static void **queue_of(const struct ferry_arp_cache *c, const struct arp_entry *e)
{
	return c->queue + (size_t)(e - c->e) * c->p.queue_len;
}

/* Move the entry's queue into scratch, oldest first, and empty it, so the
 * entry is consistent before any callback runs. A queue is only ever
 * emptied whole (flush or failure), so it is a plain array, not a ring. */
static unsigned drain(struct ferry_arp_cache *c, struct arp_entry *e)
{
	unsigned n = e->q_len;
	memcpy(c->scratch, queue_of(c, e), n * sizeof(void *));
	e->q_len = 0;
	return n;
}

static void send_request(struct ferry_arp_cache *c, struct arp_entry *e, uint64_t now)
{
	e->requests++;
	c->st.requests++;
	set_deadline(c, e, now + c->p.retry_ns);
	c->ops.request(c->ops.arg, e->ip);
}

/* A free way, else the evictable way with the earliest deadline. */
static struct arp_entry *victim(struct ferry_arp_cache *c, uint32_t ip)
{
	struct arp_entry *s = set_of(c, ip), *best = NULL;
	for (int i = 0; i < WAYS; i++) {
		if (s[i].state == FERRY_ARP_FREE)
			return &s[i];
		if (s[i].state == FERRY_ARP_INCOMPLETE || s[i].state == FERRY_ARP_STATIC)
			continue;
		if (!best || s[i].deadline < best->deadline)
			best = &s[i];
	}
	if (best && best->state != FERRY_ARP_FAILED)
		c->st.evicted++;
	return best;
}

int ferry_arp_resolve(struct ferry_arp_cache *c, uint32_t ip, void *pkt, uint64_t now,
		      uint8_t mac[FERRY_ETH_ALEN])
{
	struct arp_entry *e;

	if (!ip)
		return -EINVAL;
	e = find(c, ip);
	if (e) {
		switch (e->state) {
		case FERRY_ARP_REACHABLE:
			if (now >= e->deadline) {
				/* Stale: keep sending to the MAC we know while a
				 * request confirms it, rather than stall traffic. */
				e->state = FERRY_ARP_PROBE;
				e->requests = 0;
				send_request(c, e, now);
			}
			/* fall through */
		case FERRY_ARP_PROBE:
		case FERRY_ARP_STATIC:
			ferry_mac_copy(mac, e->mac);
			return FERRY_ARP_RESOLVED;
		case FERRY_ARP_INCOMPLETE:
			goto enqueue;
		case FERRY_ARP_FAILED:
			if (now < e->deadline) {
				c->st.refused++;
				return -EHOSTUNREACH;
			}
			break; /* hold over: resolve afresh in this entry */
		}
	} else {
		e = victim(c, ip);
		if (!e) {
			c->st.table_full++;
			return -ENOSPC;
		}
	}
	memset(e, 0, sizeof(*e));
	e->ip = ip;
	e->state = FERRY_ARP_INCOMPLETE;
	send_request(c, e, now);
enqueue:
	if (pkt) {
		if (e->q_len == c->p.queue_len) {
			c->st.queue_full++;
			return -ENOBUFS;
		}
		queue_of(c, e)[e->q_len++] = pkt;
		c->st.queued++;
	}
	return FERRY_ARP_QUEUED;
}

/* A claim of another MAC for an entry we keep. A defended entry that is
 * disputed goes stale when its defence lapses (unless confirmed again
 * meanwhile), so a peer that truly moved is probed, and found, soon. */
static int conflict(struct ferry_arp_cache *c, struct arp_entry *e)
{
	c->st.conflicts++;
	if (e->state == FERRY_ARP_REACHABLE && e->defended_until < e->deadline)
		set_stale_at(c, e, e->defended_until);
	return -EEXIST;
}

int ferry_arp_input(struct ferry_arp_cache *c, uint32_t ip, const uint8_t mac[FERRY_ETH_ALEN],
		    uint64_t now, enum ferry_arp_claim how)
{
	struct arp_entry *e;
	unsigned n;

	if (!ip || ferry_mac_is_group(mac) || ferry_mac_is_zero(mac) ||
	    how < FERRY_ARP_CLAIM_REPLY || how > FERRY_ARP_CLAIM_ANNOUNCE)
		return -EINVAL;
	e = find(c, ip);
	if (!e) {
		if (how != FERRY_ARP_CLAIM_REQUEST || !(e = victim(c, ip))) {
			c->st.ignored++;
			return -ENOENT;
		}
		memset(e, 0, sizeof(*e));
		e->ip = ip;
	} else if (!has_mac(e) || !ferry_mac_equal(e->mac, mac)) {
		bool solicited = e->state == FERRY_ARP_PROBE && how == FERRY_ARP_CLAIM_REPLY;
		if (e->state == FERRY_ARP_STATIC ||
		    (has_mac(e) && now < e->defended_until && !solicited))
			return conflict(c, e);
		e->defended_until = 0; /* it vouched for another MAC */
	} else if (e->state == FERRY_ARP_STATIC) {
		return 0;
	}
	ferry_mac_copy(e->mac, mac);
	e->state = FERRY_ARP_REACHABLE;
	e->requests = 0;
	set_stale_at(c, e, now + c->p.timeout_ns);
	c->st.learned++;
	n = drain(c, e);
	if (n) {
		c->st.flushed += n;
		c->ops.flush(c->ops.arg, ip, e->mac, c->scratch, n);
	}
	return 0;
}

int ferry_arp_confirm(struct ferry_arp_cache *c, uint32_t ip, const uint8_t mac[FERRY_ETH_ALEN],
		      uint64_t now)
{
	struct arp_entry *e = find(c, ip);

	if (!e || (e->state != FERRY_ARP_REACHABLE && e->state != FERRY_ARP_PROBE) ||
	    !ferry_mac_equal(e->mac, mac))
		return -ENOENT;
	e->state = FERRY_ARP_REACHABLE;
	e->requests = 0;
	set_stale_at(c, e, now + c->p.timeout_ns);
	e->defended_until = now + c->p.confirm_ns;
	c->st.confirmed++;
	return 0;
}

int ferry_arp_add_static(struct ferry_arp_cache *c, uint32_t ip, const uint8_t mac[FERRY_ETH_ALEN])
{
	struct arp_entry *s = set_of(c, ip), *e;
	int statics = 0;
	unsigned n;

	if (!ip || ferry_mac_is_group(mac) || ferry_mac_is_zero(mac))
		return -EINVAL;
	e = find(c, ip);
	if (e && e->state == FERRY_ARP_STATIC)
		return ferry_mac_equal(e->mac, mac) ? 0 : -EEXIST;
	for (int i = 0; i < WAYS; i++)
		statics += s[i].state == FERRY_ARP_STATIC;
	if (statics >= WAYS - 1 || (!e && !(e = victim(c, ip))))
		return -ENOSPC;
	n = e->state == FERRY_ARP_INCOMPLETE ? drain(c, e) : 0;
	memset(e, 0, sizeof(*e));
	e->ip = ip;
	e->state = FERRY_ARP_STATIC;
	ferry_mac_copy(e->mac, mac);
	e->deadline = UINT64_MAX;
	if (n) {
		c->st.flushed += n;
		c->ops.flush(c->ops.arg, ip, e->mac, c->scratch, n);
	}
	return 0;
}

static unsigned fail(struct ferry_arp_cache *c, struct arp_entry *e, uint64_t now)
{
	unsigned n = drain(c, e);
	e->state = FERRY_ARP_FAILED;
	set_deadline(c, e, now + c->p.fail_hold_ns);
	c->st.failed++;
	c->st.dropped_unreachable += n;
	c->ops.unreachable(c->ops.arg, e->ip, c->scratch, n);
	return 1;
}

unsigned ferry_arp_tick(struct ferry_arp_cache *c, uint64_t now)
{
	unsigned work = 0;
	uint64_t next = UINT64_MAX;

	if (now < c->next_deadline)
		return 0;
	/* Callbacks below may lower next_deadline through set_deadline();
	 * the scan recomputes it from scratch, so start it at the maximum. */
	c->next_deadline = UINT64_MAX;
	for (uint32_t i = 0; i < c->nentries; i++) {
		struct arp_entry *e = &c->e[i];
		uint64_t due = e->deadline;

		switch (e->state) {
		case FERRY_ARP_FREE:
		case FERRY_ARP_STATIC:
			continue;
		case FERRY_ARP_INCOMPLETE:
		case FERRY_ARP_PROBE:
			if (now >= due) {
				if (e->requests < c->p.max_requests)
					send_request(c, e, now);
				else
					fail(c, e, now);
				work++;
			}
			break;
		case FERRY_ARP_REACHABLE:
			/* Nothing happens at expiry itself: a stale entry is
			 * re-confirmed when next used. It lingers one more
			 * timeout so a returning user probes instead of
			 * queueing; then it goes. */
			due += c->p.timeout_ns;
			if (now >= due) {
				e->state = FERRY_ARP_FREE;
				c->st.expired++;
			} else if (due < next) {
				next = due;
			}
			continue;
		case FERRY_ARP_FAILED:
			if (now >= due) {
				e->state = FERRY_ARP_FREE;
				continue;
			}
			break;
		}
		if (e->deadline < next)
			next = e->deadline;
	}
	if (next < c->next_deadline)
		c->next_deadline = next;
	return work;
}

uint64_t ferry_arp_next_deadline(const struct ferry_arp_cache *c)
{
	return c->next_deadline;
}

int ferry_arp_cache_get(const struct ferry_arp_cache *c, uint32_t ip, struct ferry_arp_info *info)
{
	const struct arp_entry *e = find(c, ip);
	if (!e)
		return -ENOENT;
	info->state = (enum ferry_arp_state)e->state;
	ferry_mac_copy(info->mac, e->mac);
	info->requests = e->requests;
	info->queued = e->q_len;
	info->deadline_ns = e->deadline;
	info->defended_until_ns = e->defended_until;
	return 0;
}

const struct ferry_arp_stats *ferry_arp_cache_stats(const struct ferry_arp_cache *c)
{
	return &c->st;
}

void ferry_arp_cache_destroy(struct ferry_arp_cache *c)
{
	if (!c)
		return;
	for (uint32_t i = 0; i < c->nentries; i++) {
		struct arp_entry *e = &c->e[i];
		if (e->state == FERRY_ARP_INCOMPLETE && e->q_len) {
			unsigned n = drain(c, e);
			c->ops.unreachable(c->ops.arg, e->ip, c->scratch, n);
		}
	}
	free(c->scratch);
	free(c->queue);
	free(c->e);
	free(c);
}
