/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Attached clients: their ring file, doorbell and wake sockets, the commands
 * they write (handed to the core) and the events the core writes back
 * (through the ops below), and reclaiming all of it when a client goes
 * away or misbehaves: marked at once, reclaimed at the safe point (see
 * clients.h).
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <unistd.h>

#include "clients_pvt.h"
#include "ferry.h"
#include "ferry_bell.h"
#include "ferry_shm_util.h"
#include "guard.h"
#include "log.h"

/* Events a client may leave unread in ferryd's memory before it is
 * considered stuck. The RX ring holds far more than this in normal use. */
#define PENDING_MAX 4096
/* Commands taken from one client per loop pass, so one busy client cannot
 * starve the others. */
#define CMD_BUDGET 256

static struct fclient *of(struct fcore_client *cc)
{
	return (struct fclient *)(void *)((char *)cc - offsetof(struct fclient, core));
}

struct fclient *client_new(struct fclients *e, int sock, pid_t pid, uid_t uid, gid_t gid)
{
	struct fclient *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return NULL;
	do {
		c->id = ++e->next_id;
	} while (c->id == 0);
	c->state = FCLIENT_CONNECTED;
	c->sock = sock;
	c->evfd = -1;
	c->bell_fd = -1;
	c->wake_fd = c->peer_wake_fd = -1;
	c->pid = pid;
	c->uid = uid;
	c->gid = gid;
	e->v[e->n++] = c;
	fctr_set(e->c_clients, e->n);
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

static int make_rings(struct fclients *e, struct fclient *c, int *fd_out)
{
	const struct ferry_config *cfg = e->cfg;
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
	int er = errno;
	close(fd);
	return -er;
}

static void sanitize(char *s)
{
	for (; *s; s++)
		if (*s == '.' || *s == ' ' || *s == '"' || *s == '\\')
			*s = '_';
}

int client_attach(struct fclients *e, struct fclient *c, const char *name, uint32_t flags)
{
	int ring_fd = -1, rc;
	snprintf(c->name, sizeof(c->name), "%s", name[0] ? name : "client");
	sanitize(c->name);

	if ((rc = make_bell(c)) < 0 || (rc = make_rings(e, c, &ring_fd)) < 0) {
		LOG_E("client %u (pid %d): cannot create rings in %s: %s", c->id, (int)c->pid,
		      e->cfg->ipc_shm_dir, strerror(-rc));
		goto err;
	}
	/* Wake descriptors are datagram socket pairs, never eventfds: the
	 * client shares each open file with us, and could clear O_NONBLOCK
	 * and fill an eventfd so that our next write() blocked for good
	 * (ferry_bell.h). Ours: the receiving end of its daemon wake, the
	 * sending ends of its client wake and peer wake. */
	int dw[2], cw[2] = {-1, -1}, pw[2] = {-1, -1};
	if ((rc = ferry_wake_pair(dw)) < 0)
		goto err;
	c->evfd = dw[0];
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = (uintptr_t)c | TAG_EVFD};
	if (epoll_ctl(e->epfd, EPOLL_CTL_ADD, c->evfd, &ev) < 0) {
		rc = -errno;
		close(dw[1]);
		goto err;
	}
	/* A client that can wait on wake sockets (its own event loop, through
	 * ferry_fd()) gets two: one only we write, one its local-session peers
	 * write, so that no peer can silence or flood ours. A 1.2 library's
	 * FERRY_ATTACH_F_WAKE_FD asks for an eventfd: it gets none. */
	if (flags & FERRY_ATTACH_F_WAKE_SOCK) {
		if ((rc = ferry_wake_pair(cw)) < 0 || (rc = ferry_wake_pair(pw)) < 0) {
			close(dw[1]);
			if (cw[0] >= 0) {
				close(cw[0]);
				close(cw[1]);
			}
			goto err;
		}
		c->wake_fd = cw[1];
		c->peer_wake_fd = pw[1];
	}

	struct ferry_ctl_attached rep = {.magic = FERRY_CTL_MAGIC,
					 .type = FERRY_CTL_ATTACHED,
					 .status = 0,
					 .client_id = c->id,
					 .max_message_size = (uint64_t)e->cfg->ipc_max_message_size};
	int fds[6] = {ring_fd, c->bell_fd, dw[1], e->status_ro_fd, cw[0], pw[0]};
	if (c->wake_fd >= 0)
		rep.flags = FERRY_ATTACHED_F_WAKE_SOCK;
	rc = ipc_send_attached(c, &rep, fds, c->wake_fd >= 0 ? 6 : 4);
	/* the client's ends are its own from here on */
	close(dw[1]);
	if (cw[0] >= 0)
		close(cw[0]);
	if (pw[0] >= 0)
		close(pw[0]);
	if (rc < 0)
		goto err;
	close(ring_fd);

