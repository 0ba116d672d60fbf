/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * One slot per outstanding number, indexed by seq & (window - 1): at most
 * window numbers are outstanding, so live numbers never share a slot and a
 * number's slot is found without a search. A slot is cleared as una passes
 * it, ready for the number one window later.
 *
 * Packets in flight are also threaded, by slot index, on a list in send
 * order: a new packet or a retransmission goes to the tail, an ack or a
 * loss unlinks it. Send times along the list therefore only grow, so the
 * head is the packet that times out first and the timer needs no scan, and
 * a timeout walks from the head only over packets that did expire. The
 * list costs four bytes a slot; a heap or a timer wheel would cost more to
 * keep and buy nothing with a single RTO per session.
 *
 * Each transmission also gets a number from a 64-bit counter, so "sent
 * after" is exact even for packets sent in one burst at one clock reading.
 * Loss by the ack pattern asks, for each packet in flight, whether
 * dupthresh packets sent after it have been acked. Rather than count per
 * packet, keep the dupthresh highest transmission numbers ever acked
 * (a sorted array of a few entries): every packet in flight sent before the
 * lowest of them has at least dupthresh acks after it, and no other has.
 * Along the send-order list those packets are a prefix, so an ack costs one
 * comparison plus one step per packet it declares lost.
 *
 * For first transmissions "sent after" is "numbered above", TCP's
 * dupthresh. Counting in send order rather than by number also finds a
 * lost retransmission: the new packets sent after it get through and it
 * does not. The ack of a packet sent more than once is not counted, since
 * which copy arrived is unknown, and crediting the latest copy could
 * declare packets lost that were sent after the copy that really arrived.
 *
 * A packet declared lost that is acked before it is sent again was only
 * late: it is simply acked, and counted as spurious.
 *
 * The RTT sample of an ack is the most recently sent packet it newly acks:
 * that is the packet whose arrival made the peer send this ack, while older
 * ones were waiting behind a hole and would inflate the estimate.
 */
#include "sack.h"

#include <errno.h>
#include <stdlib.h>

#define NIL 0xffffu

enum {
	F_FLIGHT = 1, /* sent, awaiting an ack; on the send-order list */
	F_ACKED = 2,  /* selectively acked (above una) */
	F_LOST = 4,   /* declared lost, awaiting retransmission */
	F_RETX = 8,   /* sent more than once */
};

struct slot {
	uint64_t sent_ns; /* latest transmission: when ... */
	uint64_t tx;      /* ... and its number in send order */
	uint16_t prev, next;
	uint8_t flags;
};

struct ferry_sack {
	struct ferry_sack_params p;
	struct ferry_sack_stats st;
	uint32_t mask;
	uint32_t una, nxt;
	uint32_t sacked;     /* F_ACKED slots */
	uint32_t lost_lo;    /* no F_LOST number before it */
	uint32_t lost, flight;
	uint16_t head, tail; /* send-order list: head was sent longest ago */
	uint64_t tx_next;    /* number of the next transmission */
	uint32_t ntop;       /* entries in top */
	/* the highest numbers of acked single transmissions, descending */
	uint64_t top[FERRY_SACK_DUPTHRESH_MAX];
	struct slot slot[];
};

static const char *const stat_names[] = {
#define X_NAME(f, name) name,
	FERRY_SACK_STATS(X_NAME)
#undef X_NAME
};

const char *ferry_sack_stat_name(unsigned i)
{
	return i < FERRY_SACK_STATS_COUNT ? stat_names[i] : "unknown";
}

static struct slot *at(struct ferry_sack *s, uint32_t seq)
{
	return &s->slot[seq & s->mask];
}

static void unlink_flight(struct ferry_sack *s, uint32_t seq)
{
	struct slot *sl = at(s, seq);

	if (sl->prev != NIL)
		s->slot[sl->prev].next = sl->next;
	else
		s->head = sl->next;
	if (sl->next != NIL)
		s->slot[sl->next].prev = sl->prev;
	else
		s->tail = sl->prev;
	sl->flags &= (uint8_t)~F_FLIGHT;
	s->flight--;
}

