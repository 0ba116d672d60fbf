/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The window keeps the packet pointers rather than leaving reordering to
 * the caller: every caller would otherwise need the same array indexed by
 * sequence number, and one copy here makes "held" and "acknowledged" the
 * same fact, which is what lets the ack promise that nothing acknowledged
 * is dropped.
 *
 * A slot is seq & (window - 1). Slots from head to head + window - 1 are
 * distinct, which is why the refusal edge is head + window and not
 * cum + window: a packet acked but not yet popped still owns its slot.
 *
 * Beside the pointers, a bitmap (one bit per slot) says which slots are
 * held. The selective ack is then two word loads and a shift instead of 64
 * pointer tests, and the bits past the refusal edge, whose slots alias
 * packets still waiting between head and cum, are masked off so the ack
 * never claims a number that has not arrived.
 *
 * cum moves one number at a time over held packets. Each number is passed
 * once, so the cost is constant per packet however the arrivals interleave.
 */
#include "rxwin.h"

#include <errno.h>
#include <stdlib.h>

struct ferry_rxwin {
	struct ferry_rxwin_stats st;
	uint32_t window, mask;
	uint32_t head, cum;
	uint32_t held;
	uint64_t *bits; /* window / 64 words */
	void *pkt[];
};

static const char *const stat_names[] = {
#define X_NAME(f, name) name,
	FERRY_RXWIN_STATS(X_NAME)
#undef X_NAME
};

const char *ferry_rxwin_stat_name(unsigned i)
{
	return i < FERRY_RXWIN_STATS_COUNT ? stat_names[i] : "unknown";
}

static int test_bit(const struct ferry_rxwin *w, uint32_t seq)
{
	uint32_t i = seq & w->mask;
	return (w->bits[i >> 6] >> (i & 63)) & 1;
}

static void flip_bit(struct ferry_rxwin *w, uint32_t seq)
{
	uint32_t i = seq & w->mask;
	w->bits[i >> 6] ^= 1ull << (i & 63);
}

int ferry_rxwin_create(struct ferry_rxwin **out, uint32_t window, uint32_t isn)
{
	struct ferry_rxwin *w;

	if (window < FERRY_RXWIN_WINDOW_MIN || window > FERRY_RXWIN_WINDOW_MAX ||
	    (window & (window - 1)))
		return -EINVAL;
	w = calloc(1, sizeof(*w) + (size_t)window * sizeof(void *) + window / 8);
	if (!w)
		return -ENOMEM;
	w->window = window;
	w->mask = window - 1;
	w->bits = (uint64_t *)(void *)&w->pkt[window];
	w->head = w->cum = isn;
	*out = w;
	return 0;
}

uint32_t ferry_rxwin_reset(struct ferry_rxwin *w, uint32_t isn, ferry_rxwin_release_fn release,
			   void *arg)
{
	uint32_t n = 0;

	for (uint32_t k = 0; k < w->window && w->held; k++) {
		uint32_t seq = w->head + k;
		void **p = &w->pkt[seq & w->mask];
		if (!*p)
			continue;
		if (release)
			release(arg, seq, *p);
		*p = NULL;
		w->held--;
		n++;
	}
	for (uint32_t i = 0; i < w->window / 64; i++)
		w->bits[i] = 0;
	w->head = w->cum = isn;
	return n;
}

void ferry_rxwin_destroy(struct ferry_rxwin *w, ferry_rxwin_release_fn release, void *arg)
{
	if (!w)
		return;
	ferry_rxwin_reset(w, 0, release, arg);
	free(w);
}

int ferry_rxwin_receive(struct ferry_rxwin *w, uint32_t seq, void *pkt)
{
	if (!pkt)
		return -EINVAL;
	/* before cum (or so far ahead it wraps to "behind"): already had it */
	if (ferry_seq_lt(seq, w->cum)) {
		w->st.duplicates++;
		return FERRY_RXWIN_DUP;
	}
	if (seq - w->head >= w->window) {
		w->st.beyond++;
		return FERRY_RXWIN_BEYOND;
	}
	if (test_bit(w, seq)) {
		w->st.duplicates++;
		return FERRY_RXWIN_DUP;
	}
	w->pkt[seq & w->mask] = pkt;
	flip_bit(w, seq);
	w->held++;
	w->st.accepted++;
	if (seq != w->cum) {
		w->st.out_of_order++;
		return FERRY_RXWIN_HELD;
	}
	/* cum - head < window, and every slot in [head, cum) is held, so this
	 * stops at the refusal edge at the latest */
	while (w->cum - w->head < w->window && test_bit(w, w->cum))
		w->cum++;
	return FERRY_RXWIN_IN_ORDER;
}

void *ferry_rxwin_pop(struct ferry_rxwin *w, uint32_t *seq)
{
	void **p;
	void *pkt;

	if (w->head == w->cum)
		return NULL;
	p = &w->pkt[w->head & w->mask];
	pkt = *p;
	*p = NULL;
	flip_bit(w, w->head);
	if (seq)
		*seq = w->head;
	w->head++;
	w->held--;
	w->st.delivered++;
	return pkt;
}

void ferry_rxwin_ack(const struct ferry_rxwin *w, uint32_t *cum_ack, uint64_t *sack)
{
	uint32_t ready = w->cum - w->head;
	uint32_t first = w->cum + 1, i = first & w->mask, word = i >> 6, off = i & 63;
	uint32_t valid = w->window - 1 - ready; /* numbers from first to the edge */
	uint64_t b = 0;

	/* a full window has no slot past cum: every one holds a ready packet */
	if (ready < w->window) {
		b = w->bits[word] >> off;
		/* the next word round the ring (the same one when window is 64) */
		if (off)
			b |= w->bits[(word + 1) & (w->mask >> 6)] << (64 - off);
		if (valid < 64)
			b &= (1ull << valid) - 1;
	}
	*cum_ack = w->cum;
	*sack = b;
}

uint32_t ferry_rxwin_cum(const struct ferry_rxwin *w)
{
	return w->cum;
}

uint32_t ferry_rxwin_limit(const struct ferry_rxwin *w)
{
	return w->head + w->window;
}

uint32_t ferry_rxwin_ready(const struct ferry_rxwin *w)
{
	return w->cum - w->head;
}

uint32_t ferry_rxwin_held(const struct ferry_rxwin *w)
{
	return w->held;
}

const struct ferry_rxwin_stats *ferry_rxwin_stats(const struct ferry_rxwin *w)
{
	return &w->st;
}