	c->state = FCLIENT_ATTACHED;
	c->c_cmds = fstatus_counter(e->st, FERRY_CTR_COUNT, c->id, "client.%u.%s.commands", c->id,
				    c->name);
	c->c_evts = fstatus_counter(e->st, FERRY_CTR_COUNT, c->id, "client.%u.%s.events", c->id,
				    c->name);
	c->c_sessions = fstatus_counter(e->st, FERRY_CTR_GAUGE, c->id, "client.%u.%s.sessions",
					c->id, c->name);
	fcore_client_init(e->core, &c->core, c->id, (uint32_t)c->pid, (uint32_t)c->uid,
			  c->c_sessions);
	fctr_add(e->c_total, 1);
	LOG_I("client %u attached: \"%s\" pid %d uid %u", c->id, c->name, (int)c->pid,
	      (unsigned)c->uid);
	return 0;
err:
	if (ring_fd >= 0)
		close(ring_fd);
	return rc;
}

void client_reclaim_later(struct fclients *e, struct fclient *c, int reason, const char *why)
{
	if (c->dying)
		return;
	c->dying = true;
	c->why_reason = reason;
	snprintf(c->why, sizeof(c->why), "%s", why);
	TAILQ_INSERT_TAIL(&e->dying, c, dying_link);
}

static unsigned poll_one(struct fclients *e, struct fclient *c);

/* A client that hung up may have written commands (its last sends and
 * closes) just before: honour them, so its peers get every message
 * ferry_send() took and see "closed", not "gone". Send buffers take them
 * past their size (core.draining). A process that hung up could still
 * write to the ring from another process holding it: one ring's worth of
 * bytes at most is read. */
static void drain_commands(struct fclients *e, struct fclient *c)
{
	c->core.draining = true;
	uint64_t start = c->cmd.pos;
	while (!c->poisoned && ferry_ring_readable(&c->cmd) && c->cmd.pos - start < c->cmd.cap) {
		if (poll_one(e, c) == 0)
			break; /* out of memory for a send buffer, or a bad record */
	}
}

