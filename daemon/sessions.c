/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Services and sessions. A local session goes client to client: on accept
 * ferryd creates a sealed memfd holding the session's two rings and hands
 * it, with each side's peer doorbell, to both clients. From then on ferryd
 * carries none of the session's messages; it only watches both ends and
 * tells the survivor when one closes or dies.
 *
 * Session lifecycle (daemon side):
 *
 *   CONNECT --> INCOMING --ACCEPT--> UP --CLOSE / end gone--> freed
 *                  |  \--CLOSE by acceptor (refused)---------> freed
 *                  \--open_timeout_ms------------------------> freed
 *
 * "freed" always tells every other end EVT_DOWN with the reason. A client
 * that sees EVT_DOWN of a local session first drains what its peer already
 * wrote, so nothing sent before a close is lost.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ferry.h"
#include "ferry_shm_util.h"
#include "ferryd.h"
#include "log.h"
#include "sessions_pvt.h"


void sessions_init(struct ferryd *d)
{
	fmap_init(&d->sessions, 256);
	d->services = NULL;
}

/* Service names: 1..31 printable bytes without spaces or slashes, copied
 * out of (hostile) shared memory and checked for the terminator. */
bool service_ok(const char *raw, char *out)
{
	memcpy(out, raw, FERRY_SERVICE_MAX);
	if (memchr(out, '\0', FERRY_SERVICE_MAX) == NULL || out[0] == '\0')
		return false;
	for (const char *p = out; *p; p++)
		if (*p <= 0x20 || *p >= 0x7f || *p == '/')
			return false;
	return true;
}

struct fservice *service_find(struct ferryd *d, const char *name)
{
	for (struct fservice *s = d->services; s; s = s->next)
		if (strcmp(s->name, name) == 0)
			return s;
	return NULL;
}

void timed_unlink(struct ferryd *d, struct fsession *s)
{
	if (s->tprev)
		s->tprev->tnext = s->tnext;
	else if (d->timed == s)
		d->timed = s->tnext;
	if (s->tnext)
		s->tnext->tprev = s->tprev;
	else if (d->timed_tail == s)
		d->timed_tail = s->tprev;
	s->tnext = s->tprev = NULL;
}

void emit_down(struct ferryd *d, struct fclient *c, uint32_t session, uint32_t cookie, int reason)
{
	struct ferry_evt_status st = {.status = reason};
	clients_emit(d, c, FERRY_EVT_DOWN, session, cookie, &st, sizeof(st));
}

void session_free(struct ferryd *d, struct fsession *s)
{
	fmap_del(&d->sessions, s->id);
	timed_unlink(d, s);
	d->n_sessions--;
	fctr_set(d->c.sessions, d->n_sessions);
	if (s->remote)
		remote_free(d, s);
	free(s);
}

void session_end(struct ferryd *d, struct fsession *s, struct fclient *closer, int reason)
{
	bool keep = false;
	if (s->remote && !s->peer_done) {
		keep = remote_linger(d, s, reason);
		if (!keep)
			remote_tell_end(d, s, reason);
	}
	timed_unlink(d, s);
	for (int i = 0; i < 2; i++) {
		struct fclient *e = s->end[i];
		if (e == NULL)
			continue;
		e->n_sessions--;
		fctr_set(e->c_sessions, e->n_sessions);
		if (e != closer && !e->dead)
			emit_down(d, e, s->id, i == 0 ? s->cookie : 0, reason);
		s->end[i] = NULL;
	}
	LOG_D("session %u (%s) ended, reason %d%s", s->id, s->service, reason,
	      keep ? "; sending what is unacked" : "");
	if (!keep)
		session_free(d, s);
}

static int make_session_memfd(struct ferryd *d, struct fsession *s)
{
	struct ferry_shm_hdr h;
	memset(&h, 0, sizeof(h));
	uint64_t cap = (uint64_t)d->cfg->ipc_session_ring_size;
	uint64_t size = ferry_shm_layout(&h, s->id, cap, cap);
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
	int e = errno;
	close(fd);
	return -e;
}

