/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Hostile values in shared memory: records, positions, file headers and
 * ring descriptors a corrupt or malicious peer could write. Each must be
 * rejected with the documented error and without touching memory outside
 * the ring. Operations that could fault run in a child process (see
 * tu_child_call()), and the ring's data area ends at a PROT_NONE page, so a
 * stray access fails one test instead of the program. Run under ASan too.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/mman.h>

#include <cmocka.h>

#include "ring_test_util.h"

#define CAP 4096u

static void init(struct tu_ring *t, uint64_t start, uint32_t max_payload)
{
	assert_int_equal(tu_ring_init(t, CAP, start, max_payload), 0);
}

/* What a hostile producer writes: a header with any len and type. */
static void put_raw(struct tu_ring *t, uint64_t off, uint32_t len, uint16_t type)
{
	struct ferry_rec *r = tu_rec_at(t, off);
	r->type = type;
	r->flags = 0;
	r->session = 0;
	r->aux = 0;
	atomic_store(&r->len, len);
}

static int peek_once(struct tu_ring *t)
{
	struct ferry_rec_view v;
	return ferry_ring_peek(&t->cons, &v);
}

/* ---- records ------------------------------------------------------------ */

static void test_len_below_header(void **state)
{
	(void)state;
	static const uint32_t lens[] = {1, 4, 8, 15};
	for (size_t i = 0; i < 4; i++) {
		struct tu_ring t;
		init(&t, 1ull << 40, CAP);
		put_raw(&t, 0, lens[i], FERRY_REC_DATA);
		assert_int_equal(peek_once(&t), -EBADMSG);
		/* as a pad too */
		put_raw(&t, 0, lens[i], FERRY_REC_PAD);
		assert_int_equal(peek_once(&t), -EBADMSG);
		tu_ring_fini(&t);
	}
}

static void test_len_past_end(void **state)
{
	(void)state;
	struct tu_ring t;
	/* consumer at 96 bytes before the end of the lap */
	init(&t, (1ull << 40) - 96, CAP);
	put_raw(&t, CAP - 96, 97, FERRY_REC_DATA);
	assert_int_equal(peek_once(&t), -EBADMSG);
	put_raw(&t, CAP - 96, 0xffffffffu, FERRY_REC_DATA);
	assert_int_equal(peek_once(&t), -EBADMSG);
	/* 96 exactly is a record that ends at the lap end: accepted */
	put_raw(&t, CAP - 96, 96, FERRY_REC_DATA);
	assert_int_equal(peek_once(&t), 1);
	tu_ring_fini(&t);
}

/* A record must end within head + cap - 16: beyond lies space the
 * consumer has not released, or the producer's slack. */
static void test_len_beyond_one_lap(void **state)
{
	(void)state;
	struct tu_ring t;
	/* from an empty ring: 4080 is the largest record */
	init(&t, 1ull << 40, CAP);
	put_raw(&t, 0, CAP - 15, FERRY_REC_DATA);
	assert_int_equal(peek_once(&t), -EBADMSG);
	put_raw(&t, 0, CAP, FERRY_REC_DATA);
	assert_int_equal(peek_once(&t), -EBADMSG);
	put_raw(&t, 0, CAP - 16, FERRY_REC_DATA);
	assert_int_equal(peek_once(&t), 1);
	tu_ring_fini(&t);

	/* behind two unreleased records of 1504 bytes: 1072 fits, 1088 not */
	uint8_t buf[1488];
	memset(buf, 1, sizeof(buf));
	for (uint32_t len = 1072; len <= 1088; len += 16) {
		init(&t, 0, CAP);
		assert_int_equal(ferry_ring_write(&t.prod, FERRY_REC_DATA, 0, 0, buf, 1488), 0);
		assert_int_equal(ferry_ring_write(&t.prod, FERRY_REC_DATA, 0, 0, buf, 1488), 0);
		assert_int_equal(peek_once(&t), 1);
		assert_int_equal(peek_once(&t), 1);
		put_raw(&t, 3008, len, FERRY_REC_DATA);
		assert_int_equal(peek_once(&t), len == 1072 ? 1 : -EBADMSG);
		tu_ring_fini(&t);
	}
}

