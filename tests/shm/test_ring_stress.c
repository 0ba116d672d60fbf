/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Two processes over a 64 KiB ring in a MAP_SHARED memfd, the way ferryd
 * and a client use it. The producer (child) sends N records of 0..4000
 * payload bytes, sizes from a seeded xorshift both sides replay; every
 * payload byte is a function of (sequence, index), so the consumer (parent)
 * checks the sequence of every record and every byte.
 *
 * Both sleep paths run: the producer, on -EAGAIN, flags itself with
 * ferry_ring_wait_space() and sleeps on its bell, which the consumer rings
 * when ferry_ring_release() returns true; the consumer, when empty, sleeps
 * on its own bell (prepare / re-check / wait, 100 ms timeout), which the
 * producer notifies after each record. Random pauses on each side (and one
 * long pause each, so a short run sleeps too) make both sides wait.
 *
 * Usage: test_ring_stress [records [seed]]. Every wait is bounded: no
 * progress for 10 s is a failure, on either side.
 */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/mman.h>

#include <cmocka.h>

#include "ferry_bell.h"
#include "ring_test_util.h"

#define RING_CAP (64u * 1024)
#define MAX_LEN 4000u
#define SESSION_TAG 0x5e55u
#define STALL_NS (10 * 1000000000ll)
#define PRODUCER_WAIT_NS (2 * 1000000000ll)
#define CONSUMER_WAIT_NS (100 * 1000000ll)

static uint64_t n_records = 2000000;
static uint64_t seed = 0x2545F4914F6CDD1Dull;

/* Producer's side of the story, written by the child, read after it exits. */
struct stats {
	uint64_t sent;
	uint64_t via_reserve, via_write;
	uint64_t eagain;      /* reserve/write said the ring was full */
	uint64_t sleeps;      /* ferry_bell_wait() calls */
	uint64_t timeouts;    /* of which ended by the timeout */
	uint64_t lost_wakeups; /* timed out although space was free */
	uint64_t space_rechecks; /* wait_space() found room: no sleep */
	uint64_t false_room;  /* ... and the retry still failed: a spin */
	uint64_t pauses;
	int32_t fail;         /* 0, or a FAIL_* code */
	int32_t fail_err;
	uint64_t fail_at;
};

enum { FAIL_RING = 1, FAIL_STALL = 2 };

struct shared {
	struct ferry_bell pbell; /* the producer sleeps here */
	struct ferry_bell cbell; /* the consumer sleeps here */
	struct stats st;
};
static_assert(sizeof(struct shared) <= FERRY_BELL_FILE_SIZE, "fits one page");
static_assert(MAX_LEN <= 4096, "producer's copy buffer");

/* ---- what both sides derive from the seed ------------------------------- */

static uint32_t next_len(uint64_t *s)
{
	return (uint32_t)(tu_xorshift64(s) % (MAX_LEN + 1));
}

static inline uint64_t pattern_word(uint64_t seq, uint64_t k)
{
	return ((seq + 1) * 0x9E3779B97F4A7C15ull) ^ (k * 0xBF58476D1CE4E5B9ull);
}

static void fill(uint8_t *p, uint64_t seq, uint32_t len)
{
	uint32_t words = len / 8, k;
	for (k = 0; k < words; k++) {
		uint64_t w = pattern_word(seq, k);
		memcpy(p + 8 * k, &w, 8);
	}
	uint64_t w = pattern_word(seq, k);
	memcpy(p + 8 * k, &w, len % 8);
}

/* @return -1 if the payload is right, else the index of the first wrong byte */
static int64_t check(const uint8_t *p, uint64_t seq, uint32_t len)
{
	uint32_t words = len / 8, k;
	uint64_t diff = 0;
	for (k = 0; k < words; k++) {
		uint64_t w;
		memcpy(&w, p + 8 * k, 8);
		diff |= w ^ pattern_word(seq, k);
	}
	uint64_t want = pattern_word(seq, k), got = 0;
	memcpy(&got, p + 8 * k, len % 8);
	uint64_t mask = len % 8 ? (~0ull >> (64 - 8 * (len % 8))) : 0;
	diff |= (got ^ want) & mask;
	if (diff == 0)
		return -1;
	for (uint32_t i = 0; i < len; i++) {
		uint64_t w = pattern_word(seq, i / 8);
		if (p[i] != (uint8_t)(w >> (8 * (i % 8))))
			return i;
	}
	return -2; /* unreachable: diff said otherwise */
}

