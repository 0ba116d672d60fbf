/* SPDX-License-Identifier: BSD-3-Clause */
/* The timer queue: see timerq.h. */
#include <errno.h>
#include <stdlib.h>

#include "timerq.h"

void ftq_init(struct ftq *q)
{
	q->h = NULL;
	q->n = q->cap = 0;
}

void ftq_fini(struct ftq *q)
{
	for (uint32_t i = 0; i < q->n; i++)
		q->h[i]->idx = 0;
	free(q->h);
	ftq_init(q);
}

static void place(struct ftq *q, uint32_t i, struct ftimer *t)
{
	q->h[i] = t;
	t->idx = i + 1;
}

static void sift_up(struct ftq *q, uint32_t i)
{
	struct ftimer *t = q->h[i];
	while (i > 0) {
		uint32_t p = (i - 1) / 2;
		if (q->h[p]->at <= t->at)
			break;
		place(q, i, q->h[p]);
		i = p;
	}
	place(q, i, t);
}

static void sift_down(struct ftq *q, uint32_t i)
{
	struct ftimer *t = q->h[i];
	for (;;) {
		uint32_t c = 2 * i + 1;
		if (c >= q->n)
			break;
		if (c + 1 < q->n && q->h[c + 1]->at < q->h[c]->at)
			c++;
		if (t->at <= q->h[c]->at)
			break;
		place(q, i, q->h[c]);
		i = c;
	}
	place(q, i, t);
}

int ftq_set(struct ftq *q, struct ftimer *t, uint64_t at)
{
	if (t->idx) {
		uint64_t was = t->at;
		t->at = at;
		if (at < was)
			sift_up(q, t->idx - 1);
		else if (at > was)
			sift_down(q, t->idx - 1);
		return 0;
	}
	if (q->n == q->cap) {
		uint32_t cap = q->cap ? 2 * q->cap : 64;
		struct ftimer **h = realloc(q->h, sizeof(*h) * cap);
		if (h == NULL)
			return -ENOMEM;
		q->h = h;
		q->cap = cap;
	}
	t->at = at;
	place(q, q->n++, t);
	sift_up(q, q->n - 1);
	return 0;
}

void ftq_cancel(struct ftq *q, struct ftimer *t)
{
	if (t->idx == 0)
		return;
	uint32_t i = t->idx - 1;
	t->idx = 0;
	struct ftimer *last = q->h[--q->n];
	if (i == q->n)
		return;
	/* the last element fills the hole and moves whichever way it must */
	place(q, i, last);
	if (i > 0 && q->h[(i - 1) / 2]->at > last->at)
		sift_up(q, i);
	else
		sift_down(q, i);
}

struct ftimer *ftq_pop_due(struct ftq *q, uint64_t now)
{
	if (q->n == 0 || q->h[0]->at > now)
		return NULL;
	struct ftimer *t = q->h[0];
	ftq_cancel(q, t);
	return t;
}

int ftq_check(const struct ftq *q)
{
	for (uint32_t i = 0; i < q->n; i++) {
		if (q->h[i]->idx != i + 1)
			return -1;
		if (i > 0 && q->h[(i - 1) / 2]->at > q->h[i]->at)
			return -1;
	}
	return 0;
}
