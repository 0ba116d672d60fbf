/* SPDX-License-Identifier: BSD-3-Clause */
#include "port_xstats.h"

#include <errno.h>
#include <string.h>
#include <time.h>

#include <rte_ethdev.h>
#include <rte_lcore.h>

#define X_NAME(e, name) name,
static const char *const names[FERRY_ALLOW_COUNT] = {FERRY_ALLOWANCE(X_NAME)};
#undef X_NAME

const char *ferry_allowance_name(unsigned i)
{
	return i < FERRY_ALLOW_COUNT ? names[i] : "unknown";
}

uint32_t ferry_allowance_update(struct ferry_allowance *a, const uint64_t v[FERRY_ALLOW_COUNT],
				uint32_t avail)
{
	uint32_t moved = 0;

	for (unsigned i = 0; i < FERRY_ALLOW_COUNT; i++) {
		bool had = a->primed && (a->avail & (1u << i));
		a->delta[i] = 0;
		if (!(avail & (1u << i))) {
			a->value[i] = 0;
			continue;
		}
		if (had && v[i] > a->value[i]) {
			a->delta[i] = v[i] - a->value[i];
			moved |= 1u << i;
		}
		a->value[i] = v[i];
	}
	a->avail = avail;
	a->primed = true;
	if (moved)
		a->epoch++;
	return moved;
}

/* Sleep @p ns, or until ferry_xstats_stop() says stop. */
static void sleep_ns(struct ferry_xstats *x, uint64_t ns)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	uint64_t at = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec + ns;
	ts.tv_sec = (time_t)(at / 1000000000ull);
	ts.tv_nsec = (long)(at % 1000000000ull);
	pthread_mutex_lock(&x->sleep_mu);
	while (!atomic_load_explicit(&x->stop, memory_order_relaxed))
		if (pthread_cond_timedwait(&x->wake, &x->sleep_mu, &ts) == ETIMEDOUT)
			break;
	pthread_mutex_unlock(&x->sleep_mu);
}

/* One reading, published under the seqlock. The relaxed stores between
 * the two increments are ordered by the release fences around them; the
 * main loop's acquire fence and second load of seq pair with them. */
