/* SPDX-License-Identifier: BSD-3-Clause */
/* Two engines on a simulated link: see sim.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <sodium.h>

#include "ferry.h"
#include "ferry_ring.h"
#include "sim.h"

bool (*sim_tap)(struct sim *s, const struct sim_pkt *p, void *arg);
void *sim_tap_arg;

/* ---- counters: a list per host, found by label ------------------------- */

struct sim_ctr {
	struct ferry_counter c; /* first: the engine holds a pointer to it */
	struct sim_ctr *next;
	int host;
};

static struct sim_ctr *g_ctrs;

static struct ferry_counter *ctr_alloc(void *arg, uint32_t type, uint32_t owner,
				       const char *label)
{
	struct sim_host *h = arg;
	struct sim_ctr *k = calloc(1, sizeof(*k));
	assert_non_null(k);
	k->c.type = type;
	k->c.owner = owner;
	snprintf(k->c.label, sizeof(k->c.label), "%s", label);
	k->host = h->idx;
	k->next = g_ctrs;
	g_ctrs = k;
	h->s->counters_alloc++;
	return &k->c;
}

static void ctr_free(void *arg, struct ferry_counter *c)
{
	struct sim_host *h = arg;
	for (struct sim_ctr **pp = &g_ctrs; *pp; pp = &(*pp)->next) {
		if (&(*pp)->c == c) {
			struct sim_ctr *k = *pp;
			*pp = k->next;
			free(k);
			h->s->counters_alloc--;
			return;
		}
	}
	fail_msg("the engine freed a counter it never had");
}

uint64_t sim_counter(struct sim *s, int h, const char *label)
{
	(void)s;
	for (struct sim_ctr *k = g_ctrs; k; k = k->next)
		if (k->host == h && strcmp(k->c.label, label) == 0)
			return k->c.value;
	return 0;
}

/* ---- random ------------------------------------------------------------ */