/* ---- producer (child) --------------------------------------------------- */

static void pause_us(uint64_t *rng, unsigned min_us, unsigned spread_us)
{
	usleep(min_us + (unsigned)(tu_xorshift64(rng) % spread_us));
}

static void produce(struct ferry_ring *r, struct shared *sh)
{
	struct stats *st = &sh->st;
	uint64_t sizes = seed, rng = seed ^ 0xABCDEF;
	int64_t last = tu_now_ns();
	uint8_t *buf = aligned_alloc(64, 4096);
	if (buf == NULL) {
		st->fail = FAIL_RING;
		st->fail_err = -ENOMEM;
		return;
	}
	for (uint64_t i = 0; i < n_records; i++) {
		uint32_t len = next_len(&sizes);
		bool reserve = i & 1, rechecked = false;
		if (!reserve)
			fill(buf, i, len);
		for (;;) {
			int err;
			if (reserve) {
				void *p = ferry_ring_reserve(r, len, FERRY_REC_DATA, SESSION_TAG,
							     (uint32_t)i, &err);
				if (p) {
					fill(p, i, len);
					ferry_ring_commit(r, p, len);
					st->via_reserve++;
					break;
				}
			} else {
				err = ferry_ring_write(r, FERRY_REC_DATA, SESSION_TAG, (uint32_t)i, buf,
						       len);
				if (err == 0) {
					st->via_write++;
					break;
				}
			}
			if (err != -EAGAIN) {
				st->fail = FAIL_RING;
				st->fail_err = err;
				st->fail_at = i;
				free(buf);
				return;
			}
			st->eagain++;
			st->false_room += rechecked;
			/* bell first, then the ring's flag and re-check: a release
			 * after the re-check sees the flag and then our bell's
			 * sleeping flag, so its ring is not lost */
			uint32_t seq = ferry_bell_prepare(&sh->pbell);
			rechecked = ferry_ring_wait_space(r, len);
			if (rechecked) {
				ferry_bell_cancel(&sh->pbell);
				st->space_rechecks++;
			} else {
				st->sleeps++;
				int rc = ferry_bell_wait(&sh->pbell, seq, PRODUCER_WAIT_NS);
				/* the consumer frees space only by a release,
				 * which sees our flag and rings: room after a
				 * 2 s timeout means a ring went missing */
				if (rc == -ETIMEDOUT) {
					st->timeouts++;
					if (ferry_ring_free(r) >= (uint64_t)ferry_rec_size(len) + FERRY_REC_ALIGN)
						st->lost_wakeups++;
				}
			}
			if (tu_now_ns() - last > STALL_NS) {
				st->fail = FAIL_STALL;
				st->fail_at = i;
				free(buf);
				return;
			}
		}
		st->sent = i + 1;
		last = tu_now_ns();
		ferry_bell_notify(&sh->cbell);
		if (i == n_records / 3 || (tu_xorshift64(&rng) & 8191) == 0) {
			pause_us(&rng, i == n_records / 3 ? 20000 : 200, 2000);
			st->pauses++;
		}
	}
	free(buf);
}

/* ---- consumer (parent) -------------------------------------------------- */

struct consumer_result {
	uint64_t received, mismatches, sleeps, timeouts, wakes_sent, pauses, batches;
	char first_mismatch[200];
	int err;
	bool stalled;
};

__attribute__((format(printf, 2, 3)))
static void mismatch(struct consumer_result *cr, const char *fmt, ...)
{
	if (cr->mismatches++ == 0) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(cr->first_mismatch, sizeof(cr->first_mismatch), fmt, ap);
		va_end(ap);
	}
}

static void release_and_ring(struct ferry_ring *r, struct shared *sh,
			     struct consumer_result *cr)
{
	if (ferry_ring_release(r)) {
		ferry_bell_notify(&sh->pbell);
		cr->wakes_sent++;
	}
}

/* Whether @p pid has ended, without reaping it. */
static bool child_exited(pid_t pid)
{
	siginfo_t si;
	memset(&si, 0, sizeof(si));
	return waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid == pid;
}

