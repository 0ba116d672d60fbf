/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * SPSC ring behaviour with an honest producer and consumer: exact bytes of
 * records, pads and terminators, the full-ring arithmetic, the one-lap rule
 * and the producer-waiting handshake. Hostile input is in test_ring_hostile.c.
 *
 * Most tests start just before the wrap point with large free-running
 * positions, so the masking and the pad are on the path of every test
 * rather than of one.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "ring_test_util.h"

#define CAP 4096u
/* A free-running position 48 bytes before a lap boundary, far from 0. */
#define NEAR_WRAP ((1ull << 48) - 48)
#define SESSION 0x11223344u
#define GARBAGE 0xEE

static const uint8_t zeros[CAP];

static void fill(uint8_t *p, uint32_t n, uint32_t seed)
{
	for (uint32_t i = 0; i < n; i++)
		p[i] = (uint8_t)(seed * 31u + i * 7u + 1u);
}

static void check_fill(const uint8_t *p, uint32_t n, uint32_t seed)
{
	for (uint32_t i = 0; i < n; i++)
		if (p[i] != (uint8_t)(seed * 31u + i * 7u + 1u))
			fail_msg("payload of record %u differs at byte %u: %#x", seed, i, p[i]);
}

/* Make the data area look like an old lap: every byte non-zero except the
 * len word at the start position, which a fresh ring has as 0. Then a test
 * can only see a 0 terminator if the producer wrote it. */
static void dirty(struct tu_ring *t, uint64_t start)
{
	memset(t->data, GARBAGE, t->cap);
	atomic_store(&tu_rec_at(t, start & (t->cap - 1))->len, 0);
}

static void init(struct tu_ring *t, uint64_t cap, uint64_t start, uint32_t max_payload)
{
	assert_int_equal(tu_ring_init(t, cap, start, max_payload), 0);
}

static void expect_rec(struct tu_ring *t, uint64_t off, uint32_t len, uint16_t type,
		       uint32_t session, uint32_t aux)
{
	struct ferry_rec *r = tu_rec_at(t, off);
	assert_int_equal(atomic_load(&r->len), len);
	assert_int_equal(r->type, type);
	assert_int_equal(r->flags, 0);
	assert_int_equal(r->session, session);
	assert_int_equal(r->aux, aux);
}

static void expect_view(struct tu_ring *t, const struct ferry_rec_view *v, uint64_t off,
			uint32_t len, uint32_t aux)
{
	assert_int_equal(v->type, FERRY_REC_DATA);
	assert_int_equal(v->flags, 0);
	assert_int_equal(v->session, SESSION);
	assert_int_equal(v->aux, aux);
	assert_int_equal(v->len, len);
	assert_ptr_equal(v->payload, t->data + off + FERRY_REC_HDR);
	check_fill(v->payload, len, aux);
}

static void write_rec(struct tu_ring *t, uint32_t len, uint32_t aux)
{
	uint8_t buf[CAP];
	fill(buf, len, aux);
	assert_int_equal(ferry_ring_write(&t->prod, FERRY_REC_DATA, SESSION, aux, buf, len), 0);
}

static void read_rec(struct tu_ring *t, uint64_t off, uint32_t len, uint32_t aux)
{
	struct ferry_rec_view v = {0};
	assert_int_equal(ferry_ring_peek(&t->cons, &v), 1);
	expect_view(t, &v, off, len, aux);
}

static void test_size_arithmetic(void **state)
{
	(void)state;
	assert_int_equal(ferry_rec_size(0), 16);
	assert_int_equal(ferry_rec_size(1), 32);
	assert_int_equal(ferry_rec_size(16), 32);
	assert_int_equal(ferry_rec_size(17), 48);
	assert_int_equal(ferry_rec_size(100), 128);
	assert_int_equal(ferry_rec_size(2000), 2016);
}

