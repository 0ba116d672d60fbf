/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * One packet sealed and opened (daemon/core/seal.c), with each AEAD this
 * CPU runs and in both modes, at several sizes: it opens to the exact
 * bytes; encrypt hides the payload, authenticate leaves it plain; each
 * flipped byte (header, payload, counter, tag), a truncation and another
 * key make it fail. A known answer for each AEAD pins the
 * layout and the nonce. The replay window against a plain model of
 * itself, in order, reordered, replayed and far behind.
 */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "seal.h"

#define HDR sizeof(struct ferry_wire_hdr)

static void fill(uint8_t *b, size_t n, uint32_t seed)
{
	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)(seed * 131 + i * 7 + (i >> 8));
}

static void round_trip(uint8_t aead, uint8_t mode, size_t payload)
{
	uint8_t key[32], other[32];
	fill(key, 32, aead * 10 + mode);
	fill(other, 32, 99);
	struct seal_key *k = aligned_alloc(64, 1024), *wrong = aligned_alloc(64, 1024);
	assert_int_equal(seal_key_init(k, aead, mode, key), 0);
	assert_int_equal(seal_key_init(wrong, aead, mode, other), 0);
	size_t len = HDR + payload;
	uint8_t *plain = malloc(len), *pkt = malloc(len + SEAL_TRAILER), *out = malloc(len);
	fill(plain, len, (uint32_t)payload);
	memcpy(pkt, plain, len);
	size_t sl = seal_packet(k, 0x11223344, 77, pkt, len);
	assert_int_equal(sl, len + 28);
	uint32_t id;
	uint64_t ctr;
	seal_peek(pkt, sl, &id, &ctr);
	assert_int_equal(id, 0x11223344);
	assert_int_equal(ctr, 77);
	assert_memory_equal(pkt, plain, HDR); /* the header stays readable */
	/* the payload read from elsewhere seals to the same bytes */
	uint8_t *from = malloc(len + SEAL_TRAILER);
	memcpy(from, plain, HDR);
	memset(from + HDR, 0xa5, payload);
	assert_int_equal(seal_packet_from(k, 0x11223344, 77, from, plain + HDR, payload), sl);
	assert_memory_equal(from, pkt, sl);
	free(from);
	if (payload >= 8) {
		if (mode == FW_SEC_ENCRYPT)
			assert_memory_not_equal(pkt + HDR, plain + HDR, payload);
		else
			assert_memory_equal(pkt + HDR, plain + HDR, payload);
	}
	memset(out, 0, len);
	assert_int_equal(open_packet(k, pkt, sl, out), (long)len);
	if (mode == FW_SEC_ENCRYPT)
		assert_memory_equal(out, plain, len);
	/* every byte but the key id (which only picks the key) is covered */
	for (size_t b = 0; b < sl; b++) {
		if (b >= len && b < len + 4)
			continue;
		pkt[b] ^= 0x04;
		assert_int_equal(open_packet(k, pkt, sl, out), -1);
		pkt[b] ^= 0x04;
	}
	/* a truncated packet (its tag is then other bytes) */
	assert_int_equal(open_packet(k, pkt, sl - 1, out), -1);
	assert_int_equal(open_packet(wrong, pkt, sl, out), -1);
	assert_int_equal(open_packet(k, pkt, sl, out), (long)len);
	seal_key_wipe(k);
	seal_key_wipe(wrong);
	free(plain);
	free(pkt);
	free(out);
	free(k);
	free(wrong);
}

static void test_round_trip(void **state)
{
	(void)state;
	static const size_t sizes[] = {0, 1, 16, 64, 1000, 1024, 1424, 8952};
	uint8_t aeads = seal_aeads_available();
	assert_true(aeads & FW_AEAD_CHACHA20POLY1305);
	if (!(aeads & FW_AEAD_AES256GCM))
		print_message("no AES-NI here: AES-256-GCM is not tested\n");
	for (uint8_t a = FW_AEAD_CHACHA20POLY1305; a <= FW_AEAD_AES256GCM; a <<= 1) {
		if (!(aeads & a))
			continue;
		for (uint8_t m = FW_SEC_AUTHENTICATE; m <= FW_SEC_ENCRYPT; m++)
			for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
				round_trip(a, m, sizes[i]);
	}
	struct seal_key k;
	uint8_t key[32] = {1};
	assert_int_equal(seal_key_init(&k, 0x4, FW_SEC_ENCRYPT, key), -1);
	assert_int_equal(seal_key_init(&k, FW_AEAD_CHACHA20POLY1305, 0, key), -1);
}

/* The layout and the nonce, pinned: a packet sealed by hand with
 * libsodium's one-shot calls, as wire.h describes it, equals ours. */
