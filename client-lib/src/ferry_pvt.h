/* SPDX-License-Identifier: BSD-3-Clause */
/* libferry internals: the client and session objects behind ferry.h. */
#ifndef FERRY_PVT_H
#define FERRY_PVT_H

#include <stdbool.h>
#include <stdint.h>

#include "ferry.h"
#include "ferry_bell.h"
#include "ferry_ring.h"
#include "fmap.h"

#define FERRY_API __attribute__((visibility("default")))

enum sess_state {
	S_OPENING,   /* connect sent, waiting for UP or DOWN */
	S_INCOMING,  /* announced to us, not accepted yet */
	S_ACCEPTING, /* accept sent, waiting for UP */
	S_UP,
	S_DOWN,      /* DOWN reported (or being reported) to the application */
};

struct ferry_session {
	ferry_t *f;
	uint32_t id;     /* daemon's id; 0 while opening */
	uint32_t cookie; /* our connect's cookie */
	enum sess_state state;
	bool local;
	bool blocked;     /* a send returned -EAGAIN; report WRITABLE */
	bool reserved;    /* a ferry_reserve() awaits its commit */
	bool rx_broken;   /* the peer corrupted our RX ring: stop reading it */
	bool closed;      /* ferry_session_close() ran: in the graveyard */
	/* why the session ended; reported as FERRY_EV_SESSION_DOWN once a
	 * local session's RX ring is drained, so nothing sent before the
	 * end is lost */
	int down_reason;
	bool announced;  /* came as FERRY_EV_INCOMING, not accepted yet */
	uint32_t blocked_len;
	uint32_t max_msg; /* largest message this session carries */
	void *user;
	char service[FERRY_SERVICE_MAX];

	/* local session: the memfd's mapping, our two ring views, and the
	 * doorbell of the peer (woken when we write to it). A remote session
	 * sends on the client's command ring and receives on its event ring,
	 * through the daemon. */
	void *map;
	uint64_t map_len;
	struct ferry_ring tx, rx;
	struct ferry_bell *peer_bell;
	int peer_wake_fd; /* sending end of the peer's peer wake, or -1 (its
			   * library or ferryd predates wake sockets) */

	ferry_session_t *next, *prev; /* f->sessions */
	ferry_session_t *next_free;   /* f->graveyard after close */
	/* f->pending: while the session may have events to gather (see
	 * sess_wants_gather()); f->held: while the last ferry_poll() holds
	 * records of its RX ring */
	ferry_session_t *pnext, *pprev;
	ferry_session_t *hnext;
	bool held;
};

#define FERRY_RPC_HANDLERS 64

struct rpc_call {
	struct rpc_call *next, *prev;
	uint32_t id;
	ferry_session_t *session;
	int64_t deadline_ns; /* INT64_MAX: none */
	ferry_rpc_done_fn *done;
	void *arg;
};

struct ferry {
	int sock;
	uint32_t client_id;
	uint64_t max_msg;
	bool dead; /* the daemon is gone; every session is ending */
	bool dead_marked; /* ... and every session has been told why */
	int gone_err;      /* what calls report from then on: -ECONNRESET, or
			    * the status of the daemon's FERRY_CTL_BYE */
	char gone_msg[128]; /* and why */

	void *map; /* our ring file */
	uint64_t map_len;
	struct ferry_ring cmd; /* ring 0: we produce commands */
	struct ferry_ring evt; /* ring 1: we consume events */
	struct ferry_bell *bell; /* ours: we sleep on it */
	/* receiving ends of our wake sockets (ferry_shm.h), -1 when ferryd
	 * has none: the client wake ferryd alone writes, the peer wake our
	 * local-session peers write */
	int wake_fd, peer_wake_rd;
	/* ferry_fd() (fd.c): the epoll set it returns (-1 until called), its
	 * timerfd and the deadline that is armed on it, and an eventfd only
	 * we hold, to make the set readable ourselves */
	int poll_fd, timer_fd, self_fd;
	int64_t timer_at;
	bool fd_self_rung; /* we made self_fd readable */
	int daemon_evfd; /* sending end of our daemon wake */
	void *status_map;
	uint64_t status_len;
	const struct ferry_status_daemon *status;

	ferry_session_t *sessions; /* every live handle */
	ferry_session_t *graveyard; /* closed, freed at the next poll */
	/* What a poll walks, so that it costs what is active, not what is
	 * open: the sessions that may have events (a local session that is
	 * up, a DOWN to report, a send waiting for room), and those whose
	 * RX ring the last poll read from (released at the next). */
	ferry_session_t *pending;
	uint32_t n_pending;
	ferry_session_t *held;
	ferry_session_t *rr;        /* where gathering resumes, in pending */
	struct fmap by_id;
	struct fmap by_cookie;      /* sessions being opened, by connect cookie */
	uint32_t next_cookie;
	uint32_t n_sessions;

