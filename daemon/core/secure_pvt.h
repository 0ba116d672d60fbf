/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Private to the secure channels (secure.c, secure_hs.c): a channel per
 * peer address, its keys, what waits for them, and what the two files
 * call of each other.
 *
 *   secure.c     channels and keys, sealing what leaves, opening what
 *                arrives, the timers, set-up
 *   secure_hs.c  the handshake (Noise IK, noise.c) as initiator and as
 *                responder, trust, the budget for others' handshakes
 */
#ifndef FERRY_CORE_SECURE_PVT_H
#define FERRY_CORE_SECURE_PVT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>

#include "core_pvt.h"
#include "noise.h"
#include "seal.h"

#define HDR sizeof(struct ferry_wire_hdr)
#define PROLOGUE "ferry noise ik v1"
#define MSG1_PAYLOAD NOISE_IK_MSG1_LEN(sizeof(struct ferry_wire_hs_init))
#define MSG2_PAYLOAD NOISE_IK_MSG2_LEN(sizeof(struct ferry_wire_hs_resp))
#define MAX_PACKET 65536u

#define MS 1000000ull
#define HS_RETRY_NS (50 * MS)       /* an unanswered HS_INIT goes again, */
#define HS_RETRY_MAX_NS (1000 * MS) /* backing off to this */
#define TRIGGER_GAP_NS (100 * MS)   /* unopenable packets: one handshake */
#define INIT_GAP_NS (20 * MS)       /* HS_INIT of one key, taken at most */
#define REFUSED_HOLD_NS (1000 * MS) /* a refusal is believed this long */
#define HS_RATE 1000.0              /* handshake work per second, all peers */
#define HS_BURST 100.0
#define QUEUE_PKTS 256u             /* packets waiting for keys, per peer */
#define QUEUE_BYTES (1u << 20)
#define REKEY_NS (120 * 1000000000ull)
#define CANDIDATES 8

/* Per AEAD: packets sealed under one key before a new handshake, and the
 * most ever. AES-GCM: RFC 9001 section 6.6 puts the confidentiality limit
 * at 2^23 packets; ChaCha20-Poly1305's is beyond reach (WireGuard rekeys
 * at 2^60). */
#define AES_REKEY_PKTS (1ull << 22)
#define AES_LIMIT_PKTS (1ull << 23)
#define CHACHA_REKEY_PKTS (1ull << 60)
#define CHACHA_LIMIT_PKTS (1ull << 61)

static_assert((int)FCORE_SEC_AUTHENTICATE == FW_SEC_AUTHENTICATE &&
		      (int)FCORE_SEC_ENCRYPT == FW_SEC_ENCRYPT,
	      "modes as the wire has them");
static_assert(FCORE_AEAD_AES256GCM == FW_AEAD_AES256GCM &&
		      FCORE_AEAD_CHACHA20POLY1305 == FW_AEAD_CHACHA20POLY1305,
	      "AEADs as the wire has them");

#define IP4(a) (a) >> 24, ((a) >> 16) & 255, ((a) >> 8) & 255, (a) & 255

/* The keys of one handshake, both ways. */
struct fkeys {
	struct seal_key tx, rx;
	struct seal_replay rw;
	uint64_t tx_ctr;       /* our next counter */
	uint64_t born_ns;
	uint64_t rekey_pkts, limit_pkts;
	uint32_t local_id;     /* the peer's packets name this */
	uint32_t remote_id;    /* ours name this */
	uint32_t peer_inc;     /* the peer's incarnation, from the handshake */
	bool initiator;
};

/* A packet waiting for keys. */
struct fqpkt {
	STAILQ_ENTRY(fqpkt) link;
	uint64_t at;
	uint16_t sport, dport;
	uint32_t len;
	uint8_t data[]; /* header, then payload */
};

struct fchan {
	uint32_t ip;
	struct fkeys *cur, *prev, *next;
	/* our handshake, as initiator */
	struct noise_hs hs;
	bool hs_active;
	bool announced;      /* the first keys were logged */
	bool triggered;      /* made by a trigger, no keys yet (n_triggered) */
	bool refuse_pending; /* sessions still to be told of the refusal */
	int refused;         /* a FERRY_REASON_*: our handshakes are refused */
	uint32_t hs_id;      /* our index in the HS_INIT in flight */
	uint32_t hs_tries;
	uint64_t hs_start_ns, hs_due_ns;
	uint64_t refused_until_ns, last_trigger_ns;
	STAILQ_HEAD(, fqpkt) q;
	uint32_t q_n;
	uint64_t q_bytes;
	struct ftimer timer;
	LIST_ENTRY(fchan) link;
};

/* A trusted key, once however many subnets it is listed with. */
struct fsec_key {
	uint8_t pub[32];
	uint64_t last_ts;      /* the newest handshake timestamp taken */
	uint64_t last_init_ns; /* when */
};

