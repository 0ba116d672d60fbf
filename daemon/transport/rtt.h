/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Round-trip time estimator and retransmission timeout, per session, after
 * RFC 6298 ("Computing TCP's Retransmission Timer"), in nanoseconds:
 *
 *   first sample R:   SRTT = R, RTTVAR = R / 2
 *   later sample R':  RTTVAR = 3/4 RTTVAR + 1/4 |SRTT - R'|   (beta = 1/4)
 *                     SRTT   = 7/8 SRTT   + 1/8 R'             (alpha = 1/8)
 *   RTO = SRTT + max(G, 4 RTTVAR), clamped to [rto_min, rto_max]
 *
 * Each timeout doubles the RTO, up to rto_max (RFC 6298 5.5); the next
 * valid sample recomputes it from the estimator and so ends the backoff
 * (5.7). Karn's rule: a sample from a packet that was retransmitted is
 * ambiguous (which copy was acked?) and is dropped; the caller says which
 * samples those are.
 *
 * The struct is embedded in the session; its fields are private (use the
 * accessors). No allocation, no clock: times come from the caller.
 */
#ifndef FERRY_TRANSPORT_RTT_H
#define FERRY_TRANSPORT_RTT_H

#include <stdbool.h>
#include <stdint.h>

struct ferry_rtt_params {
	/* Floor of the RTO: transport.rto_min_us, default 200 us. A
	 * datacenter RTT is 5-50 us, so SRTT + 4 RTTVAR alone would fire on
	 * every scheduling hiccup of either daemon; the floor absorbs those. */
	uint64_t rto_min_ns;
	/* Ceiling of the RTO, also after backoff: transport.rto_max_us,
	 * default 200 ms. A dead peer is found by transport.peer_timeout_ms,
	 * not by ever longer timeouts, so retries keep going at this pace. */
	uint64_t rto_max_ns;
	/* RTO before the first sample, default 1 ms (RFC 6298 says 1 s for
	 * the Internet). The handshake gives the first sample, so this only
	 * paces the very first data packets; 1 ms is still 20 fabric RTTs. */
	uint64_t rto_initial_ns;
	/* G, the clock granularity, default 1 us: keeps RTO above SRTT when
	 * the RTT is perfectly steady (RTTVAR decays towards 0). */
	uint64_t granularity_ns;
};

/** Defaults: RTO in [200 us, 200 ms], 1 ms before a sample, G = 1 us. */
#define FERRY_RTT_PARAMS_DEFAULT                                                         \
	{                                                                                \
		.rto_min_ns = 200000ull, .rto_max_ns = 200000000ull,                     \
		.rto_initial_ns = 1000000ull, .granularity_ns = 1000ull,                 \
	}

/* ferry_rtt_sample() result that is not an error */
#define FERRY_RTT_KARN 1 /* sample of a retransmitted packet: ignored */

struct ferry_rtt {
	struct ferry_rtt_params p;
	uint64_t srtt_ns;
	uint64_t rttvar_ns;
	uint64_t rto_ns;       /* current, with backoff */
	uint32_t backoff;      /* timeouts since the last valid sample */
	bool has_sample;
	uint64_t samples;      /* valid samples taken */
	uint64_t karn_dropped; /* samples dropped by Karn's rule */
};

/**
 * Initialise @p r with no sample yet: RTO = rto_initial_ns, clamped.
 *
 * @param p  limits (FERRY_RTT_PARAMS_DEFAULT); copied
 * @return 0, or -EINVAL when rto_min_ns is 0 or above rto_max_ns
 */
int ferry_rtt_init(struct ferry_rtt *r, const struct ferry_rtt_params *p);

/** Forget every sample and the backoff (e.g. the peer moved). */
void ferry_rtt_reset(struct ferry_rtt *r);

/**
 * Feed one round-trip measurement.
 *
 * @param rtt_ns         ack arrival minus the packet's send time
 * @param retransmitted  the acked packet was sent more than once
 * @return 0 when used (the backoff ends), FERRY_RTT_KARN when dropped
 */
int ferry_rtt_sample(struct ferry_rtt *r, uint64_t rtt_ns, bool retransmitted);

/**
 * A retransmission timer fired: double the RTO, at most rto_max_ns.
 *
 * @return the new RTO, ns
 */
uint64_t ferry_rtt_on_timeout(struct ferry_rtt *r);

/** @return the current RTO, ns, backoff included. */
static inline uint64_t ferry_rtt_rto(const struct ferry_rtt *r)
{
	return r->rto_ns;
}

/** @return the smoothed RTT, ns (0 before the first sample). */
static inline uint64_t ferry_rtt_srtt(const struct ferry_rtt *r)
{
	return r->srtt_ns;
}

/** @return the RTT variation, ns (0 before the first sample). */
static inline uint64_t ferry_rtt_rttvar(const struct ferry_rtt *r)
{
	return r->rttvar_ns;
}

/** @return timeouts since the last valid sample. */
static inline uint32_t ferry_rtt_backoff(const struct ferry_rtt *r)
{
	return r->backoff;
}

/** @return whether a valid sample has been taken since init or reset. */
static inline bool ferry_rtt_has_sample(const struct ferry_rtt *r)
{
	return r->has_sample;
}

#endif
