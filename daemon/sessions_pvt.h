/* SPDX-License-Identifier: BSD-3-Clause */
/* Private to sessions.c and remote.c: the session and service records. */
#ifndef FERRY_SESSIONS_PVT_H
#define FERRY_SESSIONS_PVT_H

#include <stdbool.h>
#include <stdint.h>

#include "ferry_ring.h"
#include "ferry_shm.h"

struct ferryd;
struct fclient;

struct fservice {
	struct fservice *next;
	struct fclient *owner;
	char name[FERRY_SERVICE_MAX];
};

enum {
	FS_OPENING = 1,  /* remote: OPEN sent, waiting for ACCEPT or REFUSE */
	FS_INCOMING = 2, /* announced to the acceptor, not accepted yet */
	FS_UP = 3,
	/* remote only: */
	FS_CLOSING = 4,     /* the local end left; sending what is unacked */
	FS_CLOSE_SENT = 5,  /* all acked, CLOSE sent, waiting for CLOSE_ACK */
	FS_PEER_CLOSED = 6, /* the peer closed; handing the client what we hold */
};

struct rtx;

struct fsession {
	uint32_t id;
	uint32_t cookie; /* the opener's, echoed in its events */
	int state;
	/* 0: opener, 1: acceptor; a remote session has only its local end */
	struct fclient *end[2];
	char service[FERRY_SERVICE_MAX];
	uint64_t deadline_ns;
	struct fsession *tnext, *tprev; /* d->timed while OPENING or INCOMING */
	/* remote sessions: the peer daemon's address and its id for this
	 * session; peer_done once the peer ended it (nothing to tell it) */
	bool remote;
	bool peer_done;
	uint32_t peer_ip; /* host order */
	uint16_t peer_port;
	uint32_t peer_session;
	/* remote sessions: counters in the status file, "session.<id>.*" */
	struct ferry_counter *c_rx, *c_tx;
	/* and the transport's state, updated as acks arrive */
	struct ferry_counter *c_srtt, *c_cwnd, *c_retx;
	struct rtx *t; /* remote: the transport (remote.c) */
};

/* sessions.c, for remote.c */
struct fservice *service_find(struct ferryd *d, const char *name);
bool service_ok(const char *raw, char *out);
/** A new session in d->sessions (and on the timer list), counted against
 *  the limits; @return it, or NULL with the reason in *reason */
struct fsession *session_new(struct ferryd *d, struct fclient *opener, struct fclient *acceptor,
			     const char *service, int *reason);
/** Free @p s, telling every local end except @p closer why, and a remote
 *  peer that did not end it itself. */
void session_end(struct ferryd *d, struct fsession *s, struct fclient *closer, int reason);
/** Forget @p s at once: no events, nothing to the peer. */
void session_free(struct ferryd *d, struct fsession *s);
void timed_unlink(struct ferryd *d, struct fsession *s);
void emit_down(struct ferryd *d, struct fclient *c, uint32_t session, uint32_t cookie, int reason);

/* remote.c */
/** CMD_CONNECT to another host. */
void remote_connect(struct ferryd *d, struct fclient *c, uint32_t cookie, uint32_t ip,
		    const char *service);
/** The acceptor accepted (CMD_ACCEPT) a remote session. */
void remote_accept(struct ferryd *d, struct fsession *s);
/** The local end of an UP session left: keep it until what it sent is
 *  acked, then close with @p reason. @return false: end it now instead */
bool remote_linger(struct ferryd *d, struct fsession *s, int reason);
/** Free the transport state and counters of a remote session. */
void remote_free(struct ferryd *d, struct fsession *s);
/** Tell the peer the session ended (REFUSE while INCOMING, else CLOSE). */
void remote_tell_end(struct ferryd *d, struct fsession *s, int reason);
/** A DATA record from the session's local end. @return 0 or -EBADMSG */
int remote_send(struct ferryd *d, struct fclient *c, const struct ferry_rec_view *v);

#endif
