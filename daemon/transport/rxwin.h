/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Receiver-side window of one session: duplicate suppression, reordering
 * into sequence order, and the ack fields.
 *
 *        head            cum                                 head + window
 *         |               |                                        |
 *   ...done | R | R | R | R | ? | R | ? | ? | R | ? | ? | ? | ? | ? | refused
 *         |<- ready: in order ->|<------- out of order: held ------>|
 *
 * The window holds the packets themselves, as opaque non-NULL pointers (an
 * mbuf, a buffer index + 1, ...), one slot per sequence number, so the
 * caller keeps no reordering state: it hands each arriving packet to
 * ferry_rxwin_receive() and takes deliverable ones, in order, from
 * ferry_rxwin_pop(). cum is the next number expected (everything before it
 * has arrived); head is the next number to pop. Packets between head and
 * cum have arrived and been acknowledged but not yet delivered; they stay
 * until popped, so a caller whose client is slow simply pops later, and
 * the window shrinks by that much: receiver-driven flow control falls out
 * of advertising ferry_rxwin_limit() (or less, from the client's free ring
 * space). Nothing acknowledged is ever discarded (no reneging).
 *
 * Numbers at or past head + window are refused and counted; numbers before
 * cum, or already held, are duplicates. Both leave the packet the caller's.
 *
 * Memory is allocated once at create (8 bytes and 1 bit per slot); no
 * later call allocates or reads a clock. Single threaded.
 */
#ifndef FERRY_TRANSPORT_RXWIN_H
#define FERRY_TRANSPORT_RXWIN_H

#include <stdint.h>

#include "seq.h"

struct ferry_rxwin;

#define FERRY_RXWIN_WINDOW_MIN 64u
#define FERRY_RXWIN_WINDOW_MAX 32768u
#define FERRY_RXWIN_WINDOW_DEFAULT 1024u

/** ferry_rxwin_receive() results that are not errors. */
enum ferry_rxwin_result {
	FERRY_RXWIN_IN_ORDER = 1, /* taken; cum advanced: ferry_rxwin_pop() has work */
	FERRY_RXWIN_HELD = 2,     /* taken, out of order: a gap before it */
	FERRY_RXWIN_DUP = 3,      /* seen before: still the caller's; ack again */
	FERRY_RXWIN_BEYOND = 4,   /* past the window: refused, still the caller's */
};

#define FERRY_RXWIN_STATS(X)                                                 \
	X(accepted, "rxwin_accepted")                                        \
	X(out_of_order, "rxwin_out_of_order")                                \
	X(duplicates, "rxwin_duplicates")                                    \
	X(beyond, "rxwin_beyond_window")                                     \
	X(delivered, "rxwin_delivered")

#define FERRY_RXWIN_X_FIELD(f, name) uint64_t f;
struct ferry_rxwin_stats {
	FERRY_RXWIN_STATS(FERRY_RXWIN_X_FIELD)
};
#undef FERRY_RXWIN_X_FIELD

/** Number of counters in struct ferry_rxwin_stats, in declaration order. */
#define FERRY_RXWIN_STATS_COUNT (sizeof(struct ferry_rxwin_stats) / sizeof(uint64_t))

/** Receives a packet the window gives back (reset, destroy). */
typedef void (*ferry_rxwin_release_fn)(void *arg, uint32_t seq, void *pkt);

/**
 * Create a window whose first expected number is @p isn.
 *
 * @param window  slots: a power of two in [FERRY_RXWIN_WINDOW_MIN,
 *                FERRY_RXWIN_WINDOW_MAX] (FERRY_RXWIN_WINDOW_DEFAULT)
 * @return 0, -EINVAL for a bad window, -ENOMEM
 */
int ferry_rxwin_create(struct ferry_rxwin **out, uint32_t window, uint32_t isn);

/**
 * Hand every held packet to @p release (NULL: drop the pointers), then
 * free @p w (NULL ok).
 */
void ferry_rxwin_destroy(struct ferry_rxwin *w, ferry_rxwin_release_fn release, void *arg);

/**
 * Hand every held packet to @p release (NULL: drop the pointers) and start
 * again expecting @p isn; counters are kept.
 *
 * @return packets released
 */
uint32_t ferry_rxwin_reset(struct ferry_rxwin *w, uint32_t isn, ferry_rxwin_release_fn release,
			   void *arg);

/**
 * Offer an arriving packet.
 *
 * @param seq  its sequence number
 * @param pkt  the packet, non-NULL; the window's on IN_ORDER and HELD
 * @return a enum ferry_rxwin_result, or -EINVAL for a NULL @p pkt
 */
int ferry_rxwin_receive(struct ferry_rxwin *w, uint32_t seq, void *pkt);

/**
 * Take the next packet in sequence order, if it has arrived.
 *
 * @param seq  out: its number (may be NULL)
 * @return the packet, now the caller's, or NULL
 */
void *ferry_rxwin_pop(struct ferry_rxwin *w, uint32_t *seq);

/**
 * Build the ack fields (FERRY_ACK_SACK_BITS in seq.h).
 *
 * @param cum_ack  out: the next number expected
 * @param sack     out: bit i set when cum_ack + 1 + i is held
 */
void ferry_rxwin_ack(const struct ferry_rxwin *w, uint32_t *cum_ack, uint64_t *sack);

/** @return the next number expected (the cumulative point). */
uint32_t ferry_rxwin_cum(const struct ferry_rxwin *w);

/** @return the first number that would be refused: head + window. */
uint32_t ferry_rxwin_limit(const struct ferry_rxwin *w);

/** @return packets ferry_rxwin_pop() would give now (cum - head). */
uint32_t ferry_rxwin_ready(const struct ferry_rxwin *w);

/** @return packets held, in order or not. */
uint32_t ferry_rxwin_held(const struct ferry_rxwin *w);

/** @return the window's counters. */
const struct ferry_rxwin_stats *ferry_rxwin_stats(const struct ferry_rxwin *w);

/** @return the counter name of field @p i of struct ferry_rxwin_stats. */
const char *ferry_rxwin_stat_name(unsigned i);

#endif
