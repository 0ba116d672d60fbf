/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Attached clients: their ring file, doorbell and eventfd, the commands
 * they write and the events ferryd writes back, and reclaiming all of it
 * the moment a client goes away or misbehaves.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ferry.h"
#include "ferry_bell.h"
#include "ferry_shm_util.h"
#include "ferryd.h"
#include "guard.h"
#include "ipc.h"
#include "log.h"

/* Events a client may leave unread in ferryd's memory before it is
 * considered stuck. The RX ring holds far more than this in normal use. */
#define PENDING_MAX 4096
/* Commands taken from one client per loop pass, so one busy client cannot
 * starve the others. */
#define CMD_BUDGET 256

struct fclient *clients_new(struct ferryd *d, int sock, pid_t pid, uid_t uid, gid_t gid)
{
	struct fclient *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return NULL;
	do {
		c->id = ++d->next_client_id;
	} while (c->id == 0);
	c->state = FCLIENT_CONNECTED;
	c->sock = sock;
	c->evfd = -1;
	c->bell_fd = -1;
	c->pid = pid;
	c->uid = uid;
	c->gid = gid;
	d->clients[d->n_clients++] = c;
	fctr_set(d->c.clients, d->n_clients);
	return c;
}

static int make_bell(struct fclient *c)
{
	c->bell_fd = memfd_create("ferry-bell", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (c->bell_fd < 0)
		return -errno;
	/* Sealed to its size: a client holding this fd cannot shrink it
	 * under our mapping (which would SIGBUS the daemon). */
	if (ftruncate(c->bell_fd, FERRY_BELL_FILE_SIZE) < 0 ||
	    fcntl(c->bell_fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0)
		return -errno;
	void *p = mmap(NULL, FERRY_BELL_FILE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, c->bell_fd, 0);
	if (p == MAP_FAILED)
		return -errno;
	c->bell = p;
	return 0;
}

static int make_rings(struct ferryd *d, struct fclient *c, int *fd_out)
{
	const struct ferry_config *cfg = d->cfg;
	struct ferry_shm_hdr h;
	memset(&h, 0, sizeof(h));
	uint64_t size = ferry_shm_layout(&h, c->id, (uint64_t)cfg->ipc_client_ring_size,
					 (uint64_t)cfg->ipc_client_ring_size);
	snprintf(c->path, sizeof(c->path), "%s/client-%u", cfg->ipc_shm_dir, c->id);
	/* 0600: the client never opens it by name; it gets our fd. */
	int fd = open(c->path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		c->path[0] = '\0';
		return -errno;
	}
	if (ftruncate(fd, (off_t)size) < 0)
		goto err;
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		goto err;
	c->map = p;
	c->map_len = size;
	if (guard_add(p, size, &c->poisoned) < 0) {
		errno = ENOSPC;
		goto err;
	}
	memcpy(p, &h, sizeof(h));
	uint32_t maxp = (uint32_t)cfg->ipc_max_message_size;
	if (ferry_ring_attach(&c->cmd, p, size, &h.ring[0], false, maxp) < 0 ||
	    ferry_ring_attach(&c->evt, p, size, &h.ring[1], true, maxp) < 0) {
		errno = EPROTO;
		goto err;
	}
	ferry_shm_publish(p, FERRY_SHM_MAGIC_CLIENT);
	*fd_out = fd;
	return 0;
err:;
	int e = errno;
	close(fd);
	return -e;
}

static void sanitize(char *s)
{
	for (; *s; s++)
		if (*s == '.' || *s == ' ' || *s == '"' || *s == '\\')
			*s = '_';
}

int clients_attach(struct ferryd *d, struct fclient *c, const char *name)
{
	int ring_fd = -1, rc;
	snprintf(c->name, sizeof(c->name), "%s", name[0] ? name : "client");
	sanitize(c->name);

	if ((rc = make_bell(c)) < 0 || (rc = make_rings(d, c, &ring_fd)) < 0) {
		LOG_E("client %u (pid %d): cannot create rings in %s: %s", c->id, (int)c->pid,
		      d->cfg->ipc_shm_dir, strerror(-rc));
		goto err;
	}
	c->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (c->evfd < 0) {
		rc = -errno;
		goto err;
	}
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = (uintptr_t)c | IPC_TAG_EVFD};
	if (epoll_ctl(d->epfd, EPOLL_CTL_ADD, c->evfd, &ev) < 0) {
		rc = -errno;
		goto err;
	}

	struct ferry_ctl_attached rep = {.magic = FERRY_CTL_MAGIC,
					 .type = FERRY_CTL_ATTACHED,
					 .status = 0,
					 .client_id = c->id,
					 .max_message_size = (uint64_t)d->cfg->ipc_max_message_size};
	int fds[4] = {ring_fd, c->bell_fd, c->evfd, d->status_ro_fd};
	if ((rc = ipc_send_attached(c, &rep, fds, 4)) < 0)
		goto err;
	close(ring_fd);

	c->state = FCLIENT_ATTACHED;
	c->c_cmds = fstatus_counter(&d->st, FERRY_CTR_COUNT, c->id, "client.%u.%s.commands", c->id,
				    c->name);
	c->c_evts = fstatus_counter(&d->st, FERRY_CTR_COUNT, c->id, "client.%u.%s.events", c->id,
				    c->name);
	c->c_sessions = fstatus_counter(&d->st, FERRY_CTR_GAUGE, c->id, "client.%u.%s.sessions",
					c->id, c->name);
	fctr_add(d->c.clients_total, 1);
	LOG_I("client %u attached: \"%s\" pid %d uid %u", c->id, c->name, (int)c->pid,
	      (unsigned)c->uid);
	return 0;
err:
	if (ring_fd >= 0)
		close(ring_fd);
	return rc;
}

static unsigned poll_one(struct ferryd *d, struct fclient *c);

void clients_reclaim(struct ferryd *d, struct fclient *c, int reason, const char *why)
{
	if (c->dead)
		return;
	/* A client that hung up may have written commands (its last sends and
	 * closes) just before: honour them all, so its peers get every message
	 * ferry_send() took and see "closed", not "gone". Send buffers take
	 * them beyond their size (c->draining): the ring held them anyway. The
	 * ring is finite, but a process that hung up could keep writing to
	 * it: one ring's worth of records at most. */
	if (reason == FERRY_REASON_PEER_GONE && c->state == FCLIENT_ATTACHED && !c->poisoned) {
		c->draining = true;
		for (uint64_t n = c->cmd.cap / FERRY_REC_ALIGN;
		     n > 0 && !c->dead && ferry_ring_readable(&c->cmd);) {
			unsigned k = poll_one(d, c);
			if (k == 0)
				break; /* out of memory for a send buffer */
			n = k < n ? n - k : 0;
		}
		if (c->dead)
			return;
	}
	c->dead = true;
	if (c->state == FCLIENT_ATTACHED) {
		LOG_I("client %u (\"%s\" pid %d) reclaimed: %s", c->id, c->name, (int)c->pid, why);
		sessions_client_gone(d, c, reason);
		fctr_add(d->c.clients_reclaimed, 1);
	}
	if (c->sock >= 0) {
		epoll_ctl(d->epfd, EPOLL_CTL_DEL, c->sock, NULL);
		close(c->sock);
		c->sock = -1;
	}
	if (c->evfd >= 0) {
		epoll_ctl(d->epfd, EPOLL_CTL_DEL, c->evfd, NULL);
		close(c->evfd);
		c->evfd = -1;
	}
	if (c->map) {
		guard_del(c->map);
		munmap(c->map, c->map_len);
		c->map = NULL;
	}
	if (c->path[0])
		unlink(c->path);
	if (c->bell)
		munmap(c->bell, FERRY_BELL_FILE_SIZE);
	c->bell = NULL;
	if (c->bell_fd >= 0)
		close(c->bell_fd);
	c->bell_fd = -1;
	while (c->pend_head) {
		struct fpending *p = c->pend_head;
		c->pend_head = p->next;
		free(p);
	}
	c->pend_n = 0;
	fstatus_counter_free(&d->st, c->c_cmds);
	fstatus_counter_free(&d->st, c->c_evts);
	fstatus_counter_free(&d->st, c->c_sessions);
	for (uint32_t i = 0; i < d->n_clients; i++) {
		if (d->clients[i] == c) {
			d->clients[i] = d->clients[--d->n_clients];
			break;
		}
	}
	fctr_set(d->c.clients, d->n_clients);
	c->next_grave = d->grave;
	d->grave = c;
}

void clients_bury(struct ferryd *d)
{
	while (d->grave) {
		struct fclient *c = d->grave;
		d->grave = c->next_grave;
		free(c);
	}
}

void clients_reclaim_all(struct ferryd *d, int reason)
{
	while (d->n_clients)
		clients_reclaim(d, d->clients[d->n_clients - 1], reason, "ferryd stopping");
	clients_bury(d);
}

static int queue_event(struct ferryd *d, struct fclient *c, uint16_t type, uint32_t session,
		       uint32_t aux, const void *payload, uint32_t len)
{
	if (c->pend_n >= PENDING_MAX) {
		clients_reclaim(d, c, FERRY_REASON_PEER_GONE, "does not read its events");
		return -1;
	}
	struct fpending *p = malloc(sizeof(*p) + len);
	if (p == NULL) {
		clients_reclaim(d, c, FERRY_REASON_LIMIT, "out of memory for its events");
		return -1;
	}
	p->next = NULL;
	p->type = type;
	p->session = session;
	p->aux = aux;
	p->len = len;
	if (len)
		memcpy(p->payload, payload, len);
	if (c->pend_tail)
		c->pend_tail->next = p;
	else
		c->pend_head = p;
	c->pend_tail = p;
	c->pend_n++;
	fctr_add(d->c.events_queued, 1);
	return 0;
}

void clients_drain_pending(struct ferryd *d, struct fclient *c)
{
	while (c->pend_head && !c->dead) {
		struct fpending *p = c->pend_head;
		int rc = ferry_ring_write(&c->evt, p->type, p->session, p->aux, p->payload, p->len);
		if (rc == -EAGAIN) {
			/* Ask to be woken (via our eventfd) when it reads. */
			if (!ferry_ring_wait_space(&c->evt, p->len))
				return;
			continue;
		}
		if (rc < 0) {
			clients_reclaim(d, c, FERRY_REASON_PROTOCOL, "corrupted its event ring");
			return;
		}
		c->pend_head = p->next;
		if (c->pend_head == NULL)
			c->pend_tail = NULL;
		c->pend_n--;
		free(p);
		c->evt_dirty = true;
		fctr_add(c->c_evts, 1);
	}
}

int clients_emit(struct ferryd *d, struct fclient *c, uint16_t type, uint32_t session,
		 uint32_t aux, const void *payload, uint32_t len)
{
	if (c->dead || c->state != FCLIENT_ATTACHED)
		return -1;
	if (c->pend_head == NULL) {
		int rc = ferry_ring_write(&c->evt, type, session, aux, payload, len);
		if (rc == 0) {
			c->evt_dirty = true;
			fctr_add(c->c_evts, 1);
			return 0;
		}
		if (rc != -EAGAIN) {
			clients_reclaim(d, c, FERRY_REASON_PROTOCOL, "corrupted its event ring");
			return -1;
		}
	}
	if (queue_event(d, c, type, session, aux, payload, len) < 0)
		return -1;
	clients_drain_pending(d, c);
	return c->dead ? -1 : 0;
}

int clients_emit_data(struct ferryd *d, struct fclient *c, uint32_t session, uint16_t flags,
		      const void *p, uint32_t len)
{
	(void)d;
	/* Messages wait behind queued events, never jump them; and they are
	 * never queued themselves: that would let a peer fill our memory. */
	if (c->dead || c->state != FCLIENT_ATTACHED || c->pend_head)
		return -1;
	if (ferry_ring_write_flags(&c->evt, FERRY_REC_DATA, flags, session, 0, p, len) != 0)
		return -1;
	c->evt_dirty = true;
	return 0;
}

void clients_flush(struct ferryd *d)
{
	for (uint32_t i = 0; i < d->n_clients; i++) {
		struct fclient *c = d->clients[i];
		if (c->evt_dirty) {
			c->evt_dirty = false;
			ferry_bell_notify(c->bell);
		}
	}
}

static unsigned poll_one(struct ferryd *d, struct fclient *c)
{
	unsigned n = 0;
	struct ferry_rec_view v;
	int rc = 0;
	uint64_t at = c->cmd.pos;
	c->cmd_stalled = false;
	while (n < CMD_BUDGET && (rc = ferry_ring_peek(&c->cmd, &v)) > 0) {
		int r = sessions_command(d, c, &v);
		if (r == -EAGAIN) {
			/* a full send buffer: read this record again later */
			ferry_ring_unread(&c->cmd, at);
			c->cmd_stalled = true;
			rc = 0;
			break;
		}
		at = c->cmd.pos;
		n++;
		if (r < 0 || c->dead) {
			if (!c->dead)
				clients_reclaim(d, c, FERRY_REASON_PROTOCOL, "sent a malformed command");
			fctr_add(d->c.clients_malformed, 1);
			return n;
		}
	}
	if (rc < 0) {
		fctr_add(d->c.clients_malformed, 1);
		clients_reclaim(d, c, FERRY_REASON_PROTOCOL, "corrupted its command ring");
		return n;
	}
	if (n) {
		fctr_add(c->c_cmds, n);
		fctr_add(d->c.commands, n);
		/* A client blocked on a full command ring sleeps on its own
		 * bell: the consumer that frees space rings it. */
		if (ferry_ring_release(&c->cmd))
			ferry_bell_notify(c->bell);
	}
	return n;
}

unsigned clients_poll(struct ferryd *d)
{
	unsigned n = 0;
	/* Backwards: reclaiming swaps the last client into slot i, and that
	 * one has been polled already. */
	for (uint32_t i = d->n_clients; i-- > 0;) {
		struct fclient *c = d->clients[i];
		if (c->state != FCLIENT_ATTACHED)
			continue;
		if (c->poisoned) {
			fctr_add(d->c.clients_malformed, 1);
			clients_reclaim(d, c, FERRY_REASON_PROTOCOL, "shrank its ring file");
			continue;
		}
		n += poll_one(d, c);
		if (!c->dead && c->poisoned) {
			fctr_add(d->c.clients_malformed, 1);
			clients_reclaim(d, c, FERRY_REASON_PROTOCOL, "shrank its ring file");
		}
	}
	return n;
}

bool clients_pending(struct ferryd *d)
{
	for (uint32_t i = 0; i < d->n_clients; i++) {
		struct fclient *c = d->clients[i];
		if (c->state == FCLIENT_ATTACHED && !c->poisoned && !c->cmd_stalled &&
		    ferry_ring_readable(&c->cmd))
			return true;
	}
	return false;
}
