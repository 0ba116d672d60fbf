/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Delay-based congestion window per session, after Swift ("Swift: Delay is
 * Simple and Effective for Congestion Control in the Datacenter", Kumar et
 * al., SIGCOMM 2020, Algorithm 1):
 *
 *   ack, delay < target:  cwnd += ai * acked / cwnd   (cwnd >= 1)
 *                         cwnd += ai * acked          (cwnd < 1)
 *                         so about +ai packets per RTT
 *   ack, delay >= target: cwnd *= max(1 - beta * (delay - target) / delay,
 *                                     1 - max_mdf)
 *                         at most once per RTT
 *   fast retransmit:      cwnd *= 1 - max_mdf, at most once per RTT
 *   retransmit timeout:   cwnd = min_cwnd after rto_reset_threshold timeouts
 *                         in a row, else as a fast retransmit
 *   external signal:      cwnd *= 1 - max_mdf, at most once per RTT, each
 *                         time the signal's epoch moves (the cloud says it
 *                         is dropping our packets: ENA allowance counters)
 *   then cwnd is clamped to [min_cwnd, max_cwnd].
 *
 * "delay" is the caller's measurement for the acked packet from the
 * timestamps the ack echoes (send to ack arrival, less the time the peer
 * held the packet before acking). The latest delay also stands for the RTT:
 * it spaces decreases and sets the pacing below.
 *
 * cwnd is fractional. Below one packet the session sends one packet at a
 * time, each ferry_cc_pacing_delay_ns() after the previous (RTT / cwnd):
 * thousands of sessions into one receiver can then share a queue that a
 * whole packet each would overflow.
 *
 * The target is fixed per deployment plus an optional per-hop term
 * (target_delay_ns + hops * per_hop_ns). Swift's flow-count scaling of the
 * target is not done.
 *
 * The struct is embedded in the session; its fields are private (use the
 * accessors). No allocation, no clock: times come from the caller.
 */
#ifndef FERRY_TRANSPORT_CC_H
#define FERRY_TRANSPORT_CC_H

#include <stdbool.h>
#include <stdint.h>

struct ferry_cc_params {
	/* Window of a new session, packets. Default 16: about the
	 * bandwidth-delay product of 25 Gb/s x 5 us in 1 KB packets, so a
	 * short RPC leaves in one burst; a wrong guess costs one RTT to fix. */
	double init_cwnd;
	/* Floor, packets. Default 0.01: one packet per 100 RTTs, so even a
	 * 1000-way incast stays near the target delay (Swift goes as low as
	 * 0.001). A single ack below the target lifts cwnd back above 1. */
	double min_cwnd;
	/* Ceiling, packets. Default 1024, the scoreboard's window: more can
	 * never be in flight anyway. */
	double max_cwnd;
	/* Additive increase per RTT, packets, when delay < target. Default 1,
	 * TCP's and Swift's: fair convergence between sessions depends on all
	 * of them using the same ai. */
	double ai;
	/* Multiplicative decrease gain. Default 0.8: at twice the target the
	 * window shrinks by 40 %, at 1.25 x target by 16 %, so the reaction
	 * grows with the overshoot instead of halving on any excess. */
	double beta;
	/* Largest decrease per RTT, as a fraction. Default 0.5: never more
	 * than halve in one RTT (TCP's loss response), however late the ack;
	 * also the decrease on a fast retransmit. */
	double max_mdf;
	/* Target delay, ns. Default 50 us: a VPC fabric plus both hosts at
	 * moderate load; use about 200 us on a lab with software NICs
	 * (af_packet, tap), whose idle delay alone is tens of us. Below the
	 * unloaded RTT the window would only ever shrink. */
	uint64_t target_delay_ns;
	/* Extra target per network hop, ns. Default 0 (off): a fixed target
	 * suits one fabric; set it (Swift uses a few us per hop) when peers
	 * sit at different distances and ferry_cc_set_hops() is fed. */
	uint64_t per_hop_ns;
	/* Consecutive retransmit timeouts that drop cwnd to min_cwnd.
	 * Default 1: in a datacenter a timeout means the path is badly
	 * congested or broken, so start over gently; Swift's softer rule is a
	 * larger value (the timeouts before it decrease by max_mdf). */
	uint32_t rto_reset_threshold;
};