static uint32_t new_session_id(struct ferryd *d)
{
	uint32_t id;
	do {
		id = ++d->next_session_id;
	} while (id == 0 || fmap_get(&d->sessions, id) != NULL);
	return id;
}

struct fsession *session_new(struct ferryd *d, struct fclient *opener, struct fclient *acceptor,
			     const char *service, int *reason)
{
	struct fclient *local = opener ? opener : acceptor;
	int64_t per = d->cfg->limits_max_sessions_per_client;
	if (d->n_sessions >= (uint32_t)d->cfg->limits_max_sessions || local->n_sessions >= per ||
	    (opener && acceptor && acceptor->n_sessions >= per)) {
		*reason = FERRY_REASON_LIMIT;
		return NULL;
	}
	struct fsession *s = calloc(1, sizeof(*s));
	if (s == NULL) {
		*reason = FERRY_REASON_LIMIT;
		return NULL;
	}
	s->id = new_session_id(d);
	s->end[0] = opener;
	s->end[1] = acceptor;
	memcpy(s->service, service, FERRY_SERVICE_MAX);
	s->deadline_ns = d->now_ns + (uint64_t)d->cfg->transport_open_timeout_ms * 1000000ull;
	if (fmap_put(&d->sessions, s->id, s) < 0) {
		free(s);
		*reason = FERRY_REASON_LIMIT;
		return NULL;
	}
	/* deadlines only grow, so appending keeps the list sorted */
	s->tprev = d->timed_tail;
	if (d->timed_tail)
		d->timed_tail->tnext = s;
	else
		d->timed = s;
	d->timed_tail = s;
	d->n_sessions++;
	for (int i = 0; i < 2; i++) {
		if (s->end[i]) {
			s->end[i]->n_sessions++;
			fctr_set(s->end[i]->c_sessions, s->end[i]->n_sessions);
		}
	}
	fctr_set(d->c.sessions, d->n_sessions);
	fctr_add(d->c.sessions_total, 1);
	return s;
}

static int cmd_connect(struct ferryd *d, struct fclient *c, const struct ferry_rec_view *v)
{
	struct ferry_cmd_connect cmd;
	char service[FERRY_SERVICE_MAX];
	if (v->len != sizeof(cmd))
		return -EBADMSG;
	memcpy(&cmd, v->payload, sizeof(cmd));
	if (!service_ok(cmd.service, service))
		return -EBADMSG;
	uint32_t cookie = v->aux;
	uint32_t ip = ntohl(cmd.ipv4);

	/* our own address is this host */
	if (ip != 0 && !(d->cfg->net_address.set && ip == d->cfg->net_address.addr)) {
		if (d->nic == NULL) {
			emit_down(d, c, 0, cookie, FERRY_REASON_UNREACHABLE);
			return 0;
		}
		remote_connect(d, c, cookie, ip, service);
		return 0;
	}
	struct fservice *svc = service_find(d, service);
	if (svc == NULL) {
		fctr_add(d->c.sessions_refused, 1);
		emit_down(d, c, 0, cookie, FERRY_REASON_NO_LISTENER);
		return 0;
	}
	int reason;
	struct fsession *s = session_new(d, c, svc->owner, service, &reason);
	if (s == NULL) {
		fctr_add(d->c.sessions_refused, 1);
		emit_down(d, c, 0, cookie, reason);
		return 0;
	}
	s->cookie = cookie;
	s->state = FS_INCOMING;
	struct ferry_evt_incoming in = {.peer_pid = (uint32_t)c->pid,
					.peer_uid = (uint32_t)c->uid,
					.flags = FERRY_EVTF_LOCAL};
	memcpy(in.service, service, sizeof(service));
	clients_emit(d, svc->owner, FERRY_EVT_INCOMING, s->id, 0, &in, sizeof(in));
	return 0;
}

