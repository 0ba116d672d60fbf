/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The protocol engine's instance: creating it, entering and leaving it
 * (and freeing what ended meanwhile), the loop's turn, timers, ids,
 * counters and the invariants tests and fuzzers check.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core_pvt.h"
#include "ferry.h"

static const char *const counter_names[FC_COUNT] = {
#define FCORE_X_NAME(e, name) "remote." name,
	FCORE_REMOTE_COUNTERS(FCORE_X_NAME)
#undef FCORE_X_NAME
};

struct ferry_counter *core_counter(struct fcore *c, uint32_t type, uint32_t owner,
				   const char *fmt, ...)
{
	char label[64];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(label, sizeof(label), fmt, ap);
	va_end(ap);
	return c->so.alloc(c->so.arg, type, owner, label);
}

int fcore_create(struct fcore **out, const struct fcore_params *p,
		 const struct fcore_client_ops *cops, const struct fcore_link_ops *lops,
		 const struct fcore_stats_ops *sops, uint64_t now_ns)
{
	if (p->random32 == NULL || cops->emit == NULL || cops->emit_data == NULL ||
	    cops->room == NULL || cops->want_room == NULL || cops->local_up == NULL ||
	    cops->reclaim == NULL || lops->send == NULL || lops->max_payload == NULL ||
	    sops->alloc == NULL || sops->free == NULL || p->flow_port_count == 0)
		return -EINVAL;
	struct fcore *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return -ENOMEM;
	c->p = *p;
	c->co = *cops;
	c->lo = *lops;
	c->so = *sops;
	c->now = now_ns;
	if (fmap_init(&c->sessions, 256) < 0 || fmap_init(&c->peer_map, 64) < 0) {
		fmap_fini(&c->sessions);
		free(c);
		return -ENOMEM;
	}
	LIST_INIT(&c->services);
	LIST_INIT(&c->peers);
	LIST_INIT(&c->clients);
	TAILQ_INIT(&c->dead);
	TAILQ_INIT(&c->dirty);
	ftq_init(&c->timers);
	do {
		c->incarnation = core_random(c);
	} while (c->incarnation == 0);
	c->c_sessions = core_counter(c, FERRY_CTR_GAUGE, 0, "daemon.sessions");
	c->c_sessions_total = core_counter(c, FERRY_CTR_COUNT, 0, "daemon.sessions_opened_total");
	c->c_sessions_refused = core_counter(c, FERRY_CTR_COUNT, 0, "daemon.sessions_refused");
	for (int i = 0; i < FC_COUNT; i++)
		c->c[i] = core_counter(c, FERRY_CTR_COUNT, 0, "%s", counter_names[i]);
	if (p->sec_mode != FCORE_SEC_NONE) {
		int rc = secure_create(c);
		if (rc < 0) {
			fcore_destroy(c);
			return rc;
		}
	}
	*out = c;
	return 0;
}

static void reap(struct fcore *c)
{
	assert(c->depth == 0);
	struct fsession *s;
	while ((s = TAILQ_FIRST(&c->dead)) != NULL) {
		TAILQ_REMOVE(&c->dead, s, dead_link);
		session_free(c, s);
	}
	peer_reap(c);
}

void fcore_destroy(struct fcore *c)
{
	if (c == NULL)
		return;
	/* every session, live or dead, without a word to anyone */
	for (uint32_t i = 0; i <= c->sessions.mask; i++) {
		while (c->sessions.s[i].key) /* deletion may shift another in */
			session_kill(c, c->sessions.s[i].val);
	}
	reap(c);
	struct fservice *sv;
	while ((sv = LIST_FIRST(&c->services)) != NULL) {
		LIST_REMOVE(sv, link);
		free(sv);
	}
	peers_fini(c);
	secure_destroy(c);
	for (int i = 0; i < FC_COUNT; i++)
		c->so.free(c->so.arg, c->c[i]);
	c->so.free(c->so.arg, c->c_sessions);
	c->so.free(c->so.arg, c->c_sessions_total);
	c->so.free(c->so.arg, c->c_sessions_refused);
	ftq_fini(&c->timers);
	fmap_fini(&c->sessions);
	fmap_fini(&c->peer_map);
	free(c);
}

