/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Sender-side scoreboard of one session: which sequence numbers are in
 * flight, acknowledged, lost, and what to send again.
 *
 *        una                                             nxt
 *         |<------------- outstanding (<= window) -------->|
 *   acked | ? | A | ? | L | A | A | ? | A | ? | ? | ? | ? | not yet sent
 *           ^ in flight   ^ lost: awaiting retransmission
 *
 * una is the oldest unacknowledged number and moves with the peer's
 * cumulative ack; nxt is the next new number. Each packet in between is in
 * flight, selectively acked (A), or lost (L) until it is sent again. The
 * caller keeps the packets' bytes: the scoreboard deals in numbers, send
 * times and a retransmitted flag. Acks follow FERRY_ACK_SACK_BITS in
 * seq.h; a packet any ack covers will never be needed again (the receiver
 * does not renege), so its bytes may be freed.
 *
 * Loss is found two ways:
 *   - by the ack pattern: a packet is lost once dupthresh (3) packets sent
 *     after it are acked. For first transmissions that is TCP's rule (three
 *     packets above a hole); counted in send order it also finds a lost
 *     retransmission. Acks of packets sent more than once are not counted:
 *     which copy arrived is unknown.
 *   - by the timer: ferry_sack_deadline() is the send time of the packet
 *     sent longest ago that is still in flight, plus the caller's RTO;
 *     when it passes, ferry_sack_on_timeout() declares every packet whose
 *     own send time + RTO has passed lost.
 * Lost packets leave the flight (they no longer count against the window)
 * and are handed out lowest number first by ferry_sack_next_retransmit().
 *
 * Typical use, with the rtt and cc modules:
 *
 *   on ack:  ferry_sack_on_ack(s, cum, bits, now, &a);
 *            free the bytes of [a.una_before, a.una) (selectively acked
 *            ones may go sooner: ferry_sack_is_acked());
 *            if (a.newly_acked) { ferry_rtt_sample(&rtt, a.rtt_ns, a.rtt_retransmitted);
 *                                 ferry_cc_on_ack(&cc, delay, a.newly_acked, now); }
 *            if (a.newly_lost) ferry_cc_on_loss(&cc, now);
 *   timer:   if (now >= ferry_sack_deadline(s, rto) && ferry_sack_on_timeout(s, now, rto)) {
 *                ferry_rtt_on_timeout(&rtt); ferry_cc_on_timeout(&cc, now); }
 *   send:    while (ferry_sack_in_flight(s) < ferry_cc_window(&cc)
 *                   && ferry_cc_pacing_delay_ns(&cc) has passed since the last send) {
 *                if (ferry_sack_next_retransmit(s, &seq) == 0) resend seq;
 *                else if (ferry_sack_space(s) && peer's flow control allows) send nxt;
 *                else break;
 *                ferry_sack_sent(s, seq, now, is_retransmit); }
 *
 * delay is what the ack's echoed timestamps measure (a.rtt_ns without
 * them). An echo of the send time of the very copy that arrived is also an
 * unambiguous RTT sample, retransmission or not: feed that to
 * ferry_rtt_sample() with retransmitted = false, and Karn's rule no longer
 * starves the estimator after a burst of retransmissions.
 *
 * Memory is allocated once at create (24 bytes per window slot); no
 * later call allocates or reads a clock. Single threaded.
 */
#ifndef FERRY_TRANSPORT_SACK_H
#define FERRY_TRANSPORT_SACK_H

#include <stdbool.h>
#include <stdint.h>

#include "seq.h"

struct ferry_sack;

#define FERRY_SACK_WINDOW_MIN 64u
#define FERRY_SACK_WINDOW_MAX 32768u
#define FERRY_SACK_DUPTHRESH_MAX 16u

struct ferry_sack_params {
	/* Packets outstanding at most (nxt - una): a power of two in
	 * [FERRY_SACK_WINDOW_MIN, FERRY_SACK_WINDOW_MAX]. Default 1024. */
	uint32_t window;
	/* Acked packets sent after a packet that make it lost, 1 ..
	 * FERRY_SACK_DUPTHRESH_MAX. Default 3, TCP's dupthresh: reordering by
	 * a packet or two in the fabric causes no spurious retransmission,
	 * and a real loss is found within a few packets. */
	uint32_t dupthresh;
};

#define FERRY_SACK_PARAMS_DEFAULT { .window = 1024, .dupthresh = 3 }

/** What one ack did (ferry_sack_on_ack()). */
struct ferry_sack_ack {
	uint32_t una_before;   /* una before the ack ... */
	uint32_t una;          /* ... and after: [una_before, una) is done */
	uint32_t newly_acked;  /* packets acked for the first time */
	uint32_t newly_lost;   /* packets this ack declared lost */
	uint64_t rtt_ns;       /* now - send time of the most recently sent
				* newly acked packet (valid if newly_acked) */
	bool rtt_retransmitted; /* that packet was sent more than once */
};

