/* SPDX-License-Identifier: BSD-3-Clause */
/* Private to ferryd: epoll tags and helpers of ipc.c. */
#ifndef FERRY_IPC_H
#define FERRY_IPC_H

#include <stdint.h>
#include <sys/types.h>

#include "ferry.h"
#include "ferry_shm.h"

struct fclient;

/* epoll data: a client pointer (8-byte aligned) with the low bits saying
 * which of its descriptors fired, or a bare tag for the daemon's own. */
#define IPC_TAG_SOCK 0u
#define IPC_TAG_EVFD 1u
#define IPC_TAG_MASK 7u
#define IPC_TAG_LISTEN 2u /* no pointer */
#define IPC_TAG_REFUSED 3u /* a struct ipc_refused */

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


/** mkdir -p with the last component owned by uid:gid (-1: leave). */
int ipc_prepare_dir(const char *dir, mode_t mode, uid_t uid, gid_t gid);
/** A refused connection became readable: answer and close it. */
void ipc_refused_event(struct ferryd *d, struct ipc_refused *r);
/** Close refused connections whose ATTACH never came. */
void ipc_refused_timers(struct ferryd *d);
int ipc_send_attached(struct fclient *c, const struct ferry_ctl_attached *rep, const int *fds,
		      int nfds);

#endif