static void test_pad_not_to_end(void **state)
{
	(void)state;
	struct tu_ring t;
	init(&t, (1ull << 40) - 96, CAP);
	put_raw(&t, CAP - 96, 80, FERRY_REC_PAD);
	assert_int_equal(peek_once(&t), -EBADMSG);
	put_raw(&t, CAP - 96, 112, FERRY_REC_PAD);
	assert_int_equal(peek_once(&t), -EBADMSG);
	/* the honest pad, followed by nothing yet */
	put_raw(&t, CAP - 96, 96, FERRY_REC_PAD);
	assert_int_equal(peek_once(&t), 0);
	assert_int_equal(t.cons.pos, 1ull << 40);
	tu_ring_fini(&t);
}

static void test_pad_at_offset_zero(void **state)
{
	(void)state;
	struct tu_ring t;
	init(&t, 1ull << 40, CAP);
	put_raw(&t, 0, CAP, FERRY_REC_PAD); /* "fills to the end" */
	assert_int_equal(peek_once(&t), -EBADMSG);
	tu_ring_fini(&t);

	/* a pad, then a second pad at offset 0: two hops, then refused */
	init(&t, (1ull << 40) - 64, CAP);
	put_raw(&t, CAP - 64, 64, FERRY_REC_PAD);
	put_raw(&t, 0, CAP, FERRY_REC_PAD);
	assert_int_equal(peek_once(&t), -EBADMSG);
	tu_ring_fini(&t);
}

/*
 * A pad that runs past head + cap - 16 is as impossible as a record that
 * does (ferry_ring.h: records are checked for "room within one lap of what
 * it released"). The consumer holds four unreleased records; a pad at its
 * position that runs to the lap end would cover space beyond its lap.
 */
static void test_pad_beyond_one_lap(void **state)
{
	(void)state;
	struct tu_ring t;
	init(&t, 1024, CAP);
	uint8_t buf[1008];
	memset(buf, 2, sizeof(buf));
	for (int i = 0; i < 3; i++) /* [1024, 4096) */
		assert_int_equal(ferry_ring_write(&t.prod, FERRY_REC_DATA, 0, 0, buf, 1008), 0);
	assert_int_equal(ferry_ring_write(&t.prod, FERRY_REC_DATA, 0, 0, buf, 496), 0);
	for (int i = 0; i < 4; i++)
		assert_int_equal(peek_once(&t), 1);
	assert_int_equal(t.cons.pos, 4608);
	/* released: 1024; a pad from 4608 to 8192 ends 3072 bytes past
	 * 1024 + 4096 - 16 */
	put_raw(&t, 512, CAP - 512, FERRY_REC_PAD);
	int rc = peek_once(&t);
	if (rc != -EBADMSG)
		fail_msg("a pad past one lap returned %d (consumer position now %llu, released "
			 "%llu), expected -EBADMSG",
			 rc, (unsigned long long)t.cons.pos, (unsigned long long)t.cons.limit);
	tu_ring_fini(&t);
}

static void test_payload_over_max(void **state)
{
	(void)state;
	struct tu_ring t;
	init(&t, 0, 1000);
	uint8_t buf[1001];
	memset(buf, 3, sizeof(buf));
	assert_int_equal(ferry_ring_write(&t.prod, FERRY_REC_DATA, 0, 0, buf, 1000), 0);
	assert_int_equal(ferry_ring_write(&t.prod, FERRY_REC_DATA, 0, 0, buf, 1001), 0);
	struct ferry_rec_view v;
	assert_int_equal(ferry_ring_peek(&t.cons, &v), 1);
	assert_int_equal(v.len, 1000);
	assert_int_equal(ferry_ring_peek(&t.cons, &v), -EBADMSG);
	/* any type, not only DATA */
	put_raw(&t, 1024, 16 + 1001, FERRY_CMD_LISTEN);
	assert_int_equal(ferry_ring_peek(&t.cons, &v), -EBADMSG);
	tu_ring_fini(&t);
}

/* ---- positions ---------------------------------------------------------- */

static void expect_head_rejected(uint64_t tail, uint64_t head, int expect)
{
	struct tu_ring t;
	init(&t, tail, CAP);
	atomic_store(&t.ctl->head, head);
	int err = 0;
	void *p = ferry_ring_reserve(&t.prod, 0, FERRY_REC_DATA, 0, 0, &err);
	if (expect == 0) {
		assert_non_null(p);
	} else {
		assert_null(p);
		assert_int_equal(err, expect);
		assert_int_equal(ferry_ring_write(&t.prod, FERRY_REC_DATA, 0, 0, NULL, 0), expect);
		assert_int_equal(ferry_ring_free(&t.prod), 0);
		assert_int_equal(t.prod.pos, tail);
		assert_int_equal(atomic_load(&t.ctl->tail), tail);
	}
	tu_ring_fini(&t);
}

