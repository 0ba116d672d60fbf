/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The client edge: the control socket (attach, credentials, descriptor
 * passing, refusals), each client's ring file, doorbell and wake sockets, the
 * commands clients write (handed to the core) and the events the core
 * writes back, and reclaiming all of it when a client goes away or
 * misbehaves.
 *
 * Reclaim is never synchronous: whatever finds a client must go (a hang-up,
 * a corrupt ring, a backlog of unread events, the core's reclaim op) marks
 * it, and clients_reap() reclaims it at the loop's safe point, where no
 * caller up the stack can hold it. Epoll events for a marked client are
 * ignored; it is freed by clients_reap() after it has been reclaimed.
 */
#ifndef FERRY_CLIENTS_H
#define FERRY_CLIENTS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "core.h"
#include "ferry_config.h"
#include "status.h"

struct fclients;

/* epoll data of the edge's descriptors: a pointer (8-byte aligned) with
 * the low bits saying which descriptor fired, or a bare tag. Tags from
 * CLIENTS_TAG_OTHER up are not the edge's (main.c's, the NIC's). */
#define CLIENTS_TAG_MASK 7u
#define CLIENTS_TAG_OTHER 4u

/** Who files belong to and who may attach (privs.c). */
struct fprivs {
	uid_t file_uid; /* owner of the socket, shm files: the user we drop to */
	gid_t file_gid;
	uid_t *allowed_uids;
	int n_allowed_uids;
	gid_t *allowed_gids;
	int n_allowed_gids;
	uint64_t keep_caps; /* 1 << CAP_*: kept after the drop (the NIC's
			     * recovery from a device reset may need some) */
};

/**
 * Resolve privileges.user/group and clients.allowed_* (as root, before
 * anything is created). @return 0 or -1 with the reason logged
 */
int privs_resolve(struct fprivs *p, const struct ferry_config *cfg);
/** Drop to the configured user/group and prove root cannot come back.
 *  @return 0 or -1 with the reason logged */
int privs_drop(const struct fprivs *p, const struct ferry_config *cfg);
void privs_fini(struct fprivs *p);

/** mkdir -p with the last component owned by uid:gid (-1: leave).
 *  @return 0 or -errno */
int ipc_prepare_dir(const char *dir, mode_t mode, uid_t uid, gid_t gid);

/**
 * The edge, not yet listening. @p st, @p privs must outlive it.
 * @return 0 or -ENOMEM
 */
int clients_create(struct fclients **out, const struct ferry_config *cfg, int epfd,
		   struct fstatus *st, const struct fprivs *privs);
/** The ops the core calls this edge through. */
void clients_core_ops(struct fclients *e, struct fcore_client_ops *ops);
void clients_set_core(struct fclients *e, struct fcore *core);
/** Create the control socket (ipc.socket) and listen. @return 0 or -errno,
 *  logged */
int clients_listen(struct fclients *e);
/** Reclaim every client (their peers see @p reason) and free the edge. */
void clients_destroy(struct fclients *e, int reason);

void clients_set_now(struct fclients *e, uint64_t now_ns);
/** One epoll event with data @p u (a tag below CLIENTS_TAG_OTHER). */
void clients_event(struct fclients *e, uint64_t u, uint32_t events);
/** Read every client's command ring. @return records taken (work) */
unsigned clients_poll(struct fclients *e);
/** Whether a command waits in some ring (a hint, before sleeping). */
bool clients_pending(struct fclients *e);
/** Ring the bells of clients that got events since the last call. */
void clients_flush(struct fclients *e);
/** The safe point: reclaim the clients marked for it, free what was
 *  reclaimed. Call outside any core call, when no client pointer is held. */
void clients_reap(struct fclients *e);
/** Once a second or so: refused connections that never said ATTACH. */
void clients_tick(struct fclients *e);
/** Whether every client has read all its events (the shutdown drain). */
bool clients_drained(struct fclients *e);
uint32_t clients_count(const struct fclients *e);
/** The daemon-wide client gauge (telemetry reads it). */
const struct ferry_counter *clients_counter(const struct fclients *e);

#endif