static void test_roundtrip_exact_bytes(void **state)
{
	(void)state;
	struct tu_ring t;
	init(&t, CAP, 0, 1024);
	dirty(&t, 0);

	const char msg[] = "hello, ferry"; /* 12 bytes + NUL */
	assert_int_equal(ferry_ring_write(&t.prod, FERRY_REC_DATA, SESSION, 0xA5A5A5A5u, msg,
					  sizeof(msg)),
			 0);
	/* header, payload, then the terminator at the next 16-byte boundary */
	struct ferry_rec *r = tu_rec_at(&t, 0);
	assert_int_equal(atomic_load(&r->len), 16 + 13);
	assert_int_equal(r->type, FERRY_REC_DATA);
	assert_int_equal(r->flags, 0);
	assert_int_equal(r->session, SESSION);
	assert_int_equal(r->aux, 0xA5A5A5A5u);
	assert_memory_equal(t.data + 16, msg, sizeof(msg));
	assert_int_equal(tu_len_at(&t, 32), 0);
	/* the rest of the data area is untouched by the producer */
	assert_int_equal(t.data[36], GARBAGE);
	assert_int_equal(t.data[CAP - 1], GARBAGE);
	assert_int_equal(atomic_load(&t.ctl->tail), 32);
	assert_int_equal(t.prod.pos, 32);
	assert_int_equal(atomic_load(&t.ctl->head), 0);

	struct ferry_rec_view v = {0};
	assert_int_equal(ferry_ring_peek(&t.cons, &v), 1);
	assert_int_equal(v.type, FERRY_REC_DATA);
	assert_int_equal(v.flags, 0);
	assert_int_equal(v.session, SESSION);
	assert_int_equal(v.aux, 0xA5A5A5A5u);
	assert_int_equal(v.len, 13);
	assert_ptr_equal(v.payload, t.data + 16);
	assert_memory_equal(v.payload, msg, sizeof(msg));
	assert_int_equal(t.cons.pos, 32);
	/* nothing more, and peeking did not release */
	assert_int_equal(ferry_ring_peek(&t.cons, &v), 0);
	assert_int_equal(atomic_load(&t.ctl->head), 0);
	assert_false(ferry_ring_release(&t.cons));
	assert_int_equal(atomic_load(&t.ctl->head), 32);
	/* a second release with nothing read stores nothing */
	assert_false(ferry_ring_release(&t.cons));
	assert_int_equal(atomic_load(&t.ctl->head), 32);

	/* the next record starts at the terminator and moves it */
	write_rec(&t, 20, 2);
	expect_rec(&t, 32, 36, FERRY_REC_DATA, SESSION, 2);
	assert_int_equal(tu_len_at(&t, 80), 0);
	read_rec(&t, 32, 20, 2);
	assert_int_equal(ferry_ring_peek(&t.cons, &v), 0);
	tu_ring_fini(&t);
}

static void test_reserve_commit_exact_bytes(void **state)
{
	(void)state;
	struct tu_ring t;
	init(&t, CAP, NEAR_WRAP - 1024, 1024);
	dirty(&t, NEAR_WRAP - 1024);
	uint64_t off = CAP - 48 - 1024;

	int err = 12345;
	uint8_t *p = ferry_ring_reserve(&t.prod, 100, FERRY_REC_DATA, SESSION, 77, &err);
	assert_non_null(p);
	assert_int_equal(err, 12345); /* untouched on success */
	assert_ptr_equal(p, t.data + off + 16);
	assert_int_equal((uintptr_t)p % 16, 0);
	/* header filled, len still 0; the terminator is written at commit,
	 * when the final length is known */
	expect_rec(&t, off, 0, FERRY_REC_DATA, SESSION, 77);
	assert_int_equal(tu_len_at(&t, off + 128), 0xeeeeeeee);
	assert_int_equal(atomic_load(&t.ctl->tail), NEAR_WRAP - 1024);
	struct ferry_rec_view v = {0};
	assert_int_equal(ferry_ring_peek(&t.cons, &v), 0);
	assert_false(ferry_ring_readable(&t.cons));

	fill(p, 100, 77);
	ferry_ring_commit(&t.prod, p, 100);
	expect_rec(&t, off, 116, FERRY_REC_DATA, SESSION, 77);
	assert_int_equal(tu_len_at(&t, off + 128), 0);
	assert_int_equal(atomic_load(&t.ctl->tail), NEAR_WRAP - 1024 + 128);
	assert_true(ferry_ring_readable(&t.cons));
	assert_int_equal(ferry_ring_peek(&t.cons, &v), 1);
	assert_int_equal(v.session, SESSION);
	assert_int_equal(v.aux, 77);
	assert_int_equal(v.len, 100);
	assert_ptr_equal(v.payload, p);
	check_fill(v.payload, 100, 77);
	assert_false(ferry_ring_readable(&t.cons));
	tu_ring_fini(&t);
}

/* 48 bytes before the end, a 128-byte record must pad: PAD of 48 at the
 * old offset, the record at offset 0. */