static int cmd_accept(struct ferryd *d, struct fclient *c, const struct ferry_rec_view *v)
{
	struct fsession *s = fmap_get(&d->sessions, v->session);
	/* A session that ended meanwhile is not an error: its EVT_DOWN is on
	 * the way to this client. */
	if (s == NULL)
		return 0;
	if (s->end[1] != c || s->state != FS_INCOMING)
		return -EBADMSG;
	if (s->remote) {
		remote_accept(d, s);
		return 0;
	}
	int fd = make_session_memfd(d, s);
	if (fd < 0) {
		LOG_W("session %u: cannot create its rings: %s", s->id, strerror(-fd));
		session_end(d, s, NULL, FERRY_REASON_LIMIT);
		return 0;
	}
	struct fclient *o = s->end[0];
	/* fds first, event second: a client acts on EVT_UP by receiving the
	 * fds, which are then already queued on its socket. */
	if (ipc_send_fds(o, s->id, fd, c->bell_fd) < 0) {
		close(fd);
		clients_reclaim(d, o, FERRY_REASON_PEER_GONE, "control socket full or closed");
		return 0;
	}
	if (ipc_send_fds(c, s->id, fd, o->bell_fd) < 0) {
		close(fd);
		clients_reclaim(d, c, FERRY_REASON_PEER_GONE, "control socket full or closed");
		return 0;
	}
	close(fd);
	s->state = FS_UP;
	timed_unlink(d, s);
	struct ferry_evt_up up0 = {.flags = FERRY_EVTF_LOCAL, .role = 0, .peer_pid = (uint32_t)c->pid,
				   .max_message = (uint32_t)d->cfg->ipc_max_message_size};
	struct ferry_evt_up up1 = {.flags = FERRY_EVTF_LOCAL, .role = 1, .peer_pid = (uint32_t)o->pid,
				   .max_message = (uint32_t)d->cfg->ipc_max_message_size};
	clients_emit(d, o, FERRY_EVT_UP, s->id, s->cookie, &up0, sizeof(up0));
	clients_emit(d, c, FERRY_EVT_UP, s->id, 0, &up1, sizeof(up1));
	return 0;
}

/* An opener may close before it learns the session's id, even after the
 * acceptor accepted: look through every session, not just unaccepted ones.
 * Rare, so a scan is fine. */
static struct fsession *find_by_cookie(struct ferryd *d, struct fclient *c, uint32_t cookie)
{
	for (uint32_t i = 0; i <= d->sessions.mask; i++) {
		struct fsession *s = d->sessions.s[i].val;
		if (d->sessions.s[i].key && s->end[0] == c && s->cookie == cookie)
			return s;
	}
	return NULL;
}

static int cmd_close(struct ferryd *d, struct fclient *c, const struct ferry_rec_view *v)
{
	struct ferry_cmd_close cl;
	if (v->len != sizeof(cl))
		return -EBADMSG;
	memcpy(&cl, v->payload, sizeof(cl));
	struct fsession *s =
		v->session ? fmap_get(&d->sessions, v->session) : find_by_cookie(d, c, cl.cookie);
	if (s == NULL)
		return 0; /* ended already */
	if (s->end[0] != c && s->end[1] != c)
		return -EBADMSG;
	int reason = FERRY_REASON_CLOSED;
	if (s->state == FS_INCOMING && s->end[1] == c)
		reason = FERRY_REASON_REFUSED;
	session_end(d, s, c, reason);
	return 0;
}