static void consume(struct ferry_ring *r, struct shared *sh, pid_t child,
		    struct consumer_result *cr)
{
	uint64_t sizes = seed, rng = seed ^ 0x123457;
	uint64_t batch = 1 + tu_xorshift64(&rng) % 64, in_batch = 0;
	int64_t last = tu_now_ns();
	uint64_t i = 0;
	while (i < n_records) {
		struct ferry_rec_view v;
		int rc = ferry_ring_peek(r, &v);
		if (rc == 1) {
			uint32_t len = next_len(&sizes);
			if (v.type != FERRY_REC_DATA || v.session != SESSION_TAG || v.flags)
				mismatch(cr, "record %" PRIu64 ": type %u session %#x flags %u", i,
					 v.type, v.session, v.flags);
			if (v.aux != (uint32_t)i)
				mismatch(cr, "record %" PRIu64 ": sequence %u", i, v.aux);
			if (v.len != len)
				mismatch(cr, "record %" PRIu64 ": %u bytes, expected %u", i, v.len,
					 len);
			int64_t at = check(v.payload, i, v.len < len ? v.len : len);
			if (at != -1)
				mismatch(cr, "record %" PRIu64 " (%u bytes): byte %" PRId64 " differs",
					 i, len, at);
			i++;
			cr->received++;
			last = tu_now_ns();
			if (++in_batch >= batch) {
				release_and_ring(r, sh, cr);
				cr->batches++;
				in_batch = 0;
				batch = 1 + tu_xorshift64(&rng) % 64;
			}
			if (i == 2 * n_records / 3 || (tu_xorshift64(&rng) & 8191) == 0) {
				release_and_ring(r, sh, cr);
				pause_us(&rng, i == 2 * n_records / 3 ? 20000 : 200, 2000);
				cr->pauses++;
			}
			continue;
		}
		if (rc < 0) {
			cr->err = rc;
			return;
		}
		/* empty: give back what we hold, then sleep until notified */
		release_and_ring(r, sh, cr);
		in_batch = 0;
		uint32_t seq = ferry_bell_prepare(&sh->cbell);
		if (ferry_ring_readable(r)) {
			ferry_bell_cancel(&sh->cbell);
			continue;
		}
		cr->sleeps++;
		if (ferry_bell_wait(&sh->cbell, seq, CONSUMER_WAIT_NS) == -ETIMEDOUT)
			cr->timeouts++;
		if (tu_now_ns() - last > STALL_NS || child_exited(child)) {
			/* a producer that ended early cannot send more: look
			 * once more, then give up */
			if (ferry_ring_readable(r))
				continue;
			cr->stalled = true;
			return;
		}
	}
	release_and_ring(r, sh, cr);
}

