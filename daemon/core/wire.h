/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The ferry header, carried in UDP between ferryd daemons (to net.udp_port,
 * from a port of that host's flow range). All fields are in network byte
 * order. 48 bytes. Version 3.
 *
 *    0       1       2       3
 *   +-------+-------+-------+-------+
 *   |version| type  |     flags     |  FWF_*
 *   +-------+-------+-------+-------+
 *   |  dst_session (receiver's id)  |  0 in OPEN, PING, PONG, KEEPALIVE
 *   +-------------------------------+
 *   |  src_session (sender's id)    |  0 in REFUSE, PING, PONG
 *   +-------------------------------+
 *   |  aux                          |  see the types below
 *   +-------------------------------+
 *   |  seq                          |  DATA: packet number; OPEN, ACCEPT:
 *   +-------------------------------+  the sender's first; PING: a nonce
 *   |  ack                          |  next packet number expected
 *   +-------------------------------+
 *   |  sack (64 bits)               |  bit i: ack + 1 + i has arrived
 *   |                               |
 *   +-------------------------------+
 *   |  window                       |  stream offset the peer may send up to
 *   +-------------------------------+
 *   |  ts                           |  sender's clock, ns (low 32 bits)
 *   +-------------------------------+
 *   |  ts_echo                      |  ts of the packet this acks, 0: none
 *   +-------------------------------+
 *   |  ack_delay                    |  ns from that packet's arrival to now
 *   +-------------------------------+
 *   |  payload ...                  |  OPEN, ACCEPT: struct below; DATA:
 *                                      stream bytes
 *
 * A session is the pair of ids, one chosen by each daemon at random; a
 * packet names the receiver's id, so the receiver finds the session with
 * one lookup and checks that the sender's address and id match it.
 *
 * Each direction of a session is a stream of frames, one per message:
 * struct ferry_wire_frame (8 bytes) then the message. DATA packets carry
 * consecutive slices of that stream, so small messages share a packet and
 * large ones span many; the receiver puts the stream back in order by seq
 * and cuts it into messages again. Offsets are of that stream, in bytes;
 * 32-bit fields carry the low bits and are widened next to a known value.
 *
 * Every packet of a session after the handshake carries the ack fields, so
 * acks ride on data going the other way; ACK is a packet with only those.
 *
 * Path MTU (daemon/core/pmtu.c). Every packet leaves with DF set. When the
 * path to a peer shrinks, new data goes in smaller packets, but a packet
 * already sent keeps its number and its stream bytes: one too big for the
 * path now is resent as 2 to FERRY_WIRE_FRAG_MAX fragments, DATA packets
 * with FWF_FRAG, each carrying the same seq, its own offset in aux, and a
 * struct ferry_wire_frag before its bytes. The split is fixed by the
 * packet's length and the count: every fragment but the last carries
 * L = ceil(pkt_len / count) bytes, fragment i those at i * L of the
 * packet, the last the rest (at least one byte). The receiver rebuilds
 * the packet (one at a time per session: fragments of another packet end
 * an unfinished one) and only then gives it to its reorder window; every
 * fragment that breaks the rule, or disagrees with the fragments of the
 * same packet already held, is counted and dropped.
 *
 *   DATA, FWF_FRAG, seq N, aux = offset of the packet + i * L
 *   +---------------+-------+-------+----------------------------+
 *   |    pkt_len    | index | count | L bytes (last: the rest)   |
 *   +---------------+-------+-------+----------------------------+
 *
 * A PING may carry any payload after its header, which the receiver
 * ignores: padded to the size being tried, it is a path MTU probe, and
 * its PONG (small) says that size gets through.
 *
 * What a blind attacker (one who cannot see the traffic) must guess to
 * touch a session: both 32-bit ids, which each ferryd draws at random, and
 * for anything that changes the session's state a sequence field that
 * fits it (a packet number inside the receive window, an ack of a number
 * actually sent, the echo of a first packet number or of a nonce). Each
 * ferryd also draws an incarnation when it starts and sends it in OPEN,
 * ACCEPT, RESET, PING and PONG, so that a restarted peer is recognised by
 * what it says, not by ids it happens to reuse. None of this stops a host
 * that can see the traffic; that takes cryptography: security.mode.
 *
 * Secure channels (security.mode authenticate or encrypt; the protocol is
 * daemon/core/SECURITY.md). Two ferryds first run a Noise IK handshake,
 * Noise_IK_25519_ChaChaPoly_SHA256, prologue "ferry noise ik v1", each
 * message after a ferry header whose other fields are 0 unless said:
 *
 *   HS_INIT    src_session: the initiator's index; payload: Noise message
 *              1 (e 32, encrypted s 48, encrypted ferry_wire_hs_init 40):
 *              168 bytes with the header
 *   HS_RESP    dst_session: the initiator's index, src_session: the
 *              responder's; payload: Noise message 2 (e 32, encrypted
 *              ferry_wire_hs_resp 40): 120 bytes with the header
 *   HS_REJECT  dst_session: the initiator's index; aux: a FERRY_REASON_*
 *              (UNTRUSTED, SECURITY, REFUSED); not authenticated, so the
 *              initiator believes it only for a handshake it has running
 *
 * Every other packet between them is then sealed (FWF_SEALED in flags):
 *
 *   | header 48 | payload | key id 4 | counter 8 | tag 16 |
 *
 * key id: the receiver's index of the keys used; counter: the sender's
 * packet count under them, from 0, also the AEAD nonce (32 zero bits, then
 * the counter: little-endian for ChaCha20-Poly1305, big-endian for
 * AES-256-GCM, as Noise has it). encrypt: the payload is encrypted, the
 * header is the associated data; authenticate: the payload is plain and
 * header and payload are the associated data of a tag over nothing.
 * KEEPALIVE is sealed and carries nothing: it confirms fresh keys to the
 * responder when the initiator has nothing else to send.
 */
#ifndef FERRY_WIRE_H
#define FERRY_WIRE_H

#include <assert.h>
#include <stdint.h>

#include "ferry_shm.h"

/* The first byte of every ferry header. net/net_host.h, which checks it on
 * input, defines it with this very line: nic.c includes both headers, so
 * the two cannot drift apart without a redefinition error. */
#define FERRY_WIRE_VERSION 3

enum ferry_wire_type {
	FW_OPEN = 1,      /* open a session to a service; payload: ferry_wire_open;
			   * aux: the sender's largest message */
	FW_ACCEPT = 2,    /* the service accepted: src_session is its id; ack
			   * echoes the OPEN's seq; payload: ferry_wire_accept;
			   * aux: the sender's largest message */
	FW_REFUSE = 3,    /* no such service, refused, or a limit; aux: reason;
			   * ack echoes the OPEN's seq */
	FW_DATA = 4,      /* a slice of the message stream; aux: its offset */
	FW_CLOSE = 5,     /* the session ended; aux: reason; seq: the sender's
			   * next packet number */
	FW_ACK = 6,       /* ack fields only (FWF_PROBE: answer with an ACK) */
	FW_CLOSE_ACK = 7, /* the CLOSE arrived (also for a session long gone);
			   * ack echoes the CLOSE's seq */
	FW_RESET = 8,     /* "I have no such session": answers a packet for an
			   * unknown session; ack echoes that packet's seq, aux:
			   * the sender's incarnation */
	FW_PING = 9,      /* is the peer's ferryd there, and which incarnation?
			   * seq: a nonce; aux: the sender's incarnation;
			   * payload: padding, ignored (a path MTU probe) */
	FW_PONG = 10,     /* answers PING: ack echoes its nonce; aux: incarnation */
	/* secure channels (see above): */
	FW_KEEPALIVE = 11, /* sealed, nothing else: confirms new keys */
	FW_HS_INIT = 12,   /* handshake message 1 */
	FW_HS_RESP = 13,   /* handshake message 2 */
	FW_HS_REJECT = 14, /* the handshake is refused; aux: reason */
	FW_TYPE_MAX
};

/* ferry_wire_hdr.flags */
#define FWF_PROBE 0x1u /* the receiver acks at once (window probe) */
#define FWF_FRAG 0x2u  /* DATA: a fragment of packet seq (see above) */
#define FWF_SEALED 0x4u /* a seal follows the payload (secure channels) */

/* The largest IP MTU ferry sends with (port.mtu's maximum), and so the
 * most stream bytes one packet carries: IPv4 and UDP take 28 bytes, the
 * header 48. */
#define FERRY_WIRE_MTU_MAX 9001u
#define FERRY_WIRE_IPUDP_HLEN 28u
#define FERRY_WIRE_PKT_MAX (FERRY_WIRE_MTU_MAX - FERRY_WIRE_IPUDP_HLEN - 48u)
#define FERRY_WIRE_FRAG_MAX 32u

struct ferry_wire_hdr {
	uint8_t version; /* FERRY_WIRE_VERSION (net_host.h) */
	uint8_t type;
	uint16_t flags;
	uint32_t dst_session;
	uint32_t src_session;
	uint32_t aux;
	uint32_t seq;
	uint32_t ack;
	uint64_t sack;
	uint32_t window;
	uint32_t ts;
	uint32_t ts_echo;
	uint32_t ack_delay;
};
static_assert(sizeof(struct ferry_wire_hdr) == 48, "wire ABI");

/* OPEN's payload. */
struct ferry_wire_open {
	char service[FERRY_SERVICE_MAX];
	uint32_t incarnation; /* the sender's, chosen at its start */
	uint32_t max_window;  /* the most stream bytes the sender will ever
			       * advertise beyond what it has received */
	uint32_t reserved[2];
};
static_assert(sizeof(struct ferry_wire_open) == 48, "wire ABI");

/* ACCEPT's payload. */
struct ferry_wire_accept {
	uint32_t incarnation;
	uint32_t max_window;
	uint32_t reserved[2];
};
static_assert(sizeof(struct ferry_wire_accept) == 16, "wire ABI");

/* The seal after a sealed packet's payload, then FERRY_WIRE_TAG bytes. */
struct ferry_wire_seal {
	uint32_t key_id;     /* the receiver's index of the keys */
	uint32_t counter_hi; /* the sender's packet count under them */
	uint32_t counter_lo;
};
static_assert(sizeof(struct ferry_wire_seal) == 12, "wire ABI");
#define FERRY_WIRE_TAG 16

/* Security modes and AEADs, as the handshake carries them. */
enum { FW_SEC_AUTHENTICATE = 1, FW_SEC_ENCRYPT = 2 };
#define FW_AEAD_CHACHA20POLY1305 0x1u
#define FW_AEAD_AES256GCM 0x2u

/* HS_INIT's payload, encrypted in Noise message 1. */
struct ferry_wire_hs_init {
	uint32_t index;       /* the initiator's index of the keys to come */
	uint32_t incarnation; /* the initiator's */
	uint8_t mode;         /* FW_SEC_*: the initiator's security.mode */
	uint8_t aeads;        /* FW_AEAD_* bits the initiator can run */
	uint16_t reserved;
	uint32_t reserved2;
	uint64_t timestamp;   /* the initiator's wall clock, ns: larger in each
			       * handshake, so a replayed one is told apart */
};
static_assert(sizeof(struct ferry_wire_hs_init) == 24, "wire ABI");

/* HS_RESP's payload, encrypted in Noise message 2. */
struct ferry_wire_hs_resp {
	uint32_t index;       /* the responder's index of the keys */
	uint32_t echo;        /* the initiator's index */
	uint32_t incarnation; /* the responder's */
	uint8_t mode;         /* FW_SEC_*: the responder's (the same) */
	uint8_t aead;         /* FW_AEAD_*: the one chosen for both ways */
	uint16_t reserved;
	uint64_t reserved2;
};
static_assert(sizeof(struct ferry_wire_hs_resp) == 24, "wire ABI");

/* One message in the stream: this, then len bytes. */
struct ferry_wire_frame {
	uint32_t len;
	uint16_t flags; /* the record's FERRY_RECF_* (RPC) */
	uint16_t zero;
};
static_assert(sizeof(struct ferry_wire_frame) == 8, "wire ABI");

/* Before a fragment's bytes (FWF_FRAG). */
struct ferry_wire_frag {
	uint16_t pkt_len; /* the whole packet's stream bytes, <= FERRY_WIRE_PKT_MAX */
	uint8_t index;    /* this fragment's, < count */
	uint8_t count;    /* 2 .. FERRY_WIRE_FRAG_MAX */
};
static_assert(sizeof(struct ferry_wire_frag) == 4, "wire ABI");

/** A 32-bit wire offset @p v as the 64-bit offset nearest @p ref. */
static inline uint64_t ferry_wire_widen(uint64_t ref, uint32_t v)
{
	return ref + (uint64_t)(int64_t)(int32_t)(v - (uint32_t)ref);
}

#endif
