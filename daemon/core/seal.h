/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Sealing and opening one ferry packet with one direction's key, and the
 * receiver's replay window. The layout (wire.h, "Sealed packets"):
 *
 *   | ferry header (48) | payload (n) | key id (4) | counter (8) | tag (16) |
 *
 * encrypt:      the payload is encrypted; the header is associated data;
 * authenticate: the payload stays plain; header and payload are the
 *               associated data of an AEAD over nothing (a MAC).
 * The key id picks the key and the counter is the nonce, so neither needs
 * to be associated data: a changed one opens with the wrong key or nonce
 * and the tag fails. AEADs: AES-256-GCM (with AES-NI) or
 * ChaCha20-Poly1305 (IETF), both libsodium's; the 96-bit nonce is 32 zero
 * bits and the counter, as Noise encodes it for each cipher.
 *
 * No allocation, no state beyond the key: the caller owns the counters.
 * Used by secure.c, and alone by the unit tests and tests/bench/seal_bench.
 */
#ifndef FERRY_CORE_SEAL_H
#define FERRY_CORE_SEAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sodium.h>

#include "wire.h"

#define SEAL_TRAILER (sizeof(struct ferry_wire_seal) + FERRY_WIRE_TAG)

struct seal_key {
	crypto_aead_aes256gcm_state aes; /* expanded key (AES-256-GCM) */
	uint8_t k[32];
	uint8_t aead; /* FW_AEAD_* */
	uint8_t mode; /* FW_SEC_* */
};

/** The AEADs this CPU runs (FW_AEAD_* bits; ChaCha20-Poly1305 always).
 *  sodium_init() must have run. */
uint8_t seal_aeads_available(void);

/** @return 0, or -1 (an AEAD this CPU cannot run, or an unknown mode) */
int seal_key_init(struct seal_key *k, uint8_t aead, uint8_t mode, const uint8_t key[32]);
void seal_key_wipe(struct seal_key *k);

/**
 * Seal the packet in @p buf in place: header and @p len bytes after it
 * (the whole packet, header included), then the trailer is appended.
 * @p buf has room for @p len + SEAL_TRAILER bytes.
 * @return the sealed length
 */
size_t seal_packet(const struct seal_key *k, uint32_t key_id, uint64_t counter, uint8_t *buf,
		   size_t len);

/**
 * As seal_packet(), with the header in @p buf and the @p plen bytes of
 * payload read from @p pl (which may be buf + header, or lie elsewhere):
 * encrypt writes the ciphertext straight into @p buf, so a payload held
 * elsewhere is not copied first. @return the sealed length
 */
size_t seal_packet_from(const struct seal_key *k, uint32_t key_id, uint64_t counter, uint8_t *buf,
			const uint8_t *pl, size_t plen);

/** The key id and counter of the sealed packet @p p of @p len bytes
 *  (len >= sizeof header + SEAL_TRAILER, checked by the caller). */
void seal_peek(const uint8_t *p, size_t len, uint32_t *key_id, uint64_t *counter);

/**
 * Open the sealed packet @p p of @p len bytes. encrypt: header and plaintext go to @p out (room for
 * @p len bytes), authenticate: nothing is written and the plain packet is
 * @p p itself. @return the plain packet's length, or -1: it does not
 * verify (or is shorter than a header and a seal)
 */
long open_packet(const struct seal_key *k, const uint8_t *p, size_t len, uint8_t *out);

/* ---- the replay window (RFC 6479's bitmap, as WireGuard keeps it) ------ */

#define REPLAY_BITS 2048u
#define REPLAY_WINDOW (REPLAY_BITS - 64u) /* counters this far back are judged */

struct seal_replay {
	uint64_t top; /* 1 + the highest counter accepted; 0: none yet */
	uint64_t bits[REPLAY_BITS / 64];
};

/** Whether @p counter may be new: not seen, not too old, below @p limit.
 *  Changes nothing (call before spending an AEAD on the packet). */
bool replay_check(const struct seal_replay *r, uint64_t counter, uint64_t limit);
/** Record @p counter once its packet verified. @return false: seen already */
bool replay_mark(struct seal_replay *r, uint64_t counter, uint64_t limit);

#endif