void core_enter(struct fcore *c)
{
	c->depth++;
}

void core_leave(struct fcore *c)
{
	assert(c->depth > 0);
	if (--c->depth == 0 && !TAILQ_EMPTY(&c->dead))
		reap(c);
}

void fcore_set_now(struct fcore *c, uint64_t now_ns)
{
	c->now = now_ns;
}

uint32_t fcore_incarnation(const struct fcore *c)
{
	return c->incarnation;
}

uint32_t core_random(struct fcore *c)
{
	return c->p.random32(c->p.random_arg);
}

uint32_t core_new_id(struct fcore *c)
{
	uint32_t id;
	do {
		id = core_random(c);
	} while (id == 0 || fmap_get(&c->sessions, id) != NULL);
	return id;
}

void core_timer(struct fcore *c, struct ftimer *t, uint64_t at)
{
	/* never "now": what is due now is done in this pass, and a timer
	 * set in the past would run again within the same fcore_poll() */
	if (at <= c->now)
		at = c->now + 1;
	if (ftq_set(&c->timers, t, at) < 0 && !ftq_queued(t)) {
		/* no memory for the heap: the timer is lost. Liveness of the
		 * object now rests on its peer; say so by counting it. */
		core_count(c, FC_TX_FAILED);
	}
}

unsigned fcore_poll(struct fcore *c)
{
	core_enter(c);
	uint64_t sent = c->sent;
	remote_flush(c);
	struct ftimer *t;
	while ((t = ftq_pop_due(&c->timers, c->now)) != NULL) {
		if (t->kind == TK_SESSION)
			session_timer(c, container_of(t, struct fsession, timer));
		else if (t->kind == TK_SEC)
			secure_timer(c, t);
		else
			peer_timer(c, container_of(t, struct fpeer, timer));
	}
	remote_flush(c);
	core_leave(c);
	return (unsigned)(c->sent - sent);
}

int64_t fcore_next_timer(const struct fcore *c)
{
	if (!TAILQ_EMPTY(&c->dirty))
		return 0;
	uint64_t at = ftq_next(&c->timers);
	if (at == UINT64_MAX)
		return -1;
	return at > c->now ? (int64_t)(at - c->now) : 0;
}

uint32_t fcore_sessions(const struct fcore *c)
{
	return c->n_sessions;
}

unsigned fcore_busy(const struct fcore *c)
{
	return c->depth;
}

uint64_t fcore_buffer_bytes(const struct fcore *c)
{
	uint64_t b = 0;
	for (uint32_t i = 0; i <= c->sessions.mask; i++) {
		const struct fsession *s = c->sessions.s[i].val;
		if (c->sessions.s[i].key == 0 || s->t == NULL)
			continue;
		b += s->t->scap + s->t->held_bytes;
		if (s->t->slots)
			b += WINDOW_PKTS * (sizeof(struct txslot) + 24 + sizeof(void *));
		if (s->t->frag)
			b += sizeof(*s->t->frag);
	}
	return b;
}

#define BAD(...) do { snprintf(why, whylen, __VA_ARGS__); return -1; } while (0)