static void test_known_answer(void **state)
{
	(void)state;
	uint8_t key[32], pkt[HDR + 100 + SEAL_TRAILER], ref[HDR + 100 + SEAL_TRAILER];
	uint8_t npub[12] = {0};
	fill(key, 32, 5);
	uint64_t ctr = 0x0102030405060708ull;
	for (uint8_t a = FW_AEAD_CHACHA20POLY1305; a <= FW_AEAD_AES256GCM; a <<= 1) {
		if (!(seal_aeads_available() & a))
			continue;
		for (uint8_t m = FW_SEC_AUTHENTICATE; m <= FW_SEC_ENCRYPT; m++) {
			struct seal_key *k = aligned_alloc(64, 1024);
			assert_int_equal(seal_key_init(k, a, m, key), 0);
			fill(pkt, HDR + 100, 9);
			memcpy(ref, pkt, HDR + 100);
			size_t n = seal_packet(k, 7, ctr, pkt, HDR + 100);
			for (int i = 0; i < 8; i++) /* LE for ChaCha, BE for AES */
				npub[4 + i] = (uint8_t)(ctr >> (a == FW_AEAD_AES256GCM ? 56 - 8 * i
										   : 8 * i));
			struct ferry_wire_seal s = {htonl(7), htonl(0x01020304), htonl(0x05060708)};
			uint8_t *tag = ref + HDR + 100 + sizeof(s);
			bool enc = m == FW_SEC_ENCRYPT;
			if (a == FW_AEAD_AES256GCM)
				crypto_aead_aes256gcm_encrypt_detached(
					ref + HDR, tag, NULL, ref + HDR, enc ? 100 : 0, ref,
					enc ? HDR : HDR + 100, NULL, npub, key);
			else
				crypto_aead_chacha20poly1305_ietf_encrypt_detached(
					ref + HDR, tag, NULL, ref + HDR, enc ? 100 : 0, ref,
					enc ? HDR : HDR + 100, NULL, npub, key);
			memcpy(ref + HDR + 100, &s, sizeof(s));
			assert_int_equal(n, sizeof(ref));
			assert_memory_equal(pkt, ref, sizeof(ref));
			seal_key_wipe(k);
			free(k);
		}
	}
}

/* ---- the replay window --------------------------------------------------- */

/* The model: every counter seen, and the highest; a counter is new when
 * unseen and not more than REPLAY_WINDOW below the highest + 1. */
struct model {
	uint8_t *seen;
	uint64_t top;
};

static bool model_take(struct model *m, uint64_t c, uint64_t limit)
{
	if (c >= limit || m->seen[c] || c + REPLAY_WINDOW < m->top)
		return false;
	m->seen[c] = 1;
	if (c + 1 > m->top)
		m->top = c + 1;
	return true;
}

static void test_replay(void **state)
{
	(void)state;
	const uint64_t limit = 1u << 23;
	struct seal_replay r;
	memset(&r, 0, sizeof(r));
	/* in order, then each one again */
	for (uint64_t c = 0; c < 5000; c++)
		assert_true(replay_mark(&r, c, limit));
	for (uint64_t c = 0; c < 5000; c++)
		assert_false(replay_check(&r, c, limit));
	/* a jump far ahead: what lies between is new, what is behind the
	 * window old */
	assert_true(replay_mark(&r, 100000, limit));
	assert_true(replay_check(&r, 100001 - REPLAY_WINDOW, limit));
	assert_false(replay_check(&r, 100000 - REPLAY_WINDOW, limit));
	assert_true(replay_mark(&r, 99999, limit));
	assert_false(replay_mark(&r, 99999, limit));
	/* the limit */
	assert_false(replay_check(&r, limit, limit));
	assert_false(replay_mark(&r, limit + 5, limit));

	/* against the model: reordering within and beyond the window,
	 * duplicates, jumps of up to three windows */
	struct model m = {calloc(limit, 1), 0};
	memset(&r, 0, sizeof(r));
	uint64_t x = 12345, base = 0;
	for (int i = 0; i < 400000; i++) {
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		uint32_t k = (uint32_t)(x >> 33);
		uint64_t c;
		if (k % 1000 < 5)
			base += k % (3 * REPLAY_BITS); /* a jump */
		else if (k % 100 < 70)
			base++;
		c = base > 2500 ? base - (k >> 8) % 2500 : base; /* late by up to 2500 */
		if (c >= limit)
			break;
		bool want = model_take(&m, c, limit);
		assert_int_equal(replay_check(&r, c, limit), want);
		assert_int_equal(replay_mark(&r, c, limit), want);
	}
	free(m.seen);
}

int main(void)
{
	assert_true(sodium_init() >= 0);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_known_answer),
		cmocka_unit_test(test_replay),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
