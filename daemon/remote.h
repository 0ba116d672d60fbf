/* SPDX-License-Identifier: BSD-3-Clause */
/* Private to ferryd: what the NIC hands to remote sessions. */
#ifndef FERRY_REMOTE_H
#define FERRY_REMOTE_H

#include <stdint.h>

struct ferryd;

/* remote-session counters, in struct ferryd_counters */
enum {
	RC_RX_MALFORMED,    /* too short, bad type, bad payload */
	RC_RX_UNKNOWN,      /* names no session of ours, or the wrong sender */
	RC_RX_DATA,
	RC_RX_DATA_DROPPED, /* the client's event ring was full */
	RC_TX_DATA,
	RC_TX_FAILED,
	RC_COUNT
};

/** A ferry packet (the UDP payload) from @p ip:@p port (host order). */
void remote_input(struct ferryd *d, uint32_t ip, uint16_t port, const uint8_t *p, uint16_t len);
/** @p ip (a next hop) did not answer ARP: end the sessions behind it. */
void remote_unreachable(struct ferryd *d, uint32_t ip);
/** Allocate the remote-session counters in the status file. */
void remote_init(struct ferryd *d);

#endif