static void test_wrap_pad_exact(void **state)
{
	(void)state;
	struct tu_ring t;
	init(&t, CAP, NEAR_WRAP, 1024);
	dirty(&t, NEAR_WRAP);

	write_rec(&t, 100, 9);
	expect_rec(&t, CAP - 48, 48, FERRY_REC_PAD, 0, 0);
	expect_rec(&t, 0, 116, FERRY_REC_DATA, SESSION, 9);
	assert_int_equal(tu_len_at(&t, 128), 0); /* terminator */
	assert_int_equal(t.data[144], GARBAGE);
	assert_int_equal(atomic_load(&t.ctl->tail), NEAR_WRAP + 48 + 128);
	assert_int_equal(t.prod.pos, NEAR_WRAP + 48 + 128);

	/* the consumer skips the pad and finds the record at offset 0 */
	assert_true(ferry_ring_readable(&t.cons));
	read_rec(&t, 0, 100, 9);
	assert_int_equal(t.cons.pos, NEAR_WRAP + 48 + 128);
	struct ferry_rec_view v = {0};
	assert_int_equal(ferry_ring_peek(&t.cons, &v), 0);
	assert_false(ferry_ring_release(&t.cons));
	assert_int_equal(atomic_load(&t.ctl->head), NEAR_WRAP + 48 + 128);

	/* and the ring goes on from there */
	write_rec(&t, 0, 10);
	expect_rec(&t, 128, 16, FERRY_REC_DATA, SESSION, 10);
	assert_int_equal(tu_len_at(&t, 144), 0);
	read_rec(&t, 128, 0, 10);
	tu_ring_fini(&t);
}

/* A record that exactly fills the room to the end needs no pad; its
 * terminator is the len word at offset 0. */
static void test_wrap_exact_fit_no_pad(void **state)
{
	(void)state;
	struct tu_ring t;
	init(&t, CAP, NEAR_WRAP, 1024);
	dirty(&t, NEAR_WRAP);

	write_rec(&t, 32, 1); /* 16 + 32 = 48 = room */
	expect_rec(&t, CAP - 48, 48, FERRY_REC_DATA, SESSION, 1);
	assert_int_equal(tu_len_at(&t, 0), 0);
	assert_int_equal(atomic_load(&t.ctl->tail), NEAR_WRAP + 48);

	read_rec(&t, CAP - 48, 32, 1);
	struct ferry_rec_view v = {0};
	assert_int_equal(ferry_ring_peek(&t.cons, &v), 0);
	write_rec(&t, 5, 2);
	expect_rec(&t, 0, 21, FERRY_REC_DATA, SESSION, 2);
	assert_int_equal(tu_len_at(&t, 32), 0);
	read_rec(&t, 0, 5, 2);
	assert_int_equal(t.cons.pos, NEAR_WRAP + 48 + 32);
	tu_ring_fini(&t);
}

/*
 * Records fit while (used + size + 16 slack) <= capacity, where used counts
 * a pad at the wrap point. Counts worked out by hand for CAP = 4096:
 *   start 0,  payload 0    (16 B):  16k  <= 4080            -> 255
 *   start 0,  payload 1    (32 B):  32k  <= 4080            -> 127
 *   start 0,  payload 100  (128 B): 128k <= 4080            -> 31
 *   start 0,  payload 2000 (2016 B): 2016k <= 4080          -> 2
 *   room 48,  payload 992  (1008 B): 48 + 1008k + 16 <= 4096 -> 4 (exact)
 *   room 64,  payload 992  (1008 B): 64 + 1008k + 16 <= 4096 -> 3
 *   room 1008, payload 1000 (1024 B): 1008 + 1024k + 16 <= 4096 -> 3 (exact)
 */
static void test_full_ring_exact_counts(void **state)
{
	(void)state;
	static const struct {
		uint64_t room; /* bytes from the start position to the lap end */
		uint32_t payload;
		unsigned expect;
		uint64_t used; /* tail - head when full */
	} cases[] = {
		{CAP, 0, 255, 4080},   {CAP, 1, 127, 4064},   {CAP, 100, 31, 3968},
		{CAP, 2000, 2, 4032},  {48, 992, 4, 4080},    {64, 992, 3, 3088},
		{1008, 1000, 3, 4080},
	};
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		struct tu_ring t;
		uint64_t start = (1ull << 40) - cases[c].room;
		init(&t, CAP, start, CAP);
		unsigned n = 0;
		int rc;
		uint8_t buf[CAP];
		memset(buf, 0x5c, sizeof(buf));
		while ((rc = ferry_ring_write(&t.prod, FERRY_REC_DATA, SESSION, n, buf,
					      cases[c].payload)) == 0)
			if (++n > 1000)
				break;
		if (n != cases[c].expect || rc != -EAGAIN)
			fail_msg("case %zu: %u records fit (rc %d), expected %u then -EAGAIN", c, n,
				 rc, cases[c].expect);
		assert_int_equal(atomic_load(&t.ctl->tail) - start, cases[c].used);
		assert_int_equal(t.prod.pos - start, cases[c].used);
		/* the failed write changed nothing */
		assert_int_equal(ferry_ring_write(&t.prod, FERRY_REC_DATA, SESSION, 0, buf,
						  cases[c].payload),
				 -EAGAIN);
		assert_int_equal(t.prod.pos - start, cases[c].used);
		/* a zero-length record still fits when the slack allows it */
		int zrc = ferry_ring_write(&t.prod, FERRY_REC_DATA, SESSION, 0, NULL, 0);
		assert_int_equal(zrc, cases[c].used + 16 + 16 <= CAP ? 0 : -EAGAIN);
		tu_ring_fini(&t);
	}
}

