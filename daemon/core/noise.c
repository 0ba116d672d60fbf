/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Noise_IK_25519_ChaChaPoly_SHA256: see noise.h. The section numbers are
 * those of the Noise specification, revision 34.
 */
#include <assert.h>
#include <string.h>

#include <sodium.h>

#include "noise.h"

static const char PROTOCOL[] = "Noise_IK_25519_ChaChaPoly_SHA256";

/* ---- 4.3: HMAC and HKDF over SHA-256 ----------------------------------- */

static void hmac(const uint8_t key[NOISE_HASHLEN], const void *a, size_t alen, const void *b,
		 size_t blen, uint8_t out[NOISE_HASHLEN])
{
	crypto_auth_hmacsha256_state st;
	crypto_auth_hmacsha256_init(&st, key, NOISE_HASHLEN);
	crypto_auth_hmacsha256_update(&st, a, alen);
	if (blen)
		crypto_auth_hmacsha256_update(&st, b, blen);
	crypto_auth_hmacsha256_final(&st, out);
	sodium_memzero(&st, sizeof(st));
}

/* HKDF(chaining_key, input_key_material, 2) */
static void hkdf2(const uint8_t ck[NOISE_HASHLEN], const void *ikm, size_t ikmlen,
		  uint8_t out1[NOISE_HASHLEN], uint8_t out2[NOISE_HASHLEN])
{
	uint8_t temp[NOISE_HASHLEN];
	const uint8_t one = 1, two = 2;
	hmac(ck, ikm, ikmlen, NULL, 0, temp);
	hmac(temp, &one, 1, NULL, 0, out1);
	hmac(temp, out1, NOISE_HASHLEN, &two, 1, out2);
	sodium_memzero(temp, sizeof(temp));
}

/* ---- 5.1: CipherState with ChaChaPoly (12.3) --------------------------- */

static void nonce(uint64_t n, uint8_t out[12])
{
	/* 32 bits of zeros, then n little-endian */
	memset(out, 0, 4);
	for (int i = 0; i < 8; i++)
		out[4 + i] = (uint8_t)(n >> (8 * i));
}

int noise_encrypt(struct noise_cipher *cs, const void *ad, size_t adlen, const void *pt,
		  size_t len, uint8_t *out)
{
	if (!cs->has_key) {
		memmove(out, pt, len);
		return 0;
	}
	if (cs->n == UINT64_MAX) /* reserved: the nonces are used up */
		return -1;
	uint8_t npub[12];
	nonce(cs->n, npub);
	crypto_aead_chacha20poly1305_ietf_encrypt(out, NULL, pt, len, ad, adlen, NULL, npub,
						  cs->k);
	cs->n++;
	return 0;
}

int noise_decrypt(struct noise_cipher *cs, const void *ad, size_t adlen, const uint8_t *ct,
		  size_t len, void *out)
{
	if (!cs->has_key) {
		memmove(out, ct, len);
		return 0;
	}
	if (cs->n == UINT64_MAX || len < NOISE_TAGLEN)
		return -1;
	uint8_t npub[12];
	nonce(cs->n, npub);
	if (crypto_aead_chacha20poly1305_ietf_decrypt(out, NULL, NULL, ct, len, ad, adlen, npub,
						      cs->k) != 0)
		return -1;
	cs->n++;
	return 0;
}

/* ---- 5.2: SymmetricState ----------------------------------------------- */

static void mix_hash(struct noise_hs *hs, const void *data, size_t len)
{
	crypto_hash_sha256_state st;
	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, hs->h, NOISE_HASHLEN);
	crypto_hash_sha256_update(&st, data, len);
	crypto_hash_sha256_final(&st, hs->h);
}

static void mix_key(struct noise_hs *hs, const uint8_t ikm[NOISE_DHLEN])
{
	hkdf2(hs->ck, ikm, NOISE_DHLEN, hs->ck, hs->cs.k);
	hs->cs.n = 0;
	hs->cs.has_key = true;
}

static int encrypt_and_hash(struct noise_hs *hs, const void *pt, size_t len, uint8_t *out)
{
	if (noise_encrypt(&hs->cs, hs->h, NOISE_HASHLEN, pt, len, out) != 0)
		return -1;
	mix_hash(hs, out, len + (hs->cs.has_key ? NOISE_TAGLEN : 0));
	return 0;
}

static int decrypt_and_hash(struct noise_hs *hs, const uint8_t *ct, size_t len, void *out)
{
	uint8_t h[NOISE_HASHLEN];
	memcpy(h, hs->h, sizeof(h));
	mix_hash(hs, ct, len);
	/* the hash before the ciphertext is the associated data */
	return noise_decrypt(&hs->cs, h, sizeof(h), ct, len, out);
}

/* DH(key_pair, public_key); libsodium refuses a result of all zeros (a
 * public key of small order), which Noise lets an implementation reject. */
