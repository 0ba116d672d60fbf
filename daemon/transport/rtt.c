/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The RFC 6298 filters are computed as (7 SRTT + R) / 8 and
 * (3 RTTVAR + |SRTT - R|) / 4 rather than TCP's scaled fixed point: the unit
 * is already 1 ns, so truncating the quotient loses under a nanosecond and
 * the values stay readable in a debugger and in tests. Samples are capped
 * at 2^56 ns (two years) so the multiplications cannot overflow.
 *
 * RTTVAR is updated before SRTT, with the old SRTT, as RFC 6298 2.3 orders.
 *
 * Backoff keeps the current RTO rather than a shift count: doubling stops
 * at rto_max, so there is no shift to overflow however long a peer stays
 * silent, and the count is kept only to report it.
 */
#include "rtt.h"

#include <errno.h>

#define SAMPLE_CAP (1ull << 56)

static uint64_t clamp(const struct ferry_rtt *r, uint64_t v)
{
	if (v < r->p.rto_min_ns)
		return r->p.rto_min_ns;
	if (v > r->p.rto_max_ns)
		return r->p.rto_max_ns;
	return v;
}

int ferry_rtt_init(struct ferry_rtt *r, const struct ferry_rtt_params *p)
{
	if (p->rto_min_ns == 0 || p->rto_min_ns > p->rto_max_ns)
		return -EINVAL;
	*r = (struct ferry_rtt){.p = *p};
	ferry_rtt_reset(r);
	return 0;
}

void ferry_rtt_reset(struct ferry_rtt *r)
{
	r->srtt_ns = 0;
	r->rttvar_ns = 0;
	r->backoff = 0;
	r->has_sample = false;
	r->rto_ns = clamp(r, r->p.rto_initial_ns);
}

int ferry_rtt_sample(struct ferry_rtt *r, uint64_t rtt_ns, bool retransmitted)
{
	uint64_t var;

	if (retransmitted) {
		r->karn_dropped++;
		return FERRY_RTT_KARN;
	}
	if (rtt_ns > SAMPLE_CAP)
		rtt_ns = SAMPLE_CAP;
	if (!r->has_sample) {
		r->srtt_ns = rtt_ns;
		r->rttvar_ns = rtt_ns / 2;
		r->has_sample = true;
	} else {
		uint64_t err = r->srtt_ns > rtt_ns ? r->srtt_ns - rtt_ns : rtt_ns - r->srtt_ns;
		r->rttvar_ns = (3 * r->rttvar_ns + err) / 4;
		r->srtt_ns = (7 * r->srtt_ns + rtt_ns) / 8;
	}
	r->samples++;
	var = 4 * r->rttvar_ns;
	if (var < r->p.granularity_ns)
		var = r->p.granularity_ns;
	r->rto_ns = clamp(r, r->srtt_ns + var);
	r->backoff = 0;
	return 0;
}

uint64_t ferry_rtt_on_timeout(struct ferry_rtt *r)
{
	if (r->backoff < UINT32_MAX)
		r->backoff++;
	r->rto_ns = r->rto_ns > r->p.rto_max_ns / 2 ? r->p.rto_max_ns : r->rto_ns * 2;
	return r->rto_ns;
}