static void test_full_ring_recovery(void **state)
{
	(void)state;
	struct tu_ring t;
	init(&t, CAP, 0, CAP);
	uint32_t aux = 0;
	for (; aux < 31; aux++)
		write_rec(&t, 100, aux);
	assert_int_equal(ferry_ring_write(&t.prod, FERRY_REC_DATA, SESSION, 99, zeros, 100), -EAGAIN);

	/* reading without releasing frees nothing */
	read_rec(&t, 0, 100, 0);
	assert_int_equal(ferry_ring_write(&t.prod, FERRY_REC_DATA, SESSION, 99, zeros, 100), -EAGAIN);
	/* releasing one record makes room for exactly one: it goes in the
	 * last 128 bytes of the lap without a pad */
	assert_false(ferry_ring_release(&t.cons));
	write_rec(&t, 100, aux++);
	expect_rec(&t, 3968, 116, FERRY_REC_DATA, SESSION, 31);
	assert_int_equal(ferry_ring_write(&t.prod, FERRY_REC_DATA, SESSION, 99, zeros, 100), -EAGAIN);
	assert_int_equal(t.prod.pos, 4096);

	/* drain everything, in order, then the producer wraps to offset 0 */
	for (uint32_t i = 1; i < 32; i++)
		read_rec(&t, i * 128, 100, i);
	struct ferry_rec_view v = {0};
	assert_int_equal(ferry_ring_peek(&t.cons, &v), 0);
	assert_false(ferry_ring_release(&t.cons));
	assert_int_equal(atomic_load(&t.ctl->head), 4096);
	for (uint32_t i = 0; i < 31; i++)
		write_rec(&t, 100, 100 + i);
	assert_int_equal(ferry_ring_write(&t.prod, FERRY_REC_DATA, SESSION, 99, zeros, 100), -EAGAIN);
	for (uint32_t i = 0; i < 31; i++)
		read_rec(&t, i * 128, 100, 100 + i);
	assert_int_equal(ferry_ring_peek(&t.cons, &v), 0);
	tu_ring_fini(&t);
}

static void test_zero_length_records(void **state)
{
	(void)state;
	struct tu_ring t;
	init(&t, CAP, NEAR_WRAP, 0);
	dirty(&t, NEAR_WRAP);

	/* four 16-byte records: three fill the 48 bytes before the end
	 * exactly (no pad), the fourth goes at offset 0 */
	assert_int_equal(ferry_ring_write(&t.prod, FERRY_REC_DATA, SESSION, 1, NULL, 0), 0);
	int err;
	void *p = ferry_ring_reserve(&t.prod, 0, FERRY_REC_DATA, SESSION, 2, &err);
	assert_ptr_equal(p, t.data + CAP - 32 + 16);
	ferry_ring_commit(&t.prod, p, 0);
	assert_int_equal(ferry_ring_write(&t.prod, FERRY_REC_DATA, SESSION, 3, NULL, 0), 0);
	assert_int_equal(ferry_ring_write(&t.prod, FERRY_REC_DATA, SESSION, 4, NULL, 0), 0);
	expect_rec(&t, CAP - 48, 16, FERRY_REC_DATA, SESSION, 1);
	expect_rec(&t, CAP - 32, 16, FERRY_REC_DATA, SESSION, 2);
	expect_rec(&t, CAP - 16, 16, FERRY_REC_DATA, SESSION, 3);
	expect_rec(&t, 0, 16, FERRY_REC_DATA, SESSION, 4);
	assert_int_equal(tu_len_at(&t, 16), 0);
	assert_int_equal(atomic_load(&t.ctl->tail), NEAR_WRAP + 64);

	/* a consumer with max_payload 0 accepts them all */
	read_rec(&t, CAP - 48, 0, 1);
	read_rec(&t, CAP - 32, 0, 2);
	read_rec(&t, CAP - 16, 0, 3);
	read_rec(&t, 0, 0, 4);
	struct ferry_rec_view v = {0};
	assert_int_equal(ferry_ring_peek(&t.cons, &v), 0);
	tu_ring_fini(&t);
}

/* The largest payload is cap/2 - 48: a record plus the worst pad plus the
 * slack must fit an empty ring wherever the producer stands. */