/** Defaults: see each field above. */
#define FERRY_CC_PARAMS_DEFAULT                                                          \
	{                                                                                \
		.init_cwnd = 16.0, .min_cwnd = 0.01, .max_cwnd = 1024.0, .ai = 1.0,      \
		.beta = 0.8, .max_mdf = 0.5, .target_delay_ns = 50000ull,                \
		.per_hop_ns = 0, .rto_reset_threshold = 1,                               \
	}

struct ferry_cc {
	struct ferry_cc_params p;
	double cwnd;
	uint64_t target_ns;       /* target_delay_ns + hops * per_hop_ns */
	uint64_t rtt_ns;          /* latest delay; the target until the first */
	uint64_t last_decrease_ns;
	bool decreased;           /* last_decrease_ns is valid */
	uint32_t timeouts_in_row; /* Swift's retransmit_cnt */
	uint64_t signal_epoch;    /* the external signal's epoch last seen */
	uint64_t increases, decreases, losses, timeouts, signals; /* counters */
};

/**
 * Initialise @p cc at init_cwnd.
 *
 * @param p  parameters (FERRY_CC_PARAMS_DEFAULT); copied
 * @return 0, or -EINVAL unless 0 < min_cwnd <= init_cwnd <= max_cwnd,
 *         ai > 0, 0 < beta <= 1, 0 < max_mdf < 1 and target_delay_ns > 0
 */
int ferry_cc_init(struct ferry_cc *cc, const struct ferry_cc_params *p);

/** Set the hop count to the peer (target = target_delay + hops * per_hop). */
void ferry_cc_set_hops(struct ferry_cc *cc, uint32_t hops);

/**
 * An ack arrived.
 *
 * @param delay_ns  the delay measured for this ack (see above)
 * @param acked     packets it newly acknowledged (0: only the delay counts)
 * @param now       the caller's clock, ns
 */
void ferry_cc_on_ack(struct ferry_cc *cc, uint64_t delay_ns, uint32_t acked, uint64_t now);

/** Packets were found lost by the ack pattern (fast retransmit). */
void ferry_cc_on_loss(struct ferry_cc *cc, uint64_t now);

/** The retransmission timer fired. */
void ferry_cc_on_timeout(struct ferry_cc *cc, uint64_t now);

/**
 * An external congestion signal: something outside the session knows the
 * path is dropping packets (on AWS, the ENA allowance counters: the
 * instance exceeded its bandwidth, packet-rate or connection allowance and
 * the hypervisor drops what is over, before any queue or delay shows it).
 * The source keeps an epoch that grows by one each time it sees new drops;
 * pass its current value on every ack (or any other regular call). A new
 * epoch backs off like a fast retransmit, whatever the delay says; the
 * same epoch again does nothing, and a session created after the drops
 * only records the epoch it finds (pass it to ferry_cc_init_signal()).
 *
 * @param epoch  the source's current epoch
 * @param now    the caller's clock, ns
 * @return true when the epoch was new (whether or not cwnd could shrink
 *         this RTT)
 */
bool ferry_cc_on_signal(struct ferry_cc *cc, uint64_t epoch, uint64_t now);

/** Record the signal's current epoch without reacting (a new session). */
static inline void ferry_cc_init_signal(struct ferry_cc *cc, uint64_t epoch)
{
	cc->signal_epoch = epoch;
}

/** @return the window, packets (may be below 1). */
static inline double ferry_cc_cwnd(const struct ferry_cc *cc)
{
	return cc->cwnd;
}

/** @return packets that may be in flight: floor(cwnd), at least 1. */
uint32_t ferry_cc_window(const struct ferry_cc *cc);

/**
 * @return the gap to keep between two packet sends, ns: RTT / cwnd when
 *         cwnd < 1 (the window is then 1), else 0 (no pacing)
 */
uint64_t ferry_cc_pacing_delay_ns(const struct ferry_cc *cc);

/** @return the current target delay, ns. */
static inline uint64_t ferry_cc_target_ns(const struct ferry_cc *cc)
{
	return cc->target_ns;
}

#endif