static void append_flight(struct ferry_sack *s, uint32_t seq, uint64_t now)
{
	uint16_t i = (uint16_t)(seq & s->mask);
	struct slot *sl = &s->slot[i];

	sl->sent_ns = now;
	sl->tx = s->tx_next++;
	sl->flags |= F_FLIGHT;
	sl->next = NIL;
	sl->prev = s->tail;
	if (s->tail != NIL)
		s->slot[s->tail].next = i;
	else
		s->head = i;
	s->tail = i;
	s->flight++;
}

static void mark_lost(struct ferry_sack *s, uint32_t seq)
{
	unlink_flight(s, seq);
	at(s, seq)->flags |= F_LOST;
	s->lost++;
	if (ferry_seq_lt(seq, s->lost_lo))
		s->lost_lo = seq;
}

int ferry_sack_create(struct ferry_sack **out, const struct ferry_sack_params *p, uint32_t isn)
{
	struct ferry_sack *s;

	if (p->window < FERRY_SACK_WINDOW_MIN || p->window > FERRY_SACK_WINDOW_MAX ||
	    (p->window & (p->window - 1)) || p->dupthresh == 0 ||
	    p->dupthresh > FERRY_SACK_DUPTHRESH_MAX)
		return -EINVAL;
	s = calloc(1, sizeof(*s) + (size_t)p->window * sizeof(s->slot[0]));
	if (!s)
		return -ENOMEM;
	s->p = *p;
	s->mask = p->window - 1;
	ferry_sack_reset(s, isn);
	*out = s;
	return 0;
}

void ferry_sack_destroy(struct ferry_sack *s)
{
	free(s);
}

void ferry_sack_reset(struct ferry_sack *s, uint32_t isn)
{
	for (uint32_t i = 0; i <= s->mask; i++)
		s->slot[i] = (struct slot){.prev = NIL, .next = NIL};
	s->una = s->nxt = s->lost_lo = isn;
	s->sacked = s->lost = s->flight = s->ntop = 0;
	s->head = s->tail = NIL;
	s->tx_next = 1;
}

int ferry_sack_sent(struct ferry_sack *s, uint32_t seq, uint64_t now, bool is_retransmit)
{
	struct slot *sl;

	if (!is_retransmit) {
		if (seq != s->nxt)
			return -EINVAL;
		if (s->nxt - s->una >= s->p.window)
			return -ENOBUFS;
		*at(s, seq) = (struct slot){.prev = NIL, .next = NIL};
		append_flight(s, seq, now);
		s->nxt++;
		return 0;
	}
	if (ferry_seq_lt(seq, s->una))
		return -EALREADY;
	if (!ferry_seq_lt(seq, s->nxt))
		return -ERANGE;
	sl = at(s, seq);
	if (sl->flags & F_ACKED)
		return -EALREADY;
	if (sl->flags & F_LOST) {
		sl->flags &= (uint8_t)~F_LOST;
		s->lost--;
	}
	if (sl->flags & F_FLIGHT)
		unlink_flight(s, seq);
	sl->flags |= F_RETX;
	append_flight(s, seq, now);
	s->st.retransmits++;
	return 0;
}

/* Keep @p tx if it is among the dupthresh highest acked. */
static void note_acked(struct ferry_sack *s, uint64_t tx)
{
	uint32_t i;

	if (s->ntop == s->p.dupthresh && tx <= s->top[s->ntop - 1])
		return;
	i = s->ntop < s->p.dupthresh ? s->ntop++ : s->ntop - 1;
	for (; i && s->top[i - 1] < tx; i--)
		s->top[i] = s->top[i - 1];
	s->top[i] = tx;
}

/* An ack being applied: its result and the newest send time it acked. */
struct ack_ctx {
	struct ferry_sack_ack *out;
	uint64_t now;
	uint64_t newest_sent;
};

