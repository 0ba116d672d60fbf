/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ferryd's state, shared by its modules. One thread owns all of it.
 *
 *   main.c      start-up, the loop and its idle strategy, shutdown
 *   ipc.c       control socket: accept, credentials, attach, fd passing
 *   clients.c   per-client rings: commands in, events out, reclaim
 *   sessions.c  services and local sessions: connect, accept, close, timers
 *   nic.c       the DPDK port and IPv4 host stack (daemon/net, daemon/port)
 *   remote.c    sessions with other hosts: handshake, timers, close
 *   remote_data.c  their data path: send buffer, packets, acks, delivery
 *   status.c    status file and counters
 *   privs.c     dropping root
 */
#ifndef FERRYD_H
#define FERRYD_H

#include <stdbool.h>
#include <signal.h>
#include <stdint.h>
#include <sys/types.h>

#include "ferry_config.h"
#include "ferry_ring.h"
#include "fmap.h"
#include "remote.h"
#include "status.h"

struct fsession;
struct fnic;
struct ipc_refused;

/** An event that did not fit in a client's RX ring yet. */
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
	uint32_t id;
	enum fclient_state state;
	int sock;
	int evfd;       /* this client's wake-the-daemon eventfd */
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
	struct fpending *pend_head, *pend_tail;
	uint32_t pend_n;
	uint32_t n_sessions;
	uint32_t n_listens;
	uint64_t rx_held;   /* bytes remote sessions hold for it (remote.c) */
	bool cmd_stalled;   /* its next command waits for a send buffer */
	bool draining;      /* hung up: its last commands are read regardless */
	volatile sig_atomic_t poisoned; /* its ring file was shrunk (guard.c) */
	bool dead;      /* reclaimed; freed at the end of the loop pass */
	bool evt_dirty; /* records written since the last bell check */
	struct fclient *next_grave;
	struct ferry_counter *c_cmds, *c_evts, *c_sessions;
};

struct ferryd_counters {
	struct ferry_counter *clients, *clients_total, *clients_refused, *clients_reclaimed,
		*clients_malformed, *sessions, *sessions_total, *sessions_refused, *commands,
		*events_queued, *loop_sleeps;
	struct ferry_counter *remote[RC_COUNT]; /* remote.h */
};

struct ferryd {
	const struct ferry_config *cfg;
	int epfd;
	int lsock;
	int status_ro_fd; /* read-only fd of the status file, passed to clients */
	struct fstatus st;
	struct ferryd_counters c;
	uint64_t keep_caps; /* 1 << CAP_*: kept after the privilege drop (nic.c) */
	uid_t file_uid; /* owner for files and socket: the user we drop to */
	gid_t file_gid;
	uid_t *allowed_uids;
	int n_allowed_uids;
	gid_t *allowed_gids;
	int n_allowed_gids;

	struct fclient **clients; /* dense array, n_clients used */
	struct fclient *grave;    /* reclaimed, freed after the event pass */
	struct ipc_refused *refused; /* answered on ATTACH, then closed */
	uint32_t n_refused;
	uint32_t n_clients;
	uint32_t next_client_id;
	struct fmap sessions; /* id -> struct fsession */
	uint32_t n_sessions;
	uint32_t next_session_id;
	struct fservice *services;
	struct fsession *timed; /* sessions waiting for accept, oldest first */
	struct fsession *timed_tail;

	struct fnic *nic; /* NULL in local mode (no net.address) */
	struct rtx *remotes;  /* every remote session's transport (remote.c) */
	struct rtx *rdirty;   /* those with something to send */
	uint64_t rt_next;     /* when remote_poll() next runs its timers */
	uint64_t rt_sent;     /* packets remote.c handed to the NIC */
	bool stopping;        /* shutting down: sessions end without linger */
	uint64_t now_ns;  /* CLOCK_MONOTONIC, refreshed by the loop */
};

/* ipc.c */
int ipc_open(struct ferryd *d);
void ipc_close(struct ferryd *d);
void ipc_accept(struct ferryd *d);
/** Handle readable or hung-up client socket. */
void ipc_client_event(struct ferryd *d, struct fclient *c, uint32_t events);
/** Send fds for a local session to @p c. @return 0 or -errno */
int ipc_send_fds(struct fclient *c, uint32_t session, int fd_a, int fd_b);

/* clients.c */
struct fclient *clients_new(struct ferryd *d, int sock, pid_t pid, uid_t uid, gid_t gid);
/** Create rings and bell, reply to ATTACH. @return 0 or -errno (refused) */
int clients_attach(struct ferryd *d, struct fclient *c, const char *name);
/** Reclaim everything of @p c; its sessions' peers see @p reason. */
void clients_reclaim(struct ferryd *d, struct fclient *c, int reason, const char *why);
/** Drain every client's command ring; @return records processed. */
unsigned clients_poll(struct ferryd *d);
/** Whether any client has a command waiting (a hint, for going to sleep). */
bool clients_pending(struct ferryd *d);
/** Queue or write an event for @p c. @return 0, or -1 if @p c was reclaimed */
int clients_emit(struct ferryd *d, struct fclient *c, uint16_t type, uint32_t session,
		 uint32_t aux, const void *payload, uint32_t len);
/** A message from a remote session into @p c's event ring, never queued:
 *  @return 0, or -1 if the ring is full (the caller counts the drop) */
int clients_emit_data(struct ferryd *d, struct fclient *c, uint32_t session, uint16_t flags,
		      const void *p, uint32_t len);
/** Ring the bells of clients that got events since the last call. */
void clients_flush(struct ferryd *d);
/** Move queued events into RX rings that have room again. */
void clients_drain_pending(struct ferryd *d, struct fclient *c);
void clients_reclaim_all(struct ferryd *d, int reason);
/** Free reclaimed clients; call when no pointer to them is live. */
void clients_bury(struct ferryd *d);

/* sessions.c */
void sessions_init(struct ferryd *d);
void sessions_fini(struct ferryd *d);
/** Apply one command from @p c. @return 0, or -EBADMSG to disconnect */
int sessions_command(struct ferryd *d, struct fclient *c, const struct ferry_rec_view *v);
/** End every session and service of a departing client. */
void sessions_client_gone(struct ferryd *d, struct fclient *c, int reason);
/** Fail sessions not accepted in time. @return ns until the next deadline,
 *  or -1 if none */
int64_t sessions_timers(struct ferryd *d);
/** Tell both ends of every session that the daemon is stopping. */
void sessions_shutdown(struct ferryd *d);

/* privs.c */
/**
 * Resolve user, group and allowed clients from the config; called as root
 * (or as the target user) before anything is created.
 * @return 0 or -1 with the reason logged
 */
int privs_resolve(struct ferryd *d);
/** Drop to the configured user/group and prove root cannot come back. */
int privs_drop(struct ferryd *d);
/** Whether a peer with these credentials may attach. */
bool privs_client_allowed(const struct ferryd *d, int sock, uid_t uid, gid_t gid);

#endif
