/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The Noise protocol framework's IK handshake (noiseprotocol.org, revision
 * 34), for the suite Noise_IK_25519_ChaChaPoly_SHA256:
 *
 *   <- s
 *   ...
 *   -> e, es, s, ss       (message 1: initiator to responder)
 *   <- e, ee, se          (message 2: responder to initiator)
 *
 * The initiator knows the responder's static key beforehand; the responder
 * learns the initiator's from message 1 and decides whether to trust it.
 * Each message may carry a payload, encrypted and authenticated by the
 * keys mixed in so far. Split() then gives one key per direction.
 *
 * Only the state machine is written here (the CipherState, SymmetricState
 * and HandshakeState objects of the spec's section 5, and the IK message
 * pattern); every primitive is libsodium's: X25519 (crypto_scalarmult),
 * ChaCha20-Poly1305 IETF, SHA-256 and HMAC-SHA-256 (the spec's HKDF is
 * built from HMAC exactly as section 4.3 says). The test vectors of the
 * Noise community (tests/core/test_noise.c) check it byte for byte.
 *
 * No allocation, no randomness of its own: ephemeral private keys are
 * handed in, so a test can fix them.
 */
#ifndef FERRY_CORE_NOISE_H
#define FERRY_CORE_NOISE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NOISE_DHLEN 32
#define NOISE_HASHLEN 32
#define NOISE_KEYLEN 32
#define NOISE_TAGLEN 16
/* Message 1 without payload: e, encrypted s (with its tag), payload tag. */
#define NOISE_IK_MSG1_LEN(payload) (NOISE_DHLEN + NOISE_DHLEN + 2 * NOISE_TAGLEN + (payload))
/* Message 2 without payload: e, payload tag. */
#define NOISE_IK_MSG2_LEN(payload) (NOISE_DHLEN + NOISE_TAGLEN + (payload))

/* Section 5.1. */
struct noise_cipher {
	uint8_t k[NOISE_KEYLEN];
	uint64_t n;
	bool has_key;
};

/* Sections 5.2 and 5.3. */
struct noise_hs {
	struct noise_cipher cs;
	uint8_t ck[NOISE_HASHLEN];
	uint8_t h[NOISE_HASHLEN];
	uint8_t s[NOISE_DHLEN], s_pub[NOISE_DHLEN]; /* ours */
	uint8_t e[NOISE_DHLEN], e_pub[NOISE_DHLEN];
	uint8_t rs[NOISE_DHLEN];                   /* theirs */
	uint8_t re[NOISE_DHLEN];
	bool initiator;
};

/**
 * Initialize(): the protocol name, the prologue, and the pre-message (the
 * responder's static key, which both sides mix in).
 * @param s       our static private key
 * @param rs      the initiator: the responder's static public key; the
 *                responder: NULL (message 1 tells it)
 * @return 0, or -1 (our static key gives no public key: libsodium said no)
 */
int noise_ik_init(struct noise_hs *hs, bool initiator, const void *prologue, size_t plen,
		  const uint8_t s[NOISE_DHLEN], const uint8_t *rs);

/**
 * WriteMessage() of message 1 (initiator): e, es, s, ss, then @p payload.
 * @param e    the ephemeral private key to use
 * @param out  NOISE_IK_MSG1_LEN(@p len) bytes
 * @return 0, or -1: a DH result of all zeros (a bad responder key)
 */
int noise_ik_write1(struct noise_hs *hs, const uint8_t e[NOISE_DHLEN], const void *payload,
		    size_t len, uint8_t *out);

/**
 * ReadMessage() of message 1 (responder), in two steps, so the responder
 * can look at the initiator's static key (hs->rs after the first) before
 * it spends a second DH on it.
 * noise_ik_read1_static(): e, es, s. @return 0, or -1: not for our key
 * (the encrypted s does not verify), or a bad ephemeral key
 * noise_ik_read1_payload(): ss, then the payload (@p len bytes of
 * plaintext into @p payload). @return 0, or -1: it does not verify
 * @p msg is the whole message; its length is NOISE_IK_MSG1_LEN(len).
 */
int noise_ik_read1_static(struct noise_hs *hs, const uint8_t *msg);
int noise_ik_read1_payload(struct noise_hs *hs, const uint8_t *msg, void *payload, size_t len);

/** WriteMessage() of message 2 (responder): e, ee, se, then @p payload.
 *  @p out holds NOISE_IK_MSG2_LEN(@p len) bytes. @return 0 or -1 */
int noise_ik_write2(struct noise_hs *hs, const uint8_t e[NOISE_DHLEN], const void *payload,
		    size_t len, uint8_t *out);

/** ReadMessage() of message 2 (initiator); @p msg is NOISE_IK_MSG2_LEN(len)
 *  bytes. @return 0, or -1: it does not verify */
int noise_ik_read2(struct noise_hs *hs, const uint8_t *msg, void *payload, size_t len);

/**
 * Split(): the two transport keys, the initiator's sending key first. The
 * handshake state is wiped (hs->h, the handshake hash, is kept for
 * channel binding).
 */
void noise_split(struct noise_hs *hs, uint8_t k1[NOISE_KEYLEN], uint8_t k2[NOISE_KEYLEN]);

/** Zero every secret in @p hs. */
void noise_wipe(struct noise_hs *hs);

/** The transport phase's EncryptWithAd() / DecryptWithAd() with
 *  ChaChaPoly (section 5.1), for the test vectors: @p out holds @p len +
 *  NOISE_TAGLEN bytes (encrypt) or @p len - NOISE_TAGLEN (decrypt).
 *  @return 0, or -1 (decrypt: it does not verify; nonces used up) */
int noise_encrypt(struct noise_cipher *cs, const void *ad, size_t adlen, const void *pt,
		  size_t len, uint8_t *out);
int noise_decrypt(struct noise_cipher *cs, const void *ad, size_t adlen, const uint8_t *ct,
		  size_t len, void *out);

#endif