/* First ack of @p seq, by either kind of ack. */
static void ack_one(struct ferry_sack *s, uint32_t seq, struct ack_ctx *a)
{
	struct slot *sl = at(s, seq);

	if (sl->flags & F_FLIGHT)
		unlink_flight(s, seq);
	if (sl->flags & F_LOST) {
		sl->flags &= (uint8_t)~F_LOST;
		s->lost--;
		s->st.spurious++;
	}
	sl->flags |= F_ACKED;
	if (!(sl->flags & F_RETX))
		note_acked(s, sl->tx);
	if (a->out->newly_acked++ == 0 || sl->sent_ns >= a->newest_sent) {
		a->newest_sent = sl->sent_ns;
		a->out->rtt_ns = a->now >= sl->sent_ns ? a->now - sl->sent_ns : 0;
		a->out->rtt_retransmitted = sl->flags & F_RETX;
	}
	s->st.acked++;
}

/* Declare lost what was sent before the dupthresh-th latest acked send. */
static uint32_t detect_loss(struct ferry_sack *s)
{
	uint32_t lost = 0;

	if (s->ntop < s->p.dupthresh)
		return 0;
	while (s->head != NIL && s->slot[s->head].tx < s->top[s->ntop - 1]) {
		mark_lost(s, s->una + ((s->head - s->una) & s->mask));
		lost++;
	}
	s->st.lost_dupthresh += lost;
	return lost;
}

int ferry_sack_ack_check(const struct ferry_sack *s, uint32_t cum_ack, uint64_t sack)
{
	/* Never past what was sent; and a stale ack is late, not ancient: no
	 * more than a window behind una. Random acks pass one time in about
	 * 2^32 / window, not one in two. */
	if (ferry_seq_gt(cum_ack, s->nxt) || ferry_seq_diff(s->una, cum_ack) > (int32_t)s->p.window ||
	    (sack && !ferry_seq_lt(cum_ack + 1 + (63 - (uint32_t)__builtin_clzll(sack)), s->nxt)))
		return -EINVAL;
	return 0;
}

int ferry_sack_on_ack(struct ferry_sack *s, uint32_t cum_ack, uint64_t sack, uint64_t now,
		      struct ferry_sack_ack *out)
{
	struct ack_ctx a = {.out = out, .now = now};

	if (ferry_sack_ack_check(s, cum_ack, sack) != 0) {
		s->st.acks_invalid++;
		return -EINVAL;
	}
	*out = (struct ferry_sack_ack){.una_before = s->una};
	s->st.acks++;
	if (ferry_seq_lt(cum_ack, s->una)) {
		s->st.acks_stale++;
	} else {
		for (; s->una != cum_ack; s->una++) {
			struct slot *sl = at(s, s->una);
			if (sl->flags & F_ACKED)
				s->sacked--;
			else
				ack_one(s, s->una, &a);
			sl->flags = 0;
		}
		if (ferry_seq_lt(s->lost_lo, s->una))
			s->lost_lo = s->una;
	}
	for (; sack; sack &= sack - 1) {
		uint32_t seq = cum_ack + 1 + (uint32_t)__builtin_ctzll(sack);
		if (ferry_seq_lt(seq, s->una) || (at(s, seq)->flags & F_ACKED))
			continue;
		ack_one(s, seq, &a);
		s->sacked++;
	}
	out->una = s->una;
	out->newly_lost = detect_loss(s);
	return 0;
}

uint64_t ferry_sack_deadline(const struct ferry_sack *s, uint64_t rto_ns)
{
	uint64_t t;

	if (s->head == NIL)
		return UINT64_MAX;
	t = s->slot[s->head].sent_ns;
	return t > UINT64_MAX - rto_ns ? UINT64_MAX : t + rto_ns;
}