static void test_max_length_record(void **state)
{
	(void)state;
	static const uint64_t caps[] = {4096, 65536};
	for (size_t c = 0; c < 2; c++) {
		uint64_t cap = caps[c];
		uint32_t max = (uint32_t)(cap / 2 - 48);
		/* start where the longest record needs the longest pad */
		uint64_t start = (1ull << 40) - (ferry_rec_size(max) - 16);
		struct tu_ring t;
		init(&t, cap, start, max);
		uint8_t *buf = malloc(max + 1);
		assert_non_null(buf);
		fill(buf, max + 1, 5);
		int err = 0;
		assert_null(ferry_ring_reserve(&t.prod, max + 1, FERRY_REC_DATA, SESSION, 5, &err));
		assert_int_equal(err, -EMSGSIZE);
		assert_int_equal(ferry_ring_write(&t.prod, FERRY_REC_DATA, SESSION, 5, buf, max + 1),
				 -EMSGSIZE);
		assert_int_equal(ferry_ring_write(&t.prod, FERRY_REC_DATA, SESSION, 5, buf, UINT32_MAX),
				 -EMSGSIZE);
		assert_int_equal(t.prod.pos, start);
		assert_int_equal(ferry_ring_write(&t.prod, FERRY_REC_DATA, SESSION, 5, buf, max), 0);
		uint64_t pad = ferry_rec_size(max) - 16;
		expect_rec(&t, cap - pad, (uint32_t)pad, FERRY_REC_PAD, 0, 0);
		expect_rec(&t, 0, max + 16, FERRY_REC_DATA, SESSION, 5);
		assert_int_equal(atomic_load(&t.ctl->tail), start + pad + ferry_rec_size(max));
		read_rec(&t, 0, max, 5);
		/* while it is unreleased, nothing else of that size fits */
		assert_int_equal(ferry_ring_write(&t.prod, FERRY_REC_DATA, SESSION, 6, buf, max),
				 -EAGAIN);
		ferry_ring_release(&t.cons);
		fill(buf, max, 6);
		assert_int_equal(ferry_ring_write(&t.prod, FERRY_REC_DATA, SESSION, 6, buf, max), 0);
		read_rec(&t, ferry_rec_size(max), max, 6);
		free(buf);
		tu_ring_fini(&t);
	}
}

static void test_peek_empty(void **state)
{
	(void)state;
	struct tu_ring t;
	init(&t, CAP, NEAR_WRAP, 1024);
	struct ferry_rec_view v = {0};
	memset(&v, 0x77, sizeof(v));
	assert_int_equal(ferry_ring_peek(&t.cons, &v), 0);
	assert_int_equal(v.aux, 0x77777777u); /* not written */
	assert_false(ferry_ring_readable(&t.cons));
	assert_false(ferry_ring_release(&t.cons));
	assert_int_equal(t.cons.pos, NEAR_WRAP);
	assert_int_equal(atomic_load(&t.ctl->head), NEAR_WRAP);
	tu_ring_fini(&t);
}

/*
 * The consumer has read, but not released, everything the producer could
 * write: peek must not wrap onto its own unreleased records, and those must
 * still be intact. The first lap releases 10 records so the unreleased
 * span straddles the lap boundary.
 */
