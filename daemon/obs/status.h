/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The status file <shm_dir>/status: daemon identity, liveness, the daemon's
 * sleep flag clients read before waking it, and named counters that
 * ferry-stat reads without talking to the daemon. Layout in ferry_shm.h.
 */
#ifndef FERRY_STATUS_H
#define FERRY_STATUS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "ferry_atomic.h"
#include "ferry_shm.h"

struct fstatus {
	int fd;
	void *map;
	uint64_t len;
	struct ferry_status_daemon *d;
	struct ferry_counter *ctr;
	uint32_t max;
	uint32_t hint; /* where to start looking for a free slot */
	char path[4096];
};

/**
 * Create and publish <dir>/status (mode 0644) with room for @p counter_max
 * counters, owned by @p uid/@p gid (or left as is when uid is -1).
 * @return 0 or -errno, with a message logged
 */
int fstatus_create(struct fstatus *s, const char *dir, uint32_t counter_max, uid_t uid,
		   gid_t gid);
/** Unlink and unmap. */
void fstatus_destroy(struct fstatus *s);

/**
 * Claim a counter slot; @return it, or a shared dummy when the file is full
 * (never NULL, so callers need no checks on the hot path).
 */
struct ferry_counter *fstatus_counter(struct fstatus *s, uint32_t type, uint32_t owner,
				      const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/** Give a slot back (the dummy is ignored). */
void fstatus_counter_free(struct fstatus *s, struct ferry_counter *c);

/* Single writer: a relaxed load and store is an increment nobody races. */
static inline void fctr_add(struct ferry_counter *c, uint64_t n)
{
	FA_STORE_RLX(&c->value, FA_LOAD_RLX(&c->value) + n);
}
static inline void fctr_set(struct ferry_counter *c, uint64_t v)
{
	FA_STORE_RLX(&c->value, v);
}
/* Mark a counter the device does not have (FERRY_CTR_F_UNAVAILABLE). */
static inline void fctr_set_unavailable(struct ferry_counter *c, bool unavailable)
{
	FA_STORE_RLX(&c->flags, unavailable ? FERRY_CTR_F_UNAVAILABLE : 0u);
}

#endif
