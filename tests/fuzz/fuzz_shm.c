/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Fuzz target "shm": a ring file (shm-ipc/) whose every byte a hostile
 * process controls, as ferryd sees a client's file and a client sees a
 * local-session peer's: the header through ferry_shm_validate() and
 * ferry_shm_map_fd(), each ring descriptor through ferry_ring_attach(), and
 * both rings from both ends (ferry_ring_peek/release/unread on the
 * consumer side, reserve/commit/free on the producer side) while the
 * input keeps writing into the mapping as the other process would.
 *
 * Input:  u8 mode (bit 0: a session file, else a client file; bit 1:
 *         validate without a reason buffer; bit 2: also map the file
 *         through a memfd), u32 file size (0: the image's size), u32
 *         largest payload the consumers accept, u16 length of the
 *         operations, the operations, then the file's first bytes (the
 *         rest of the file is zero). Operations, bit 3 naming the ring:
 *
 *   0 PEEK      1 RELEASE    2 UNREAD (back to before the last peek)
 *   3 PRODUCE   u16 len, u8 type, u8 bytes the commit leaves off
 *   4 POKE      u16 offset, u8 n, n bytes: the other process writes
 *   5 SPACE     u16 len: ferry_ring_free/has_room/wait_space
 *   6 READABLE  7 DRAIN: peek until empty, then release (ferryd's loop)
 *
 * The mapping is a heap buffer of exactly the file's size, so ASan sees
 * any access outside it. Checked after every step: a validated header and
 * an attached ring lie inside the mapping; every record the consumer
 * returns lies inside its ring's data area, within the payload limit, and
 * is never a pad; positions stay 16-byte aligned, the consumer's never go
 * back past what it released and the producer's only forward; a side that
 * reported -EBADMSG is disconnected (not used again). While nothing but
 * this process wrote a ring (no poke into it, no overlap with the header
 * or the other ring), every record comes out exactly as it went in and no
 * side ever reports -EBADMSG.
 */
#include <errno.h>
#include <stdbool.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ferry_ring.h"
#include "ferry_shm_util.h"
#include "fuzz.h"

#define M_SESSION 0x1u
#define M_NO_WHY 0x2u
#define M_MEMFD 0x4u

#define OP_PEEK 0
#define OP_RELEASE 1
#define OP_UNREAD 2
#define OP_PRODUCE 3
#define OP_POKE 4
#define OP_SPACE 5
#define OP_READABLE 6
#define OP_DRAIN 7
#define OP_RING 0x8u

#define MAP_MAX (1u << 17)
#define EXPECT_MAX 2048
#define DRAIN_MAX 512 /* ferryd reads a bounded number of records a pass */

/* A record the producer wrote, as the consumer must read it back. */
struct expect {
	uint64_t pos; /* where its header starts */
	uint16_t type;
	uint32_t session, aux, len;
};

/* Both ends of one ring, seen from this process. */
struct side {
	struct ferry_ring p, c;
	bool p_up, c_up;       /* attached and not disconnected */
	bool clean;            /* only this process wrote the ring */
	bool mapped;           /* either end attached: the areas below are set */
	uint64_t ctl_lo, data_lo, cap; /* areas, as offsets in the mapping */
	uint64_t at;           /* consumer position before its last peek */
	struct expect *want;
	unsigned nwant, next;  /* records written; the next one to read */
	uint32_t serial;       /* payload bytes derive from it */
};

static struct {
	uint8_t *base;
	uint64_t len;
	uint32_t max_payload;
	struct side s[2];
	int memfd;
} g = {.memfd = -1};

static uint32_t r_of(const struct side *s)
{
	return (uint32_t)(s - g.s);
}

static bool overlap(uint64_t a0, uint64_t a1, uint64_t b0, uint64_t b1)
{
	return a0 < b1 && b0 < a1;
}

static uint8_t pattern(uint32_t serial, uint32_t i)
{
	return (uint8_t)(serial * 31u + i * 7u + (i >> 8));
}

/* ---- attach -------------------------------------------------------- */

static void check_in_map(const void *p, uint64_t n, const char *what)
{
	const uint8_t *b = p;
	FUZZ_CHECK(b >= g.base && n <= g.len && (uint64_t)(b - g.base) <= g.len - n,
		   "%s (%llu bytes at %td) outside the %llu-byte mapping", what,
		   (unsigned long long)n, b - g.base, (unsigned long long)g.len);
}

static void attach(int r, const struct ferry_ring_desc *d)
{
	struct side *s = &g.s[r];

	s->p_up = ferry_ring_attach(&s->p, g.base, g.len, d, true, 0) == 0;
	s->c_up = ferry_ring_attach(&s->c, g.base, g.len, d, false, g.max_payload) == 0;
	struct ferry_ring *v[2] = {&s->p, &s->c};
	bool up[2] = {s->p_up, s->c_up};
	for (int i = 0; i < 2; i++) {
		if (!up[i])
			continue;
		check_in_map(v[i]->ctl, sizeof(struct ferry_ring_ctl), "ring control block");
		check_in_map(v[i]->data, v[i]->cap, "ring data area");
		FUZZ_CHECK(v[i]->cap >= 4096 && !(v[i]->cap & v[i]->mask) && v[i]->mask == v[i]->cap - 1,
			   "capacity %llu", (unsigned long long)v[i]->cap);
		FUZZ_CHECK(v[i]->pos % FERRY_REC_ALIGN == 0 && v[i]->pos == v[i]->limit,
			   "attached at position %llu", (unsigned long long)v[i]->pos);
	}
	s->at = s->c.pos;
	s->mapped = s->p_up || s->c_up;
	if (!s->mapped)
		return;
	const struct ferry_ring *any = s->c_up ? &s->c : &s->p;
	s->ctl_lo = (uint64_t)((uint8_t *)any->ctl - g.base);
	s->data_lo = (uint64_t)(any->data - g.base);
	s->cap = any->cap;
	if (!s->p_up || !s->c_up)
		return;
	/* Clean: head == tail with the terminator in place, and no other
	 * writer (the header is left alone, the areas do not overlap). */
	struct ferry_rec *rec = (struct ferry_rec *)(s->c.data + (s->c.pos & s->c.mask));
	s->clean = s->p.pos == s->c.pos && atomic_load(&rec->len) == 0 &&
		   !overlap(s->ctl_lo, s->ctl_lo + sizeof(struct ferry_ring_ctl), s->data_lo,
			    s->data_lo + s->cap) &&
		   !overlap(0, sizeof(struct ferry_shm_hdr), s->ctl_lo,
			    s->ctl_lo + sizeof(struct ferry_ring_ctl)) &&
		   !overlap(0, sizeof(struct ferry_shm_hdr), s->data_lo, s->data_lo + s->cap);
}

static bool touches(const struct side *s, uint64_t lo, uint64_t hi)
{
	return overlap(lo, hi, s->ctl_lo, s->ctl_lo + sizeof(struct ferry_ring_ctl)) ||
	       overlap(lo, hi, s->data_lo, s->data_lo + s->cap);
}

static void taint(uint64_t lo, uint64_t hi)
{
	for (int r = 0; r < 2; r++)
		if (g.s[r].clean && touches(&g.s[r], lo, hi))
			g.s[r].clean = false;
}

/* Rings sharing bytes write into each other: neither is clean. */
static void taint_shared(void)
{
	struct side *a = &g.s[0], *b = &g.s[1];
	if (a->mapped && b->mapped &&
	    (touches(a, b->ctl_lo, b->ctl_lo + sizeof(struct ferry_ring_ctl)) ||
	     touches(a, b->data_lo, b->data_lo + b->cap)))
		a->clean = b->clean = false;
}

/* ---- consumer ------------------------------------------------------ */

static void check_consumer(const struct ferry_ring *c, uint64_t released)
{
	FUZZ_CHECK(c->pos % FERRY_REC_ALIGN == 0, "consumer at %llu", (unsigned long long)c->pos);
	FUZZ_CHECK(c->limit - released < (1ull << 63), "consumer released back to %llu from %llu",
		   (unsigned long long)c->limit, (unsigned long long)released);
	FUZZ_CHECK(c->pos - c->limit <= c->cap - FERRY_REC_ALIGN,
		   "consumer %llu bytes past what it released", (unsigned long long)(c->pos - c->limit));
}

static void match(struct side *s, const struct ferry_rec_view *v, uint64_t start)
{
	FUZZ_CHECK(s->next < s->nwant, "read a record at %llu nobody wrote",
		   (unsigned long long)start);
	const struct expect *e = &s->want[s->next++];
	FUZZ_CHECK(e->pos == start && e->type == v->type && e->session == v->session &&
			   e->aux == v->aux && e->len == v->len,
		   "read type %u len %u at %llu, wrote type %u len %u at %llu", v->type, v->len,
		   (unsigned long long)start, e->type, e->len, (unsigned long long)e->pos);
	for (uint32_t i = 0; i < v->len; i++)
		FUZZ_CHECK(v->payload[i] == pattern(e->aux, i), "payload byte %u differs", i);
}

/* @return what ferry_ring_peek() returned */
static int peek(struct side *s)
{
	struct ferry_ring *c = &s->c;
	struct ferry_rec_view v;
	uint64_t before = c->pos, released = c->limit;

	s->at = before;
	int rc = ferry_ring_peek(c, &v);
	FUZZ_CHECK(rc >= -EBADMSG && rc <= 1 && (rc >= 0 || rc == -EBADMSG), "peek: %d", rc);
	if (rc < 0) {
		FUZZ_CHECK(!s->clean, "peek: -EBADMSG on a ring only this process wrote");
		s->c_up = false; /* ferryd disconnects the client here */
		return rc;
	}
	check_consumer(c, released);
	FUZZ_CHECK(c->pos - before <= c->cap, "consumer moved %llu bytes",
		   (unsigned long long)(c->pos - before));
	if (rc == 0) {
		FUZZ_CHECK(!s->clean || s->next == s->nwant, "%u records written are not readable",
			   s->nwant - s->next);
		return 0;
	}
	FUZZ_CHECK(c->pos != before, "a record of no size");
	FUZZ_CHECK(v.type != FERRY_REC_PAD && v.len <= g.max_payload,
		   "returned a type %u record of %u bytes (limit %u)", v.type, v.len, g.max_payload);
	const uint8_t *hdr = v.payload - FERRY_REC_HDR;
	FUZZ_CHECK(hdr >= c->data && v.len <= c->cap &&
			   (uint64_t)(hdr - c->data) + FERRY_REC_HDR + v.len <= c->cap,
		   "record of %u bytes at %td in a %llu-byte ring", v.len, hdr - c->data,
		   (unsigned long long)c->cap);
	FUZZ_CHECK((uint64_t)(hdr - c->data) == ((c->pos - ferry_rec_size(v.len)) & c->mask),
		   "record is not where the position says");
	check_in_map(hdr, FERRY_REC_HDR + (uint64_t)v.len, "record");
	if (s->clean)
		match(s, &v, c->pos - ferry_rec_size(v.len));
	return 1;
}

static void release(struct side *s)
{
	struct ferry_ring *c = &s->c;
	uint64_t released = c->limit;
	ferry_ring_release(c);
	FUZZ_CHECK(c->limit == c->pos, "released to %llu, read to %llu",
		   (unsigned long long)c->limit, (unsigned long long)c->pos);
	check_consumer(c, released);
	if (s->clean)
		FUZZ_CHECK(atomic_load(&c->ctl->head) == c->pos, "head not stored");
	s->at = c->pos;
}

static void unread(struct side *s)
{
	struct ferry_ring *c = &s->c;
	uint64_t released = c->limit;
	ferry_ring_unread(c, s->at);
	check_consumer(c, released);
	while (s->next > 0 && s->want[s->next - 1].pos >= s->at)
		s->next--;
}

/* ---- producer ------------------------------------------------------ */

static void check_producer(const struct ferry_ring *p, uint64_t before)
{
	FUZZ_CHECK(p->pos % FERRY_REC_ALIGN == 0 && p->pos - before <= p->cap,
		   "producer moved from %llu to %llu", (unsigned long long)before,
		   (unsigned long long)p->pos);
}

static void produce(struct side *s, uint32_t len, uint16_t type, uint8_t shrink)
{
	struct ferry_ring *p = &s->p;
	uint64_t before = p->pos;
	int err = 0;

	if (type == FERRY_REC_PAD)
		type = FERRY_REC_DATA; /* writers never write pads by hand */
	if (s->clean && len > g.max_payload)
		len = g.max_payload; /* libferry and ferryd never write more */
	uint32_t aux = ++s->serial;
	uint8_t *pl = ferry_ring_reserve(p, len, type, r_of(s), aux, &err);
	if (!pl) {
		FUZZ_CHECK(err == -EAGAIN || err == -EMSGSIZE || err == -EBADMSG, "reserve: %d", err);
		FUZZ_CHECK(err != -EBADMSG || !s->clean, "reserve: -EBADMSG from an honest consumer");
		if (err == -EBADMSG)
			s->p_up = false;
		check_producer(p, before);
		return;
	}
	FUZZ_CHECK((pl - p->data) % FERRY_REC_ALIGN == 0 && pl >= p->data + FERRY_REC_HDR &&
			   (uint64_t)(pl - p->data) + len <= p->cap,
		   "reserved %u bytes at %td of a %llu-byte ring", len, pl - p->data,
		   (unsigned long long)p->cap);
	FUZZ_CHECK(p->pos - (p->limit - p->cap) <= p->cap,
		   "producer at %llu, consumer released to %llu", (unsigned long long)p->pos,
		   (unsigned long long)(p->limit - p->cap));
	uint32_t n = len - (shrink < len ? shrink : len);
	for (uint32_t i = 0; i < n; i++)
		pl[i] = pattern(aux, i);
	uint64_t start = p->pos; /* past the pad, if one was written */
	ferry_ring_commit(p, pl, n);
	check_producer(p, before);
	if (s->clean && s->nwant < EXPECT_MAX)
		s->want[s->nwant++] = (struct expect){.pos = start, .type = type,
						     .session = r_of(s), .aux = aux, .len = n};
	else
		s->clean = false;
}

static void space(struct side *s, uint32_t len)
{
	struct ferry_ring *p = &s->p;
	uint64_t before = p->pos;
	uint64_t n = ferry_ring_free(p);
	FUZZ_CHECK(n < p->cap, "%llu bytes free in a %llu-byte ring", (unsigned long long)n,
		   (unsigned long long)p->cap);
	bool room = ferry_ring_has_room(p, len);
	FUZZ_CHECK(!room || !s->p_up || ferry_ring_wait_space(p, len), "room, then none");
	/* free counts every free byte but the producer's slack (0 when not
	 * even an empty record fits): a record that needs no pad fits */
	uint64_t to_end = p->cap - (p->pos & p->mask);
	FUZZ_CHECK(!s->clean || n == 0 || len > n || ferry_rec_size(len) > to_end || room,
		   "%llu bytes free, but no room for %u", (unsigned long long)n, len);
	FUZZ_CHECK(p->pos == before, "asking for room moved the producer");
}

/* ---- the header ---------------------------------------------------- */

static int validate(uint64_t magic, bool why_buf)
{
	char why[128];
	int rc = ferry_shm_validate(g.base, g.len, magic, why_buf ? why : NULL, sizeof(why));
	FUZZ_CHECK(rc == 0 || rc == -EPROTO || rc == -EPROTONOSUPPORT, "validate: %d", rc);
	if (rc) {
		FUZZ_CHECK(!why_buf || (strnlen(why, sizeof(why)) < sizeof(why) && why[0]),
			   "no reason given");
		return rc;
	}
	const struct ferry_shm_hdr *h = (const struct ferry_shm_hdr *)g.base;
	FUZZ_CHECK(g.len >= sizeof(*h) && h->file_size <= g.len && h->ring_count <= 2,
		   "validated a header that does not fit");
	for (uint32_t i = 0; i < h->ring_count; i++) {
		check_in_map(g.base + h->ring[i].ctl_off, sizeof(struct ferry_ring_ctl),
			     "validated control block");
		check_in_map(g.base + h->ring[i].data_off, h->ring[i].capacity, "validated data area");
	}
	return 0;
}

/* The same bytes as a file: ferry_shm_map_fd() agrees with validate. */
static void map_fd(uint64_t magic, int expect)
{
	void *base = NULL;
	uint64_t len = 0;
	char why[128];

	if (g.memfd < 0)
		g.memfd = memfd_create("ferry-fuzz-shm", MFD_CLOEXEC);
	FUZZ_CHECK(g.memfd >= 0, "memfd_create failed");
	FUZZ_CHECK(ftruncate(g.memfd, 0) == 0 && ftruncate(g.memfd, (off_t)g.len) == 0 &&
			   pwrite(g.memfd, g.base, g.len, 0) == (ssize_t)g.len,
		   "cannot fill the memfd");
	int rc = ferry_shm_map_fd(g.memfd, true, magic, &base, &len, why, sizeof(why));
	FUZZ_CHECK(rc == (g.len ? expect : -EPROTO), "map_fd: %d, validate: %d", rc, expect);
	if (rc == 0) {
		FUZZ_CHECK(len == g.len && base, "mapped %llu bytes of %llu", (unsigned long long)len,
			   (unsigned long long)g.len);
		munmap(base, len);
	}
}

/* ---- one input ----------------------------------------------------- */

static void op(struct fuzz_in *in)
{
	uint8_t o = fuzz_u8(in);
	struct side *s = &g.s[(o & OP_RING) ? 1 : 0];
	size_t got;

	switch (o & 7) {
	case OP_PEEK:
		if (s->c_up)
			peek(s);
		break;
	case OP_RELEASE:
		if (s->c_up)
			release(s);
		break;
	case OP_UNREAD:
		if (s->c_up)
			unread(s);
		break;
	case OP_PRODUCE: {
		uint32_t len = fuzz_u16(in);
		uint16_t type = fuzz_u8(in);
		uint8_t shrink = fuzz_u8(in);
		if (s->p_up)
			produce(s, len, type, shrink);
		break;
	}
	case OP_POKE: {
		uint64_t off = g.len ? fuzz_u16(in) % g.len : 0;
		const uint8_t *p = fuzz_bytes(in, fuzz_u8(in) % 33, &got);
		if (got > g.len - off)
			got = (size_t)(g.len - off);
		memcpy(g.base + off, p, got);
		taint(off, off + got);
		break;
	}
	case OP_SPACE: {
		uint32_t len = fuzz_u16(in);
		if (s->p_up)
			space(s, len);
		break;
	}
	case OP_READABLE:
		if (s->c_up)
			FUZZ_CHECK(!ferry_ring_readable(&s->c) || !s->clean || s->next < s->nwant,
				   "readable with nothing written");
		break;
	case OP_DRAIN:
		for (int i = 0; i < DRAIN_MAX && s->c_up && peek(s) > 0; i++)
			;
		if (s->c_up)
			release(s);
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = {data, size};
	uint8_t mode = fuzz_u8(&in);
	uint32_t map_len = fuzz_u32(&in);
	uint64_t magic = (mode & M_SESSION) ? FERRY_SHM_MAGIC_SESSION : FERRY_SHM_MAGIC_CLIENT;
	size_t ops_len;
	static struct expect want[2][EXPECT_MAX];

	g.max_payload = fuzz_u32(&in);
	struct fuzz_in ops = {.p = fuzz_bytes(&in, fuzz_u16(&in), &ops_len)};
	ops.n = ops_len;
	/* in now holds the image */
	g.len = map_len ? (map_len < MAP_MAX ? map_len : MAP_MAX) : in.n;
	if (g.len > MAP_MAX)
		return -1;
	g.base = malloc(g.len ? g.len : 1);
	FUZZ_CHECK(g.base != NULL, "out of memory");
	memset(g.base, 0, g.len);
	memcpy(g.base, in.p, in.n < g.len ? in.n : g.len);
	memset(g.s, 0, sizeof(g.s));
	g.s[0].want = want[0];
	g.s[1].want = want[1];

	int valid = validate(magic, !(mode & M_NO_WHY));
	if (mode & M_MEMFD)
		map_fd(magic, valid);
	/* The descriptor as the attaching side reads it: through the mapped
	 * header when there is one (a peer may rewrite it meanwhile). */
	struct ferry_ring_desc zero[2] = {{0}};
	const struct ferry_ring_desc *d =
		g.len >= sizeof(struct ferry_shm_hdr) ? ((struct ferry_shm_hdr *)g.base)->ring : zero;
	attach(0, &d[0]);
	attach(1, &d[1]);
	taint_shared();
	while (ops.n)
		op(&ops);
	free(g.base);
	return 0;
}

/* ---- seeds ----------------------------------------------------------- */

#define SEED_CAP 4096u

static void put_head(struct fuzz_out *o, uint8_t mode, uint32_t map_len, uint32_t max_payload)
{
	fuzz_put8(o, mode);
	fuzz_put32(o, map_len);
	fuzz_put32(o, max_payload);
}

static void put_ops(struct fuzz_out *o, const struct fuzz_out *ops)
{
	fuzz_put16(o, (uint16_t)ops->n);
	fuzz_put(o, ops->buf, ops->n);
}

static void put_produce(struct fuzz_out *ops, int ring, uint16_t len, uint8_t type)
{
	fuzz_put8(ops, OP_PRODUCE | (ring ? OP_RING : 0));
	fuzz_put16(ops, len);
	fuzz_put8(ops, type);
	fuzz_put8(ops, 0);
}

/* A ring file as ferryd lays it out, with records written by the real
 * producer: commands from the client in ring 0 (read up to a point) and
 * events in ring 1, both past the wrap. */
static size_t ring_file(uint8_t *file, uint64_t magic)
{
	struct ferry_shm_hdr h;
	struct ferry_ring p, c;
	memset(&h, 0, sizeof(h));
	uint64_t size = ferry_shm_layout(&h, 7, SEED_CAP, SEED_CAP);
	memset(file, 0, size);
	memcpy(file, &h, sizeof(h));
	for (int r = 0; r < 2; r++) {
		FUZZ_CHECK(ferry_ring_attach(&p, file, size, &h.ring[r], true, 0) == 0 &&
				   ferry_ring_attach(&c, file, size, &h.ring[r], false, 1u << 20) == 0,
			   "seed ring");
		struct ferry_cmd_service svc = {.service = "echo"};
		struct ferry_cmd_connect con = {.ipv4 = __builtin_bswap32(0x0a630001), .service = "echo"};
		uint8_t msg[700];
		struct ferry_rec_view v;
		for (unsigned i = 0; i < sizeof(msg); i++)
			msg[i] = (uint8_t)i;
		ferry_ring_write(&p, r ? FERRY_EVT_LISTEN : FERRY_CMD_LISTEN, 0, 1, &svc, sizeof(svc));
		ferry_ring_write(&p, r ? FERRY_EVT_UP : FERRY_CMD_CONNECT, 3, 2, &con, sizeof(con));
		for (int i = 0; i < 7; i++) {
			FUZZ_CHECK(ferry_ring_write_flags(&p, FERRY_REC_DATA, i & 1 ? FERRY_RECF_RPC : 0,
							  3, 0, msg, 300 + 50u * i) == 0,
				   "seed write");
			while (ferry_ring_peek(&c, &v) > 0)
				;
			if (i < 6)
				ferry_ring_release(&c);
		}
	}
	ferry_shm_publish((struct ferry_shm_hdr *)file, magic);
	return size;
}

void fuzz_seeds(fuzz_emit_fn *emit)
{
	static struct fuzz_out o, ops;
	static uint8_t file[5 * SEED_CAP];
	size_t size;

	/* ferryd's view of a client file: read the commands, answer with
	 * events, read again after the client wrote more. */
	ops.n = 0;
	fuzz_put8(&ops, OP_DRAIN);
	put_produce(&ops, 1, 40, FERRY_EVT_UP);
	fuzz_put8(&ops, OP_PEEK);
	fuzz_put8(&ops, OP_UNREAD);
	fuzz_put8(&ops, OP_PEEK);
	fuzz_put8(&ops, OP_RELEASE);
	fuzz_put8(&ops, OP_SPACE | OP_RING);
	fuzz_put16(&ops, 1000);
	fuzz_put8(&ops, OP_DRAIN | OP_RING);
	o.n = 0;
	size = ring_file(file, FERRY_SHM_MAGIC_CLIENT);
	put_head(&o, M_MEMFD, 0, 1u << 20);
	put_ops(&o, &ops);
	fuzz_put(&o, file, size);
	emit("client-file", o.buf, o.n);

	/* A local session's file, each side writing and reading in turn
	 * many laps round; the file is given as its header, the rest zero. */
	ops.n = 0;
	for (int i = 0; i < 40; i++) {
		put_produce(&ops, i & 1, (uint16_t)(100 + 37 * i), FERRY_REC_DATA);
		put_produce(&ops, i & 1, 16, FERRY_REC_DATA);
		fuzz_put8(&ops, (uint8_t)(OP_PEEK | (i & 1 ? OP_RING : 0)));
		fuzz_put8(&ops, (uint8_t)(OP_DRAIN | (i & 1 ? OP_RING : 0)));
	}
	fuzz_put8(&ops, OP_READABLE);
	o.n = 0;
	size = ring_file(file, FERRY_SHM_MAGIC_SESSION);
	memset(file + sizeof(struct ferry_shm_hdr), 0, size - sizeof(struct ferry_shm_hdr));
	put_head(&o, M_SESSION, (uint32_t)size, 4096);
	put_ops(&o, &ops);
	fuzz_put(&o, file, sizeof(struct ferry_shm_hdr));
	emit("session-laps", o.buf, o.n);

	/* The peer rewrites a record's length and the consumer's head while
	 * the other side reads and writes. */
	ops.n = 0;
	fuzz_put8(&ops, OP_POKE);
	fuzz_put16(&ops, (uint16_t)(2 * SEED_CAP));
	fuzz_put8(&ops, 4);
	fuzz_put32(&ops, 0xfff0);
	fuzz_put8(&ops, OP_DRAIN);
	fuzz_put8(&ops, OP_POKE | OP_RING);
	fuzz_put16(&ops, (uint16_t)(3 * SEED_CAP + 128));
	fuzz_put8(&ops, 8);
	fuzz_put32(&ops, 0x100000);
	fuzz_put32(&ops, 0);
	put_produce(&ops, 1, 64, FERRY_EVT_DOWN);
	o.n = 0;
	size = ring_file(file, FERRY_SHM_MAGIC_CLIENT);
	put_head(&o, 0, 0, 1u << 20);
	put_ops(&o, &ops);
	fuzz_put(&o, file, size);
	emit("hostile-writes", o.buf, o.n);
}
