/* SPDX-License-Identifier: BSD-3-Clause */
/* Private to daemon/clients: the edge's state and its files' seams. */
#ifndef FERRY_CLIENTS_PVT_H
#define FERRY_CLIENTS_PVT_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/types.h>

#include "clients.h"
#include "ferry_ring.h"

/* epoll tags (clients.h) */
#define TAG_SOCK 0u
#define TAG_EVFD 1u
#define TAG_LISTEN 2u  /* no pointer */
#define TAG_REFUSED 3u /* a struct ipc_refused */

/** An event that did not fit in a client's event ring yet. */
struct fpending {
	struct fpending *next;
	uint16_t type;
	uint32_t session;
	uint32_t aux;
	uint32_t len;
	uint8_t payload[];
};

enum fclient_state { FCLIENT_CONNECTED, FCLIENT_ATTACHED };

struct fclient {
	struct fcore_client core; /* what the core knows of it */
	uint32_t id;
	enum fclient_state state;
	int sock;
	int evfd;       /* receiving end of its daemon wake (we wait on it) */
	pid_t pid;
	uid_t uid;
	gid_t gid;
	char name[32];
	char path[4096]; /* ring file, unlinked at reclaim */
	void *map;
	uint64_t map_len;
	struct ferry_ring cmd; /* consumer of ring 0: client -> daemon */
	struct ferry_ring evt; /* producer of ring 1: daemon -> client */
	int bell_fd;
	struct ferry_bell *bell;
	int wake_fd;    /* sending end of its client wake (ours alone), or -1
			 * (it did not ask: FERRY_ATTACH_F_WAKE_SOCK) */
	int peer_wake_fd; /* sending end of its peer wake, for its local
			   * peers, or -1 with wake_fd */
	struct fpending *pend_head, *pend_tail;
	uint32_t pend_n;
	bool cmd_stalled;   /* its next command waits for a send buffer */
	volatile sig_atomic_t poisoned; /* its ring file was shrunk (guard.c) */
	/* marked for reclaim (the first reason wins), then reclaimed */
	bool dying;
	bool reclaimed;
	int why_reason;
	char why[96];
	bool evt_dirty; /* records written since the last bell check */
	TAILQ_ENTRY(fclient) dying_link; /* e->dying, then e->graves */
	struct ferry_counter *c_cmds, *c_evts, *c_sessions;
};

/* A connection we refuse: kept until its ATTACH arrives (or briefly), so
 * the answer is read before we close. Closing a unix socket that still
 * holds unread data resets the peer, which would lose the reason. */
struct ipc_refused {
	struct ipc_refused *next;
	int sock;
	int status;
	uint64_t deadline_ns;
	char reason[96];
};

struct fclients {
	const struct ferry_config *cfg;
	const struct fprivs *privs;
	int epfd;
	int lsock;
	int status_ro_fd; /* read-only fd of the status file, passed to clients */
	struct fstatus *st;
	struct fcore *core;
	uint64_t now_ns;
	struct fclient **v; /* dense array, n used */
	uint32_t n;
	uint32_t next_id;
	TAILQ_HEAD(, fclient) dying; /* marked: reclaimed by clients_reap() */
	TAILQ_HEAD(, fclient) graves; /* reclaimed: freed at the end of it */
	struct ipc_refused *refused; /* answered on ATTACH, then closed */
	uint32_t n_refused;
	struct ferry_counter *c_clients, *c_total, *c_refused, *c_reclaimed, *c_malformed,
		*c_commands, *c_events_queued;
};

/* clients.c */
struct fclient *client_new(struct fclients *e, int sock, pid_t pid, uid_t uid, gid_t gid);
/** Create rings, bell, daemon wake and (with FERRY_ATTACH_F_WAKE_SOCK in
 *  @p flags) client and peer wakes, reply to ATTACH.
 *  @return 0 or -errno (refused) */
int client_attach(struct fclients *e, struct fclient *c, const char *name, uint32_t flags);
/** Mark @p c for reclaim at the safe point; its peers will see @p reason. */
void client_reclaim_later(struct fclients *e, struct fclient *c, int reason, const char *why);
/** Move queued events into the event ring while they fit. */
void client_drain_pending(struct fclients *e, struct fclient *c);

/* ipc.c */
int ipc_open(struct fclients *e);
void ipc_close(struct fclients *e);
void ipc_accept(struct fclients *e);
/** The client's control socket fired. */
void ipc_client_event(struct fclients *e, struct fclient *c, uint32_t events);
void ipc_refused_event(struct fclients *e, struct ipc_refused *r);
void ipc_refused_timers(struct fclients *e);
int ipc_send_attached(struct fclient *c, const struct ferry_ctl_attached *rep, const int *fds,
		      int nfds);
/** Send a local session's fds to @p c: the session file, the peer's bell
 *  and the sending end of its peer wake (-1: none). @return 0 or -errno */
int ipc_send_fds(struct fclient *c, uint32_t session, int fd_a, int fd_b, int fd_wake);
/** Tell @p c why it is being disconnected, before its socket closes. */
void ipc_send_bye(struct fclient *c, int status, const char *why);

/* privs.c */
bool privs_client_allowed(const struct fprivs *p, int sock, uid_t uid, gid_t gid);

#endif
