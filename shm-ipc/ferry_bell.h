/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Futex doorbells: how an idle side sleeps and is woken only when needed.
 * The protocol is described at struct ferry_bell in ferry_shm.h.
 *
 * Owner (the side that sleeps):
 *     uint32_t seq = ferry_bell_prepare(b);   // sleeping = 1, fence
 *     if (work is visible) ferry_bell_cancel(b);
 *     else ferry_bell_wait(b, seq, timeout);  // futex wait, sleeping = 0
 *
 * Waker (after publishing work for the owner):
 *     ferry_bell_notify(b);                   // fence, ring if sleeping
 */
#ifndef FERRY_BELL_H
#define FERRY_BELL_H

#include <stdint.h>

#include "ferry_atomic.h"
#include "ferry_shm.h"

/** Announce the intent to sleep; returns the seq value to wait on. */
static inline uint32_t ferry_bell_prepare(struct ferry_bell *b)
{
	/* relaxed: seq only needs to be read before sleeping is set, which
	 * the fence below orders */
	uint32_t seq = FA_LOAD_RLX(&b->seq);
	FA_STORE_RLX(&b->sleeping, 1);
	/* Dekker: partner is the fence in ferry_bell_notify() */
	atomic_thread_fence(memory_order_seq_cst);
	return seq;
}

/** Work turned up after ferry_bell_prepare(): stay awake. */
static inline void ferry_bell_cancel(struct ferry_bell *b)
{
	FA_STORE_RLX(&b->sleeping, 0);
}

/**
 * Sleep until rung, @p timeout_ns passes (< 0: no limit) or a signal.
 * @return 0 when woken or the value already moved, -ETIMEDOUT, -EINTR
 */
int ferry_bell_wait(struct ferry_bell *b, uint32_t seq, int64_t timeout_ns);

/** Bump seq and futex-wake every sleeper on @p b. */
void ferry_bell_ring(struct ferry_bell *b);

/** After publishing work: wake the owner if it sleeps (or is about to). */
static inline void ferry_bell_notify(struct ferry_bell *b)
{
	/* Dekker: partner is the fence in ferry_bell_prepare(); our record
	 * is published before we read the flag. */
	atomic_thread_fence(memory_order_seq_cst);
	if (FERRY_LIKELY(FA_LOAD_RLX(&b->sleeping) == 0))
		return;
	/* Only the waker that clears the flag pays for the system call. */
	if (atomic_exchange_explicit(&b->sleeping, 0, memory_order_relaxed))
		ferry_bell_ring(b);
}

#endif
