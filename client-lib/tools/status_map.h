/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Reading ferryd's status file (<shm_dir>/status) from outside the daemon:
 * mapped PROT_READ and validated like any other shared memory ferry did
 * not write itself (the file is the daemon's, but counter labels carry
 * client-chosen names). Used by ferry-stat; no libferry needed.
 */
#ifndef FERRY_STATUS_MAP_H
#define FERRY_STATUS_MAP_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "ferry_shm.h"

#define SMAP_LABEL_MAX sizeof(((struct ferry_counter *)0)->label)

/* One mapping of the status file, and what we remember between refreshes. */
struct smap {
	char path[PATH_MAX];
	int fd;
	void *base;
	uint64_t len;
	dev_t dev;
	ino_t ino;
	const struct ferry_status_daemon *d;
	const struct ferry_counter *ctr;
	uint32_t n;         /* counter slots that fit in the mapping */
	struct row *rows;   /* [n] this refresh's active counters, sorted */
	struct row *prev;   /* [n] by slot: the last refresh's, for rates */
	uint64_t prev_mono; /* when prev was taken; 0 = no previous refresh */
};

/* A snapshot of one active counter, copied out of shared memory. */
struct row {
	uint64_t value;
	uint32_t slot, type;
	bool unavailable; /* FERRY_CTR_F_UNAVAILABLE: the value means nothing */
	int group;
	char label[SMAP_LABEL_MAX];
};

struct smap_daemon {
	uint32_t pid;
	bool running;
	uint64_t uptime_ns, hb_age_ns;
	char version[sizeof(((struct ferry_status_daemon *)0)->version)];
};

/**
 * Open and validate the status file at m->path (m->fd must be -1).
 * @return 0; -ENOENT (no file); -EAGAIN (the daemon is creating it: empty,
 *         or magic not yet published); another -errno, -EPROTO or
 *         -EPROTONOSUPPORT, each with @p why filled.
 */
int smap_open(struct smap *m, const char *dir, char *why, size_t whylen);
/** Unmap and close; @p m may be opened again. */
void smap_close(struct smap *m);
/** True when the path now names another file (daemon restarted) or none. */
bool smap_replaced(const struct smap *m);
/** Copy the active counters whose label contains @p filter (NULL: all)
 *  into m->rows, sorted by group then label. @return how many */
uint32_t smap_snapshot(const struct smap *m, const char *filter);
/** The daemon's identity and liveness as the file shows them now. */
void smap_daemon_view(const struct smap *m, struct smap_daemon *v);

#endif