static void test_one_lap_rule(void **state)
{
	(void)state;
	struct tu_ring t;
	init(&t, CAP, 0, CAP);
	struct ferry_rec_view v, held[64];
	uint32_t aux = 0;
	for (; aux < 31; aux++)
		write_rec(&t, 100, aux);
	for (int i = 0; i < 10; i++)
		read_rec(&t, (uint64_t)i * 128, 100, (uint32_t)i);
	ferry_ring_release(&t.cons); /* head = 1280 */
	int nheld = 0;
	for (int i = 10; i < 31; i++)
		assert_int_equal(ferry_ring_peek(&t.cons, &held[nheld++]), 1);

	/* producer fills to head + cap - 16 = 5360: one 128-byte record to
	 * the lap end, then 1264 bytes at the start */
	write_rec(&t, 100, aux++);
	write_rec(&t, 1248, aux++);
	assert_int_equal(t.prod.pos, 1280 + CAP - 16);
	assert_int_equal(ferry_ring_write(&t.prod, FERRY_REC_DATA, SESSION, 0, NULL, 0), -EAGAIN);
	assert_int_equal(tu_len_at(&t, 1264), 0); /* its terminator */
	assert_int_equal(ferry_ring_peek(&t.cons, &held[nheld++]), 1);
	assert_int_equal(ferry_ring_peek(&t.cons, &held[nheld++]), 1);
	assert_int_equal(t.cons.pos, 1280 + CAP - 16);

	/* the next len word is the one before our first unreleased record */
	for (int k = 0; k < 3; k++) {
		assert_int_equal(ferry_ring_peek(&t.cons, &v), 0);
		assert_false(ferry_ring_readable(&t.cons));
	}
	/* even a non-zero word there is beyond one lap of what we released */
	struct ferry_rec *fake = tu_rec_at(&t, 1264);
	fake->type = FERRY_REC_DATA;
	fake->session = SESSION;
	fake->aux = 10;
	atomic_store(&fake->len, 16);
	assert_int_equal(ferry_ring_peek(&t.cons, &v), 0);
	assert_false(ferry_ring_readable(&t.cons));
	atomic_store(&fake->len, 0);

	/* every held view still has its bytes: the producer never wrote
	 * over unreleased space */
	for (int i = 0; i < 21; i++)
		expect_view(&t, &held[i], (uint64_t)(10 + i) * 128, 100, (uint32_t)(10 + i));
	expect_view(&t, &held[21], 3968, 100, 31);
	expect_view(&t, &held[22], 0, 1248, 32);

	/* release: the producer may go on, and the consumer gets new records */
	ferry_ring_release(&t.cons);
	write_rec(&t, 0, 40);
	read_rec(&t, 1264, 0, 40);
	assert_int_equal(ferry_ring_peek(&t.cons, &v), 0);
	tu_ring_fini(&t);
}

/* Same rule when every byte was written in one lap without a release. */
static void test_one_lap_rule_single_lap(void **state)
{
	(void)state;
	struct tu_ring t;
	init(&t, CAP, NEAR_WRAP, 0);
	for (uint32_t i = 0; i < 255; i++)
		assert_int_equal(ferry_ring_write(&t.prod, FERRY_REC_DATA, SESSION, i, NULL, 0), 0);
	assert_int_equal(ferry_ring_write(&t.prod, FERRY_REC_DATA, SESSION, 0, NULL, 0), -EAGAIN);
	struct ferry_rec_view v = {0};
	for (uint32_t i = 0; i < 255; i++) {
		assert_int_equal(ferry_ring_peek(&t.cons, &v), 1);
		assert_int_equal(v.aux, i);
	}
	assert_int_equal(ferry_ring_peek(&t.cons, &v), 0);
	assert_int_equal(ferry_ring_peek(&t.cons, &v), 0);
	assert_int_equal(t.cons.pos, NEAR_WRAP + 4080);
	tu_ring_fini(&t);
}

static void test_ring_free_values(void **state)
{
	(void)state;
	struct tu_ring t;
	init(&t, CAP, NEAR_WRAP, CAP);
	/* empty: capacity less the slack and one header */
	assert_int_equal(ferry_ring_free(&t.prod), CAP - 32);
	write_rec(&t, 100, 1); /* pad 48 + record 128 */
	assert_int_equal(ferry_ring_free(&t.prod), CAP - 176 - 32);
	write_rec(&t, 20, 2); /* record 48 */
	assert_int_equal(ferry_ring_free(&t.prod), CAP - 224 - 32);
	assert_int_equal(ferry_ring_free(&t.prod), 3840);
	assert_int_equal(ferry_ring_write(&t.prod, FERRY_REC_DATA, SESSION, 3, zeros, 1840), 0);
	assert_int_equal(ferry_ring_free(&t.prod), 3840 - 1856);
	/* consumer releases the first two: free grows by 224 */
	read_rec(&t, 0, 100, 1);
	read_rec(&t, 128, 20, 2);
	assert_int_equal(ferry_ring_free(&t.prod), 3840 - 1856);
	ferry_ring_release(&t.cons);
	assert_int_equal(ferry_ring_free(&t.prod), 3840 - 1856 + 224);
	/* impossible heads read as no room at all */
	uint64_t head = atomic_load(&t.ctl->head);
	atomic_store(&t.ctl->head, t.prod.pos + 16);
	assert_int_equal(ferry_ring_free(&t.prod), 0);
	atomic_store(&t.ctl->head, t.prod.pos - CAP - 16);
	assert_int_equal(ferry_ring_free(&t.prod), 0);
	atomic_store(&t.ctl->head, head);
	assert_int_equal(ferry_ring_free(&t.prod), 3840 - 1856 + 224);
	tu_ring_fini(&t);
}

/* release() returns true exactly once after the producer asked to be
 * woken, and never otherwise. */
