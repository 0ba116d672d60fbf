/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A timer queue: a binary min-heap of timers embedded in their owners.
 *
 * The protocol engine keeps one timer per session and per peer, set to the
 * earliest thing that object must do (retransmit, ack, probe, give up).
 * A loop pass asks only for the timers that are due, so a pass costs
 * nothing per idle session; setting, moving or cancelling a timer costs
 * O(log n), and the heap's array grows on demand.
 *
 *   struct ftimer t;                 // in the owner, zeroed: not queued
 *   ftq_set(q, &t, when_ns);         // queue it, or move it
 *   while ((t = ftq_pop_due(q, now))) owner_of(t)->run();
 *   ftq_cancel(q, &t);               // before the owner is freed
 *
 * Single threaded; no clock of its own.
 */
#ifndef FERRY_CORE_TIMERQ_H
#define FERRY_CORE_TIMERQ_H

#include <stdbool.h>
#include <stdint.h>

struct ftimer {
	uint64_t at;   /* when it is due, ns */
	uint32_t idx;  /* 1 + its place in the heap; 0: not queued */
	uint32_t kind; /* the owner's: what kind of object holds it */
};

struct ftq {
	struct ftimer **h;
	uint32_t n, cap;
};

/** An empty queue (no allocation until the first ftq_set()). */
void ftq_init(struct ftq *q);
/** Free the heap's array; the timers in it are simply forgotten. */
void ftq_fini(struct ftq *q);
/** Queue @p t for @p at, or move it there. @return 0 or -ENOMEM */
int ftq_set(struct ftq *q, struct ftimer *t, uint64_t at);
/** Take @p t out of the queue (a no-op when it is not queued). */
void ftq_cancel(struct ftq *q, struct ftimer *t);
/** @return the earliest timer's due time, UINT64_MAX for none */
static inline uint64_t ftq_next(const struct ftq *q)
{
	return q->n ? q->h[0]->at : UINT64_MAX;
}
/** Dequeue and @return the earliest timer if it is due at @p now, else NULL. */
struct ftimer *ftq_pop_due(struct ftq *q, uint64_t now);
static inline bool ftq_queued(const struct ftimer *t)
{
	return t->idx != 0;
}
/** Check the heap property; @return 0, or -1 (for tests). */
int ftq_check(const struct ftq *q);

#endif
