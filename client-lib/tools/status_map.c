/* SPDX-License-Identifier: BSD-3-Clause */
/* Reading ferryd's status file: see status_map.h. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ferry_atomic.h"
#include "ferry_shm_util.h"
#include "status_map.h"

/* ---- the status file --------------------------------------------------- */

static uint64_t realtime_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void smap_close(struct smap *m)
{
	if (m->base)
		munmap(m->base, m->len);
	if (m->fd >= 0)
		close(m->fd);
	free(m->rows);
	m->base = NULL;
	m->rows = m->prev = NULL;
	m->fd = -1;
	m->prev_mono = 0;
}

int smap_open(struct smap *m, const char *dir, char *why, size_t whylen)
{
	struct stat st;
	uint64_t magic = 0;
	m->fd = open(m->path, O_RDONLY | O_CLOEXEC);
	if (m->fd < 0) {
		int e = errno;
		if (e == ENOENT)
			snprintf(why, whylen,
				 "no ferryd status at %s (is ferryd running? is ipc.shm_dir %s?)",
				 m->path, dir);
		else
			snprintf(why, whylen, "cannot open %s: %s", m->path, strerror(e));
		return -e;
	}
	char reason[200];
	int rc = ferry_shm_map_fd(m->fd, false, FERRY_SHM_MAGIC_STATUS, &m->base, &m->len, reason,
				  sizeof(reason));
	if (rc < 0) {
		snprintf(why, whylen, "%s: %s", m->path, reason);
		/* fstatus_create() truncates, fills, then publishes the magic:
		 * an empty file or a zero magic is a daemon half-way there. */
		if (rc == -EPROTO && fstat(m->fd, &st) == 0 &&
		    (st.st_size == 0 ||
		     (pread(m->fd, &magic, sizeof(magic), 0) == (ssize_t)sizeof(magic) && magic == 0)))
			rc = -EAGAIN;
		smap_close(m);
		return rc;
	}
	if (m->len < FERRY_STATUS_COUNTERS_OFF || fstat(m->fd, &st) < 0) {
		snprintf(why, whylen, "%s: too small for a status file (%llu bytes)", m->path,
			 (unsigned long long)m->len);
		smap_close(m);
		return -EPROTO;
	}
	m->dev = st.st_dev;
	m->ino = st.st_ino;
	m->d = (const struct ferry_status_daemon *)((const uint8_t *)m->base +
						    sizeof(struct ferry_shm_hdr));
	m->ctr = (const struct ferry_counter *)((const uint8_t *)m->base +
						FERRY_STATUS_COUNTERS_OFF);
	/* counter_max comes from the file: believe it only as far as the
	 * mapping reaches. */
	uint64_t fit = (m->len - FERRY_STATUS_COUNTERS_OFF) / sizeof(struct ferry_counter);
	m->n = m->d->counter_max < fit ? m->d->counter_max : (uint32_t)fit;
	m->rows = calloc(2 * (size_t)m->n + 1, sizeof(*m->rows));
	m->prev = m->rows + m->n;
	if (m->rows == NULL) {
		snprintf(why, whylen, "out of memory for %u counters", m->n);
		smap_close(m);
		return -ENOMEM;
	}
	return 0;
}

bool smap_replaced(const struct smap *m)
{
	struct stat st;
	return stat(m->path, &st) < 0 || st.st_ino != m->ino || st.st_dev != m->dev;
}

/* ---- snapshot ---------------------------------------------------------- */

static const char *const k_groups[] = {"daemon.", "port.", "drop.", "arp.",
				       "icmp.", "client.", "session."};
#define N_GROUPS ((int)(sizeof(k_groups) / sizeof(k_groups[0])))

static int group_of(const char *label)
{
	for (int i = 0; i < N_GROUPS; i++)
		if (strncmp(label, k_groups[i], strlen(k_groups[i])) == 0)
			return i;
	return N_GROUPS; /* anything else goes last */
}

