/* SPDX-License-Identifier: BSD-3-Clause */
#include "status.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ferry_shm_util.h"
#include "ferry_build.h"
#include "log.h"

static struct ferry_counter g_dummy;

int fstatus_create(struct fstatus *s, const char *dir, uint32_t counter_max, uid_t uid,
		   gid_t gid)
{
	memset(s, 0, sizeof(*s));
	s->fd = -1;
	snprintf(s->path, sizeof(s->path), "%s/status", dir);
	s->len = FERRY_STATUS_COUNTERS_OFF + (uint64_t)counter_max * sizeof(struct ferry_counter);

	unlink(s->path);
	s->fd = open(s->path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (s->fd < 0)
		goto err_errno;
	/* fchmod: the umask must not hide counters from ferry-stat */
	if (fchmod(s->fd, 0644) < 0 || (uid != (uid_t)-1 && fchown(s->fd, uid, gid) < 0) ||
	    ftruncate(s->fd, (off_t)s->len) < 0)
		goto err_errno;
	s->map = mmap(NULL, s->len, PROT_READ | PROT_WRITE, MAP_SHARED, s->fd, 0);
	if (s->map == MAP_FAILED) {
		s->map = NULL;
		goto err_errno;
	}
	struct ferry_shm_hdr *h = s->map;
	h->version_major = FERRY_SHM_VERSION_MAJOR;
	h->version_minor = FERRY_SHM_VERSION_MINOR;
	h->hdr_size = sizeof(*h);
	h->file_size = s->len;
	s->d = (struct ferry_status_daemon *)((uint8_t *)s->map + sizeof(*h));
	s->ctr = (struct ferry_counter *)((uint8_t *)s->map + FERRY_STATUS_COUNTERS_OFF);
	s->max = counter_max;
	s->d->pid = (uint32_t)getpid();
	s->d->counter_max = counter_max;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	s->d->start_unix_ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	FA_STORE_RLX(&s->d->heartbeat_unix_ns, s->d->start_unix_ns);
	snprintf(s->d->version, sizeof(s->d->version), "%s", FERRY_VERSION_STRING);
	ferry_shm_publish(h, FERRY_SHM_MAGIC_STATUS);
	return 0;

err_errno:;
	int e = errno;
	LOG_E("cannot create status file %s: %s", s->path, strerror(e));
	fstatus_destroy(s);
	return -e;
}

void fstatus_destroy(struct fstatus *s)
{
	if (s->map)
		munmap(s->map, s->len);
	if (s->fd >= 0) {
		close(s->fd);
		unlink(s->path);
	}
	s->map = NULL;
	s->fd = -1;
}

struct ferry_counter *fstatus_counter(struct fstatus *s, uint32_t type, uint32_t owner,
				      const char *fmt, ...)
{
	for (uint32_t i = 0; i < s->max; i++) {
		uint32_t k = (s->hint + i) % s->max;
		struct ferry_counter *c = &s->ctr[k];
		if (FA_LOAD_RLX(&c->state) != FERRY_COUNTER_FREE)
			continue;
		FA_STORE_RLX(&c->value, 0);
		FA_STORE_RLX(&c->flags, 0);
		c->type = type;
		c->owner = owner;
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(c->label, sizeof(c->label), fmt, ap);
		va_end(ap);
		/* release: partner is ferry-stat's acquire-load of state */
		FA_STORE_REL(&c->state, FERRY_COUNTER_ACTIVE);
		s->hint = (k + 1) % s->max;
		return c;
	}
	return &g_dummy;
}

void fstatus_counter_free(struct fstatus *s, struct ferry_counter *c)
{
	if (c == &g_dummy || c == NULL)
		return;
	FA_STORE_REL(&c->state, FERRY_COUNTER_FREE);
	uint32_t k = (uint32_t)(c - s->ctr);
	if (k < s->hint)
		s->hint = k;
}
