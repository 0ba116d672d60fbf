/* SPDX-License-Identifier: BSD-3-Clause */
/* One packet sealed or opened with one key, and the replay window: seal.h. */
#include <arpa/inet.h>
#include <string.h>

#include "seal.h"

#define HDR sizeof(struct ferry_wire_hdr)

uint8_t seal_aeads_available(void)
{
	return FW_AEAD_CHACHA20POLY1305 |
	       (crypto_aead_aes256gcm_is_available() ? FW_AEAD_AES256GCM : 0);
}

int seal_key_init(struct seal_key *k, uint8_t aead, uint8_t mode, const uint8_t key[32])
{
	memset(k, 0, sizeof(*k));
	if ((mode != FW_SEC_AUTHENTICATE && mode != FW_SEC_ENCRYPT) ||
	    !(aead & seal_aeads_available()) ||
	    (aead != FW_AEAD_AES256GCM && aead != FW_AEAD_CHACHA20POLY1305))
		return -1;
	k->aead = aead;
	k->mode = mode;
	memcpy(k->k, key, sizeof(k->k));
	if (aead == FW_AEAD_AES256GCM)
		crypto_aead_aes256gcm_beforenm(&k->aes, key);
	return 0;
}

void seal_key_wipe(struct seal_key *k)
{
	sodium_memzero(k, sizeof(*k));
}

/* Noise's nonces: 32 zero bits, then the counter little-endian
 * (ChaChaPoly) or big-endian (AESGCM). */
static void nonce(const struct seal_key *k, uint64_t n, uint8_t out[12])
{
	memset(out, 0, 4);
	for (int i = 0; i < 8; i++)
		out[4 + i] = (uint8_t)(n >> (k->aead == FW_AEAD_AES256GCM ? 56 - 8 * i : 8 * i));
}

size_t seal_packet_from(const struct seal_key *k, uint32_t key_id, uint64_t counter, uint8_t *buf,
			const uint8_t *pl, size_t plen)
{
	uint8_t npub[12];
	struct ferry_wire_seal s = {.key_id = htonl(key_id),
				    .counter_hi = htonl((uint32_t)(counter >> 32)),
				    .counter_lo = htonl((uint32_t)counter)};
	size_t len = HDR + plen;
	uint8_t *tag = buf + len + sizeof(s);
	uint8_t *m = buf + HDR;
	nonce(k, counter, npub);
	/* encrypt: the payload from pl into buf, the header as associated
	 * data; authenticate: nothing encrypted, all of it associated data
	 * (so it must lie whole in buf) */
	const uint8_t *ad = buf;
	size_t adlen = k->mode == FW_SEC_ENCRYPT ? HDR : len;
	size_t mlen = k->mode == FW_SEC_ENCRYPT ? plen : 0;
	if (k->mode != FW_SEC_ENCRYPT && pl != m && plen)
		memcpy(m, pl, plen);
	if (k->aead == FW_AEAD_AES256GCM)
		crypto_aead_aes256gcm_encrypt_detached_afternm(m, tag, NULL, pl, mlen, ad, adlen,
							       NULL, npub, &k->aes);
	else
		crypto_aead_chacha20poly1305_ietf_encrypt_detached(m, tag, NULL, pl, mlen, ad,
								   adlen, NULL, npub, k->k);
	memcpy(buf + len, &s, sizeof(s));
	return len + SEAL_TRAILER;
}

size_t seal_packet(const struct seal_key *k, uint32_t key_id, uint64_t counter, uint8_t *buf,
		   size_t len)
{
	return seal_packet_from(k, key_id, counter, buf, buf + HDR, len - HDR);
}

void seal_peek(const uint8_t *p, size_t len, uint32_t *key_id, uint64_t *counter)
{
	struct ferry_wire_seal s;
	memcpy(&s, p + len - SEAL_TRAILER, sizeof(s));
	*key_id = ntohl(s.key_id);
	*counter = (uint64_t)ntohl(s.counter_hi) << 32 | ntohl(s.counter_lo);
}

long open_packet(const struct seal_key *k, const uint8_t *p, size_t len, uint8_t *out)
{
	uint32_t id;
	uint64_t counter;
	uint8_t npub[12];
	if (len < HDR + SEAL_TRAILER)
		return -1;
	seal_peek(p, len, &id, &counter);
	nonce(k, counter, npub);
	size_t plain = len - SEAL_TRAILER;
	const uint8_t *tag = p + len - FERRY_WIRE_TAG;
	const uint8_t *ad = p;
	size_t adlen = k->mode == FW_SEC_ENCRYPT ? HDR : plain;
	const uint8_t *c = p + HDR;
	size_t clen = k->mode == FW_SEC_ENCRYPT ? plain - HDR : 0;
	uint8_t none;
	uint8_t *m = k->mode == FW_SEC_ENCRYPT ? out + HDR : &none;
	int rc;
	if (k->aead == FW_AEAD_AES256GCM)
		rc = crypto_aead_aes256gcm_decrypt_detached_afternm(m, NULL, c, clen, tag, ad, adlen,
								    npub, &k->aes);
	else
		rc = crypto_aead_chacha20poly1305_ietf_decrypt_detached(m, NULL, c, clen, tag, ad,
									adlen, npub, k->k);
	if (rc != 0)
		return -1;
	if (k->mode == FW_SEC_ENCRYPT)
		memcpy(out, p, HDR);
	return (long)plain;
}

/* ---- replay window ------------------------------------------------------
 * top is one past the highest counter accepted. A counter at or above top
 * is new; one more than REPLAY_WINDOW below it is too old to judge and
 * refused; in between, its bit says. Moving top forward clears the words
 * it passes, so the bitmap is a ring of REPLAY_BITS / 64 words. */

#define WORDS (REPLAY_BITS / 64)

bool replay_check(const struct seal_replay *r, uint64_t counter, uint64_t limit)
{
	if (counter >= limit)
		return false;
	if (counter >= r->top)
		return true;
	if (counter + REPLAY_WINDOW < r->top)
		return false;
	return !(r->bits[(counter / 64) % WORDS] & (1ull << (counter % 64)));
}

bool replay_mark(struct seal_replay *r, uint64_t counter, uint64_t limit)
{
	if (!replay_check(r, counter, limit))
		return false;
	if (counter >= r->top) {
		/* the words after the old highest counter's, up to the new
		 * one's, start empty (a fresh window is all zeros already) */
		if (r->top) {
			uint64_t from = (r->top - 1) / 64, to = counter / 64;
			uint64_t n = to - from < WORDS ? to - from : WORDS;
			for (uint64_t i = 1; i <= n; i++)
				r->bits[(from + i) % WORDS] = 0;
		}
		r->top = counter + 1;
	}
	r->bits[(counter / 64) % WORDS] |= 1ull << (counter % 64);
	return true;
}