/* Label order with digit runs compared as numbers (the daemon prints ids
 * with %u, no leading zeros): client.7 before client.12. */
static int natcmp(const char *a, const char *b)
{
	while (*a && *b) {
		if (*a >= '0' && *a <= '9' && *b >= '0' && *b <= '9') {
			size_t la = strspn(a, "0123456789"), lb = strspn(b, "0123456789");
			if (la != lb)
				return la < lb ? -1 : 1;
			int c = memcmp(a, b, la);
			if (c)
				return c;
			a += la;
			b += lb;
		} else if (*a != *b) {
			return (unsigned char)*a < (unsigned char)*b ? -1 : 1;
		} else {
			a++;
			b++;
		}
	}
	return *a ? 1 : *b ? -1 : 0;
}

static int row_cmp(const void *pa, const void *pb)
{
	const struct row *a = pa, *b = pb;
	if (a->group != b->group)
		return a->group < b->group ? -1 : 1;
	int c = natcmp(a->label, b->label);
	if (c)
		return c;
	return a->slot < b->slot ? -1 : a->slot > b->slot;
}

/*
 * Copy the active counters that match @p filter into m->rows, sorted.
 *
 * acquire on state: partner is the daemon's release-store of ACTIVE in
 * fstatus_counter(), so the label and type written before it are visible.
 * relaxed on value: the daemon is the only writer and stores it relaxed;
 * an aligned 64-bit load never tears, and any recent value will do.
 * A slot freed and claimed again between our state load and our label copy
 * can show the old label (or a mix) with the new value for one refresh;
 * the next refresh reads it consistently. That is acceptable for a monitor
 * and avoids any handshake the daemon would have to pay for.
 */
uint32_t smap_snapshot(const struct smap *m, const char *filter)
{
	struct row *rows = m->rows;
	uint32_t k = 0;
	for (uint32_t i = 0; i < m->n; i++) {
		const struct ferry_counter *c = &m->ctr[i];
		if (FA_LOAD_ACQ(&c->state) != FERRY_COUNTER_ACTIVE)
			continue;
		struct row *r = &rows[k];
		memcpy(r->label, c->label, SMAP_LABEL_MAX);
		r->label[SMAP_LABEL_MAX - 1] = '\0';
		r->type = c->type;
		r->value = FA_LOAD_RLX(&c->value);
		/* relaxed, like value; 0 in files of minor version 0 */
		r->unavailable = FA_LOAD_RLX(&c->flags) & FERRY_CTR_F_UNAVAILABLE;
		r->slot = i;
		r->group = group_of(r->label);
		if (filter && !strstr(r->label, filter))
			continue;
		k++;
	}
	qsort(rows, k, sizeof(*rows), row_cmp);
	return k;
}

void smap_daemon_view(const struct smap *m, struct smap_daemon *v)
{
	uint64_t now = realtime_ns();
	/* relaxed: the daemon stores the heartbeat relaxed and nothing else
	 * is read through it; the other fields were published with magic. */
	uint64_t hb = FA_LOAD_RLX(&m->d->heartbeat_unix_ns);
	v->pid = m->d->pid;
	v->uptime_ns = now > m->d->start_unix_ns ? now - m->d->start_unix_ns : 0;
	v->hb_age_ns = now > hb ? now - hb : 0;
	memcpy(v->version, m->d->version, sizeof(v->version));
	v->version[sizeof(v->version) - 1] = '\0';
	/* kill(pid, 0): EPERM still means the process exists (another user).
	 * A reused pid looks alive; its stale heartbeat tells the truth. pid 0
	 * or one past INT_MAX would signal a group: never alive. The pid is
	 * the daemon's own namespace's; from another pid namespace the answer
	 * is meaningless, and the heartbeat is the thing to trust. */
	v->running = v->pid > 0 && v->pid <= INT_MAX &&
		     (kill((pid_t)v->pid, 0) == 0 || errno == EPERM);
}