	/* listen cookies -> service names, for FERRY_EV_LISTEN */
	struct {
		uint32_t cookie;
		char name[FERRY_SERVICE_MAX];
	} listens[64];

	/* RPC: handlers by type, calls waiting for their response by id */
	struct {
		uint16_t type;
		ferry_rpc_handler_fn *fn;
		void *arg;
	} rpc_handlers[FERRY_RPC_HANDLERS];
	unsigned n_rpc_handlers;
	struct fmap rpc_calls; /* uint32 id -> struct rpc_call */
	struct rpc_call *rpc_list; /* the same calls, for timeouts */
	uint32_t rpc_next_id;
	int64_t rpc_next_deadline; /* earliest deadline, INT64_MAX if none */
	bool rpc_recheck;          /* a session went down: fail its calls */
	uint32_t closes;           /* sessions closed so far (handlers may close) */
	uint32_t callbacks;        /* RPC handlers and completions run so far */
	int64_t spin_ns, yield_ns;
	uint32_t idle_polls; /* empty polls since the last liveness check */
	bool cmd_blocked;    /* command ring was full */
};

/* errmsg.c */
int ferry_err(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* client.c */
/** Wake the daemon if it sleeps (after publishing a record for it). */
void ferry_wake_daemon(ferry_t *f);
/** Write a command and wake the daemon if it sleeps. */
int ferry_cmd(ferry_t *f, uint16_t type, uint32_t session, uint32_t aux, const void *p,
	      uint32_t len);
/** The daemon hung up: end every session, mark dead, and read why if it
 *  said (FERRY_CTL_BYE). */
void ferry_daemon_gone(ferry_t *f);
/** ferry_err() with what a call reports once the daemon is gone. */
int ferry_gone_err(ferry_t *f);
/** Non-blocking check of the control socket. @return true if alive */
bool ferry_check_daemon(ferry_t *f);
/** The descriptors of local session @p session: file, peer bell, and the
 *  sending end of the peer's peer wake (or -1). @return 0 or -EPROTO */
int ferry_recv_fds(ferry_t *f, uint32_t session, int fds[3]);
/** Close the descriptors of @p fds that are open (>= 0). */
void ferry_close_fds(int *fds, int n);

/* fd.c */
/** A non-blocking ferry_poll() found nothing and ferry_fd() is in use:
 *  arm the descriptor and look once more. @return events found */
int ferry_fd_arm(ferry_t *f, ferry_event_t *evs, int max);
void ferry_fd_close(ferry_t *f);
/** An RPC call was made: move ferry_fd()'s timer to the earliest deadline
 *  (an event loop may wait next without calling ferry_poll()). */
void ferry_fd_deadline(ferry_t *f);

/* session.c */
ferry_session_t *sess_new(ferry_t *f);
void sess_unmap(ferry_session_t *s);
/** Map a local session's rings and peer bell; takes @p wakefd (-1: none). */
int sess_map_local(ferry_session_t *s, int memfd, int bellfd, int wakefd, uint32_t role);
/** Record why @p s ended (the first reason wins). */
void sess_set_down(ferry_session_t *s, int reason);
/** Whether @p s may have events to gather: a local session that is up and
 *  readable, a DOWN not reported yet, a blocked send to report. */
bool sess_wants_gather(const ferry_session_t *s);
/** Put @p s on f->pending if it wants gathering (after any change that
 *  can make sess_wants_gather() true). */
void sess_watch(ferry_session_t *s);
/** Take @p s off f->pending. */
void sess_unwatch(ferry_session_t *s);
void sess_free_graveyard(ferry_t *f);

/* poll.c */
int ferry_gather(ferry_t *f, ferry_event_t *evs, int max);
int64_t ferry_now_ns(void);

/* rpc.c */
enum rpc_verdict {
	RPC_TAKEN, /* served, completed or made an event: go on */
	RPC_LATER, /* a handler must wait for the events before it: leave the
		    * record in the ring and stop reading that ring */
	RPC_CLOSED, /* a handler closed the session: stop reading it */
};
/** An RPC-flagged message of @p s: serve it, complete a call, or add an
 *  event to evs. */
enum rpc_verdict rpc_input(ferry_t *f, ferry_session_t *s, const struct ferry_rec_view *v,
			   ferry_event_t *evs, int *n);
/** Complete calls past their deadline or whose session ended, as events
 *  (while there is room) or callbacks. */
void rpc_expire(ferry_t *f, ferry_event_t *evs, int *n, int max);
/** Forget the calls of a session being closed (no completion). */
void rpc_forget_session(ferry_t *f, ferry_session_t *s);
void rpc_fini(ferry_t *f);

#endif
