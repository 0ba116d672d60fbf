/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Private to remote.c (the session's life: handshake, timers, the end) and
 * remote_data.c (the data path: send buffer, packets, acks, reassembly,
 * delivery): the transport state of one remote session.
 */
#ifndef FERRY_RTX_H
#define FERRY_RTX_H

#include <stdbool.h>
#include <stdint.h>

#include "cc.h"
#include "ferryd.h"
#include "rtt.h"
#include "rxwin.h"
#include "sack.h"
#include "sessions_pvt.h"
#include "wire.h"

#define WINDOW_PKTS 1024u   /* scoreboard and reorder window, packets */
#define SBUF_MIN (64u << 10) /* a send buffer's first size */

/* Held for delivery: a whole message, or one being assembled. */
struct rmsg {
	struct rmsg *next;
	uint32_t len;
	uint32_t have;
	uint16_t flags;
	uint8_t data[];
};

/* An out-of-order packet's stream bytes, waiting in the reorder window. */
struct rpkt {
	uint64_t off;
	uint32_t len;
	uint8_t data[];
};

struct txslot {
	uint64_t off;
	uint32_t len;
};

/* The transport state of one remote session. */
struct rtx {
	struct fsession *s;
	struct rtx *next, *prev; /* d->remotes */
	struct rtx *dnext;       /* d->rdirty while dirty */
	bool dirty;
	bool watch;              /* window or held data to look after */
	bool ack_now;
	bool blocked;            /* data waits on the peer's window */
	uint32_t isn;            /* our first packet number */

	/* send: stream offsets; [una_off, end_off) is in sbuf */
	uint8_t *sbuf;
	uint64_t scap, scap_max;
	uint64_t una_off, nxt_off, end_off;
	uint64_t peer_edge;
	struct txslot *slots; /* by seq & (WINDOW_PKTS - 1) */
	struct ferry_sack *sack;
	struct ferry_rtt rtt;
	struct ferry_cc cc;
	uint64_t next_send_ns; /* pacing, cwnd < 1 */
	uint64_t last_delay_ns; /* the latest delay fed to cc */

	/* receive */
	struct ferry_rxwin *rx;
	uint64_t r_off;    /* stream bytes received in order */
	uint64_t adv_edge; /* the furthest edge advertised */
	uint8_t fh[sizeof(struct ferry_wire_frame)];
	uint32_t fh_have;
	struct rmsg *asm_msg; /* being assembled */
	struct rmsg *held, *held_tail;
	uint64_t held_bytes;  /* held, being assembled, out of order */
	uint32_t unacked;
	uint64_t ack_due_ns;  /* 0: no ack owed on a timer */
	uint32_t echo_ts;
	uint64_t echo_at_ns;

	/* liveness and the ends */
	uint64_t last_rx_ns, last_probe_ns;
	uint64_t ctl_due_ns; /* OPEN or CLOSE again */
	uint32_t ctl_tries;
	int close_reason;
	uint32_t max_msg; /* the smaller of both ends' ipc.max_message_size */
	uint32_t peer_isn; /* the peer's first number (OPEN, ACCEPT) */
	uint64_t arp_confirm_ns; /* when a packet last vouched for the peer's MAC */
	bool arp_failed;   /* OPENING: the last ARP resolution failed */
};

static inline void rtx_count(struct ferryd *d, int what)
{
	fctr_add(d->c.remote[what], 1);
}

static inline struct fclient *rtx_local_end(const struct fsession *s)
{
	return s->end[0] ? s->end[0] : s->end[1];
}

static inline void rtx_arm(struct ferryd *d, uint64_t at)
{
	if (at < d->rt_next)
		d->rt_next = at;
}

static inline void rtx_mark_dirty(struct ferryd *d, struct rtx *t)
{
	if (t->dirty)
		return;
	t->dirty = true;
	t->dnext = d->rdirty;
	d->rdirty = t;
}

/* remote_data.c */
/** The flow-control edge we may advertise now (stream offset). */
uint64_t rtx_edge(struct rtx *t);
/** A packet of @p type with the ack fields and no data (OPEN: service). */
void rtx_send(struct ferryd *d, struct rtx *t, uint8_t type, uint16_t flags, uint32_t aux,
	      const void *p, uint32_t len);
/** Send what the windows allow: losses first, then new bytes. */
void rtx_transmit(struct ferryd *d, struct rtx *t);
/** Stream bytes one packet carries. */
uint32_t rtx_mss(struct ferryd *d);
/** Move held messages into the client's ring while they fit. */
void rtx_deliver_held(struct ferryd *d, struct rtx *t);
/** Count @p bytes (may be negative) held for the session and its client. */
void rtx_held_add(struct rtx *t, int64_t bytes);
/** Free an out-of-order packet the reorder window gives back. */
void rtx_free_rpkt(void *arg, uint32_t seq, void *pkt);
/** The ack fields of any packet from the peer. */
void rtx_on_ack(struct ferryd *d, struct rtx *t, const struct ferry_wire_hdr *h);
/** A DATA packet. */
void rtx_on_data(struct ferryd *d, struct rtx *t, const struct ferry_wire_hdr *h,
		 const uint8_t *p, uint32_t len);

/* remote.c */
/** End the session for a reason of ours (telling the peer), or free it if
 *  it was only closing. */
void rtx_fail(struct ferryd *d, struct rtx *t, int reason);

#endif