static void test_head_beyond_tail(void **state)
{
	(void)state;
	uint64_t tail = (1ull << 40) + 512;
	expect_head_rejected(tail, tail + 16, -EBADMSG);
	expect_head_rejected(tail, tail + CAP, -EBADMSG);
	expect_head_rejected(tail, UINT64_MAX, -EBADMSG);
	expect_head_rejected(tail, tail, 0);
}

static void test_head_more_than_lap_behind(void **state)
{
	(void)state;
	uint64_t tail = (1ull << 40) + 512;
	expect_head_rejected(tail, tail - CAP - 16, -EBADMSG);
	expect_head_rejected(tail, 0, -EBADMSG);
	/* exactly one lap behind is a full ring, not corruption */
	expect_head_rejected(tail, tail - CAP, -EAGAIN);
	expect_head_rejected(tail, tail - CAP + 32, 0);
}

/* A peer can start the positions anywhere, so they may pass 2^64: a
 * producer just below it still checks the head before a record that
 * crosses it, and honest traffic crosses it with every byte intact. */
static void test_positions_across_2_64(void **state)
{
	(void)state;
	struct tu_ring t;
	uint8_t buf[300];
	const uint64_t start = 0 - 256ull;
	int err = 0;

	init(&t, start, CAP);
	atomic_store(&t.ctl->head, 0); /* far from the tail: impossible */
	assert_null(ferry_ring_reserve(&t.prod, 300, FERRY_REC_DATA, 0, 0, &err));
	assert_int_equal(err, -EBADMSG);
	assert_int_equal(t.prod.pos, start);
	tu_ring_fini(&t);

	init(&t, start, CAP);
	for (unsigned i = 0; i < 64; i++) {
		struct ferry_rec_view v;
		memset(buf, (int)i, sizeof(buf));
		assert_int_equal(ferry_ring_write(&t.prod, FERRY_REC_DATA, 0, i, buf, sizeof(buf)), 0);
		assert_int_equal(ferry_ring_write(&t.prod, FERRY_REC_DATA, 0, i, buf, 7), 0);
		assert_int_equal(ferry_ring_peek(&t.cons, &v), 1);
		assert_int_equal(v.len, sizeof(buf));
		assert_memory_equal(v.payload, buf, sizeof(buf));
		assert_int_equal(ferry_ring_peek(&t.cons, &v), 1);
		assert_int_equal(v.aux, i);
		ferry_ring_release(&t.cons);
	}
	assert_true(t.prod.pos < start); /* it did wrap */
	tu_ring_fini(&t);
}

/* A head that moves backwards after the producer cached a limit is caught
 * when the producer next loads it. */
static void test_head_corrupted_later(void **state)
{
	(void)state;
	struct tu_ring t;
	init(&t, 0, CAP);
	for (int i = 0; i < 255; i++)
		assert_int_equal(ferry_ring_write(&t.prod, FERRY_REC_DATA, 0, 0, NULL, 0), 0);
	atomic_store(&t.ctl->head, 8192);
	assert_int_equal(ferry_ring_write(&t.prod, FERRY_REC_DATA, 0, 0, NULL, 0), -EBADMSG);
	tu_ring_fini(&t);
}

struct misaligned_arg {
	struct tu_ring *t;
	uint64_t pos;
	bool producer;
};

#define REJECTED_AT_ATTACH 1000

/* In the child: attach to a ring whose stored position is misaligned, then
 * use it once. Returns REJECTED_AT_ATTACH, or the result of the use. */
