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


/** mkdir -p with the last component owned by uid:gid (-1: leave). */
int ipc_prepare_dir(const char *dir, mode_t mode, uid_t uid, gid_t gid);
int ipc_send_attached(struct fclient *c, const struct ferry_ctl_attached *rep, const int *fds,
		      int nfds);

#endif