static void read_once(struct ferry_xstats *x, uint32_t *avail)
{
	uint64_t v[FERRY_ALLOW_COUNT] = {0};
	int rc = 0;

	pthread_mutex_lock(&x->lock);
	if (atomic_exchange_explicit(&x->relookup, false, memory_order_relaxed))
		*avail = x->ops.lookup(x->ops.arg);
	if (*avail)
		rc = x->ops.read(x->ops.arg, v);
	pthread_mutex_unlock(&x->lock);
	if (rc) {
		atomic_fetch_add_explicit(&x->snap_errors, 1, memory_order_relaxed);
		return;
	}
	uint32_t s = atomic_load_explicit(&x->seq, memory_order_relaxed);
	atomic_store_explicit(&x->seq, s + 1, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
	for (unsigned i = 0; i < FERRY_ALLOW_COUNT; i++)
		atomic_store_explicit(&x->snap_value[i], v[i], memory_order_relaxed);
	atomic_store_explicit(&x->snap_avail, *avail, memory_order_relaxed);
	atomic_fetch_add_explicit(&x->snap_reads, 1, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
	atomic_store_explicit(&x->seq, s + 2, memory_order_relaxed);
}

static void *reader(void *arg)
{
	struct ferry_xstats *x = arg;
	uint32_t avail = 0;

	atomic_store_explicit(&x->relookup, true, memory_order_relaxed);
	while (!atomic_load_explicit(&x->stop, memory_order_relaxed)) {
		read_once(x, &avail);
		sleep_ns(x, x->interval_ns);
	}
	return NULL;
}

int ferry_xstats_start(struct ferry_xstats *x, const struct ferry_xstats_ops *ops,
		       uint64_t interval_ns, bool dpdk)
{
	int rc;

	memset(x, 0, sizeof(*x));
	x->ops = *ops;
	x->interval_ns = interval_ns;
	pthread_mutex_init(&x->lock, NULL);
	pthread_mutex_init(&x->sleep_mu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&x->wake, &ca);
	pthread_condattr_destroy(&ca);
	rc = dpdk ? rte_ctrl_thread_create(&x->thread, "ferry-xstats", NULL, reader, x)
		  : pthread_create(&x->thread, NULL, reader, x);
	if (rc) {
		pthread_cond_destroy(&x->wake);
		pthread_mutex_destroy(&x->sleep_mu);
		pthread_mutex_destroy(&x->lock);
		return rc < 0 ? rc : -rc;
	}
	x->started = true;
	return 0;
}

void ferry_xstats_stop(struct ferry_xstats *x)
{
	if (!x->started)
		return;
	/* under the sleep's mutex: the reader either sees the flag before
	 * it waits or is waiting when the signal comes */
	pthread_mutex_lock(&x->sleep_mu);
	atomic_store_explicit(&x->stop, true, memory_order_relaxed);
	pthread_cond_signal(&x->wake);
	pthread_mutex_unlock(&x->sleep_mu);
	pthread_join(x->thread, NULL);
	pthread_cond_destroy(&x->wake);
	pthread_mutex_destroy(&x->sleep_mu);
	pthread_mutex_destroy(&x->lock);
	x->started = false;
}

void ferry_xstats_pause(struct ferry_xstats *x)
{
	if (x->started)
		pthread_mutex_lock(&x->lock);
}

void ferry_xstats_resume(struct ferry_xstats *x, bool reset)
{
	if (!x->started)
		return;
	if (reset)
		atomic_store_explicit(&x->relookup, true, memory_order_relaxed);
	pthread_mutex_unlock(&x->lock);
}

uint32_t ferry_xstats_poll(struct ferry_xstats *x)
{
	uint64_t v[FERRY_ALLOW_COUNT], reads;
	uint32_t s0, s1, avail;

	if (!x->started)
		return 0;
	/* cheap when nothing new: one relaxed load */
	if (atomic_load_explicit(&x->snap_reads, memory_order_relaxed) == x->seen_reads)
		return 0;
	do {
		s0 = atomic_load_explicit(&x->seq, memory_order_acquire);
		for (unsigned i = 0; i < FERRY_ALLOW_COUNT; i++)
			v[i] = atomic_load_explicit(&x->snap_value[i], memory_order_relaxed);
		avail = atomic_load_explicit(&x->snap_avail, memory_order_relaxed);
		reads = atomic_load_explicit(&x->snap_reads, memory_order_relaxed);
		atomic_thread_fence(memory_order_acquire);
		s1 = atomic_load_explicit(&x->seq, memory_order_relaxed);
	} while ((s0 & 1) || s0 != s1);
	x->seen_reads = reads;
	return ferry_allowance_update(&x->allow, v, avail);
}

/* ---- the DPDK source ---------------------------------------------------- */

static uint32_t dpdk_lookup(void *arg)
{
	struct ferry_xstats_dpdk *s = arg;
	s->avail = 0;
	for (unsigned i = 0; i < FERRY_ALLOW_COUNT; i++)
		if (rte_eth_xstats_get_id_by_name(s->port_id, names[i], &s->ids[i]) == 0)
			s->avail |= 1u << i;
	return s->avail;
}

static int dpdk_read(void *arg, uint64_t v[FERRY_ALLOW_COUNT])
{
	struct ferry_xstats_dpdk *s = arg;
	uint64_t ids[FERRY_ALLOW_COUNT], vals[FERRY_ALLOW_COUNT];
	unsigned n = 0;

	for (unsigned i = 0; i < FERRY_ALLOW_COUNT; i++)
		if (s->avail & (1u << i))
			ids[n++] = s->ids[i];
	int got = rte_eth_xstats_get_by_id(s->port_id, ids, vals, n);
	if (got < 0 || (unsigned)got != n)
		return got < 0 ? got : -EIO;
	n = 0;
	for (unsigned i = 0; i < FERRY_ALLOW_COUNT; i++)
		if (s->avail & (1u << i))
			v[i] = vals[n++];
	return 0;
}

void ferry_xstats_dpdk_ops(struct ferry_xstats_dpdk *src, uint16_t port_id,
			   struct ferry_xstats_ops *ops)
{
	memset(src, 0, sizeof(*src));
	src->port_id = port_id;
	*ops = (struct ferry_xstats_ops){.arg = src, .lookup = dpdk_lookup, .read = dpdk_read};
}