static int misaligned_use(void *p)
{
	struct misaligned_arg *a = p;
	struct ferry_ring r;
	if (a->producer)
		atomic_store(&a->t->ctl->tail, a->pos);
	else
		atomic_store(&a->t->ctl->head, a->pos);
	if (ferry_ring_attach(&r, a->t->base, a->t->size, &a->t->hdr->ring[1], a->producer, CAP) <
	    0)
		return REJECTED_AT_ATTACH;
	if (a->producer) {
		atomic_store(&a->t->ctl->head, a->pos);
		return ferry_ring_write(&r, FERRY_REC_DATA, 0, 0, NULL, 0);
	}
	/* a hostile producer put a non-zero len word where the consumer
	 * will look */
	memset(a->t->data + (a->pos & (CAP - 1)), 0x10, CAP - (a->pos & (CAP - 1)));
	struct ferry_rec_view v;
	(void)ferry_ring_readable(&r);
	return ferry_ring_peek(&r, &v);
}

/*
 * Positions in the control block are written by the other side before we
 * attach (a session file is mapped read-write by both peers). A position
 * that is not a multiple of 16 puts a record header across the end of the
 * data area: the producer's pad header, or the consumer's len/type loads.
 * Expected: attach refuses (-EPROTO) or the first use reports -EBADMSG; in
 * no case an access past the data area. The first two cases are the
 * aligned controls: the same setup 16 bytes before the lap end works (the
 * consumer's garbage len is refused).
 */
static void test_misaligned_positions(void **state)
{
	(void)state;
	static const struct {
		bool producer;
		uint64_t pos;
		int ok; /* the one result accepted besides REJECTED_AT_ATTACH */
	} cases[] = {
		{true, 2 * CAP - 16, 0},         {false, 2 * CAP - 16, -EBADMSG},
		{true, 2 * CAP - 8, -EBADMSG},   {true, 2 * CAP - 4, -EBADMSG},
		{false, 2 * CAP - 4, -EBADMSG},  {false, 2 * CAP - 2, -EBADMSG},
	};
	char fails[512] = "";
	size_t used = 0;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct tu_ring t;
		init(&t, 0, CAP);
		struct misaligned_arg a = {&t, cases[i].pos, cases[i].producer};
		int rc = 0;
		char why[128];
		const char *who = cases[i].producer ? "producer tail" : "consumer head";
		if (tu_child_call(misaligned_use, &a, &rc, why, sizeof(why)) < 0)
			used += (size_t)snprintf(fails + used, sizeof(fails) - used,
						 "[%s at lap end - %llu: %s] ", who,
						 (unsigned long long)(2 * CAP - cases[i].pos), why);
		else if (rc != cases[i].ok && (i < 2 || rc != REJECTED_AT_ATTACH))
			used += (size_t)snprintf(fails + used, sizeof(fails) - used,
						 "[%s at lap end - %llu: rc %d] ", who,
						 (unsigned long long)(2 * CAP - cases[i].pos), rc);
		tu_ring_fini(&t);
	}
	if (used)
		fail_msg("misaligned positions not rejected: %s", fails);
}

/* ---- file header: ferry_shm_validate() ---------------------------------- */

struct file {
	uint8_t *base;
	uint64_t len;
	struct ferry_shm_hdr *h;
};

static void file_init(struct file *f)
{
	struct ferry_shm_hdr h;
	memset(&h, 0, sizeof(h));
	f->len = ferry_shm_layout(&h, 3, 4096, 8192);
	assert_int_equal(f->len, 4096 + 4096 + 4096 + 4096 + 8192);
	f->base = calloc(1, f->len);
	assert_non_null(f->base);
	f->h = (struct ferry_shm_hdr *)f->base;
	memcpy(f->h, &h, sizeof(h));
	ferry_shm_publish(f->h, FERRY_SHM_MAGIC_CLIENT);
}

static int validate(struct file *f)
{
	char why[160] = "";
	int rc = ferry_shm_validate(f->base, f->len, FERRY_SHM_MAGIC_CLIENT, why, sizeof(why));
	/* every refusal says why; success leaves it alone */
	if (rc == 0)
		assert_string_equal(why, "");
	else
		assert_true(strlen(why) > 0);
	/* and the same answer without a buffer */
	assert_int_equal(ferry_shm_validate(f->base, f->len, FERRY_SHM_MAGIC_CLIENT, NULL, 0), rc);
	return rc;
}