static uint64_t splitmix(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint32_t rnd32(void *arg)
{
	struct sim_host *h = arg;
	return (uint32_t)splitmix(&h->rng);
}

/* ---- clients: the edge ops --------------------------------------------- */

static struct sim_client *of(struct fcore_client *cc)
{
	return (struct sim_client *)(void *)((char *)cc - offsetof(struct sim_client, core));
}

static void push_event(struct sim_client *c, uint16_t type, uint32_t session, uint32_t aux,
		       const void *p, uint32_t len)
{
	if (c->n_ev == c->cap_ev) {
		c->cap_ev = c->cap_ev ? 2 * c->cap_ev : 256;
		c->ev = realloc(c->ev, sizeof(*c->ev) * c->cap_ev);
		assert_non_null(c->ev);
	}
	struct sim_event *e = &c->ev[c->n_ev++];
	*e = (struct sim_event){.type = type, .session = session, .aux = aux, .len = len};
	if (len) {
		e->data = malloc(len);
		assert_non_null(e->data);
		memcpy(e->data, p, len);
	}
	if ((type == FERRY_EVT_DOWN || type == FERRY_EVT_LISTEN) && len >= sizeof(int32_t))
		memcpy(&e->status, p, sizeof(int32_t));
	c->ring_used += ferry_rec_size(len);
}

static bool fits(const struct sim_client *c, uint32_t len)
{
	return c->ring_used + ferry_rec_size(len) + FERRY_REC_ALIGN <= c->ring_cap;
}

static int op_emit(void *arg, struct fcore_client *cc, uint16_t type, uint32_t session,
		   uint32_t aux, const void *p, uint32_t len)
{
	(void)arg;
	struct sim_client *c = of(cc);
	assert_true(c->attached);
	if (c->reclaim_reason)
		return -1;
	/* the real edge queues what does not fit; here the ring is elastic
	 * for events, which are small and few */
	push_event(c, type, session, aux, p, len);
	return 0;
}

static int op_emit_data(void *arg, struct fcore_client *cc, uint32_t session, uint16_t flags,
			const void *p, uint32_t len)
{
	(void)arg, (void)flags;
	struct sim_client *c = of(cc);
	assert_true(c->attached);
	if (c->reclaim_reason)
		return -1;
	if (!fits(c, len))
		return -EAGAIN;
	push_event(c, FERRY_REC_DATA, session, 0, p, len);
	return 0;
}

static uint64_t op_room(void *arg, struct fcore_client *cc)
{
	(void)arg;
	struct sim_client *c = of(cc);
	uint64_t used = c->ring_used + 2 * FERRY_REC_ALIGN;
	return used >= c->ring_cap ? 0 : c->ring_cap - used;
}

static bool op_want_room(void *arg, struct fcore_client *cc, uint32_t len)
{
	(void)arg;
	struct sim_client *c = of(cc);
	c->want_calls++;
	if (len && fits(c, len))
		return true;
	c->want = true;
	return false;
}

static int op_local_up(void *arg, struct fcore_client *o, struct fcore_client *a, uint32_t id)
{
	(void)arg, (void)o, (void)a, (void)id;
	return 0;
}

static void op_reclaim(void *arg, struct fcore_client *cc, int reason, const char *why)
{
	(void)arg, (void)why;
	struct sim_client *c = of(cc);
	if (!c->reclaim_reason)
		c->reclaim_reason = reason;
}

/* ---- the link ---------------------------------------------------------- */

static void enqueue(struct sim *s, int from, const struct sim_pkt *p)
{
	struct sim_dir *d = &s->dir[from];
	if (d->n >= s->queue_max) {
		d->queued_drop++;
		free(p->data);
		return;
	}
	if (d->n == d->cap) {
		uint32_t cap = d->cap ? 2 * d->cap : 1024;
		struct sim_pkt *q = malloc(sizeof(*q) * cap);
		assert_non_null(q);
		for (uint32_t i = 0; i < d->n; i++)
			q[i] = d->q[(d->head + i) % d->cap];
		free(d->q);
		d->q = q;
		d->head = 0;
		d->cap = cap;
	}
	/* serialization behind what is queued, then the wire's delay */
	uint64_t start = d->busy_until > s->now ? d->busy_until : s->now;
	d->busy_until = start + (uint64_t)p->len * s->ns_per_kb / 1000;
	struct sim_pkt *slot = &d->q[(d->head + d->n++) % d->cap];
	*slot = *p;
	slot->at = d->busy_until + s->delay_ns;
}

static struct sim_pkt *copy_pkt(const struct sim_pkt *p)
{
	struct sim_pkt *c = malloc(sizeof(*c));
	assert_non_null(c);
	*c = *p;
	c->data = malloc(p->len);
	assert_non_null(c->data);
	memcpy(c->data, p->data, p->len);
	return c;
}

static int link_send(void *arg, uint32_t ip, uint16_t sport, uint16_t dport, const void *hdr,
		     uint16_t hlen, const void *p1, uint32_t l1, const void *p2, uint32_t l2)
{
	struct sim_host *h = arg;
	struct sim *s = h->s;
	int to = -1;
	for (int i = 0; i < SIM_HOSTS; i++)
		if (s->h[i].ip == ip)
			to = i;
	if (to < 0 || h->cut || s->h[to].cut)
		return 0; /* into the void, as a wire would take it */
	uint32_t len = hlen + l1 + l2;
	if (len > s->mtu_payload)
		return -EMSGSIZE;
	struct sim_pkt p = {.src = h->ip, .dst = ip, .sport = sport, .dport = dport, .len = len};
	p.data = malloc(len);
	assert_non_null(p.data);
	memcpy(p.data, hdr, hlen);
	if (l1)
		memcpy(p.data + hlen, p1, l1);
	if (l2)
		memcpy(p.data + hlen + l1, p2, l2);
	struct sim_dir *d = &s->dir[h->idx];
	d->sent++;
	if (sim_tap && sim_tap(s, &p, sim_tap_arg)) {
		d->dropped++;
		free(p.data);
		return 0;
	}
	if (len + 28 > d->max_ip)
		d->max_ip = len + 28;
	if (d->path_mtu && len + 28 > d->path_mtu) {
		/* too big for a link on the way: DF is set, so it is dropped,
		 * and the router may say so */
		d->too_big++;
		if (d->icmp && d->icmp_n < SIM_ICMP_MAX)
			d->icmp_q[d->icmp_n++] = (struct sim_icmp){
				.at = s->now + s->delay_ns,
				.port = dport,
				.sport = sport,
				.mtu = (uint16_t)d->path_mtu};
		free(p.data);
		return 0;
	}
	switch (ferry_fault_active(&d->fault) ? ferry_fault_decide(&d->fault) : FERRY_FAULT_PASS) {
	case FERRY_FAULT_DROP:
	case FERRY_FAULT_CORRUPT:
		d->dropped++;
		free(p.data);
		return 0;
	case FERRY_FAULT_DUP: {
		struct sim_pkt *c = copy_pkt(&p);
		enqueue(s, h->idx, c);
		free(c);
		break;
	}
	case FERRY_FAULT_REORDER: {
		struct sim_pkt *c = copy_pkt(&p);
		free(p.data);
		if (ferry_fault_hold(&d->fault, c, s->now))
			return 0;
		p = *c;
		free(c);
		break;
	}
	default:
		break;
	}
	enqueue(s, h->idx, &p);
	return 0;
}

static uint32_t link_max_payload(void *arg, uint32_t ip)
{
	(void)ip;
	struct sim_host *h = arg;
	return h->s->mtu_payload;
}

/* ---- hosts ------------------------------------------------------------- */

static void start_engine(struct sim *s, int i)
{
	struct sim_host *h = &s->h[i];
	struct fcore_client_ops co = {.arg = h,
				      .emit = op_emit,
				      .emit_data = op_emit_data,
				      .room = op_room,
				      .want_room = op_want_room,
				      .local_up = op_local_up,
				      .reclaim = op_reclaim};
	struct fcore_link_ops lo = {.arg = h, .send = link_send, .max_payload = link_max_payload};
	struct fcore_stats_ops so = {.arg = h, .alloc = ctr_alloc, .free = ctr_free};
	assert_int_equal(fcore_create(&h->core, &h->p, &co, &lo, &so, s->now), 0);
}

static void default_params(struct sim_host *h)
{
	h->p = (struct fcore_params){
		.local_ip = h->ip,
		.local_prefix_len = 24,
		.udp_port = 31850,
		.flow_port_first = 31850,
		.flow_port_count = 1,
		.max_sessions = 65536,
		.max_sessions_per_client = 65536,
		.max_listens_per_client = 16,
		.max_half_open_per_peer = 128,
		.max_message = 1 << 20,
		.client_ring_size = 4 << 20,
		.open_timeout_ns = 3 * SEC,
		.keepalive_ns = 1 * SEC,
		.peer_timeout_ns = 5 * SEC,
		.ack_delay_ns = 50 * US,
		.rto_min_ns = 200 * US,
		.rto_max_ns = 200 * MS,
		.cc_target_ns = 100 * US,
		.cc_min_cwnd = 1.0,
		.random32 = rnd32,
		.random_arg = h,
	};
}

void sim_init(struct sim *s, uint64_t seed, void (*tweak)(struct fcore_params *p, int host))
{
	memset(s, 0, sizeof(*s));
	s->now = 1 * SEC;
	s->delay_ns = 10 * US;
	s->ns_per_kb = 800; /* 10 Gb/s */
	s->queue_max = 4096;
	s->mtu_payload = 1500 - 28;
	s->check = true;
	for (int i = 0; i < SIM_HOSTS; i++) {
		struct sim_host *h = &s->h[i];
		h->s = s;
		h->idx = i;
		h->ip = 0x0a000001u + (uint32_t)i;
		h->rng = seed * 2 + (uint64_t)i + 1;
		default_params(h);
		if (tweak)
			tweak(&h->p, i);
		start_engine(s, i);
	}
}

void sim_faults(struct sim *s, int from, uint64_t seed, double drop, double dup, double reorder)
{
	assert_int_equal(ferry_fault_init(&s->dir[from].fault, seed, FERRY_FAULT_TX, drop, dup,
					  reorder, 0.0),
			 0);
}

static void free_events(struct sim_client *c)
{
	for (uint32_t i = 0; i < c->n_ev; i++)
		free(c->ev[i].data);
	free(c->ev);
	c->ev = NULL;
	c->n_ev = c->cap_ev = c->read_ev = 0;
}

void sim_restart(struct sim *s, int i)
{
	struct sim_host *h = &s->h[i];
	for (int k = 0; k < SIM_CLIENTS; k++) {
		if (h->cl[k].attached) {
			/* the clients die with their ferryd */
			h->cl[k].attached = false;
			free_events(&h->cl[k]);
		}
	}
	fcore_destroy(h->core);
	h->core = NULL;
	start_engine(s, i);
}

void sim_fini(struct sim *s)
{
	for (int i = 0; i < SIM_HOSTS; i++) {
		struct sim_host *h = &s->h[i];
		for (int k = 0; k < SIM_CLIENTS; k++)
			if (h->cl[k].attached)
				sim_client_gone(&h->cl[k], FERRY_REASON_PEER_GONE);
		fcore_destroy(h->core);
		for (int k = 0; k < SIM_CLIENTS; k++)
			free_events(&h->cl[k]);
		struct sim_dir *d = &s->dir[i];
		for (uint32_t k = 0; k < d->n; k++)
			free(d->q[(d->head + k) % d->cap].data);
		free(d->q);
		void *late[FERRY_FAULT_HOLD_CAP];
		unsigned n;
		while ((n = ferry_fault_release(&d->fault, s->now, late, FERRY_FAULT_HOLD_CAP, true)))
			for (unsigned k = 0; k < n; k++) {
				free(((struct sim_pkt *)late[k])->data);
				free(late[k]);
			}
	}
	assert_int_equal(s->counters_alloc, 0); /* the engines freed every counter */
	sim_tap = NULL;
}

/* ---- security ---------------------------------------------------------- */

/* What each host trusts: the engine keeps a pointer to it. */
static struct fcore_trusted g_trust[SIM_HOSTS][SIM_TRUST_MAX];

void sim_keypair(int host, int variant, uint8_t priv[32], uint8_t pub[32])
{
	assert_true(sodium_init() >= 0);
	for (int i = 0; i < 32; i++)
		priv[i] = (uint8_t)(0x40 + host * 37 + variant * 101 + i * 13);
	assert_int_equal(crypto_scalarmult_base(pub, priv), 0);
}

void sim_secure(struct fcore_params *p, int host, enum fcore_sec_mode mode)
{
	uint8_t other_priv[32];
	p->sec_mode = mode;
	sim_keypair(host, 0, p->sec_private_key, other_priv);
	struct fcore_trusted t = {.net = {.addr = 0x0a000001u + (uint32_t)(1 - host),
					  .prefix_len = 32}};
	sim_keypair(1 - host, 0, other_priv, t.key);
	sim_trust(p, host, &t, 1);
}

void sim_trust(struct fcore_params *p, int host, const struct fcore_trusted *t, uint32_t n)
{
	assert_true(n <= SIM_TRUST_MAX);
	memcpy(g_trust[host], t, n * sizeof(*t));
	p->trusted = g_trust[host];
	p->n_trusted = n;
}

/* ---- running ----------------------------------------------------------- */

void sim_check(struct sim *s)
{
	char why[256];
	for (int i = 0; i < SIM_HOSTS; i++)
		if (fcore_check(s->h[i].core, why, sizeof(why)) != 0)
			fail_msg("host %d: %s", i, why);
}

static bool asleep(const struct sim *s, const struct sim_host *h)
{
	return h->stall_every_ns &&
	       (s->now + h->stall_phase_ns) % h->stall_every_ns < h->stall_ns;
}

static uint64_t wakes_at(const struct sim *s, const struct sim_host *h)
{
	uint64_t t = s->now + h->stall_phase_ns;
	return t - t % h->stall_every_ns + h->stall_ns - h->stall_phase_ns;
}

static void deliver(struct sim *s, const struct sim_pkt *p)
{
	for (int i = 0; i < SIM_HOSTS; i++) {
		struct sim_host *h = &s->h[i];
		if (h->ip != p->dst || h->cut)
			continue;
		fcore_set_now(h->core, s->now);
		h->arp_confirms += fcore_input(h->core, p->src, p->sport, p->dport, p->data, p->len);
		s->dir[i ^ 1].delivered++;
	}
}

bool sim_frag_needed(struct sim *s, int h, uint16_t port, uint16_t sport, uint16_t mtu)
{
	fcore_set_now(s->h[h].core, s->now);
	return fcore_path_mtu(s->h[h].core, s->h[h ^ 1].ip, port, sport, mtu);
}

/* The reports that reached their senders by now (as a router's ICMP
 * would, after a wire's delay). */
static void deliver_icmp(struct sim *s, int from)
{
	struct sim_dir *d = &s->dir[from];
	for (uint32_t k = 0; k < d->icmp_n;) {
		struct sim_icmp m = d->icmp_q[k];
		if (m.at > s->now) {
			k++;
			continue;
		}
		d->icmp_q[k] = d->icmp_q[--d->icmp_n];
		sim_frag_needed(s, from, m.port, m.sport, m.mtu);
	}
}

void sim_inject(struct sim *s, int from, int to, const void *p, uint32_t len)
{
	struct sim_host *h = &s->h[to];
	fcore_set_now(h->core, s->now);
	fcore_input(h->core, s->h[from].ip, 31850, 31850, p, len);
}

void sim_inject_ip(struct sim *s, uint32_t ip, int to, const void *p, uint32_t len)
{
	struct sim_host *h = &s->h[to];
	fcore_set_now(h->core, s->now);
	fcore_input(h->core, ip, 31850, 31850, p, len);
}

static uint64_t min64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

static uint64_t next_event(struct sim *s, uint64_t until)
{
	uint64_t at = until;
	for (int i = 0; i < SIM_HOSTS; i++) {
		struct sim_dir *d = &s->dir[i];
		const struct sim_host *to = &s->h[i ^ 1];
		if (d->n)
			at = min64(at, asleep(s, to) ? wakes_at(s, to) : d->q[d->head].at);
		if (d->fault.nheld)
			at = min64(at, s->now + FERRY_FAULT_HOLD_NS);
		for (uint32_t k = 0; k < d->icmp_n; k++)
			at = min64(at, d->icmp_q[k].at);
		int64_t t = fcore_next_timer(s->h[i].core);
		if (t >= 0)
			at = min64(at, asleep(s, &s->h[i]) ? wakes_at(s, &s->h[i])
							 : s->now + (uint64_t)t);
	}
	return at < s->now ? s->now : at;
}

static void step(struct sim *s)
{
	for (int i = 0; i < SIM_HOSTS; i++) {
		struct sim_dir *d = &s->dir[i];
		while (d->n && d->q[d->head].at <= s->now && !asleep(s, &s->h[i ^ 1])) {
			struct sim_pkt p = d->q[d->head];
			d->head = (d->head + 1) % d->cap;
			d->n--;
			deliver(s, &p);
			free(p.data);
		}
		void *late[FERRY_FAULT_HOLD_CAP];
		unsigned n = ferry_fault_release(&d->fault, s->now, late, FERRY_FAULT_HOLD_CAP, false);
		for (unsigned k = 0; k < n; k++) {
			enqueue(s, i, late[k]);
			free(late[k]);
		}
		deliver_icmp(s, i);
	}
	for (int i = 0; i < SIM_HOSTS; i++) {
		if (asleep(s, &s->h[i]))
			continue;
		fcore_set_now(s->h[i].core, s->now);
		fcore_poll(s->h[i].core);
	}
	if (s->on_step)
		s->on_step(s, s->step_arg);
	if (s->check)
		sim_check(s);
}

bool sim_run(struct sim *s, uint64_t until, bool (*done)(struct sim *s, void *arg), void *arg)
{
	/* bounded: a run that stops advancing is a bug in the engine */
	for (uint64_t steps = 0; steps < 50000000ull; steps++) {
		step(s);
		if (done && done(s, arg))
			return true;
		if (s->now >= until)
			return false;
		uint64_t at = next_event(s, until);
		if (steps > 1000000 && steps % 100000 == 0 && getenv("SIM_DEBUG")) {
			for (int i = 0; i < SIM_HOSTS; i++)
				fprintf(stderr, "host %d: next timer %lld, queue %u\n", i,
					(long long)fcore_next_timer(s->h[i].core), s->dir[i].n);
			fcore_debug_dump(s->h[0].core, stderr);
			fcore_debug_dump(s->h[1].core, stderr);
		}
		s->now = at > s->now ? at : s->now + 1;
	}
	fail_msg("the simulation did not advance");
	return false;
}

void sim_for(struct sim *s, uint64_t ns)
{
	sim_run(s, s->now + ns, NULL, NULL);
}

/* ---- clients: the test's side ------------------------------------------ */

struct sim_client *sim_client(struct sim *s, int h, int k, uint64_t ring)
{
	struct sim_client *c = &s->h[h].cl[k];
	free_events(c);
	memset(c, 0, sizeof(*c));
	c->h = &s->h[h];
	c->ring_cap = ring;
	c->attached = true;
	fcore_client_init(s->h[h].core, &c->core, (uint32_t)(k + 1), 1000 + (uint32_t)k, 0, &c->ctr);
	return c;
}

void sim_client_gone(struct sim_client *c, int reason)
{
	fcore_set_now(c->h->core, c->h->s->now);
	fcore_client_gone(c->h->core, &c->core, reason);
	c->attached = false;
}

static int command(struct sim_client *c, uint16_t type, uint32_t session, uint32_t aux,
		   const void *p, uint32_t len)
{
	struct ferry_rec_view v = {
		.type = type, .session = session, .aux = aux, .len = len, .payload = p};
	fcore_set_now(c->h->core, c->h->s->now);
	return fcore_command(c->h->core, &c->core, &v);
}

int sim_listen(struct sim_client *c, const char *service)
{
	struct ferry_cmd_service m = {{0}};
	snprintf(m.service, sizeof(m.service), "%s", service);
	return command(c, FERRY_CMD_LISTEN, 0, 1, &m, sizeof(m));
}

uint32_t sim_connect(struct sim_client *c, int to, const char *service)
{
	struct ferry_cmd_connect m = {.ipv4 = to < 0 ? 0 : htonl(c->h->s->h[to].ip)};
	snprintf(m.service, sizeof(m.service), "%s", service);
	uint32_t cookie = ++c->next_cookie;
	assert_int_equal(command(c, FERRY_CMD_CONNECT, 0, cookie, &m, sizeof(m)), 0);
	return cookie;
}

int sim_accept(struct sim_client *c, uint32_t session)
{
	return command(c, FERRY_CMD_ACCEPT, session, 0, NULL, 0);
}

int sim_close(struct sim_client *c, uint32_t session, uint32_t cookie)
{
	struct ferry_cmd_close m = {.cookie = cookie};
	return command(c, FERRY_CMD_CLOSE, session, 0, &m, sizeof(m));
}

int sim_send(struct sim_client *c, uint32_t session, const void *p, uint32_t len)
{
	return command(c, FERRY_REC_DATA, session, 0, p, len);
}

void sim_read_all(struct sim_client *c)
{
	if (!c->attached)
		return;
	c->read_ev = c->n_ev;
	c->ring_used = 0;
	if (c->want) {
		c->want = false;
		c->rooms++;
		fcore_set_now(c->h->core, c->h->s->now);
		fcore_client_room(c->h->core, &c->core);
	}
}

struct sim_event *sim_next(struct sim_client *c, uint32_t *from, uint16_t type)
{
	for (uint32_t i = *from; i < c->n_ev; i++) {
		if (type == 0 || c->ev[i].type == type) {
			*from = i + 1;
			return &c->ev[i];
		}
	}
	*from = c->n_ev;
	return NULL;
}

struct sim_event *sim_find(struct sim_client *c, uint16_t type, uint32_t session)
{
	for (uint32_t i = c->n_ev; i-- > 0;)
		if (c->ev[i].type == type && (session == 0 || c->ev[i].session == session))
			return &c->ev[i];
	return NULL;
}

uint32_t sim_count(struct sim_client *c, uint16_t type, uint32_t session)
{
	uint32_t n = 0;
	for (uint32_t i = 0; i < c->n_ev; i++)
		n += c->ev[i].type == type && (session == 0 || c->ev[i].session == session);
	return n;
}
