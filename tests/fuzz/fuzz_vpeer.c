/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The virtual peers of the daemon under test (fuzz_daemon.h): other
 * ferryds with a model of each session they share with the engine (its
 * ids, both sides' numbers, stream offsets and windows, the messages each
 * way), what they send built from that model with the right defaults,
 * which the input may then change, and the actions an input asks of them.
 * A stream a peer wrote itself (not forged by raw packets or changed
 * answers) is checked end to end at the client. What the engine sends is
 * read into the same models in fuzz_link.c.
 */
#include <arpa/inet.h>
#include <endian.h>

#include "ferry.h"
#include "fuzz_vpeer_pvt.h"
#include "log.h"

uint64_t fnv(const uint8_t *p, uint32_t n, uint64_t h)
{
	for (uint32_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	return h;
}

uint32_t host_ip(unsigned h)
{
	return h < FD_HOSTS ? FD_LOCAL_IP + 1 + h : FD_ALIEN_IP;
}

int host_of(uint32_t ip)
{
	for (int h = 0; h < FD_HOSTS; h++)
		if (host_ip((unsigned)h) == ip)
			return h;
	return -1;
}

uint32_t session_max(void)
{
	return (uint32_t)fd.cfg.ipc_max_message_size;
}

/* ---- message queues ------------------------------------------------------ */

void msgq_push(struct fd_msgq *q, uint32_t len, uint64_t hash, uint64_t end)
{
	if (q->lost)
		return;
	if (q->tail - q->head == q->cap) {
		/* grow, keeping the order; past FD_MSGQ, stop checking */
		uint32_t cap = q->cap ? 2 * q->cap : 64;
		struct fd_msg *m = cap <= FD_MSGQ ? malloc(cap * sizeof(*m)) : NULL;
		if (m == NULL) {
			q->lost = true;
			return;
		}
		for (uint32_t i = q->head; i != q->tail; i++)
			m[i - q->head] = q->m[i % q->cap];
		free(q->m);
		q->m = m;
		q->tail -= q->head;
		q->head = 0;
		q->cap = cap;
	}
	q->m[q->tail++ % q->cap] = (struct fd_msg){.len = len, .hash = hash, .end = end};
}

static void vs_free(struct fd_vsess *v)
{
	free(v->exp.m);
	free(v->tx.m);
	memset(v, 0, sizeof(*v));
}

void fd_vsess_fini(void)
{
	for (int i = 0; i < FD_VSESS; i++)
		vs_free(&fd.vs[i]);
}

/* The next message expected must be this one. */
void msgq_match(struct fd_msgq *q, uint32_t len, uint64_t hash, const char *what,
		       uint32_t us)
{
	if (q->lost)
		return;
	FUZZ_CHECK(q->head != q->tail, "session %u: %s a message (%u bytes) nobody sent", us, what,
		   len);
	const struct fd_msg *m = &q->m[q->head++ % q->cap];
	FUZZ_CHECK(m->len == len && m->hash == hash,
		   "session %u: %s a message of %u bytes where %u bytes were sent (or other bytes)",
		   us, what, len, m->len);
}

/* ---- sessions ------------------------------------------------------------ */

struct fd_vsess *fd_vsess_by_us(uint32_t us)
{
	for (int i = 0; us && i < FD_VSESS; i++)
		if (fd.vs[i].state != VS_FREE && fd.vs[i].us == us)
			return &fd.vs[i];
	return NULL;
}

struct fd_vsess *by_them(uint32_t them, int host)
{
	for (int i = 0; them && i < FD_VSESS; i++)
		if (fd.vs[i].state != VS_FREE && fd.vs[i].state != VS_GONE &&
		    fd.vs[i].them == them && fd.vs[i].host == host)
			return &fd.vs[i];
	return NULL;
}

/* A free model; one whose session the peer forgot, if need be. */
struct fd_vsess *vs_new(int host)
{
	struct fd_vsess *v = NULL;
	for (int i = 0; i < FD_VSESS && !v; i++)
		if (fd.vs[i].state == VS_FREE)
			v = &fd.vs[i];
	for (int i = 0; i < FD_VSESS && !v; i++)
		if (fd.vs[i].state == VS_GONE)
			v = &fd.vs[i];
	if (v == NULL)
		return NULL;
	vs_free(v);
	v->host = (uint8_t)host;
	v->client = -1;
	v->win_ahead = WIN_DEFAULT;
	v->pport = FD_PORT;
	v->eport = FD_PORT;
	v->tx_checked = fd.tx_check_all;
	return v;
}

static struct fd_vsess *pick_vs(uint8_t k, unsigned states)
{
	unsigned n = 0;
	for (int i = 0; i < FD_VSESS; i++)
		n += states >> fd.vs[i].state & 1;
	if (n == 0)
		return NULL;
	k %= n;
	for (int i = 0; i < FD_VSESS; i++)
		if ((states >> fd.vs[i].state & 1) && k-- == 0)
			return &fd.vs[i];
	return NULL;
}

static uint32_t window_of(const struct fd_vsess *v)
{
	return v->win_fixed ? v->win_value : (uint32_t)(v->eng_off + v->win_ahead);
}

/* A packet saying the engine may send up to @p w reaches it. The engine
 * keeps the edge of the latest packet whose acks pass its checks: one
 * the model just built does (@p sure), and sets the edge; one that may not
 * (an answer changed by the input, a packet held back or sent again) may
 * raise it, until the next sure one. */
static void note_window(struct fd_vsess *v, uint32_t w, bool sure)
{
	uint64_t edge = ferry_wire_widen(v->eng_off, w);
	if (sure) {
		v->edge = edge;
		v->edge_more = 0;
	} else if (edge > v->edge_more) {
		v->edge_more = edge;
	}
}

/* The session's largest message: ours, or the peer's if smaller. */
static uint32_t max_with(uint32_t peer_max)
{
	return peer_max && peer_max < session_max() ? peer_max : session_max();
}

void fd_vsess_up(uint32_t us, int slot, uint32_t max_msg)
{
	struct fd_vsess *v = fd_vsess_by_us(us);
	if (v == NULL)
		return;
	v->client = slot;
	if (v->max_msg)
		FUZZ_CHECK(max_msg == v->max_msg, "session %u: UP says %u bytes at most, both ends "
						  "agreed on %u", us, max_msg, v->max_msg);
}

void fd_vsess_delivered(uint32_t us, const uint8_t *p, uint32_t len)
{
	struct fd_vsess *v = fd_vsess_by_us(us);
	if (v && !v->forged && !v->learned)
		msgq_match(&v->exp, len, fnv(p, len, FNV0), "the client got", us);
}

void fd_vsess_sent(uint32_t us, const uint8_t *p, uint32_t len)
{
	struct fd_vsess *v = fd_vsess_by_us(us);
	if (v && v->tx_checked)
		msgq_push(&v->tx, len, fnv(p, len, FNV0), 0);
}

void fd_vsess_down(uint32_t us, int reason)
{
	struct fd_vsess *v = fd_vsess_by_us(us);
	/* the peer closed: what the engine acked of its stream (whole
	 * messages) was delivered first */
	if (v == NULL || reason != FERRY_REASON_CLOSED || !v->closed || v->forged || v->learned ||
	    v->exp.lost)
		return;
	for (uint32_t i = v->exp.head; i != v->exp.tail; i++) {
		const struct fd_msg *m = &v->exp.m[i % v->exp.cap];
		FUZZ_CHECK(m->end > v->acked_off,
			   "session %u: DOWN before a message the engine acked (ending at %llu, acked "
			   "%llu) was delivered", us, (unsigned long long)m->end,
			   (unsigned long long)v->acked_off);
	}
}

/* ---- packets to the engine ------------------------------------------------ */

void fd_input(uint32_t ip, uint16_t sport, uint16_t dport, const void *p, uint32_t len)
{
	if (flog_enabled(FLOG_DEBUG) && len >= HDR) {
		struct ferry_wire_hdr x;
		memcpy(&x, p, HDR);
		fprintf(stderr, "  %08x -> engine: type %u dst %u src %u seq %u ack %u aux %u, %u "
				"bytes\n", ip, x.type, ntohl(x.dst_session), ntohl(x.src_session),
			ntohl(x.seq), ntohl(x.ack), ntohl(x.aux), len);
	}
	if (len >= HDR) {
		struct ferry_wire_hdr x;
		memcpy(&x, p, HDR);
		struct fd_vsess *v = fd_vsess_by_us(ntohl(x.dst_session));
		if (v && (x.type == FW_DATA || x.type == FW_ACK || x.type == FW_ACCEPT))
			note_window(v, ntohl(x.window), !fd.unsure);
	}
	fcore_set_now(fd.core, fd.now);
	fcore_input(fd.core, ip, sport, dport, p, len);
}

static struct fd_pkt g_pkt;

/* Build a packet in g_pkt: header, then payload. */
static struct fd_pkt *build(uint32_t ip, uint16_t sport, uint16_t dport,
			    const struct ferry_wire_hdr *h, const void *p, uint32_t n)
{
	if (n > FD_PKT_MAX - HDR)
		n = FD_PKT_MAX - HDR;
	g_pkt.ip = ip;
	g_pkt.sport = sport;
	g_pkt.dport = dport;
	g_pkt.len = HDR + n;
	memcpy(g_pkt.data, h, HDR);
	if (n)
		memcpy(g_pkt.data + HDR, p, n);
	return &g_pkt;
}

/* Send it now, or hold it back (reordering, loss until released). */
static void deliver(const struct fd_pkt *k, bool hold)
{
	if (hold) {
		if (fd.n_held < FD_HELD)
			fd.held[fd.n_held++] = *k;
		return;
	}
	fd.last_peer[fd.n_last_peer++ % 4] = *k;
	fd_input(k->ip, k->sport, k->dport, k->data, k->len);
}

void hdr(struct ferry_wire_hdr *h, uint8_t type, uint32_t dst, uint32_t src, uint32_t seq,
		uint32_t ack, uint32_t aux)
{
	*h = (struct ferry_wire_hdr){.version = FERRY_WIRE_VERSION,
				     .type = type,
				     .dst_session = htonl(dst),
				     .src_session = htonl(src),
				     .aux = htonl(aux),
				     .seq = htonl(seq),
				     .ack = htonl(ack),
				     .ts = htonl((uint32_t)fd.now)};
}

/* A header of session @p v with the right ack fields: everything the
 * engine sent arrived, the window as the model says. */
void vs_hdr(struct fd_vsess *v, struct ferry_wire_hdr *h, uint8_t type, uint32_t seq,
		   uint32_t aux)
{
	hdr(h, type, v->us, v->them, seq, v->eng_next, aux);
	h->window = htonl(window_of(v));
	h->ts_echo = htonl(v->eng_ts);
}

static void vs_send(struct fd_vsess *v, const struct ferry_wire_hdr *h, const void *p, uint32_t n,
		    bool hold)
{
	deliver(build(host_ip(v->host), v->pport, v->eport, h, p, n), hold);
}

/* ---- the auto peer: a well-behaved ferryd that answers at once ----------- */

void queue_answer(uint32_t ip, uint16_t sport, uint16_t dport,
			 const struct ferry_wire_hdr *h, const void *p, uint32_t n)
{
	if (fd.answers == NULL) {
		fd.answers = calloc(1024, sizeof(*fd.answers));
		FUZZ_CHECK(fd.answers != NULL, "out of memory");
	}
	if (fd.n_answers >= 1024 || HDR + n > sizeof(fd.answers->data))
		return; /* lost on the way, as a packet may be */
	struct fd_ans *a = &fd.answers[fd.n_answers++];
	*a = (struct fd_ans){.ip = ip, .sport = sport, .dport = dport, .len = HDR + n};
	memcpy(a->data, h, HDR);
	if (n)
		memcpy(a->data + HDR, p, n);
}

void vs_answer(struct fd_vsess *v, const struct ferry_wire_hdr *h, const void *p,
		      uint32_t n)
{
	queue_answer(host_ip(v->host), v->pport, v->eport, h, p, n);
}

bool fd_answer(void)
{
	static struct fd_ans batch[1024];
	uint32_t n = fd.n_answers;
	if (n == 0)
		return false;
	memcpy(batch, fd.answers, n * sizeof(*batch));
	fd.n_answers = 0;
	for (uint32_t i = 0; i < n; i++)
		fd_input(batch[i].ip, batch[i].sport, batch[i].dport, batch[i].data, batch[i].len);
	return true;
}

static void accept_payload(struct ferry_wire_accept *a, int host, uint32_t max_window)
{
	*a = (struct ferry_wire_accept){.incarnation = htonl(fd.host_inc[host]),
					.max_window = htonl(max_window)};
}

/* ACCEPT the engine's OPEN of @p v as the model says; @p bad_ack: not
 * echoing its first number (then nothing changes). */
void do_accept(struct fd_vsess *v, uint32_t isn, uint32_t peer_max, uint32_t max_window,
		      bool bad_ack, bool other_inc, bool answer)
{
	struct ferry_wire_hdr h;
	struct ferry_wire_accept a;
	uint32_t them = 0x70000000u + ++fd.next_them;
	if (other_inc)
		fd.host_inc[v->host] += 0x100;
	accept_payload(&a, v->host, max_window);
	hdr(&h, FW_ACCEPT, v->us, them, isn, v->eng_isn + bad_ack, peer_max);
	if (!bad_ack) {
		v->state = VS_UP;
		v->them = them;
		v->isn = v->next_seq = isn;
		v->max_msg = max_with(peer_max);
	}
	h.window = htonl(window_of(v));
	if (answer)
		vs_answer(v, &h, &a, sizeof(a));
	else
		vs_send(v, &h, &a, sizeof(a), false);
}

/* ---- peer actions from the input ------------------------------------------ */

/* Raw bytes from a peer (or from outside allowed_peers). */
static void op_raw(struct fuzz_in *in)
{
	uint8_t from = fuzz_u8(in), ports = fuzz_u8(in);
	uint16_t len = fuzz_u16(in) % FD_PKT_MAX;
	size_t got;
	const uint8_t *p = fuzz_bytes(in, len, &got);
	if (got >= HDR) {
		struct ferry_wire_hdr h;
		memcpy(&h, p, HDR);
		struct fd_vsess *v = fd_vsess_by_us(ntohl(h.dst_session));
		if (v) {
			v->forged = true;
			v->edge_unknown = true;
		}
	}
	fd_input(host_ip(from % (FD_HOSTS + 1)), (uint16_t)(FD_PORT + (ports & 3)),
		 (uint16_t)(FD_PORT + (ports >> 2 & 7)), p, (uint32_t)got);
}

/* Answer the packet the engine sent @p back packets ago, from its
 * receiver's address, with the ids swapped and its numbers echoed, then
 * changed as the input says. */
static void op_answer(struct fuzz_in *in)
{
	uint8_t back = fuzz_u8(in), type = (uint8_t)(fuzz_u8(in) % (FW_TYPE_MAX - 1) + 1);
	uint8_t mask = fuzz_u8(in);
	uint32_t dseq = mask & 1 ? fuzz_u32(in) : 0, dack = mask & 2 ? fuzz_u32(in) : 0;
	uint64_t sack = 0;
	if (mask & 4) {
		sack = fuzz_u32(in);
		sack |= (uint64_t)fuzz_u32(in) << 32;
	}
	uint32_t win = mask & 8 ? fuzz_u32(in) : 0, aux = mask & 16 ? fuzz_u32(in) : 0;
	uint16_t flags = mask & 32 ? fuzz_u16(in) : 0;
	uint32_t srcx = mask & 64 ? fuzz_u32(in) : 0;
	size_t plen = 0;
	const uint8_t *pl = NULL;
	if (mask & 128)
		pl = fuzz_bytes(in, fuzz_u8(in), &plen);
	if (fd.n_sent == 0)
		return;
	uint32_t have = fd.n_sent < FD_SENT ? fd.n_sent : FD_SENT;
	const struct fd_pkt *r = &fd.sent[(fd.n_sent - 1 - back % have) % FD_SENT];
	struct ferry_wire_hdr rh, h;
	memcpy(&rh, r->data, HDR);
	uint32_t rsrc = ntohl(rh.src_session), rdst = ntohl(rh.dst_session);
	int host = host_of(r->ip);
	struct fd_vsess *v = fd_vsess_by_us(rsrc);
	uint32_t echo = ntohl(rh.seq);
	bool echoes = type == FW_ACCEPT || type == FW_REFUSE || type == FW_CLOSE_ACK ||
		      type == FW_RESET || type == FW_PONG;
	uint32_t src = rdst ? rdst : v && v->them ? v->them : 0x7f000000u + ++fd.next_them;
	uint32_t seq = v ? v->next_seq : ntohl(rh.ack);
	uint32_t ack = echoes ? echo : v ? v->eng_next : echo + 1;
	uint32_t dflt_aux = 0;
	union {
		struct ferry_wire_open o;
		struct ferry_wire_accept a;
	} body;
	uint32_t blen = 0;
	switch (type) {
	case FW_OPEN:
		memset(&body.o, 0, sizeof(body.o));
		snprintf(body.o.service, sizeof(body.o.service), "%s", fd_services[back % FD_SERVICES]);
		body.o.incarnation = htonl(host >= 0 ? fd.host_inc[host] : 7);
		body.o.max_window = htonl(WIN_DEFAULT);
		blen = sizeof(body.o);
		dflt_aux = session_max();
		break;
	case FW_ACCEPT:
		accept_payload(&body.a, host >= 0 ? host : 0, WIN_DEFAULT);
		blen = sizeof(body.a);
		dflt_aux = session_max();
		break;
	case FW_DATA:
		dflt_aux = v ? (uint32_t)v->off : 0;
		break;
	case FW_CLOSE:
		dflt_aux = FERRY_REASON_CLOSED;
		break;
	case FW_REFUSE:
		dflt_aux = FERRY_REASON_REFUSED;
		break;
	case FW_RESET:
	case FW_PING:
	case FW_PONG:
		dflt_aux = host >= 0 ? fd.host_inc[host] : 1;
		break;
	}
	hdr(&h, type, type == FW_OPEN || type == FW_PING || type == FW_PONG ? 0 : rsrc, src ^ srcx,
	    seq + dseq, ack + dack, mask & 16 ? aux : dflt_aux);
	h.sack = htobe64(sack);
	h.window = htonl(mask & 8 ? win : v ? window_of(v) : WIN_DEFAULT);
	h.flags = htons(flags);
	h.ts_echo = rh.ts;
	if (v && (type == FW_DATA || (mask & 128)))
		v->forged = true;
	fd.unsure = true;
	deliver(build(r->ip, r->dport, r->sport, &h, pl ? pl : (const void *)&body,
		      pl ? (uint32_t)plen : blen),
		false);
	fd.unsure = false;
}

static void op_open(struct fuzz_in *in)
{
	uint8_t host = fuzz_u8(in) % FD_HOSTS, svc = fuzz_u8(in), flags = fuzz_u8(in);
	uint32_t isn = fuzz_u32(in);
	uint16_t peer_max = fuzz_u16(in);
	uint32_t max_window = fuzz_u32(in);
	struct fd_vsess *v = NULL;
	if (flags & 3) {
		/* 1: the same OPEN again (our ACCEPT was lost); 2: its id with
		 * another first number, which is not ours to believe */
		struct fd_vsess *o = pick_vs(svc, 1u << VS_PEER_OPENING | 1u << VS_UP);
		if (o == NULL || o->learned)
			return;
		struct ferry_wire_hdr h;
		struct ferry_wire_open op = {.incarnation = htonl(fd.host_inc[o->host]),
					     .max_window = htonl(o->open_window)};
		snprintf(op.service, sizeof(op.service), "%s", fd_services[o->open_svc]);
		uint32_t first = o->isn + ((flags & 3) == 2 ? 1 + isn % 1000 : 0);
		if (first != o->isn) {
			o->isn_alt = first; /* a new session, if the old one is gone */
			o->has_alt = true;
		}
		hdr(&h, FW_OPEN, 0, o->them, first, 0, o->open_max);
		h.window = htonl(window_of(o));
		deliver(build(host_ip(o->host), o->pport, FD_PORT, &h, &op, sizeof(op)), false);
		return;
	}
	if ((v = vs_new(host)) == NULL)
		return;
	v->state = VS_PEER_OPENING;
	v->them = 0x70000000u + ++fd.next_them;
	v->isn = v->next_seq = isn;
	v->max_msg = max_with(peer_max);
	v->pport = (uint16_t)(FD_PORT + (flags >> 4 & 3));
	v->open_max = peer_max;
	v->open_svc = svc % FD_SERVICES;
	v->open_window = flags & 4 ? 0 : max_window;
	struct ferry_wire_open op = {.incarnation = htonl(fd.host_inc[host]),
				     .max_window = htonl(v->open_window)};
	snprintf(op.service, sizeof(op.service), "%s", fd_services[v->open_svc]);
	struct ferry_wire_hdr h;
	hdr(&h, FW_OPEN, 0, v->them, isn, 0, peer_max);
	h.window = htonl(window_of(v));
	note_window(v, window_of(v), true); /* its first edge, from the OPEN */
	deliver(build(host_ip(host), v->pport, FD_PORT, &h, &op, sizeof(op)), flags & 8);
}

/* Frame @p count messages of @p n bytes into @p buf (and the model). */
static uint32_t frame(struct fd_vsess *v, uint8_t *buf, uint32_t count, uint32_t n, uint8_t fill,
		      uint16_t flags, bool oversize)
{
	uint32_t total = 0;
	for (uint32_t i = 0; i < count; i++) {
		struct ferry_wire_frame fr = {.len = htonl(n), .flags = htons(flags)};
		uint8_t *p = buf + total;
		memcpy(p, &fr, sizeof(fr));
		memcpy(p + sizeof(fr), fd_pattern(n, fill, v->next_seq + i), n);
		total += (uint32_t)sizeof(fr) + n;
		if (oversize)
			v->forged = true; /* longer than the session takes: it ends */
		else
			msgq_push(&v->exp, n, fnv(p + sizeof(fr), n, FNV0), v->off + total);
	}
	return total;
}

/* A message of @p len bytes into the session's stream, in packets; or
 * (FP_BURST) up to 256 small ones back to back. */
static void op_data(struct fuzz_in *in, bool burst)
{
	uint8_t k = fuzz_u8(in);
	uint16_t len = fuzz_u16(in);
	uint8_t how = fuzz_u8(in), fill = fuzz_u8(in);
	uint32_t count = burst ? 1u + fuzz_u8(in) : 1;
	struct fd_vsess *v = pick_vs(k, 1u << VS_UP);
	if (v == NULL)
		return;
	uint32_t max = v->max_msg ? v->max_msg : session_max();
	uint32_t n = how & 8 ? max + 1 + len % 16 : len % (max + 1u);
	if (burst && n > 255)
		n %= 256;
	static uint8_t buf[256 * (8 + 256) + (1 << 16) + 64];
	uint32_t total = frame(v, buf, count, n, fill, how >> 7, how & 8);
	uint32_t mss = fd.mtu - HDR;
	uint32_t piece = how & 4 ? total / (2 + (how >> 5 & 3)) + 1 : mss;
	if (piece > mss)
		piece = mss;
	for (uint32_t at = 0; at < total; at += piece) {
		uint32_t l = total - at < piece ? total - at : piece;
		uint32_t seq = v->next_seq++;
		struct ferry_wire_hdr h;
		vs_hdr(v, &h, FW_DATA, seq, (uint32_t)(v->off + at));
		if (how & 16)
			h.flags = htons(FWF_PROBE);
		v->pk[seq & 63].seq = seq;
		v->pk[seq & 63].off = v->off + at;
		v->pk[seq & 63].len = l;
		vs_send(v, &h, buf + at, l, how & 1);
		if (how & 2)
			vs_send(v, &h, buf + at, l, false); /* a duplicate */
	}
	v->off += total;
}

/* An ACK of what the engine sent: all of it, or with a hole of the last
 * few (selectively acked or not), the window as the input says. */
static void op_ack(struct fuzz_in *in)
{
	uint8_t k = fuzz_u8(in), mode = fuzz_u8(in);
	uint32_t w = fuzz_u32(in);
	struct fd_vsess *v = pick_vs(k, 1u << VS_UP);
	if (v == NULL)
		return;
	switch (mode >> 4 & 3) {
	case 1: /* shut: the edge where the engine is */
		v->win_fixed = true;
		v->win_value = (uint32_t)v->eng_off;
		break;
	case 2:
		v->win_fixed = true;
		v->win_value = w;
		break;
	case 3:
		v->win_fixed = false;
		v->win_ahead = w % (1u << 21);
		break;
	}
	uint32_t back = mode & 7, sent = v->eng_next - v->eng_isn;
	if (back > sent)
		back = sent;
	struct ferry_wire_hdr h;
	vs_hdr(v, &h, FW_ACK, v->next_seq, 0);
	h.ack = htonl(v->eng_next - back);
	if ((mode & 8) && back > 1)
		h.sack = htobe64((1ull << (back - 1)) - 1);
	if (mode & 64)
		h.flags = htons(FWF_PROBE);
	vs_send(v, &h, NULL, 0, mode & 128);
}

static void op_close(struct fuzz_in *in)
{
	uint8_t k = fuzz_u8(in), reason = fuzz_u8(in), flags = fuzz_u8(in);
	struct fd_vsess *v = pick_vs(k, 1u << VS_UP | 1u << VS_PEER_OPENING);
	if (v == NULL)
		return;
	uint32_t aux = reason ? reason : FERRY_REASON_CLOSED;
	struct ferry_wire_hdr h;
	vs_hdr(v, &h, FW_CLOSE, v->next_seq + (flags & 1 ? 2000 : 0), aux);
	if (aux == FERRY_REASON_CLOSED && !(flags & 1) && v->state == VS_UP)
		v->closed = true;
	vs_send(v, &h, NULL, 0, flags & 2);
}

void fd_peer_op(struct fuzz_in *in)
{
	unsigned act = fuzz_u8(in) % FP_NACTIONS;
	struct fd_vsess *v;
	struct ferry_wire_hdr h;
	uint8_t a, b;
	switch (act) {
	case FP_RAW:
		op_raw(in);
		return;
	case FP_ANSWER:
		op_answer(in);
		return;
	case FP_OPEN:
		op_open(in);
		return;
	case FP_ACCEPT: {
		a = fuzz_u8(in);
		b = fuzz_u8(in);
		uint32_t isn = fuzz_u32(in);
		uint16_t peer_max = fuzz_u16(in);
		uint32_t max_window = fuzz_u32(in);
		if ((v = pick_vs(a, 1u << VS_ENG_OPENING)) != NULL && v->host < FD_HOSTS)
			do_accept(v, isn, peer_max, b & 4 ? 0 : max_window, b & 1, b & 2, false);
		return;
	}
	case FP_REFUSE:
		a = fuzz_u8(in);
		b = fuzz_u8(in);
		if ((v = pick_vs(a, 1u << VS_ENG_OPENING)) == NULL || v->host >= FD_HOSTS)
			return;
		hdr(&h, FW_REFUSE, v->us, 0, 0, v->eng_isn + (b & 1), b >> 1);
		vs_send(v, &h, NULL, 0, false);
		return;
	case FP_DATA:
	case FP_BURST:
		op_data(in, act == FP_BURST);
		return;
	case FP_ACK:
		op_ack(in);
		return;
	case FP_CLOSE:
		op_close(in);
		return;
	case FP_CLOSE_ACK:
		a = fuzz_u8(in);
		b = fuzz_u8(in);
		for (int i = 0, n = 0; i < FD_VSESS; i++) {
			v = &fd.vs[i];
			if (v->state == VS_FREE || !v->eng_closed || n++ != a % FD_VSESS)
				continue;
			hdr(&h, FW_CLOSE_ACK, v->us, v->them, 0, v->eng_close_seq + (b & 1), 0);
			vs_send(v, &h, NULL, 0, false);
			break;
		}
		return;
	case FP_RESET:
		a = fuzz_u8(in);
		b = fuzz_u8(in);
		if ((v = pick_vs(a, 1u << VS_UP | 1u << VS_GONE)) == NULL)
			return;
		hdr(&h, FW_RESET, v->us, v->them, 0, v->eng_next - b % 4,
		    v->host < FD_HOSTS ? fd.host_inc[v->host] : 1);
		vs_send(v, &h, NULL, 0, false);
		return;
	case FP_PING:
	case FP_PONG:
		a = fuzz_u8(in) % FD_HOSTS;
		b = fuzz_u8(in);
		if (b & 2)
			fd.host_inc[a] += 0x100; /* claims (PING) or proves (PONG) a restart */
		hdr(&h, act == FP_PING ? FW_PING : FW_PONG, 0, 0, act == FP_PING ? 0x5150u + b : 0,
		    act == FP_PONG ? fd.host_ping[a] + (b & 1) : 0, fd.host_inc[a]);
		deliver(build(host_ip(a), FD_PORT, FD_PORT, &h, NULL, 0), false);
		return;
	case FP_RELEASE:
		a = fuzz_u8(in);
		if (fd.n_held) {
			struct fd_pkt *k = &fd.held[a % fd.n_held];
			static struct fd_pkt late;
			late = *k;
			*k = fd.held[--fd.n_held];
			fd.unsure = true; /* its acks may be too old by now */
			deliver(&late, false);
			fd.unsure = false;
		}
		return;
	case FP_RESEND:
		a = fuzz_u8(in);
		if (fd.n_last_peer) {
			static struct fd_pkt again;
			uint32_t have = fd.n_last_peer < 4 ? fd.n_last_peer : 4;
			again = fd.last_peer[(fd.n_last_peer - 1 - a % have) % 4];
			fd.unsure = true;
			deliver(&again, false);
			fd.unsure = false;
		}
		return;
	case FP_UNREACHABLE:
		a = fuzz_u8(in);
		fcore_set_now(fd.core, fd.now);
		fcore_unreachable(fd.core, host_ip(a % FD_HOSTS), a & 0x80);
		return;
	case FP_RESTART:
		/* the peer's ferryd restarts: a new incarnation, nothing kept */
		a = fuzz_u8(in) % FD_HOSTS;
		fd.host_inc[a] += 0x100;
		for (int i = 0; i < FD_VSESS; i++)
			if (fd.vs[i].state != VS_FREE && fd.vs[i].host == a)
				fd.vs[i].state = VS_GONE;
		return;
	}
}