static void test_layout_values(void **state)
{
	(void)state;
	struct file f;
	file_init(&f);
	assert_int_equal(f.h->version_major, FERRY_SHM_VERSION_MAJOR);
	assert_int_equal(f.h->hdr_size, 128);
	assert_int_equal(f.h->ring_count, 2);
	assert_int_equal(f.h->id, 3);
	assert_int_equal(f.h->file_size, f.len);
	assert_int_equal(f.h->ring[0].ctl_off, 4096);
	assert_int_equal(f.h->ring[0].data_off, 8192);
	assert_int_equal(f.h->ring[0].capacity, 4096);
	assert_int_equal(f.h->ring[1].ctl_off, 12288);
	assert_int_equal(f.h->ring[1].data_off, 16384);
	assert_int_equal(f.h->ring[1].capacity, 8192);
	assert_int_equal(validate(&f), 0);
	free(f.base);
}

static void test_validate_header(void **state)
{
	(void)state;
	struct file f;
	file_init(&f);

	assert_int_equal(ferry_shm_validate(f.base, 127, FERRY_SHM_MAGIC_CLIENT, NULL, 0), -EPROTO);
	assert_int_equal(ferry_shm_validate(f.base, 0, FERRY_SHM_MAGIC_CLIENT, NULL, 0), -EPROTO);
	/* magic: another kind of file, unpublished, garbage */
	assert_int_equal(ferry_shm_validate(f.base, f.len, FERRY_SHM_MAGIC_SESSION, NULL, 0),
			 -EPROTO);
	ferry_shm_publish(f.h, 0);
	assert_int_equal(validate(&f), -EPROTO);
	ferry_shm_publish(f.h, FERRY_SHM_MAGIC_CLIENT ^ 1);
	assert_int_equal(validate(&f), -EPROTO);
	ferry_shm_publish(f.h, FERRY_SHM_MAGIC_CLIENT);
	assert_int_equal(validate(&f), 0);

	/* versions: another major is refused, another minor is fine */
	f.h->version_major = FERRY_SHM_VERSION_MAJOR + 1;
	assert_int_equal(validate(&f), -EPROTONOSUPPORT);
	f.h->version_major = 0;
	assert_int_equal(validate(&f), -EPROTONOSUPPORT);
	f.h->version_major = 0xffff;
	assert_int_equal(validate(&f), -EPROTONOSUPPORT);
	f.h->version_major = FERRY_SHM_VERSION_MAJOR;
	f.h->version_minor = FERRY_SHM_VERSION_MINOR + 7;
	assert_int_equal(validate(&f), 0);

	/* sizes */
	f.h->file_size = f.len + 1;
	assert_int_equal(validate(&f), -EPROTO);
	f.h->file_size = UINT64_MAX;
	assert_int_equal(validate(&f), -EPROTO);
	f.h->file_size = f.len;
	assert_int_equal(validate(&f), 0);
	f.h->hdr_size = 127;
	assert_int_equal(validate(&f), -EPROTO);
	f.h->hdr_size = 0;
	assert_int_equal(validate(&f), -EPROTO);
	f.h->hdr_size = 128;
	f.h->ring_count = 3;
	assert_int_equal(validate(&f), -EPROTO);
	f.h->ring_count = UINT32_MAX;
	assert_int_equal(validate(&f), -EPROTO);
	f.h->ring_count = 2;
	assert_int_equal(validate(&f), 0);
	free(f.base);
}

static void test_validate_ring_descriptors(void **state)
{
	(void)state;
	static const struct {
		const char *what;
		int field; /* 0 ctl_off, 1 data_off, 2 capacity, 3 data_off =
			    * file end - capacity + value */
		uint64_t value;
	} bad[] = {
		{"capacity not a power of two", 2, 3 * 4096},
		{"capacity below 4096", 2, 2048},
		{"capacity 0", 2, 0},
		{"capacity 2^63", 2, 1ull << 63},
		{"capacity past the mapping", 2, 32768},
		{"ctl misaligned", 0, 12288 + 8},
		{"ctl inside the header", 0, 64},
		{"ctl at 0", 0, 0},
		{"ctl past the mapping", 0, 24576},
		{"ctl block crossing the end", 0, 24576 - 256},
		{"ctl huge", 0, UINT64_MAX - 63},
		{"data misaligned", 1, 16384 + 16},
		{"data crossing the end", 3, 64},
		{"data past the end", 1, 24576 + 4096},
		{"data huge", 1, UINT64_MAX - 63},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		for (int ring = 0; ring < 2; ring++) {
			struct file f;
			file_init(&f);
			struct ferry_ring_desc *d = &f.h->ring[ring];
			if (bad[i].field == 0)
				d->ctl_off = bad[i].value;
			else if (bad[i].field == 1)
				d->data_off = bad[i].value;
			else if (bad[i].field == 2)
				d->capacity = bad[i].value;
			else
				d->data_off = f.len - d->capacity + bad[i].value;
			if (validate(&f) != -EPROTO)
				fail_msg("ring %d, %s: accepted", ring, bad[i].what);
			/* the status file has no rings: descriptors are not looked at */
			f.h->ring_count = 0;
			assert_int_equal(validate(&f), 0);
			free(f.base);
		}
	}
}

