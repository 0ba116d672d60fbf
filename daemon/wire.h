/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The ferry header, carried in UDP to net.udp_port between ferryd daemons.
 * All fields are in network byte order.
 *
 *    0       1       2       3
 *   +-------+-------+-------+-------+
 *   |version| type  |     flags     |   DATA: the record's FERRY_RECF_RPC
 *   +-------+-------+-------+-------+
 *   |  dst_session (receiver's id)  |   0 in OPEN
 *   +-------------------------------+
 *   |  src_session (sender's id)    |
 *   +-------------------------------+
 *   |  aux                          |   REFUSE, CLOSE: reason
 *   +-------------------------------+
 *   |  type's payload ...           |   OPEN: service[32]; DATA: message
 *
 * A session is the pair of ids, one chosen by each daemon; a packet names
 * the receiver's id, so the receiver finds the session with one lookup and
 * checks that the sender's address and id match it.
 */
#ifndef FERRY_WIRE_H
#define FERRY_WIRE_H

#include <assert.h>
#include <stdint.h>

#include "ferry_shm.h"

enum ferry_wire_type {
	FW_OPEN = 1,   /* open a session to a service; payload: service */
	FW_ACCEPT = 2, /* the service accepted: src_session is its id */
	FW_REFUSE = 3, /* no such service, refused, or a limit; aux: reason */
	FW_DATA = 4,   /* one whole message */
	FW_CLOSE = 5,  /* the session ended; aux: reason */
	FW_TYPE_MAX
};

struct ferry_wire_hdr {
	uint8_t version; /* FERRY_WIRE_VERSION */
	uint8_t type;
	uint16_t flags;
	uint32_t dst_session;
	uint32_t src_session;
	uint32_t aux;
};
static_assert(sizeof(struct ferry_wire_hdr) == 16, "wire ABI");

struct ferry_wire_open {
	char service[FERRY_SERVICE_MAX];
};

#endif
