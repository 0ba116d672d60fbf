/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The window is a double: Swift's arithmetic is on real numbers, windows
 * below one packet are the point of it, and one multiply or divide per ack
 * costs nothing next to a packet's trip through the NIC. Fixed point would
 * add a scale to every parameter for no gain.
 *
 * Decreases are spaced by an RTT because the acks that arrive during the
 * RTT after a decrease still describe packets sent before it: reacting to
 * each of them would punish the same queue many times over. Increases need
 * no such gate, since each one is already divided by cwnd.
 *
 * A decrease is dated from the moment cwnd actually went down, as in Swift;
 * a "decrease" already at min_cwnd changes nothing and so does not hold
 * back the next one.
 *
 * An ack resets the run of timeouts: the path delivered something, so the
 * next timeout starts a new run.
 */
#include "cc.h"

#include <errno.h>

static void clamp_and_date(struct ferry_cc *cc, double before, uint64_t now)
{
	if (cc->cwnd < cc->p.min_cwnd)
		cc->cwnd = cc->p.min_cwnd;
	if (cc->cwnd > cc->p.max_cwnd)
		cc->cwnd = cc->p.max_cwnd;
	if (cc->cwnd < before) {
		cc->last_decrease_ns = now;
		cc->decreased = true;
		cc->decreases++;
	}
}

static bool can_decrease(const struct ferry_cc *cc, uint64_t now)
{
	return !cc->decreased || now - cc->last_decrease_ns >= cc->rtt_ns;
}

int ferry_cc_init(struct ferry_cc *cc, const struct ferry_cc_params *p)
{
	/* written so that NaN fails every test */
	if (!(p->min_cwnd > 0 && p->min_cwnd <= p->init_cwnd && p->init_cwnd <= p->max_cwnd) ||
	    !(p->ai > 0) || !(p->beta > 0 && p->beta <= 1) ||
	    !(p->max_mdf > 0 && p->max_mdf < 1) || p->target_delay_ns == 0)
		return -EINVAL;
	*cc = (struct ferry_cc){.p = *p};
	cc->cwnd = p->init_cwnd;
	cc->target_ns = p->target_delay_ns;
	cc->rtt_ns = p->target_delay_ns;
	return 0;
}

void ferry_cc_set_hops(struct ferry_cc *cc, uint32_t hops)
{
	cc->target_ns = cc->p.target_delay_ns + (uint64_t)hops * cc->p.per_hop_ns;
}

void ferry_cc_on_ack(struct ferry_cc *cc, uint64_t delay_ns, uint32_t acked, uint64_t now)
{
	double before = cc->cwnd;

	cc->rtt_ns = delay_ns;
	cc->timeouts_in_row = 0;
	if (delay_ns < cc->target_ns) {
		if (acked == 0)
			return;
		if (cc->cwnd >= 1)
			cc->cwnd += cc->p.ai * acked / cc->cwnd;
		else
			cc->cwnd += cc->p.ai * acked;
		cc->increases++;
	} else if (can_decrease(cc, now)) {
		/* delay >= target > 0, so the quotient is in [0, 1) */
		double f = 1 - cc->p.beta * (double)(delay_ns - cc->target_ns) / (double)delay_ns;
		if (f < 1 - cc->p.max_mdf)
			f = 1 - cc->p.max_mdf;
		cc->cwnd *= f;
	}
	clamp_and_date(cc, before, now);
}

void ferry_cc_on_loss(struct ferry_cc *cc, uint64_t now)
{
	double before = cc->cwnd;

	cc->losses++;
	cc->timeouts_in_row = 0;
	if (can_decrease(cc, now))
		cc->cwnd *= 1 - cc->p.max_mdf;
	clamp_and_date(cc, before, now);
}

void ferry_cc_on_timeout(struct ferry_cc *cc, uint64_t now)
{
	double before = cc->cwnd;

	cc->timeouts++;
	if (cc->timeouts_in_row < UINT32_MAX)
		cc->timeouts_in_row++;
	if (cc->timeouts_in_row >= cc->p.rto_reset_threshold)
		cc->cwnd = cc->p.min_cwnd;
	else if (can_decrease(cc, now))
		cc->cwnd *= 1 - cc->p.max_mdf;
	clamp_and_date(cc, before, now);
}

/* The epoch, not a per-drop count, is what a session reacts to: the
 * source reads its counters about once a second, and one reading that
 * moved is one event, however many packets it covers. Spaced by an RTT
 * like every other decrease, so a burst of epochs cannot collapse cwnd. */
bool ferry_cc_on_signal(struct ferry_cc *cc, uint64_t epoch, uint64_t now)
{
	double before = cc->cwnd;

	if (__builtin_expect(epoch == cc->signal_epoch, 1))
		return false;
	cc->signal_epoch = epoch;
	cc->signals++;
	if (can_decrease(cc, now))
		cc->cwnd *= 1 - cc->p.max_mdf;
	clamp_and_date(cc, before, now);
	return true;
}

uint32_t ferry_cc_window(const struct ferry_cc *cc)
{
	if (cc->cwnd < 1)
		return 1;
	if (cc->cwnd >= (double)UINT32_MAX)
		return UINT32_MAX;
	return (uint32_t)cc->cwnd;
}

uint64_t ferry_cc_pacing_delay_ns(const struct ferry_cc *cc)
{
	double d;

	if (cc->cwnd >= 1)
		return 0;
	d = (double)cc->rtt_ns / cc->cwnd;
	return d >= 18446744073709551615.0 ? UINT64_MAX : (uint64_t)d;
}