/* ---- ferry_ring_attach() ------------------------------------------------ */

static void test_attach_bad_descriptors(void **state)
{
	(void)state;
	uint64_t len = 24576;
	uint8_t *base = calloc(1, len);
	assert_non_null(base);
	struct ferry_ring r;
	struct ferry_ring_desc good = {12288, 16384, 8192};
	assert_int_equal(ferry_ring_attach(&r, base, len, &good, true, 0), 0);
	assert_ptr_equal(r.ctl, base + 12288);
	assert_ptr_equal(r.data, base + 16384);
	assert_int_equal(r.cap, 8192);
	assert_int_equal(r.mask, 8191);

	static const struct ferry_ring_desc bad[] = {
		{12288, 16384, 8192 + 4096}, /* not a power of two */
		{12288, 16384, 2048},        /* too small */
		{12288, 16384, 0},
		{12288, 16384, 16384}, /* data past the end */
		{12288, 16384 + 64, 8192},
		{12288, UINT64_MAX - 63, 8192},
		{12288, 16384, 1ull << 63},
		{12288 + 32, 16384, 8192}, /* misaligned */
		{12288, 16384 + 32, 8192},
		{24576 - 256, 16384, 8192}, /* ctl crossing the end */
		{24576, 16384, 8192},
		{UINT64_MAX - 63, 16384, 8192},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		for (int producer = 0; producer < 2; producer++) {
			memset(&r, 0x5a, sizeof(r));
			if (ferry_ring_attach(&r, base, len, &bad[i], producer, 0) != -EPROTO)
				fail_msg("descriptor %zu (%llu, %llu, %llu) accepted", i,
					 (unsigned long long)bad[i].ctl_off,
					 (unsigned long long)bad[i].data_off,
					 (unsigned long long)bad[i].capacity);
		}
	}
	/* a mapping smaller than a control block */
	struct ferry_ring_desc tiny = {0, 0, 4096};
	assert_int_equal(ferry_ring_attach(&r, base, 200, &tiny, true, 0), -EPROTO);
	free(base);
}

/* ---- ferry_shm_map_fd() ------------------------------------------------- */

static int make_memfd(const char *name, uint64_t size)
{
	int fd = memfd_create(name, MFD_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)size), 0);
	return fd;
}

/* A ring file in a memfd, with @p edit applied to its header. */
static int make_ring_memfd(const char *name, void (*edit)(struct ferry_shm_hdr *))
{
	struct ferry_shm_hdr h;
	memset(&h, 0, sizeof(h));
	uint64_t size = ferry_shm_layout(&h, 1, 4096, 4096);
	int fd = make_memfd(name, size);
	if (edit)
		edit(&h);
	assert_int_equal(pwrite(fd, &h, sizeof(h), 0), (ssize_t)sizeof(h));
	return fd;
}

static void edit_magic_session(struct ferry_shm_hdr *h)
{
	atomic_store(&h->magic, FERRY_SHM_MAGIC_SESSION);
}

static void edit_major(struct ferry_shm_hdr *h)
{
	edit_magic_session(h);
	h->version_major = FERRY_SHM_VERSION_MAJOR + 1;
}

static void edit_file_size(struct ferry_shm_hdr *h)
{
	edit_magic_session(h);
	h->file_size += 4096;
}

static void edit_bad_ring(struct ferry_shm_hdr *h)
{
	edit_magic_session(h);
	h->ring[1].capacity = 8192;
}