uint32_t ferry_sack_on_timeout(struct ferry_sack *s, uint64_t now, uint64_t rto_ns)
{
	uint32_t n = 0;

	while (s->head != NIL) {
		uint64_t sent = s->slot[s->head].sent_ns;
		if (now < sent || now - sent < rto_ns)
			break;
		/* the slot index and una give back the number (as in detect_loss) */
		mark_lost(s, s->una + ((s->head - s->una) & s->mask));
		n++;
	}
	if (n) {
		s->st.timeouts++;
		s->st.lost_timeout += n;
	}
	return n;
}

int ferry_sack_next_retransmit(struct ferry_sack *s, uint32_t *seq)
{
	if (s->lost == 0)
		return -ENOENT;
	while (!(at(s, s->lost_lo)->flags & F_LOST))
		s->lost_lo++;
	*seq = s->lost_lo;
	return 0;
}

uint32_t ferry_sack_una(const struct ferry_sack *s)
{
	return s->una;
}

uint32_t ferry_sack_next_seq(const struct ferry_sack *s)
{
	return s->nxt;
}

uint32_t ferry_sack_in_flight(const struct ferry_sack *s)
{
	return s->flight;
}

uint32_t ferry_sack_lost(const struct ferry_sack *s)
{
	return s->lost;
}

uint32_t ferry_sack_space(const struct ferry_sack *s)
{
	return s->p.window - (s->nxt - s->una);
}

bool ferry_sack_is_acked(const struct ferry_sack *s, uint32_t seq)
{
	if (ferry_seq_lt(seq, s->una))
		return true;
	if (!ferry_seq_lt(seq, s->nxt))
		return false;
	return s->slot[seq & s->mask].flags & F_ACKED;
}

const struct ferry_sack_stats *ferry_sack_stats(const struct ferry_sack *s)
{
	return &s->st;
}

#define CHECK(cond)                                                                          \
	do {                                                                                 \
		if (!(cond)) {                                                               \
			if (line)                                                            \
				*line = __LINE__;                                            \
			return -EFAULT;                                                      \
		}                                                                            \
	} while (0)

int ferry_sack_check(const struct ferry_sack *s, int *line)
{
	uint32_t out = s->nxt - s->una, sacked = 0, lost = 0, flight = 0, n = 0;
	uint16_t i, prev = NIL;

	CHECK(out <= s->p.window);
	CHECK(ferry_seq_le(s->una, s->lost_lo));
	CHECK(s->ntop <= s->p.dupthresh);
	for (uint32_t k = 1; k < s->ntop; k++)
		CHECK(s->top[k - 1] > s->top[k]);
	for (uint32_t k = 0; k < s->p.window; k++) {
		uint32_t seq = s->una + k;
		uint8_t f = s->slot[seq & s->mask].flags;
		if (k >= out) {
			CHECK(f == 0);
			continue;
		}
		/* exactly one of in flight, acked, lost */
		CHECK(!!(f & F_FLIGHT) + !!(f & F_ACKED) + !!(f & F_LOST) == 1);
		sacked += !!(f & F_ACKED);
		flight += !!(f & F_FLIGHT);
		if (f & F_LOST) {
			CHECK(ferry_seq_le(s->lost_lo, seq));
			lost++;
		}
	}
	CHECK(sacked == s->sacked && lost == s->lost && flight == s->flight);
	for (i = s->head; i != NIL; prev = i, i = s->slot[i].next) {
		CHECK(n++ < flight);
		CHECK(s->slot[i].flags & F_FLIGHT);
		CHECK(s->slot[i].prev == prev);
		CHECK(s->slot[i].tx < s->tx_next);
		if (prev != NIL)
			CHECK(s->slot[prev].sent_ns <= s->slot[i].sent_ns &&
			      s->slot[prev].tx < s->slot[i].tx);
		/* what the ack pattern condemns has been declared */
		if (s->ntop == s->p.dupthresh)
			CHECK(s->slot[i].tx > s->top[s->ntop - 1]);
	}
	CHECK(n == flight && s->tail == prev);
	return 0;
}