static int dh_mix(struct noise_hs *hs, const uint8_t priv[NOISE_DHLEN],
		  const uint8_t pub[NOISE_DHLEN])
{
	uint8_t shared[NOISE_DHLEN];
	int rc = crypto_scalarmult(shared, priv, pub);
	if (rc == 0)
		mix_key(hs, shared);
	sodium_memzero(shared, sizeof(shared));
	return rc == 0 ? 0 : -1;
}

/* ---- 5.3: HandshakeState with the IK pattern --------------------------- */

int noise_ik_init(struct noise_hs *hs, bool initiator, const void *prologue, size_t plen,
		  const uint8_t s[NOISE_DHLEN], const uint8_t *rs)
{
	memset(hs, 0, sizeof(*hs));
	hs->initiator = initiator;
	/* the name is exactly HASHLEN bytes long: h is the name itself */
	static_assert(sizeof(PROTOCOL) - 1 == NOISE_HASHLEN, "protocol name length");
	memcpy(hs->h, PROTOCOL, NOISE_HASHLEN);
	memcpy(hs->ck, hs->h, NOISE_HASHLEN);
	mix_hash(hs, prologue, plen);
	memcpy(hs->s, s, NOISE_DHLEN);
	if (crypto_scalarmult_base(hs->s_pub, hs->s) != 0)
		return -1;
	/* pre-message "<- s": the responder's static key */
	if (initiator) {
		memcpy(hs->rs, rs, NOISE_DHLEN);
		mix_hash(hs, hs->rs, NOISE_DHLEN);
	} else {
		mix_hash(hs, hs->s_pub, NOISE_DHLEN);
	}
	return 0;
}

static int set_e(struct noise_hs *hs, const uint8_t e[NOISE_DHLEN], uint8_t *out)
{
	memcpy(hs->e, e, NOISE_DHLEN);
	if (crypto_scalarmult_base(hs->e_pub, hs->e) != 0)
		return -1;
	memcpy(out, hs->e_pub, NOISE_DHLEN);
	mix_hash(hs, hs->e_pub, NOISE_DHLEN);
	return 0;
}

int noise_ik_write1(struct noise_hs *hs, const uint8_t e[NOISE_DHLEN], const void *payload,
		    size_t len, uint8_t *out)
{
	if (set_e(hs, e, out) != 0 || dh_mix(hs, hs->e, hs->rs) != 0) /* e, es */
		return -1;
	out += NOISE_DHLEN;
	if (encrypt_and_hash(hs, hs->s_pub, NOISE_DHLEN, out) != 0) /* s */
		return -1;
	out += NOISE_DHLEN + NOISE_TAGLEN;
	if (dh_mix(hs, hs->s, hs->rs) != 0) /* ss */
		return -1;
	return encrypt_and_hash(hs, payload, len, out);
}

int noise_ik_read1_static(struct noise_hs *hs, const uint8_t *msg)
{
	memcpy(hs->re, msg, NOISE_DHLEN); /* e */
	mix_hash(hs, hs->re, NOISE_DHLEN);
	if (dh_mix(hs, hs->s, hs->re) != 0) /* es */
		return -1;
	return decrypt_and_hash(hs, msg + NOISE_DHLEN, NOISE_DHLEN + NOISE_TAGLEN, hs->rs); /* s */
}

int noise_ik_read1_payload(struct noise_hs *hs, const uint8_t *msg, void *payload, size_t len)
{
	if (dh_mix(hs, hs->s, hs->rs) != 0) /* ss */
		return -1;
	return decrypt_and_hash(hs, msg + 2 * NOISE_DHLEN + NOISE_TAGLEN, len + NOISE_TAGLEN,
				payload);
}

int noise_ik_write2(struct noise_hs *hs, const uint8_t e[NOISE_DHLEN], const void *payload,
		    size_t len, uint8_t *out)
{
	if (set_e(hs, e, out) != 0 || dh_mix(hs, hs->e, hs->re) != 0 || /* e, ee */
	    dh_mix(hs, hs->e, hs->rs) != 0)                               /* se */
		return -1;
	return encrypt_and_hash(hs, payload, len, out + NOISE_DHLEN);
}

int noise_ik_read2(struct noise_hs *hs, const uint8_t *msg, void *payload, size_t len)
{
	memcpy(hs->re, msg, NOISE_DHLEN); /* e */
	mix_hash(hs, hs->re, NOISE_DHLEN);
	if (dh_mix(hs, hs->e, hs->re) != 0 || dh_mix(hs, hs->s, hs->re) != 0) /* ee, se */
		return -1;
	return decrypt_and_hash(hs, msg + NOISE_DHLEN, len + NOISE_TAGLEN, payload);
}

void noise_split(struct noise_hs *hs, uint8_t k1[NOISE_KEYLEN], uint8_t k2[NOISE_KEYLEN])
{
	hkdf2(hs->ck, "", 0, k1, k2);
	uint8_t h[NOISE_HASHLEN];
	memcpy(h, hs->h, sizeof(h));
	noise_wipe(hs);
	memcpy(hs->h, h, sizeof(h));
}

void noise_wipe(struct noise_hs *hs)
{
	sodium_memzero(hs, sizeof(*hs));
}
