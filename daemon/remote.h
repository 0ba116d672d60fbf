/* SPDX-License-Identifier: BSD-3-Clause */
/* Private to ferryd: what the NIC hands to remote sessions. */
#ifndef FERRY_REMOTE_H
#define FERRY_REMOTE_H

#include <stdbool.h>
#include <stdint.h>

struct ferryd;
struct fsession;

/* remote-session counters, in struct ferryd_counters */
enum {
	RC_RX_MALFORMED,    /* too short, bad type, bad payload */
	RC_RX_UNKNOWN,      /* names no session of ours, or the wrong sender */
	RC_RX_DATA,
	RC_TX_DATA,
	RC_TX_FAILED,
	RC_RX_PACKETS,
	RC_TX_PACKETS,
	RC_TX_RETRANSMITS,
	RC_RX_DUP,          /* a packet seen before */
	RC_RX_OOO,          /* held until a gap before it filled */
	RC_RX_BEYOND,       /* past the window or the flow-control edge */
	RC_TX_ACKS,         /* ACK packets (acks on data are free) */
	RC_RTO,             /* retransmission timeouts */
	RC_TX_PROBES,       /* keepalive and window probes */
	RC_PEER_TIMEOUTS,   /* sessions ended: the peer went silent */
	RC_TX_RESETS,       /* CLOSE sent for a session we do not know */
	RC_PROTOCOL,        /* the peer framed a message we cannot take */
	RC_ACKS_INVALID,    /* acks of packets never sent */
	RC_SEND_STALLS,     /* a send buffer was full: the client waited */
	RC_COUNT
};

/**
 * A ferry packet (the UDP payload) from @p ip:@p port (host order).
 * @return true when it belonged to a live session and that session has not
 *         vouched for its peer's address for a second: the caller confirms
 *         the peer's ARP entry (upper-layer confirmation, RFC 1122 2.3.2.1)
 */
bool remote_input(struct ferryd *d, uint32_t ip, uint16_t port, const uint8_t *p, uint16_t len);
/** Whether an opening session's last ARP resolution failed. */
bool remote_open_unreachable(const struct fsession *s);
/** @p ip (a next hop) did not answer ARP: end the sessions behind it. */
void remote_unreachable(struct ferryd *d, uint32_t ip);
/** Allocate the remote-session counters in the status file. */
void remote_init(struct ferryd *d);
/** Send, ack, retransmit, probe: the loop's turn. @return work done */
unsigned remote_poll(struct ferryd *d);
/** @return ns until remote_poll() has timers to run, or -1 for none */
int64_t remote_next_timer(const struct ferryd *d);

#endif
