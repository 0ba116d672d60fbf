/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The ferry header, carried in UDP to net.udp_port between ferryd daemons.
 * All fields are in network byte order. 48 bytes.
 *
 *    0       1       2       3
 *   +-------+-------+-------+-------+
 *   |version| type  |     flags     |  FWF_*
 *   +-------+-------+-------+-------+
 *   |  dst_session (receiver's id)  |  0 in OPEN
 *   +-------------------------------+
 *   |  src_session (sender's id)    |
 *   +-------------------------------+
 *   |  aux                          |  REFUSE, CLOSE: reason; DATA: offset
 *   +-------------------------------+  in the stream; OPEN, ACCEPT: max msg
 *   |  seq                          |  DATA: packet number; OPEN, ACCEPT:
 *   +-------------------------------+  the sender's first number
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
 *   |  payload ...                  |  OPEN: service; DATA: stream bytes
 *
 * A session is the pair of ids, one chosen by each daemon; a packet names
 * the receiver's id, so the receiver finds the session with one lookup and
 * checks that the sender's address and id match it.
 *
 * Each direction of a session is a stream of frames, one per message:
 * struct ferry_wire_frame (8 bytes) then the message. DATA packets carry
 * consecutive slices of that stream, so small messages share a packet and
 * large ones span many; the receiver puts the stream back in order by seq
 * and cuts it into messages again. Offsets are of that stream, in bytes;
 * 32-bit fields carry the low bits and are widened next to a known value.
 *
 * Every packet after the handshake carries the ack fields, so acks ride on
 * data going the other way; ACK is a packet with only those. OPEN and
 * ACCEPT carry the sender's ipc.max_message_size; the session takes the
 * smaller, so neither end is sent a message it would refuse.
 */
#ifndef FERRY_WIRE_H
#define FERRY_WIRE_H

#include <assert.h>
#include <stdint.h>

#include "ferry_shm.h"

enum ferry_wire_type {
	FW_OPEN = 1,      /* open a session to a service; payload: service */
	FW_ACCEPT = 2,    /* the service accepted: src_session is its id */
	FW_REFUSE = 3,    /* no such service, refused, or a limit; aux: reason */
	FW_DATA = 4,      /* a slice of the message stream */
	FW_CLOSE = 5,     /* the session ended; aux: reason; all data was acked */
	FW_ACK = 6,       /* ack fields only (FWF_PROBE: answer with an ACK) */
	FW_CLOSE_ACK = 7, /* the CLOSE arrived (also for a session long gone) */
	FW_TYPE_MAX
};

/* ferry_wire_hdr.flags */
#define FWF_PROBE 0x1u /* the receiver acks at once (keepalive, window probe) */

struct ferry_wire_hdr {
	uint8_t version; /* FERRY_WIRE_VERSION */
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

struct ferry_wire_open {
	char service[FERRY_SERVICE_MAX];
};

/* One message in the stream: this, then len bytes. */
struct ferry_wire_frame {
	uint32_t len;
	uint16_t flags; /* the record's FERRY_RECF_* (RPC) */
	uint16_t zero;
};
static_assert(sizeof(struct ferry_wire_frame) == 8, "wire ABI");

/** A 32-bit wire offset @p v as the 64-bit offset nearest @p ref. */
static inline uint64_t ferry_wire_widen(uint64_t ref, uint32_t v)
{
	return ref + (uint64_t)(int64_t)(int32_t)(v - (uint32_t)ref);
}

#endif