int fcore_check(const struct fcore *c, char *why, unsigned whylen)
{
	uint32_t live = 0;
	for (uint32_t i = 0; i <= c->sessions.mask; i++) {
		const struct fsession *s = c->sessions.s[i].val;
		if (c->sessions.s[i].key == 0)
			continue;
		if (s->dead || s->id != c->sessions.s[i].key)
			BAD("session %u in the map is dead or misfiled", s->id);
		live++;
		if (s->remote && s->t == NULL)
			BAD("remote session %u has no transport", s->id);
		if (s->remote && s->t->ooo_bytes > 0 && s->t->ooo_bytes > s->t->adv_edge - s->t->r_off)
			BAD("session %u holds %llu out-of-order bytes past its window %llu", s->id,
			    (unsigned long long)s->t->ooo_bytes,
			    (unsigned long long)(s->t->adv_edge - s->t->r_off));
	}
	if (live != c->n_sessions)
		BAD("%u live sessions in the map, %u counted", live, c->n_sessions);
	const struct fcore_client *cl;
	LIST_FOREACH(cl, &c->clients, link) {
		uint32_t n = 0;
		uint64_t held = 0;
		const struct fsession_link *l;
		struct fsession_link *const *prev = &cl->sessions.lh_first;
		LIST_FOREACH(l, &cl->sessions, le) {
			const struct fsession *s = l->s;
			if (l != &s->cl_link[0] && l != &s->cl_link[1])
				BAD("client %u: a list entry that is no session's", cl->id);
			if (s->end[l - s->cl_link] != cl)
				BAD("session %u on client %u's list does not name it", s->id, cl->id);
			if (l->le.le_prev != prev)
				BAD("session %u on client %u's list: its back-pointer is stale", s->id,
				    cl->id);
			prev = &l->le.le_next;
			if (s->dead)
				continue;
			n++;
			if (s->remote)
				held += s->t->held_bytes;
		}
		if (n != cl->n_sessions)
			BAD("client %u: %u live sessions listed, %u counted", cl->id, n,
			    cl->n_sessions);
		if (held != cl->rx_held)
			BAD("client %u: sessions hold %llu bytes, %llu counted", cl->id,
			    (unsigned long long)held, (unsigned long long)cl->rx_held);
		/* memory per client: its ring's worth, plus one message (and one
		 * packet's worth of a frame) per session */
		uint64_t bound = c->p.client_ring_size +
				 (uint64_t)n * (c->p.max_message + 2 * 65536ull);
		if (cl->rx_held > bound)
			BAD("client %u: %llu bytes held, bound %llu", cl->id,
			    (unsigned long long)cl->rx_held, (unsigned long long)bound);
	}
	const struct fpeer *p;
	LIST_FOREACH(p, &c->peers, link) {
		uint32_t n = 0, half = 0;
		const struct fsession *s;
		LIST_FOREACH(s, &p->sessions, peer_link) {
			if (s->dead)
				continue;
			n++;
			half += s->state == FS_INCOMING;
		}
		if (n != p->n_sessions || half != p->n_half_open)
			BAD("peer %08x: %u/%u sessions/half-open listed, %u/%u counted", p->ip, n,
			    half, p->n_sessions, p->n_half_open);
		if (p->pmtu.mtu > p->pmtu.ceiling || p->pmtu.mtu < pmtu_floor(&p->pmtu))
			BAD("peer %08x: path MTU %u outside %u .. %u", p->ip, p->pmtu.mtu,
			    pmtu_floor(&p->pmtu), p->pmtu.ceiling);
	}
	if (ftq_check(&c->timers) != 0)
		BAD("the timer heap is out of order");
	return 0;
}

void fcore_debug_dump(const struct fcore *c, FILE *f)
{
	fprintf(f, "core: now %llu, %u sessions, dirty %d, timers %u next %llu\n",
		(unsigned long long)c->now, c->n_sessions, !TAILQ_EMPTY(&c->dirty), c->timers.n,
		(unsigned long long)ftq_next(&c->timers));
	for (uint32_t i = 0; i < c->timers.n; i++) {
		const struct ftimer *t = c->timers.h[i];
		if (t->kind != TK_SESSION)
			continue;
		const struct fsession *s = container_of(t, struct fsession, timer);
		const struct rtx *x = s->t;
		fprintf(f, "  session %u state %d at %llu: una %llu nxt %llu end %llu edge %llu "
			   "blocked %d sack %p ack_due %llu probe %llu held %llu ooo %llu\n",
			s->id, s->state, (unsigned long long)t->at, (unsigned long long)x->una_off,
			(unsigned long long)x->nxt_off, (unsigned long long)x->end_off,
			(unsigned long long)x->peer_edge, x->blocked, (void *)x->sack,
			(unsigned long long)x->ack_due_ns, (unsigned long long)x->last_probe_ns,
			(unsigned long long)x->held_bytes, (unsigned long long)x->ooo_bytes);
	}
}