static void test_wait_space_and_release(void **state)
{
	(void)state;
	struct tu_ring t;
	init(&t, CAP, NEAR_WRAP, CAP);
	/* nobody waiting: release says so */
	write_rec(&t, 100, 0);
	read_rec(&t, 0, 100, 0);
	assert_false(ferry_ring_release(&t.cons));
	assert_int_equal(atomic_load(&t.ctl->producer_waiting), 0);

	/* the ring is empty again: 255 zero-length records fill it */
	uint32_t aux = 1;
	while (ferry_ring_write(&t.prod, FERRY_REC_DATA, SESSION, aux, "", 0) == 0)
		aux++;
	assert_int_equal(aux - 1, 255);
	assert_false(ferry_ring_wait_space(&t.prod, 0));
	assert_int_equal(atomic_load(&t.ctl->producer_waiting), 1);
	/* a consumer that has read but not released cannot help yet */
	struct ferry_rec_view v = {0};
	assert_int_equal(ferry_ring_peek(&t.cons, &v), 1);
	assert_int_equal(ferry_ring_peek(&t.cons, &v), 1);
	assert_int_equal(ferry_ring_peek(&t.cons, &v), 1);
	assert_int_equal(v.aux, 3);
	assert_true(ferry_ring_release(&t.cons)); /* rings the producer */
	assert_int_equal(atomic_load(&t.ctl->producer_waiting), 0);
	assert_int_equal(ferry_ring_peek(&t.cons, &v), 1);
	assert_false(ferry_ring_release(&t.cons)); /* already rung */
	/* 4 x 16 bytes released: a 16-byte record fits again */
	assert_int_equal(ferry_ring_write(&t.prod, FERRY_REC_DATA, SESSION, aux++, "", 0), 0);

	/* a wait with nothing released in between: the flag stays set until a
	 * release that actually moves head */
	while (ferry_ring_write(&t.prod, FERRY_REC_DATA, SESSION, aux, "", 0) == 0)
		aux++;
	assert_false(ferry_ring_wait_space(&t.prod, 0));
	assert_false(ferry_ring_release(&t.cons)); /* nothing read: no store */
	assert_int_equal(atomic_load(&t.ctl->producer_waiting), 1);
	assert_int_equal(ferry_ring_peek(&t.cons, &v), 1);
	assert_true(ferry_ring_release(&t.cons));
	assert_int_equal(atomic_load(&t.ctl->producer_waiting), 0);
	tu_ring_fini(&t);
}

/*
 * ferry_ring_wait_space() documents "@return true if there is now room,
 * false if the consumer will ring our bell". So after a true the consumer
 * must not ring: the producer is not waiting.
 */
static void test_wait_space_true_leaves_nothing_to_ring(void **state)
{
	(void)state;
	struct tu_ring t;
	init(&t, CAP, 0, CAP);
	assert_true(ferry_ring_wait_space(&t.prod, 100));
	write_rec(&t, 100, 1);
	read_rec(&t, 0, 100, 1);
	assert_int_equal(atomic_load(&t.ctl->producer_waiting), 0);
	assert_false(ferry_ring_release(&t.cons));
	tu_ring_fini(&t);
}

/*
 * ferry_ring_wait_space(len) answers "is there now room for len bytes"; its
 * answer must agree with ferry_ring_reserve() on the same state. A false
 * where reserve would succeed is a needless sleep; a true where reserve
 * fails is worse: callers retry at once (client-lib send_fail() returns 1,
 * ferry_send() loops), so a producer spins inside a non-blocking send until
 * the consumer happens to release.
 * Checked for every used byte count, payloads 0..512, and six distances
 * from the producer to the lap end (the pad case included).
 */
static void test_wait_space_agrees_with_reserve(void **state)
{
	(void)state;
	static const uint64_t rooms[] = {CAP, 16, 48, 208, 1024, 2048};
	struct tu_ring t;
	init(&t, CAP, 0, CAP);
	unsigned false_but_fits = 0, true_but_full = 0;
	char ex1[160] = "", ex2[160] = "";
	for (size_t ri = 0; ri < sizeof(rooms) / sizeof(rooms[0]); ri++) {
		uint64_t pos = 4 * (uint64_t)CAP - rooms[ri];
		for (uint64_t used = 0; used <= CAP - 16; used += 16) {
			for (uint32_t len = 0; len <= 512; len += 16) {
				atomic_store(&t.ctl->head, pos - used);
				atomic_store(&t.ctl->producer_waiting, 0);
				t.prod.pos = pos;
				t.prod.limit = pos; /* force a head load */
				bool ws = ferry_ring_wait_space(&t.prod, len);
				t.prod.pos = pos;
				t.prod.limit = pos;
				int err = 0;
				bool fits = ferry_ring_reserve(&t.prod, len, FERRY_REC_DATA, 0, 0,
							       &err) != NULL;
				if (!fits)
					assert_int_equal(err, -EAGAIN);
				if (ws == fits)
					continue;
				char *ex = ws ? ex2 : ex1;
				if (!ex[0])
					snprintf(ex, 160, "room to lap end %llu, used %llu, len %u",
						 (unsigned long long)rooms[ri],
						 (unsigned long long)used, len);
				if (ws)
					true_but_full++;
				else
					false_but_fits++;
			}
		}
	}
	tu_ring_fini(&t);
	if (false_but_fits || true_but_full)
		fail_msg("wait_space disagrees with reserve: %u states say no room but reserve "
			 "succeeds (e.g. %s); %u say room but reserve fails with -EAGAIN (e.g. %s)",
			 false_but_fits, ex1, true_but_full, ex2);
}

