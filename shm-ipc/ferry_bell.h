/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Futex doorbells: how an idle side sleeps and is woken only when needed.
 * The protocol is described at struct ferry_bell in ferry_shm.h.
 *
 * Owner (the side that sleeps):
 *     uint32_t seq = ferry_bell_prepare(b);   // sleeping = ON_FUTEX, fence
 *     if (work is visible) ferry_bell_cancel(b);
 *     else ferry_bell_wait(b, seq, timeout);  // futex wait, sleeping = 0
 *   or, waiting on its wake socket (in an event loop):
 *     ferry_bell_prepare_fd(b, fd);           // drain fd, sleeping = ON_FD, fence
 *     if (work is visible) ...                // stay awake
 *     else poll(fd) ...
 *
 * Waker (after publishing work for the owner):
 *     ferry_bell_wake(b, fd);                 // fence, wake if sleeping
 * where fd is the sending end of the owner's wake socket, or -1 when the
 * waker has none (then only a futex sleeper is woken).
 *
 * Wake descriptors are AF_UNIX datagram socket pairs (shm layout 1.3),
 * not eventfds: they cross trust boundaries (ferryd and each client, a
 * client and its local-session peers) and an open file is shared by every
 * holder, O_NONBLOCK included. A holder that cleared it and filled an
 * eventfd's counter made the next write() block for good. send() and
 * recv() take MSG_DONTWAIT per call, whatever any holder did to the file.
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
	FA_STORE_RLX(&b->sleeping, FERRY_BELL_ON_FUTEX);
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

/**
 * Announce the intent to wait on wake socket @p fd: take what earlier
 * wakes left in it (so a level-triggered poll does not return at once;
 * -1: the caller took them), then set the flag. Check for work afterwards, as with
 * ferry_bell_prepare().
 */
void ferry_bell_prepare_fd(struct ferry_bell *b, int fd);

/** Most datagrams ferry_wake_take() reads per call. A sending end queues
 *  about 6 (its least SO_SNDBUF), so one batch empties what ferryd or a
 *  well-behaved peer left. */
#define FERRY_WAKE_TAKE_MAX 16

/**
 * Read what is queued on the receiving end @p fd of a wake socket, at most
 * FERRY_WAKE_TAKE_MAX datagrams (a writer that floods it keeps it
 * readable, and costs the reader no more than one batch per look). Never
 * blocks, whatever another holder did to the open file.
 * @return the number of datagrams read
 */
int ferry_wake_take(int fd);

/**
 * Create a wake socket: @p fds[0] the receiving end, @p fds[1] the sending
 * end. The sending end accepts nothing (SHUT_RD) and queues only a few
 * wakes (smallest SO_SNDBUF): unread wakes are worth one, and whoever
 * holds the receiving end cannot make the sender's kernel memory grow.
 * @return 0 or -errno
 */
int ferry_wake_pair(int fds[2]);

/** Bump seq and futex-wake every sleeper on @p b. */
void ferry_bell_ring(struct ferry_bell *b);

/**
 * Make the wake socket whose sending end is @p fd readable: one datagram,
 * MSG_DONTWAIT and MSG_NOSIGNAL. A full queue is readable already, and an
 * error (the reader is gone or shut its end) leaves nothing to wake.
 */
void ferry_bell_ring_fd(int fd);

/**
 * After publishing work: wake the owner if it sleeps (or is about to), on
 * the futex or through its wake fd @p fd, as its flag says (-1: we have
 * no fd; an owner waiting on one is then not woken, see ferry_bell).
 */
static inline void ferry_bell_wake(struct ferry_bell *b, int fd)
{
	/* Dekker: partner is the fence in ferry_bell_prepare(_fd)(); our
	 * record is published before we read the flag. */
	atomic_thread_fence(memory_order_seq_cst);
	if (FERRY_LIKELY(FA_LOAD_RLX(&b->sleeping) == 0))
		return;
	/* Only the waker that clears the flag pays for the system call. */
	uint32_t how = atomic_exchange_explicit(&b->sleeping, 0, memory_order_relaxed);
	if (how == FERRY_BELL_ON_FD && fd >= 0)
		ferry_bell_ring_fd(fd);
	else if (how != 0)
		ferry_bell_ring(b);
}

/** ferry_bell_wake() for owners that never wait on a fd. */
static inline void ferry_bell_notify(struct ferry_bell *b)
{
	ferry_bell_wake(b, -1);
}

#endif