static int cmd_listen(struct ferryd *d, struct fclient *c, const struct ferry_rec_view *v,
		      bool listen)
{
	char name[FERRY_SERVICE_MAX];
	if (v->len != sizeof(struct ferry_cmd_service) ||
	    !service_ok(((const struct ferry_cmd_service *)v->payload)->service, name))
		return -EBADMSG;
	struct fservice *s = service_find(d, name);
	if (!listen) {
		if (s && s->owner == c) {
			struct fservice **pp = &d->services;
			while (*pp != s)
				pp = &(*pp)->next;
			*pp = s->next;
			free(s);
			c->n_listens--;
		}
		return 0;
	}
	struct ferry_evt_status st = {.status = 0};
	if (s && s->owner != c) {
		st.status = -EADDRINUSE;
	} else if (s == NULL && c->n_listens >= (uint32_t)d->cfg->limits_max_listens_per_client) {
		st.status = -EMFILE;
	} else if (s == NULL) {
		s = calloc(1, sizeof(*s));
		if (s == NULL) {
			st.status = -ENOMEM;
		} else {
			memcpy(s->name, name, sizeof(name));
			s->owner = c;
			s->next = d->services;
			d->services = s;
			c->n_listens++;
			LOG_D("client %u listens on \"%s\"", c->id, name);
		}
	}
	clients_emit(d, c, FERRY_EVT_LISTEN, 0, v->aux, &st, sizeof(st));
	return 0;
}

int sessions_command(struct ferryd *d, struct fclient *c, const struct ferry_rec_view *v)
{
	switch (v->type) {
	case FERRY_CMD_LISTEN:
		return cmd_listen(d, c, v, true);
	case FERRY_CMD_UNLISTEN:
		return cmd_listen(d, c, v, false);
	case FERRY_CMD_CONNECT:
		return cmd_connect(d, c, v);
	case FERRY_CMD_ACCEPT:
		return cmd_accept(d, c, v);
	case FERRY_CMD_CLOSE:
		return cmd_close(d, c, v);
	case FERRY_REC_DATA:
		return remote_send(d, c, v);
	default:
		return -EBADMSG; /* not a command at all */
	}
}

void sessions_client_gone(struct ferryd *d, struct fclient *c, int reason)
{
	struct fservice **pp = &d->services;
	while (*pp) {
		if ((*pp)->owner == c) {
			struct fservice *s = *pp;
			*pp = s->next;
			free(s);
		} else {
			pp = &(*pp)->next;
		}
	}
	c->n_listens = 0;
	if (c->n_sessions == 0)
		return;
	/* Collect first: session_end() edits the map we would be walking. */
	uint32_t n = 0, cap = c->n_sessions;
	uint32_t *ids = malloc(sizeof(*ids) * cap);
	if (ids == NULL)
		return;
	for (uint32_t i = 0; i <= d->sessions.mask && n < cap; i++) {
		struct fsession *s = d->sessions.s[i].val;
		if (d->sessions.s[i].key && (s->end[0] == c || s->end[1] == c))
			ids[n++] = s->id;
	}
	for (uint32_t i = 0; i < n; i++) {
		struct fsession *s = fmap_get(&d->sessions, ids[i]);
		if (s)
			session_end(d, s, c, reason);
	}
	free(ids);
}

int64_t sessions_timers(struct ferryd *d)
{
	while (d->timed && d->timed->deadline_ns <= d->now_ns) {
		struct fsession *s = d->timed;
		LOG_D("session %u (%s) not %s within %lld ms", s->id, s->service,
		      s->state == FS_OPENING ? "answered" : "accepted",
		      (long long)d->cfg->transport_open_timeout_ms);
		/* an opener whose peer never answered ARP: unreachable */
		session_end(d, s, NULL,
			    s->remote && s->state == FS_OPENING && remote_open_unreachable(s)
				    ? FERRY_REASON_UNREACHABLE
				    : FERRY_REASON_TIMEOUT);
	}
	return d->timed ? (int64_t)(d->timed->deadline_ns - d->now_ns) : -1;
}

void sessions_shutdown(struct ferryd *d)
{
	for (uint32_t i = 0; i <= d->sessions.mask; i++) {
		if (d->sessions.s == NULL)
			break;
		while (d->sessions.s[i].key) /* deletion may shift another in */
			session_end(d, d->sessions.s[i].val, NULL, FERRY_REASON_SHUTDOWN);
	}
}

void sessions_fini(struct ferryd *d)
{
	sessions_shutdown(d);
	while (d->services) {
		struct fservice *s = d->services;
		d->services = s->next;
		free(s);
	}
	fmap_fini(&d->sessions);
}