static void expect_map_fails(int fd, const char *name, int expect)
{
	assert_int_equal(tu_count_maps_named(name), 0);
	void *base = (void *)1;
	uint64_t len = 12345;
	char why[160] = "";
	int rc = ferry_shm_map_fd(fd, true, FERRY_SHM_MAGIC_SESSION, &base, &len, why, sizeof(why));
	assert_int_equal(rc, expect);
	assert_true(strlen(why) > 0);
	/* outputs untouched, nothing left mapped */
	assert_ptr_equal(base, (void *)1);
	assert_int_equal(len, 12345);
	assert_int_equal(tu_count_maps_named(name), 0);
	/* and with no reason buffer */
	assert_int_equal(ferry_shm_map_fd(fd, false, FERRY_SHM_MAGIC_SESSION, &base, &len, NULL, 0),
			 expect);
	assert_int_equal(tu_count_maps_named(name), 0);
}

static void test_map_fd(void **state)
{
	(void)state;
	char name[64];

	snprintf(name, sizeof(name), "ferry-test-empty-%d", (int)getpid());
	int fd = make_memfd(name, 0);
	expect_map_fails(fd, name, -EPROTO);
	close(fd);

	snprintf(name, sizeof(name), "ferry-test-nomagic-%d", (int)getpid());
	fd = make_ring_memfd(name, NULL);
	expect_map_fails(fd, name, -EPROTO);
	close(fd);

	snprintf(name, sizeof(name), "ferry-test-major-%d", (int)getpid());
	fd = make_ring_memfd(name, edit_major);
	expect_map_fails(fd, name, -EPROTONOSUPPORT);
	close(fd);

	snprintf(name, sizeof(name), "ferry-test-size-%d", (int)getpid());
	fd = make_ring_memfd(name, edit_file_size);
	expect_map_fails(fd, name, -EPROTO);
	close(fd);

	snprintf(name, sizeof(name), "ferry-test-ring-%d", (int)getpid());
	fd = make_ring_memfd(name, edit_bad_ring);
	expect_map_fails(fd, name, -EPROTO);
	close(fd);

	/* not an fd */
	void *base = NULL;
	uint64_t len = 0;
	assert_int_equal(ferry_shm_map_fd(-1, true, FERRY_SHM_MAGIC_SESSION, &base, &len, NULL, 0),
			 -EBADF);

	/* the good file maps once, whole, shared */
	snprintf(name, sizeof(name), "ferry-test-good-%d", (int)getpid());
	fd = make_ring_memfd(name, edit_magic_session);
	char why[160];
	assert_int_equal(ferry_shm_map_fd(fd, true, FERRY_SHM_MAGIC_SESSION, &base, &len, why,
					  sizeof(why)),
			 0);
	assert_int_equal(len, 4096 * 5);
	assert_int_equal(tu_count_maps_named(name), 1);
	struct ferry_shm_hdr *h = base;
	assert_int_equal(atomic_load(&h->magic), FERRY_SHM_MAGIC_SESSION);
	h->id = 42; /* MAP_SHARED: visible through the fd */
	uint32_t id = 0;
	assert_int_equal(pread(fd, &id, sizeof(id), offsetof(struct ferry_shm_hdr, id)), 4);
	assert_int_equal(id, 42);
	assert_int_equal(munmap(base, len), 0);
	assert_int_equal(tu_count_maps_named(name), 0);
	/* magic 0: map without validating */
	assert_int_equal(ferry_shm_map_fd(fd, false, 0, &base, &len, NULL, 0), 0);
	assert_int_equal(tu_count_maps_named(name), 1);
	munmap(base, len);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_len_below_header),
		cmocka_unit_test(test_len_past_end),
		cmocka_unit_test(test_len_beyond_one_lap),
		cmocka_unit_test(test_pad_not_to_end),
		cmocka_unit_test(test_pad_at_offset_zero),
		cmocka_unit_test(test_pad_beyond_one_lap),
		cmocka_unit_test(test_payload_over_max),
		cmocka_unit_test(test_head_beyond_tail),
		cmocka_unit_test(test_head_more_than_lap_behind),
		cmocka_unit_test(test_head_corrupted_later),
		cmocka_unit_test(test_positions_across_2_64),
		cmocka_unit_test(test_misaligned_positions),
		cmocka_unit_test(test_layout_values),
		cmocka_unit_test(test_validate_header),
		cmocka_unit_test(test_validate_ring_descriptors),
		cmocka_unit_test(test_attach_bad_descriptors),
		cmocka_unit_test(test_map_fd),
	};
	return cmocka_run_group_tests_name("ring_hostile", tests, NULL, NULL);
}