/*
 * ferry_ring_commit() takes "the final payload length (<= the reserved
 * length)". A shorter commit moves the next record's position back, onto
 * bytes the producer never terminated: here the producer's own payload.
 * The consumer must see the record and then nothing (0), not garbage.
 */
static void test_commit_shorter_than_reserved(void **state)
{
	(void)state;
	struct tu_ring t;
	init(&t, CAP, 0, CAP);
	int err;
	uint8_t *p = ferry_ring_reserve(&t.prod, 100, FERRY_REC_DATA, SESSION, 1, &err);
	assert_non_null(p);
	memset(p, 0xAB, 100);
	ferry_ring_commit(&t.prod, p, 20);
	assert_int_equal(t.prod.pos, 48);
	struct ferry_rec_view v = {0};
	assert_int_equal(ferry_ring_peek(&t.cons, &v), 1);
	assert_int_equal(v.len, 20);
	/* the len word at 48 is payload bytes 32..35 of the reservation */
	int rc = ferry_ring_peek(&t.cons, &v);
	if (rc != 0)
		fail_msg("peek after a short commit returned %d; the len word at the new "
			 "position is %#x, not a terminator",
			 rc, tu_len_at(&t, 48));
	tu_ring_fini(&t);
}

/* The same, with the stale bytes coming from the previous lap: the
 * consumer would replay an old record. */
static void test_commit_shorter_replays_old_lap(void **state)
{
	(void)state;
	struct tu_ring t;
	init(&t, CAP, 0, 0);
	struct ferry_rec_view v = {0};
	/* lap 1: 256 zero-length records, all consumed */
	for (uint32_t i = 0; i < 256; i++) {
		assert_int_equal(ferry_ring_write(&t.prod, FERRY_REC_DATA, SESSION, 1000 + i, NULL, 0),
				 0);
		assert_int_equal(ferry_ring_peek(&t.cons, &v), 1);
		ferry_ring_release(&t.cons);
	}
	assert_int_equal(t.prod.pos, CAP);
	/* lap 2: reserve 100 bytes at offset 0, commit none of them */
	int err;
	void *p = ferry_ring_reserve(&t.prod, 100, FERRY_REC_DATA, SESSION, 1, &err);
	assert_non_null(p);
	ferry_ring_commit(&t.prod, p, 0);
	assert_int_equal(ferry_ring_peek(&t.cons, &v), 1);
	assert_int_equal(v.aux, 1);
	/* offset 16 still holds lap 1's record 1001 */
	int rc = ferry_ring_peek(&t.cons, &v);
	if (rc != 0)
		fail_msg("peek after a short commit returned %d (aux %u): a record of the "
			 "previous lap was delivered again",
			 rc, rc == 1 ? v.aux : 0);
	tu_ring_fini(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_size_arithmetic),
		cmocka_unit_test(test_roundtrip_exact_bytes),
		cmocka_unit_test(test_reserve_commit_exact_bytes),
		cmocka_unit_test(test_wrap_pad_exact),
		cmocka_unit_test(test_wrap_exact_fit_no_pad),
		cmocka_unit_test(test_full_ring_exact_counts),
		cmocka_unit_test(test_full_ring_recovery),
		cmocka_unit_test(test_zero_length_records),
		cmocka_unit_test(test_max_length_record),
		cmocka_unit_test(test_peek_empty),
		cmocka_unit_test(test_one_lap_rule),
		cmocka_unit_test(test_one_lap_rule_single_lap),
		cmocka_unit_test(test_ring_free_values),
		cmocka_unit_test(test_wait_space_and_release),
		cmocka_unit_test(test_wait_space_true_leaves_nothing_to_ring),
		cmocka_unit_test(test_wait_space_agrees_with_reserve),
		cmocka_unit_test(test_commit_shorter_than_reserved),
		cmocka_unit_test(test_commit_shorter_replays_old_lap),
	};
	return cmocka_run_group_tests_name("ring", tests, NULL, NULL);
}