static void reclaim_now(struct fclients *e, struct fclient *c)
{
	/* the re-entrancy rule (core.h): never from inside the core */
	assert(e->core == NULL || fcore_busy(e->core) == 0);
	int reason = c->why_reason;
	if (c->state == FCLIENT_ATTACHED) {
		if (reason == FERRY_REASON_PEER_GONE && !c->poisoned)
			drain_commands(e, c);
		LOG_I("client %u (\"%s\" pid %d) reclaimed: %s", c->id, c->name, (int)c->pid, c->why);
		fcore_client_gone(e->core, &c->core, reason);
		fctr_add(e->c_reclaimed, 1);
		if (reason == FERRY_REASON_PROTOCOL && c->sock >= 0)
			ipc_send_bye(c, -EPROTO, c->why);
	}
	c->reclaimed = true;
	c->core.gone = true;
	if (c->sock >= 0) {
		epoll_ctl(e->epfd, EPOLL_CTL_DEL, c->sock, NULL);
		close(c->sock);
		c->sock = -1;
	}
	if (c->evfd >= 0) {
		epoll_ctl(e->epfd, EPOLL_CTL_DEL, c->evfd, NULL);
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
	if (c->wake_fd >= 0)
		close(c->wake_fd);
	if (c->peer_wake_fd >= 0)
		close(c->peer_wake_fd);
	c->wake_fd = c->peer_wake_fd = -1;
	while (c->pend_head) {
		struct fpending *p = c->pend_head;
		c->pend_head = p->next;
		free(p);
	}
	c->pend_n = 0;
	fstatus_counter_free(e->st, c->c_cmds);
	fstatus_counter_free(e->st, c->c_evts);
	fstatus_counter_free(e->st, c->c_sessions);
	for (uint32_t i = 0; i < e->n; i++) {
		if (e->v[i] == c) {
			e->v[i] = e->v[--e->n];
			break;
		}
	}
	fctr_set(e->c_clients, e->n);
}

void clients_reap(struct fclients *e)
{
	struct fclient *c;
	/* reclaiming one client can mark others (their sessions' peers): the
	 * list is taken until it is empty */
	while ((c = TAILQ_FIRST(&e->dying)) != NULL) {
		TAILQ_REMOVE(&e->dying, c, dying_link);
		reclaim_now(e, c);
		TAILQ_INSERT_TAIL(&e->graves, c, dying_link);
	}
	while ((c = TAILQ_FIRST(&e->graves)) != NULL) {
		TAILQ_REMOVE(&e->graves, c, dying_link);
		free(c);
	}
}

/* ---- events out (the core's ops) --------------------------------------- */

static int queue_event(struct fclients *e, struct fclient *c, uint16_t type, uint32_t session,
		       uint32_t aux, const void *payload, uint32_t len)
{
	if (c->pend_n >= PENDING_MAX) {
		client_reclaim_later(e, c, FERRY_REASON_PEER_GONE, "does not read its events");
		return -1;
	}
	struct fpending *p = malloc(sizeof(*p) + len);
	if (p == NULL) {
		client_reclaim_later(e, c, FERRY_REASON_LIMIT, "out of memory for its events");
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
	fctr_add(e->c_events_queued, 1);
	return 0;
}

void client_drain_pending(struct fclients *e, struct fclient *c)
{
	while (c->pend_head && !c->dying) {
		struct fpending *p = c->pend_head;
		int rc = ferry_ring_write(&c->evt, p->type, p->session, p->aux, p->payload, p->len);
		if (rc == -EAGAIN) {
			/* Ask to be woken (via its daemon wake) when it reads. */
			if (!ferry_ring_wait_space(&c->evt, p->len))
				return;
			continue;
		}
		if (rc < 0) {
			client_reclaim_later(e, c, FERRY_REASON_PROTOCOL, "corrupted its event ring");
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

static bool can_take(const struct fclient *c)
{
	return !c->dying && c->state == FCLIENT_ATTACHED;
}

static int op_emit(void *arg, struct fcore_client *cc, uint16_t type, uint32_t session,
		   uint32_t aux, const void *payload, uint32_t len)
{
	struct fclients *e = arg;
	struct fclient *c = of(cc);
	if (!can_take(c))
		return -1;
	if (c->pend_head == NULL) {
		int rc = ferry_ring_write(&c->evt, type, session, aux, payload, len);
		if (rc == 0) {
			c->evt_dirty = true;
			fctr_add(c->c_evts, 1);
			return 0;
		}
		if (rc != -EAGAIN) {
			client_reclaim_later(e, c, FERRY_REASON_PROTOCOL, "corrupted its event ring");
			return -1;
		}
	}
	if (queue_event(e, c, type, session, aux, payload, len) < 0)
		return -1;
	client_drain_pending(e, c);
	return c->dying ? -1 : 0;
}

static int op_emit_data(void *arg, struct fcore_client *cc, uint32_t session, uint16_t flags,
			const void *p, uint32_t len)
{
	struct fclients *e = arg;
	struct fclient *c = of(cc);
	if (!can_take(c))
		return -1;
	/* Messages wait behind queued events, never jump them; and they are
	 * never queued themselves: that would let a peer fill our memory. */
	if (c->pend_head)
		return -EAGAIN;
	int rc = ferry_ring_write_flags(&c->evt, FERRY_REC_DATA, flags, session, 0, p, len);
	if (rc == -EAGAIN)
		return -EAGAIN;
	if (rc < 0) {
		client_reclaim_later(e, c, FERRY_REASON_PROTOCOL, "corrupted its event ring");
		return -1;
	}
	c->evt_dirty = true;
	return 0;
}

static uint64_t op_room(void *arg, struct fcore_client *cc)
{
	(void)arg;
	struct fclient *c = of(cc);
	return can_take(c) ? ferry_ring_free(&c->evt) : 0;
}

static bool op_want_room(void *arg, struct fcore_client *cc, uint32_t len)
{
	(void)arg;
	struct fclient *c = of(cc);
	if (!can_take(c))
		return false;
	if (len == 0 || c->pend_head) {
		/* a record as large as the whole ring never fits: asking for
		 * one sets the flag, and the client's next read wakes us */
		ferry_ring_wait_space(&c->evt, (uint32_t)c->evt.cap);
		return false;
	}
	return ferry_ring_wait_space(&c->evt, len);
}

static int make_session_memfd(struct fclients *e, uint32_t session)
{
	struct ferry_shm_hdr h;
	memset(&h, 0, sizeof(h));
	uint64_t cap = (uint64_t)e->cfg->ipc_session_ring_size;
	uint64_t size = ferry_shm_layout(&h, session, cap, cap);
	int fd = memfd_create("ferry-session", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return -errno;
	/* Both ends get this fd: sealing its size means neither can shrink
	 * it under the other's mapping. */
	if (ftruncate(fd, (off_t)size) < 0 ||
	    fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0)
		goto err;
	/* Only the header page is written here; the rings start zeroed. */
	void *p = mmap(NULL, sizeof(h), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		goto err;
	memcpy(p, &h, sizeof(h));
	ferry_shm_publish(p, FERRY_SHM_MAGIC_SESSION);
	munmap(p, sizeof(h));
	return fd;
err:;
	int er = errno;
	close(fd);
	return -er;
}

static int op_local_up(void *arg, struct fcore_client *opener, struct fcore_client *acceptor,
		       uint32_t session)
{
	struct fclients *e = arg;
	struct fclient *o = of(opener), *a = of(acceptor);
	if (!can_take(o) || !can_take(a))
		return -EPIPE;
	int fd = make_session_memfd(e, session);
	if (fd < 0)
		return fd;
	/* each end may wake the other's peer wake only if both have one: an
	 * end without would futex-wake a peer that waits on its sockets */
	bool wake = o->peer_wake_fd >= 0 && a->peer_wake_fd >= 0;
	/* fds first, event second: a client acts on EVT_UP by receiving the
	 * fds, which are then already queued on its socket. */
	int rc = 0;
	if (ipc_send_fds(o, session, fd, a->bell_fd, wake ? a->peer_wake_fd : -1) < 0) {
		client_reclaim_later(e, o, FERRY_REASON_PEER_GONE, "control socket full or closed");
		rc = -EPIPE;
	} else if (ipc_send_fds(a, session, fd, o->bell_fd, wake ? o->peer_wake_fd : -1) < 0) {
		client_reclaim_later(e, a, FERRY_REASON_PEER_GONE, "control socket full or closed");
		rc = -EPIPE;
	}
	close(fd);
	return rc;
}

static void op_reclaim(void *arg, struct fcore_client *cc, int reason, const char *why)
{
	client_reclaim_later(arg, of(cc), reason, why);
}

void clients_core_ops(struct fclients *e, struct fcore_client_ops *ops)
{
	*ops = (struct fcore_client_ops){.arg = e,
					 .emit = op_emit,
					 .emit_data = op_emit_data,
					 .room = op_room,
					 .want_room = op_want_room,
					 .local_up = op_local_up,
					 .reclaim = op_reclaim};
}

/* ---- commands in ------------------------------------------------------- */

static unsigned poll_one(struct fclients *e, struct fclient *c)
{
	unsigned n = 0;
	struct ferry_rec_view v;
	int rc = 0;
	uint64_t at = c->cmd.pos;
	c->cmd_stalled = false;
	while (n < CMD_BUDGET && (rc = ferry_ring_peek(&c->cmd, &v)) > 0) {
		int r = fcore_command(e->core, &c->core, &v);
		if (r == -EAGAIN) {
			/* a full send buffer: read this record again later */
			ferry_ring_unread(&c->cmd, at);
			c->cmd_stalled = true;
			rc = 0;
			break;
		}
		at = c->cmd.pos;
		n++;
		if (r < 0) {
			fctr_add(e->c_malformed, 1);
			client_reclaim_later(e, c, FERRY_REASON_PROTOCOL, "sent a malformed command");
			return 0;
		}
	}
	if (rc < 0) {
		fctr_add(e->c_malformed, 1);
		client_reclaim_later(e, c, FERRY_REASON_PROTOCOL, "corrupted its command ring");
		return 0;
	}
	if (n) {
		fctr_add(c->c_cmds, n);
		fctr_add(e->c_commands, n);
		/* A client blocked on a full command ring sleeps on its own
		 * bell: the consumer that frees space rings it. */
		if (ferry_ring_release(&c->cmd))
			ferry_bell_wake(c->bell, c->wake_fd);
	}
	return n;
}

static bool check_poisoned(struct fclients *e, struct fclient *c)
{
	if (!c->poisoned)
		return false;
	fctr_add(e->c_malformed, 1);
	client_reclaim_later(e, c, FERRY_REASON_PROTOCOL, "shrank its ring file");
	return true;
}

unsigned clients_poll(struct fclients *e)
{
	unsigned n = 0;
	/* Nothing leaves the array here: reclaim waits for clients_reap(). */
	for (uint32_t i = 0; i < e->n; i++) {
		struct fclient *c = e->v[i];
		if (!can_take(c) || check_poisoned(e, c))
			continue;
		n += poll_one(e, c);
		check_poisoned(e, c);
	}
	return n;
}

bool clients_pending(struct fclients *e)
{
	for (uint32_t i = 0; i < e->n; i++) {
		struct fclient *c = e->v[i];
		if (can_take(c) && !c->poisoned && !c->cmd_stalled && ferry_ring_readable(&c->cmd))
			return true;
	}
	return !TAILQ_EMPTY(&e->dying);
}

void clients_flush(struct fclients *e)
{
	for (uint32_t i = 0; i < e->n; i++) {
		struct fclient *c = e->v[i];
		if (c->evt_dirty && c->bell) {
			c->evt_dirty = false;
			ferry_bell_wake(c->bell, c->wake_fd);
		}
	}
}

/* ---- the loop's side --------------------------------------------------- */

void clients_event(struct fclients *e, uint64_t u, uint32_t events)
{
	if (u == TAG_LISTEN) {
		ipc_accept(e);
		return;
	}
	if ((u & CLIENTS_TAG_MASK) == TAG_REFUSED) {
		ipc_refused_event(e, (struct ipc_refused *)(uintptr_t)(u & ~(uint64_t)CLIENTS_TAG_MASK));
		return;
	}
	struct fclient *c = (struct fclient *)(uintptr_t)(u & ~(uint64_t)CLIENTS_TAG_MASK);
	if (c->dying)
		return;
	if ((u & CLIENTS_TAG_MASK) == TAG_EVFD) {
		ferry_wake_take(c->evfd);
		/* it read from its event ring: what waited for room moves */
		client_drain_pending(e, c);
		if (c->pend_head == NULL && can_take(c))
			fcore_client_room(e->core, &c->core);
	} else {
		ipc_client_event(e, c, events);
	}
}

bool clients_drained(struct fclients *e)
{
	for (uint32_t i = 0; i < e->n; i++) {
		struct fclient *c = e->v[i];
		if (!can_take(c))
			continue;
		/* acquire: partner is the client's release of head */
		if (c->pend_head != NULL || FA_LOAD_ACQ(&c->evt.ctl->head) != c->evt.pos)
			return false;
	}
	return true;
}

void clients_set_now(struct fclients *e, uint64_t now_ns)
{
	e->now_ns = now_ns;
}

void clients_tick(struct fclients *e)
{
	ipc_refused_timers(e);
}

uint32_t clients_count(const struct fclients *e)
{
	return e->n;
}

const struct ferry_counter *clients_counter(const struct fclients *e)
{
	return e->c_clients;
}

int clients_create(struct fclients **out, const struct ferry_config *cfg, int epfd,
		   struct fstatus *st, const struct fprivs *privs)
{
	struct fclients *e = calloc(1, sizeof(*e));
	if (e == NULL)
		return -ENOMEM;
	e->v = calloc((size_t)cfg->limits_max_clients, sizeof(*e->v));
	if (e->v == NULL) {
		free(e);
		return -ENOMEM;
	}
	e->cfg = cfg;
	e->privs = privs;
	e->epfd = epfd;
	e->st = st;
	e->lsock = -1;
	TAILQ_INIT(&e->dying);
	TAILQ_INIT(&e->graves);
	e->status_ro_fd = open(st->path, O_RDONLY | O_CLOEXEC);
	if (e->status_ro_fd < 0) {
		int er = errno;
		LOG_E("cannot reopen %s read-only: %s", st->path, strerror(er));
		free(e->v);
		free(e);
		return -er;
	}
	e->c_clients = fstatus_counter(st, FERRY_CTR_GAUGE, 0, "daemon.clients");
	e->c_total = fstatus_counter(st, FERRY_CTR_COUNT, 0, "daemon.clients_attached_total");
	e->c_refused = fstatus_counter(st, FERRY_CTR_COUNT, 0, "daemon.clients_refused");
	e->c_reclaimed = fstatus_counter(st, FERRY_CTR_COUNT, 0, "daemon.clients_reclaimed");
	e->c_malformed = fstatus_counter(st, FERRY_CTR_COUNT, 0, "daemon.clients_malformed");
	e->c_commands = fstatus_counter(st, FERRY_CTR_COUNT, 0, "daemon.commands");
	e->c_events_queued = fstatus_counter(st, FERRY_CTR_COUNT, 0, "daemon.events_queued");
	*out = e;
	return 0;
}

void clients_set_core(struct fclients *e, struct fcore *core)
{
	e->core = core;
}

int clients_listen(struct fclients *e)
{
	return ipc_open(e);
}

void clients_destroy(struct fclients *e, int reason)
{
	if (e == NULL)
		return;
	for (uint32_t i = 0; i < e->n; i++)
		client_reclaim_later(e, e->v[i], reason, "ferryd stopping");
	clients_reap(e);
	ipc_close(e);
	if (e->status_ro_fd >= 0)
		close(e->status_ro_fd);
	free(e->v);
	free(e);
}