static void test_two_process_stress(void **state)
{
	(void)state;
	/* the ring file, as ferryd creates it */
	int fd = memfd_create("ferry-test-stress-ring", MFD_CLOEXEC);
	assert_true(fd >= 0);
	struct ferry_shm_hdr h;
	memset(&h, 0, sizeof(h));
	uint64_t size = ferry_shm_layout(&h, 1, RING_CAP, 4096);
	assert_int_equal(ftruncate(fd, (off_t)size), 0);
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	assert_true(p != MAP_FAILED);
	memcpy(p, &h, sizeof(h));
	ferry_shm_publish(p, FERRY_SHM_MAGIC_SESSION);
	munmap(p, size);

	int bfd = memfd_create("ferry-test-stress-bells", MFD_CLOEXEC);
	assert_true(bfd >= 0);
	assert_int_equal(ftruncate(bfd, FERRY_BELL_FILE_SIZE), 0);
	struct shared *sh =
		mmap(NULL, FERRY_BELL_FILE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, bfd, 0);
	assert_true(sh != MAP_FAILED);

	/* each side maps and validates the file on its own, as peers do */
	fflush(NULL);
	int64_t t0 = tu_now_ns();
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		void *base;
		uint64_t len;
		struct ferry_ring r;
		if (ferry_shm_map_fd(fd, true, FERRY_SHM_MAGIC_SESSION, &base, &len, NULL, 0) < 0 ||
		    ferry_ring_attach(&r, base, len, &((struct ferry_shm_hdr *)base)->ring[0], true,
				      0) < 0) {
			sh->st.fail = FAIL_RING;
			sh->st.fail_err = -EPROTO;
			_exit(1);
		}
		produce(&r, sh);
		_exit(sh->st.fail ? 1 : 0);
	}
	void *base;
	uint64_t len;
	char why[160];
	struct ferry_ring r;
	struct consumer_result cr = {0};
	if (ferry_shm_map_fd(fd, true, FERRY_SHM_MAGIC_SESSION, &base, &len, why, sizeof(why)) < 0 ||
	    ferry_ring_attach(&r, base, len, &((struct ferry_shm_hdr *)base)->ring[0], false,
			      MAX_LEN) < 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		fail_msg("consumer cannot map the ring: %s", why);
	}
	consume(&r, sh, pid, &cr);
	if (cr.stalled || cr.err)
		kill(pid, SIGKILL);
	int wst = 0;
	assert_int_equal(waitpid(pid, &wst, 0), pid);
	double secs = (double)(tu_now_ns() - t0) / 1e9;

	/* nothing beyond the N records */
	struct ferry_rec_view v;
	int extra = ferry_ring_peek(&r, &v);
	struct ferry_ring_ctl *ctl = r.ctl;
	uint64_t head = atomic_load(&ctl->head), tail = atomic_load(&ctl->tail);
	const struct stats *st = &sh->st;

	printf("%" PRIu64 " records in %.2f s (%.0f records/s, %.2f GB/s through the ring)\n",
	       cr.received, secs, (double)cr.received / secs,
	       (double)tail / secs / 1e9);
	printf("producer: %" PRIu64 " via reserve/commit, %" PRIu64 " via write, %" PRIu64
	       " full, %" PRIu64 " sleeps (%" PRIu64 " timeouts, %" PRIu64
	       " lost wake-ups), %" PRIu64 " re-checks found room (%" PRIu64
	       " of them wrongly: the retry failed), %" PRIu64 " pauses\n",
	       st->via_reserve, st->via_write, st->eagain, st->sleeps, st->timeouts,
	       st->lost_wakeups, st->space_rechecks, st->false_room, st->pauses);
	printf("consumer: %" PRIu64 " sleeps (%" PRIu64 " timeouts), %" PRIu64
	       " producer wake-ups sent, %" PRIu64 " batches, %" PRIu64 " pauses\n",
	       cr.sleeps, cr.timeouts, cr.wakes_sent, cr.batches, cr.pauses);
	fflush(stdout);

	if (WIFSIGNALED(wst) && !cr.stalled && !cr.err)
		fail_msg("producer killed by signal %d after sending %" PRIu64 " records",
			 WTERMSIG(wst), st->sent);
	if (WIFEXITED(wst) && WEXITSTATUS(wst) != 0 && !st->fail)
		fail_msg("producer exited with status %d (sanitizer report above?) after %" PRIu64
			 " records",
			 WEXITSTATUS(wst), st->sent);
	if (st->fail == FAIL_RING)
		fail_msg("producer: ring error %d at record %" PRIu64, st->fail_err, st->fail_at);
	if (st->fail == FAIL_STALL)
		fail_msg("producer: no progress for 10 s at record %" PRIu64, st->fail_at);
	if (cr.err)
		fail_msg("consumer: ferry_ring_peek returned %d after %" PRIu64 " records", cr.err,
			 cr.received);
	if (cr.stalled)
		fail_msg("consumer: no progress for 10 s (or the producer died) after %" PRIu64
			 " records",
			 cr.received);
	assert_true(WIFEXITED(wst) && WEXITSTATUS(wst) == 0);
	if (cr.mismatches)
		fail_msg("%" PRIu64 " mismatches; first: %s", cr.mismatches, cr.first_mismatch);
	assert_int_equal(cr.received, n_records);
	assert_int_equal(st->sent, n_records);
	assert_int_equal(st->via_reserve, n_records / 2);
	assert_int_equal(st->via_write, n_records - n_records / 2);
	assert_int_equal(extra, 0);
	assert_int_equal(head, tail);
	assert_int_equal(r.pos, tail);
	/* the sleep and wake paths ran, and no wake-up was lost */
	assert_true(cr.sleeps > 0);
	assert_true(st->sleeps > 0);
	assert_true(cr.wakes_sent > 0);
	assert_int_equal(st->lost_wakeups, 0);

	munmap(base, len);
	munmap(sh, FERRY_BELL_FILE_SIZE);
	close(fd);
	close(bfd);
}

int main(int argc, char **argv)
{
	if (argc > 1)
		n_records = strtoull(argv[1], NULL, 0);
	if (argc > 2)
		seed = strtoull(argv[2], NULL, 0);
	if (n_records < 3 || seed == 0) {
		fprintf(stderr, "usage: %s [records >= 3 [seed != 0]]\n", argv[0]);
		return 2;
	}
	printf("ring stress: %" PRIu64 " records, seed %#" PRIx64 "\n", n_records, seed);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_two_process_stress),
	};
	return cmocka_run_group_tests_name("ring_stress", tests, NULL, NULL);
}