struct fsec_net {
	uint32_t key; /* index in keys */
	struct fcore_cidr net;
};

struct fsec {
	struct fcore_link_ops lower; /* the link's own: packets as they are */
	uint8_t mode;                /* FW_SEC_* */
	uint8_t aeads;               /* what we offer and accept */
	uint8_t s[32];
	struct noise_hs resp; /* a responder before message 1: each starts as this */
	struct fsec_key *keys;
	uint32_t n_keys;
	struct fsec_net *nets;
	uint32_t n_nets;
	struct fmap chans; /* ip -> struct fchan */
	LIST_HEAD(, fchan) all;
	uint32_t n_chans, max_chans;
	/* channels a trigger made that have no keys yet: anyone on a trusted
	 * subnet can forge triggers from many addresses, so they may take a
	 * quarter of the table, never what real peers need */
	uint32_t n_triggered, max_triggered;
	double tokens; /* handshake budget (token bucket) */
	uint64_t tokens_ns;
	uint64_t last_log_ns, last_ts_sent;
	uint64_t rekey_ns, reject_ns;
	uint8_t rx[MAX_PACKET]; /* an opened packet, while the core reads it */
	uint8_t tx[MAX_PACKET + SEAL_TRAILER]; /* a packet being sealed */
};

static inline uint64_t sec_min64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

/* ---- secure.c ------------------------------------------------------------ */

void sec_keys_free(struct fkeys *k);
/** Keys for both ways, sealing with @p tx and opening with @p rx.
 *  @return them, or NULL (memory) */
struct fkeys *sec_keys_new(struct fcore *c, uint8_t aead, const uint8_t tx[32],
			   const uint8_t rx[32], uint32_t local, uint32_t remote, bool initiator,
			   uint32_t peer_inc);
/** A fresh index for keys of @p ch: not 0, not one it uses. */
uint32_t sec_new_index(struct fcore *c, const struct fchan *ch);
struct fchan *sec_chan_find(const struct fcore *c, uint32_t ip);
/** @p ip's channel, made if need be. @return it, or NULL (memory, or as
 *  many channels as there may be) */
struct fchan *sec_chan_get(struct fcore *c, uint32_t ip);
/** Set the channel's timer to its next deadline (at once when it holds
 *  nothing any more: the timer frees it). */
void sec_chan_rearm(struct fcore *c, struct fchan *ch);
/** Drop what waits for keys (counted). */
void sec_queue_drop(struct fcore *c, struct fchan *ch);
/** Send what waits, with cur. @return packets sent */
unsigned sec_queue_flush(struct fcore *c, struct fchan *ch);
/** A packet as it is (handshake messages, refusals), header first. */
int sec_send_raw(struct fcore *c, uint32_t ip, uint16_t sport, uint16_t dport, const uint8_t *p,
		 size_t len);
/** Seal a packet with @p ch's cur and send it. */
int sec_seal_send(struct fcore *c, struct fchan *ch, uint16_t sport, uint16_t dport,
		  const void *hdr, const void *p1, uint32_t l1, const void *p2, uint32_t l2);

/* ---- secure_hs.c --------------------------------------------------------- */

/** The index of a trusted key equal to @p pub, or -1. */
int sec_key_find(const struct fsec *x, const uint8_t pub[32]);
/** Start a handshake with @p ch's peer (a no-op while one runs, or while
 *  the peer refuses us). */
void sec_hs_start(struct fcore *c, struct fchan *ch);
/** Send (again) the running handshake's first message. */
void sec_hs_send(struct fcore *c, struct fchan *ch);
/** @p ch's cur are new keys: count, log, learn the peer's incarnation. */
void sec_keys_up(struct fcore *c, struct fchan *ch);
/** A sealed packet under keys we do not hold came from @p ip. */
void sec_trigger(struct fcore *c, uint32_t ip);
/** At most one warning a second about what peers send (anyone can make
 *  us log otherwise). */
bool sec_may_log(struct fcore *c);
/** The handshake messages (headers and payloads checked here). */
void sec_on_init(struct fcore *c, uint32_t ip, uint16_t port, uint16_t dport,
		 const struct ferry_wire_hdr *h, const uint8_t *pl, uint32_t plen);
void sec_on_resp(struct fcore *c, uint32_t ip, const struct ferry_wire_hdr *h, const uint8_t *pl,
		 uint32_t plen);
void sec_on_reject(struct fcore *c, uint32_t ip, const struct ferry_wire_hdr *h);
/** HS_REJECT for the initiator's @p index. */
void sec_send_reject(struct fcore *c, uint32_t ip, uint16_t sport, uint16_t dport, uint32_t index,
		     int reason);

#endif
