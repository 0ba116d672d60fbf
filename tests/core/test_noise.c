/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The Noise IK handshake of daemon/core/noise.c against the Noise
 * community's published test vector for Noise_IK_25519_ChaChaPoly_SHA256
 * (the cacophony set, in the test-vector format of the Noise wiki): fixed
 * static and ephemeral keys, prologue "John Galt", both handshake
 * messages, the handshake hash, and four transport messages after Split(),
 * each compared byte for byte. Then two independent instances with fresh
 * keys agree, and every byte of either message, flipped, makes the
 * receiver refuse it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include <sodium.h>

#include "noise.h"

static size_t unhex(const char *s, uint8_t *out)
{
	size_t n = strlen(s) / 2;
	for (size_t i = 0; i < n; i++) {
		unsigned v;
		assert_int_equal(sscanf(s + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
	return n;
}

/* Noise_IK_25519_ChaChaPoly_SHA256 from the cacophony vectors. */
static const char *const V_PROLOGUE = "4a6f686e2047616c74";
static const char *const V_INIT_STATIC =
	"e61ef9919cde45dd5f82166404bd08e38bceb5dfdfded0a34c8df7ed542214d1";
static const char *const V_INIT_EPHEMERAL =
	"893e28b9dc6ca8d611ab664754b8ceb7bac5117349a4439a6b0569da977c464a";
static const char *const V_INIT_REMOTE_STATIC =
	"31e0303fd6418d2f8c0e78b91f22e8caed0fbe48656dcf4767e4834f701b8f62";
static const char *const V_RESP_STATIC =
	"4a3acbfdb163dec651dfa3194dece676d437029c62a408b4c5ea9114246e4893";
static const char *const V_RESP_EPHEMERAL =
	"bbdb4cdbd309f1a1f2e1456967fe288cadd6f712d65dc7b7793d5e63da6b375b";
static const char *const V_HANDSHAKE_HASH =
	"0b0f68fb0c27e03ce9b97565995ed4838cc0581b762ef72b062f6a546419fad7";
static const struct {
	const char *payload, *ciphertext;
} V_MSG[] = {
	{"4c756477696720766f6e204d69736573",
	 "ca35def5ae56cec33dc2036731ab14896bc4c75dbb07a61f879f8e3afa4c7944718da798efbcd9152852"
	 "0204f904b9bd6c7413dccdc214d951e15253e39987f18146e8cd0873654207148333479d4d16c289f02"
	 "94b29960a72f48e0b7bba2e89083169825e59642148d492020664ccf7"},
	{"4d757272617920526f746862617264",
	 "95ebc60d2b1fa672c1f46a8aa265ef51bfe38e7ccb39ec5be34069f1448088435361e70b2ed446e6c9ec"
	 "387d1d6b3b840f194e373979d241b203c4acafccf5"},
	{"462e20412e20486179656b", "050e9f3c8fac16b68dbce8f8c4bfbf6617c897f9ada4aa29aa19c8"},
	{"4361726c204d656e676572", "344233a6cabb7141d80f3da2fedc311d9646bbb0f505afe403a667"},
	{"4a65616e2d426170746973746520536179",
	 "62cdeeb172ad7ade7aa7d9e069da5790f12331bfa00177787a1d0810c67dc3b2b4"},
	{"457567656e2042f6686d20766f6e2042617765726b",
	 "029bead1b40992327044d409d9a1f3ad8f36c3c452775d557e18bbeb2e8dfcead32d514024"},
};

static void test_vector(void **state)
{
	(void)state;
	uint8_t prologue[64], is[32], ie[32], irs[32], rs[32], re[32], hh[32];
	uint8_t pl[64], want[256], msg[256], got[64];
	size_t plen = unhex(V_PROLOGUE, prologue);
	unhex(V_INIT_STATIC, is);
	unhex(V_INIT_EPHEMERAL, ie);
	unhex(V_INIT_REMOTE_STATIC, irs);
	unhex(V_RESP_STATIC, rs);
	unhex(V_RESP_EPHEMERAL, re);
	unhex(V_HANDSHAKE_HASH, hh);
	struct noise_hs i, r;
	assert_int_equal(noise_ik_init(&i, true, prologue, plen, is, irs), 0);
	assert_int_equal(noise_ik_init(&r, false, prologue, plen, rs, NULL), 0);
	/* the vector's remote static is the responder's public key */
	assert_memory_equal(r.s_pub, irs, 32);

	/* message 1: -> e, es, s, ss */
	size_t n = unhex(V_MSG[0].payload, pl);
	size_t wn = unhex(V_MSG[0].ciphertext, want);
	assert_int_equal(wn, NOISE_IK_MSG1_LEN(n));
	assert_int_equal(noise_ik_write1(&i, ie, pl, n, msg), 0);
	assert_memory_equal(msg, want, wn);
	assert_int_equal(noise_ik_read1_static(&r, msg), 0);
	assert_memory_equal(r.rs, i.s_pub, 32);
	assert_int_equal(noise_ik_read1_payload(&r, msg, got, n), 0);
	assert_memory_equal(got, pl, n);

	/* message 2: <- e, ee, se */
	n = unhex(V_MSG[1].payload, pl);
	wn = unhex(V_MSG[1].ciphertext, want);
	assert_int_equal(wn, NOISE_IK_MSG2_LEN(n));
	assert_int_equal(noise_ik_write2(&r, re, pl, n, msg), 0);
	assert_memory_equal(msg, want, wn);
	assert_int_equal(noise_ik_read2(&i, msg, got, n), 0);
	assert_memory_equal(got, pl, n);
	assert_memory_equal(i.h, hh, 32);
	assert_memory_equal(r.h, hh, 32);

	/* transport: the initiator sends with the first key, the responder
	 * with the second, alternating, as the vector does */
	struct noise_cipher ic[2] = {{.has_key = true}, {.has_key = true}};
	struct noise_cipher rc[2] = {{.has_key = true}, {.has_key = true}};
	noise_split(&i, ic[0].k, ic[1].k);
	noise_split(&r, rc[0].k, rc[1].k);
	assert_memory_equal(i.h, hh, 32); /* kept for channel binding */
	for (size_t m = 2; m < sizeof(V_MSG) / sizeof(V_MSG[0]); m++) {
		bool from_init = m % 2 == 0;
		struct noise_cipher *tx = from_init ? &ic[0] : &rc[1];
		struct noise_cipher *rx = from_init ? &rc[0] : &ic[1];
		n = unhex(V_MSG[m].payload, pl);
		wn = unhex(V_MSG[m].ciphertext, want);
		assert_int_equal(wn, n + NOISE_TAGLEN);
		assert_int_equal(noise_encrypt(tx, "", 0, pl, n, msg), 0);
		assert_memory_equal(msg, want, wn);
		assert_int_equal(noise_decrypt(rx, "", 0, msg, wn, got), 0);
		assert_memory_equal(got, pl, n);
	}
}

static void keypair(uint8_t priv[32], uint8_t pub[32])
{
	randombytes_buf(priv, 32);
	assert_int_equal(crypto_scalarmult_base(pub, priv), 0);
}

/* Two instances with fresh keys agree on both transport keys and the
 * hash; every flipped byte of message 1 or 2 is refused. */
static void test_agree_and_tamper(void **state)
{
	(void)state;
	uint8_t is[32], ispub[32], rs[32], rspub[32], ie[32], iepub[32], re[32], repub[32];
	keypair(is, ispub);
	keypair(rs, rspub);
	keypair(ie, iepub);
	keypair(re, repub);
	const char pro[] = "ferry noise ik v1";
	const uint8_t p1[24] = "initiator's payload....", p2[24] = "responder's payload....";
	uint8_t m1[NOISE_IK_MSG1_LEN(24)], m2[NOISE_IK_MSG2_LEN(24)], got[24];
	struct noise_hs i, r, i0, r0;
	assert_int_equal(noise_ik_init(&i, true, pro, sizeof(pro) - 1, is, rspub), 0);
	assert_int_equal(noise_ik_init(&r, false, pro, sizeof(pro) - 1, rs, NULL), 0);
	assert_int_equal(noise_ik_write1(&i, ie, p1, sizeof(p1), m1), 0);
	r0 = r;
	/* message 1, each byte flipped: its static part or its payload fails */
	for (size_t b = 0; b < sizeof(m1); b++) {
		m1[b] ^= 0x20;
		r = r0;
		int rc = noise_ik_read1_static(&r, m1);
		if (rc == 0)
			rc = noise_ik_read1_payload(&r, m1, got, sizeof(got));
		assert_int_not_equal(rc, 0);
		m1[b] ^= 0x20;
	}
	r = r0;
	assert_int_equal(noise_ik_read1_static(&r, m1), 0);
	assert_memory_equal(r.rs, ispub, 32);
	assert_int_equal(noise_ik_read1_payload(&r, m1, got, sizeof(got)), 0);
	assert_memory_equal(got, p1, sizeof(p1));
	assert_int_equal(noise_ik_write2(&r, re, p2, sizeof(p2), m2), 0);
	i0 = i;
	for (size_t b = 0; b < sizeof(m2); b++) {
		m2[b] ^= 0x01;
		i = i0;
		assert_int_not_equal(noise_ik_read2(&i, m2, got, sizeof(got)), 0);
		m2[b] ^= 0x01;
	}
	i = i0;
	assert_int_equal(noise_ik_read2(&i, m2, got, sizeof(got)), 0);
	assert_memory_equal(got, p2, sizeof(p2));
	assert_memory_equal(i.h, r.h, 32);
	uint8_t ik1[32], ik2[32], rk1[32], rk2[32];
	noise_split(&i, ik1, ik2);
	noise_split(&r, rk1, rk2);
	assert_memory_equal(ik1, rk1, 32);
	assert_memory_equal(ik2, rk2, 32);
	assert_memory_not_equal(ik1, ik2, 32);

	/* a responder that is not the one the initiator meant cannot read it */
	uint8_t other[32], otherpub[32];
	keypair(other, otherpub);
	assert_int_equal(noise_ik_init(&i, true, pro, sizeof(pro) - 1, is, rspub), 0);
	assert_int_equal(noise_ik_write1(&i, ie, p1, sizeof(p1), m1), 0);
	assert_int_equal(noise_ik_init(&r, false, pro, sizeof(pro) - 1, other, NULL), 0);
	assert_int_not_equal(noise_ik_read1_static(&r, m1), 0);
	/* nor one with another prologue */
	assert_int_equal(noise_ik_init(&r, false, "x", 1, rs, NULL), 0);
	assert_int_not_equal(noise_ik_read1_static(&r, m1), 0);
	/* a public key of small order (here 0) gives a DH of zeros: refused */
	uint8_t zero[32] = {0};
	assert_int_equal(noise_ik_init(&i, true, pro, sizeof(pro) - 1, is, zero), 0);
	assert_int_not_equal(noise_ik_write1(&i, ie, p1, sizeof(p1), m1), 0);
}

int main(void)
{
	assert_true(sodium_init() >= 0);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vector),
		cmocka_unit_test(test_agree_and_tamper),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
