/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Seeded fault injection for one direction of the NIC (rx or tx): drop,
 * duplicate, reorder or corrupt frames with configured per-packet
 * probabilities, for tests and rehearsals. Off unless a rate is above 0.
 *
 * No DPDK, no allocation, no clock: the caller owns the frames (opaque
 * pointers here) and passes the time in. Deterministic: the same seed,
 * direction, rates and sequence of calls give the same decisions on every
 * machine (integer PRNG, integer thresholds; no floating point after init).
 *
 * Intended use, per frame on the rx path (before parsing) or tx path:
 *
 *   if (!ferry_fault_active(f)) -> handle frame normally (nothing else runs)
 *   switch (ferry_fault_decide(f)):
 *     PASS     handle the frame
 *     DROP     free it
 *     DUP      handle it twice (a copy, or the same mbuf with a refcount)
 *     CORRUPT  ferry_fault_corrupt(f, data, len, from), then handle it
 *              (rx: clear any "checksum good" offload flag, or the damage
 *              passes as valid; tx with checksum offload: the NIC sums the
 *              damaged bytes, so only a ferry-level check can notice)
 *     REORDER  if (!ferry_fault_hold(f, pkt, now)) handle it (queue full)
 *   then, after each frame or each burst AND from the idle loop:
 *     n = ferry_fault_release(f, now, out, max, false); handle out[0..n)
 *   and at shutdown release with force = true until it returns 0.
 *
 * The PRNG draws: one per ferry_fault_decide(), one per successful
 * ferry_fault_hold(), one per ferry_fault_corrupt() that flips a bit.
 */
#ifndef FERRY_NET_FAULT_H
#define FERRY_NET_FAULT_H

#include <stdbool.h>
#include <stdint.h>

enum ferry_fault_dir {
	FERRY_FAULT_RX = 0,
	FERRY_FAULT_TX = 1,
	FERRY_FAULT_DIRS
};

enum ferry_fault_action {
	FERRY_FAULT_PASS = 0,
	FERRY_FAULT_DROP,
	FERRY_FAULT_DUP,
	FERRY_FAULT_REORDER,
	FERRY_FAULT_CORRUPT,
	FERRY_FAULT_ACTIONS
};

/* Hold queue: capacity, and the two release bounds. A held frame comes back
 * from the first ferry_fault_release() once K further ferry_fault_decide()
 * calls have happened (K uniform in 1..FERRY_FAULT_HOLD_MAX_PASSES, drawn at
 * hold time) or once FERRY_FAULT_HOLD_NS have elapsed, whichever is first:
 * late, never lost, provided the caller keeps calling release. */
#define FERRY_FAULT_HOLD_CAP 32u
#define FERRY_FAULT_HOLD_MAX_PASSES 3u
#define FERRY_FAULT_HOLD_NS 200000u /* 200 us */

struct ferry_fault_held {
	void *pkt;
	uint64_t due_seq; /* released when f->seq >= due_seq ... */
	uint64_t due_ns;  /* ... or when now_ns >= due_ns */
};

/** One direction's injector. Fill with ferry_fault_init(); read count[]
 *  and hold_full freely, write nothing. */
struct ferry_fault {
	uint64_t s[4];                             /* xoshiro256** state */
	uint64_t thr[FERRY_FAULT_ACTIONS - 1];     /* cumulative, out of 2^53 */
	double rate[FERRY_FAULT_ACTIONS];          /* as configured; [PASS] = rest */
	int dir;
	uint64_t seq;                              /* ferry_fault_decide() calls */
	uint64_t count[FERRY_FAULT_ACTIONS];       /* decisions per action */
	uint64_t hold_full;                        /* REORDERs passed: queue full */
	unsigned nheld;
	struct ferry_fault_held held[FERRY_FAULT_HOLD_CAP]; /* in hold order */
};

/**
 * Set up @p f for direction @p dir with its own random stream, derived from
 * (@p seed, @p dir) by splitmix64: rx and tx never share a sequence.
 *
 * Each rate is the per-packet probability of that action; at most one
 * action hits a packet. ferry_fault_decide() draws one uniform u in [0, 1)
 * and answers DROP if u < drop, else DUP if u < drop + dup, else REORDER
 * if u < drop + dup + reorder, else CORRUPT if u < drop + dup + reorder +
 * corrupt, else PASS. Hence the rates must sum to at most 1 (1e-12 of
 * rounding slack is allowed, so 0.1 + 0.2 + 0.3 + 0.4 is accepted).
 *
 * @return 0, or -EINVAL when @p f is NULL, @p dir is not FERRY_FAULT_RX or
 *         FERRY_FAULT_TX, a rate is outside [0, 1] or NaN, or the rates sum
 *         to more than 1; @p f is left zeroed (inactive) on error
 */
int ferry_fault_init(struct ferry_fault *f, uint64_t seed, int dir, double drop, double dup,
		     double reorder, double corrupt);

/** @return true when any rate is above 0 (rates below 2^-53 count as 0);
 *          when false the caller should skip the injector entirely. */
bool ferry_fault_active(const struct ferry_fault *f);

/** Decide the fate of the next packet and count it in count[].
 *  @return one enum ferry_fault_action (never FERRY_FAULT_ACTIONS) */
enum ferry_fault_action ferry_fault_decide(struct ferry_fault *f);

/**
 * Flip one bit, chosen uniformly among the bits of bytes [@p from, @p len)
 * of @p frame; pass from = 14 to spare the Ethernet header, 0 for anywhere.
 * Does nothing (and draws nothing) when @p from >= @p len.
 */
void ferry_fault_corrupt(struct ferry_fault *f, uint8_t *frame, uint16_t len, uint16_t from);

/**
 * Hold @p pkt back (after a REORDER decision), to be returned by a later
 * ferry_fault_release() (see FERRY_FAULT_HOLD_* for when).
 * @return true when held; false when the queue is full (hold_full is
 *         counted): the caller then handles @p pkt at once
 */
bool ferry_fault_hold(struct ferry_fault *f, void *pkt, uint64_t now_ns);

/**
 * Move held packets that are due (all of them with @p force) into
 * @p out[0..max), oldest hold first; those beyond @p max stay for the next
 * call. @p now_ns must come from the same monotonic clock as in hold.
 * @return the number of packets written to @p out
 */
unsigned ferry_fault_release(struct ferry_fault *f, uint64_t now_ns, void **out, unsigned max,
			     bool force);

/** @return packets currently held. */
unsigned ferry_fault_held(const struct ferry_fault *f);

/**
 * @return the counter name of action @p a in direction @p dir, e.g.
 *         "fault.rx_drop", "fault.tx_pass"; "unknown" when out of range
 */
const char *ferry_fault_action_name(int dir, enum ferry_fault_action a);

#endif