#define FERRY_SACK_STATS(X)                                                  \
	X(acks, "sack_acks")                                                 \
	X(acks_stale, "sack_acks_stale")                                     \
	X(acks_invalid, "sack_acks_invalid")                                 \
	X(acked, "sack_packets_acked")                                       \
	X(lost_dupthresh, "sack_lost_dupthresh")                             \
	X(lost_timeout, "sack_lost_timeout")                                 \
	X(spurious, "sack_lost_then_acked")                                  \
	X(retransmits, "sack_retransmits")                                   \
	X(timeouts, "sack_timeouts")

#define FERRY_SACK_X_FIELD(f, name) uint64_t f;
struct ferry_sack_stats {
	FERRY_SACK_STATS(FERRY_SACK_X_FIELD)
};
#undef FERRY_SACK_X_FIELD

/** Number of counters in struct ferry_sack_stats, in declaration order. */
#define FERRY_SACK_STATS_COUNT (sizeof(struct ferry_sack_stats) / sizeof(uint64_t))

/**
 * Create a scoreboard whose first packet will be @p isn.
 *
 * @param p  sizes (FERRY_SACK_PARAMS_DEFAULT); copied
 * @return 0, -EINVAL for a window that is not a power of two in range or a
 *         dupthresh out of range, -ENOMEM
 */
int ferry_sack_create(struct ferry_sack **out, const struct ferry_sack_params *p, uint32_t isn);

/** Free @p s (NULL ok). */
void ferry_sack_destroy(struct ferry_sack *s);

/** Forget everything and start again at @p isn; counters are kept. */
void ferry_sack_reset(struct ferry_sack *s, uint32_t isn);

/**
 * Record a transmission of @p seq.
 *
 * @param is_retransmit  false: a new packet, @p seq must be nxt; true: a
 *                       packet already outstanding, sent again (lost or not)
 * @return 0; -ENOBUFS: new packet but the window is full; -EINVAL: new
 *         packet that is not nxt; -EALREADY: retransmission of an acked
 *         packet (do not send it); -ERANGE: retransmission of a number never
 *         sent
 */
int ferry_sack_sent(struct ferry_sack *s, uint32_t seq, uint64_t now, bool is_retransmit);

/**
 * Apply an ack from the peer. Acks may arrive reordered or duplicated: a
 * cumulative ack behind una is stale but its selective bits still count.
 *
 * @param cum_ack  the peer's next expected number
 * @param sack     bit i: cum_ack + 1 + i arrived
 * @param now      the caller's clock, ns
 * @param out      what changed (filled on success)
 * @return 0, or -EINVAL (nothing changed, counted) when the ack covers a
 *         number not yet sent, or is more than a window behind una
 *         (ferry_sack_ack_check())
 */
int ferry_sack_on_ack(struct ferry_sack *s, uint32_t cum_ack, uint64_t sack, uint64_t now,
		      struct ferry_sack_ack *out);

/**
 * Whether an ack could be the peer's, without applying it: its cumulative
 * number is not past what was sent nor more than a window behind una, and
 * its selective bits name only numbers sent.
 * @return 0, or -EINVAL
 */
int ferry_sack_ack_check(const struct ferry_sack *s, uint32_t cum_ack, uint64_t sack);

/**
 * @param rto_ns  the current retransmission timeout (ferry_rtt_rto())
 * @return when the packet in flight longest times out, ns; UINT64_MAX when
 *         nothing is in flight
 */
uint64_t ferry_sack_deadline(const struct ferry_sack *s, uint64_t rto_ns);

/**
 * Declare lost every packet in flight sent at or before now - rto_ns.
 *
 * @return packets declared lost; when > 0 the caller backs off its RTO and
 *         tells congestion control
 */
uint32_t ferry_sack_on_timeout(struct ferry_sack *s, uint64_t now, uint64_t rto_ns);

/**
 * @param seq  out: the lowest lost packet, to send again now
 * @return 0, or -ENOENT when nothing awaits retransmission
 */
int ferry_sack_next_retransmit(struct ferry_sack *s, uint32_t *seq);

/** @return the oldest unacknowledged number. */
uint32_t ferry_sack_una(const struct ferry_sack *s);

/** @return the number the next new packet takes. */
uint32_t ferry_sack_next_seq(const struct ferry_sack *s);

/** @return packets in flight: sent, neither acked nor lost. */
uint32_t ferry_sack_in_flight(const struct ferry_sack *s);

/** @return packets declared lost and not yet sent again. */
uint32_t ferry_sack_lost(const struct ferry_sack *s);

/** @return new packets the window still takes (window - (nxt - una)). */
uint32_t ferry_sack_space(const struct ferry_sack *s);

/** @return whether the peer has acknowledged @p seq (true before una). */
bool ferry_sack_is_acked(const struct ferry_sack *s, uint32_t seq);

/**
 * Check every internal invariant (counts against flags, the send-order
 * list against the window). For tests; O(window).
 *
 * @return 0, or -EFAULT with the first broken invariant's line number in
 *         @p line (may be NULL)
 */
int ferry_sack_check(const struct ferry_sack *s, int *line);

/** @return the scoreboard's counters. */
const struct ferry_sack_stats *ferry_sack_stats(const struct ferry_sack *s);

/** @return the counter name of field @p i of struct ferry_sack_stats. */
const char *ferry_sack_stat_name(unsigned i);

#endif
