/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Client commands, services, and sessions' common life. A local session
 * goes client to client: on accept the client edge creates a sealed memfd
 * with the session's two rings and hands it, with each side's peer
 * doorbell, to both clients (local_up). From then on ferryd carries none
 * of the session's messages; it only watches both ends and tells the
 * survivor when one closes or dies.
 *
 * Session lifecycle (both kinds):
 *
 *   CONNECT --> INCOMING --ACCEPT--> UP --CLOSE / end gone--> ended
 *                  |  \--CLOSE by acceptor (refused)---------> ended
 *                  \--open_timeout_ms------------------------> ended
 *
 * (remote sessions add OPENING before INCOMING on the opener's side, and
 * the closing states of remote.c). "ended" tells every other end EVT_DOWN
 * with the reason; the record is freed when the core call returns (see
 * core_pvt.h). A client that sees EVT_DOWN of a local session first
 * drains what its peer already wrote, so nothing sent before a close is
 * lost.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core_pvt.h"
#include "ferry.h"
#include "log.h"

/* Service names: 1..31 printable bytes without spaces or slashes, copied
 * out of (hostile) memory and checked for the terminator. */
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

struct fservice *service_find(struct fcore *c, const char *name)
{
	struct fservice *sv;
	LIST_FOREACH(sv, &c->services, link)
		if (strcmp(sv->name, name) == 0)
			return sv;
	return NULL;
}

void emit_down(struct fcore *c, struct fcore_client *cl, uint32_t session, uint32_t cookie,
	       int reason)
{
	if (cl->gone)
		return;
	struct ferry_evt_status st = {.status = reason};
	c->co.emit(c->co.arg, cl, FERRY_EVT_DOWN, session, cookie, &st, sizeof(st));
}

/* A session is on each distinct end's list once: a client that connects
 * to its own service is both ends and lists the session through end 0.
 * Whether link i is on a list is the link's own record, set and cleared
 * with it: ends leave one at a time, so the ends cannot tell. */
static bool end_listed(const struct fsession *s, int i)
{
	return s->cl_link[i].s != NULL;
}

static void end_link(struct fsession *s, int i)
{
	s->cl_link[i].s = s;
	LIST_INSERT_HEAD(&s->end[i]->sessions, &s->cl_link[i], le);
}

static void end_unlink(struct fsession *s, int i)
{
	LIST_REMOVE(&s->cl_link[i], le);
	s->cl_link[i].s = NULL;
	if (s->room_wait) { /* only a remote session waits, and it has one end */
		LIST_REMOVE(s, room_link);
		s->room_wait = false;
	}
}

static void client_count(struct fcore_client *cl, int delta)
{
	cl->n_sessions += (uint32_t)delta;
	ctr_set(cl->c_sessions, cl->n_sessions);
}

struct fsession *session_new(struct fcore *c, struct fcore_client *opener,
			     struct fcore_client *acceptor, const char *service, int *reason)
{
	struct fcore_client *local = opener ? opener : acceptor;
	uint32_t per = c->p.max_sessions_per_client;
	if (c->n_sessions >= c->p.max_sessions || local->n_sessions >= per ||
	    (opener && acceptor && acceptor->n_sessions >= per)) {
		*reason = FERRY_REASON_LIMIT;
		return NULL;
	}
	struct fsession *s = calloc(1, sizeof(*s));
	if (s == NULL) {
		*reason = FERRY_REASON_LIMIT;
		return NULL;
	}
	s->id = core_new_id(c);
	s->end[0] = opener;
	s->end[1] = acceptor;
	s->timer.kind = TK_SESSION;
	memcpy(s->service, service, FERRY_SERVICE_MAX);
	s->deadline_ns = c->now + c->p.open_timeout_ns;
	if (fmap_put(&c->sessions, s->id, s) < 0) {
		free(s);
		*reason = FERRY_REASON_LIMIT;
		return NULL;
	}
	c->n_sessions++;
	for (int i = 0; i < 2; i++) {
		if (s->end[i] != NULL && (i == 0 || s->end[1] != s->end[0])) {
			end_link(s, i);
			client_count(s->end[i], 1);
		}
	}
	ctr_set(c->c_sessions, c->n_sessions);
	ctr_add(c->c_sessions_total, 1);
	core_timer(c, &s->timer, s->deadline_ns);
	return s;
}

void session_detach(struct fcore *c, struct fsession *s, int i)
{
	(void)c;
	struct fcore_client *cl = s->end[i];
	if (cl == NULL)
		return;
	if (end_listed(s, i)) {
		end_unlink(s, i);
		if (!s->dead)
			client_count(cl, -1);
	}
	s->end[i] = NULL;
}

void session_kill(struct fcore *c, struct fsession *s)
{
	if (s->dead)
		return;
	s->dead = true;
	fmap_del(&c->sessions, s->id);
	ftq_cancel(&c->timers, &s->timer);
	c->n_sessions--;
	ctr_set(c->c_sessions, c->n_sessions);
	for (int i = 0; i < 2; i++)
		if (end_listed(s, i))
			client_count(s->end[i], -1);
	if (s->remote) {
		struct fcore_client *cl = local_end(s);
		if (cl && s->t)
			cl->rx_held -= s->t->held_bytes; /* its bytes count no more */
		peer_detach(c, s);
		if (s->t && s->t->dirty) {
			TAILQ_REMOVE(&c->dirty, s, dirty_link);
			s->t->dirty = false;
		}
	}
	TAILQ_INSERT_TAIL(&c->dead, s, dead_link);
}

void session_free(struct fcore *c, struct fsession *s)
{
	assert(s->dead && c->depth == 0);
	for (int i = 0; i < 2; i++)
		if (end_listed(s, i))
			end_unlink(s, i);
	if (s->remote) {
		if (s->peer)
			LIST_REMOVE(s, peer_link);
		remote_free(c, s);
	}
	free(s);
}

void session_end(struct fcore *c, struct fsession *s, struct fcore_client *closer, int reason)
{
	if (s->dead)
		return;
	bool keep = false;
	if (s->remote && !s->peer_done) {
		/* a client that closes or leaves lets what it sent be
		 * delivered; an end for a reason of ours is at once */
		keep = closer != NULL && remote_linger(c, s, reason);
		if (!keep)
			keep = remote_close(c, s, reason);
	}
	for (int i = 0; i < 2; i++) {
		struct fcore_client *e = s->end[i];
		if (e != NULL && e != closer && end_listed(s, i))
			emit_down(c, e, s->id, i == 0 ? s->cookie : 0, reason);
	}
	LOG_D("session %u (%s) ended, reason %d%s", s->id, s->service, reason,
	      keep ? "; telling the peer until it acks" : "");
	if (keep) {
		/* it lives on without its client */
		session_detach(c, s, 0);
		session_detach(c, s, 1);
		session_rearm(c, s);
		return;
	}
	session_kill(c, s);
}

void session_timer(struct fcore *c, struct fsession *s)
{
	if (s->remote) {
		remote_timer(c, s);
		return;
	}
	if (s->state == FS_INCOMING && c->now >= s->deadline_ns) {
		LOG_D("session %u (%s) not accepted within %llu ms", s->id, s->service,
		      (unsigned long long)(c->p.open_timeout_ns / 1000000));
		session_end(c, s, NULL, FERRY_REASON_TIMEOUT);
	}
}

void session_rearm(struct fcore *c, struct fsession *s)
{
	if (s->dead)
		return;
	uint64_t at = UINT64_MAX;
	if (s->remote)
		at = remote_next_due(c, s);
	else if (s->state == FS_INCOMING)
		at = s->deadline_ns;
	if (at == UINT64_MAX)
		ftq_cancel(&c->timers, &s->timer);
	else
		core_timer(c, &s->timer, at);
}

/* ---- commands ---------------------------------------------------------- */

static int cmd_connect(struct fcore *c, struct fcore_client *cl, const struct ferry_rec_view *v)
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
	if (ip != 0 && ip != c->p.local_ip) {
		if (c->p.local_ip == 0) {
			emit_down(c, cl, 0, cookie, FERRY_REASON_UNREACHABLE);
			return 0;
		}
		remote_connect(c, cl, cookie, ip, service);
		return 0;
	}
	struct fservice *svc = service_find(c, service);
	if (svc == NULL) {
		ctr_add(c->c_sessions_refused, 1);
		emit_down(c, cl, 0, cookie, FERRY_REASON_NO_LISTENER);
		return 0;
	}
	int reason;
	struct fsession *s = session_new(c, cl, svc->owner, service, &reason);
	if (s == NULL) {
		ctr_add(c->c_sessions_refused, 1);
		emit_down(c, cl, 0, cookie, reason);
		return 0;
	}
	s->cookie = cookie;
	s->state = FS_INCOMING;
	struct ferry_evt_incoming in = {
		.peer_pid = cl->pid, .peer_uid = cl->uid, .flags = FERRY_EVTF_LOCAL};
	memcpy(in.service, service, sizeof(service));
	if (!svc->owner->gone)
		c->co.emit(c->co.arg, svc->owner, FERRY_EVT_INCOMING, s->id, 0, &in, sizeof(in));
	return 0;
}

static void local_accept(struct fcore *c, struct fsession *s)
{
	struct fcore_client *o = s->end[0], *a = s->end[1];
	int rc = c->co.local_up(c->co.arg, o, a, s->id);
	if (rc < 0) {
		LOG_W("session %u: cannot hand its rings to both ends: %s", s->id, strerror(-rc));
		session_end(c, s, NULL, rc == -EPIPE ? FERRY_REASON_PEER_GONE : FERRY_REASON_LIMIT);
		return;
	}
	s->state = FS_UP;
	ftq_cancel(&c->timers, &s->timer);
	uint32_t max = c->p.max_message;
	struct ferry_evt_up up0 = {
		.flags = FERRY_EVTF_LOCAL, .role = 0, .peer_pid = a->pid, .max_message = max};
	struct ferry_evt_up up1 = {
		.flags = FERRY_EVTF_LOCAL, .role = 1, .peer_pid = o->pid, .max_message = max};
	if (!o->gone)
		c->co.emit(c->co.arg, o, FERRY_EVT_UP, s->id, s->cookie, &up0, sizeof(up0));
	if (!a->gone)
		c->co.emit(c->co.arg, a, FERRY_EVT_UP, s->id, 0, &up1, sizeof(up1));
}

static int cmd_accept(struct fcore *c, struct fcore_client *cl, const struct ferry_rec_view *v)
{
	struct fsession *s = fmap_get(&c->sessions, v->session);
	/* A session that ended meanwhile is not an error: its EVT_DOWN is on
	 * the way to this client. */
	if (s == NULL)
		return 0;
	if (s->end[1] != cl || s->state != FS_INCOMING)
		return -EBADMSG;
	if (s->remote)
		remote_accept(c, s);
	else
		local_accept(c, s);
	return 0;
}

/* An opener may close before it learns the session's id, even after the
 * acceptor accepted: look through its sessions, not just unaccepted ones. */
static struct fsession *find_by_cookie(struct fcore_client *cl, uint32_t cookie)
{
	struct fsession_link *l;
	LIST_FOREACH(l, &cl->sessions, le)
		if (!l->s->dead && l->s->end[0] == cl && l->s->cookie == cookie)
			return l->s;
	return NULL;
}

static int cmd_close(struct fcore *c, struct fcore_client *cl, const struct ferry_rec_view *v)
{
	struct ferry_cmd_close cm;
	if (v->len != sizeof(cm))
		return -EBADMSG;
	memcpy(&cm, v->payload, sizeof(cm));
	struct fsession *s =
		v->session ? fmap_get(&c->sessions, v->session) : find_by_cookie(cl, cm.cookie);
	if (s == NULL)
		return 0; /* ended already */
	if (s->end[0] != cl && s->end[1] != cl)
		return -EBADMSG;
	int reason = FERRY_REASON_CLOSED;
	if (s->state == FS_INCOMING && s->end[1] == cl)
		reason = FERRY_REASON_REFUSED;
	session_end(c, s, cl, reason);
	return 0;
}

static int cmd_listen(struct fcore *c, struct fcore_client *cl, const struct ferry_rec_view *v,
		      bool listen)
{
	char name[FERRY_SERVICE_MAX];
	if (v->len != sizeof(struct ferry_cmd_service) ||
	    !service_ok(((const struct ferry_cmd_service *)v->payload)->service, name))
		return -EBADMSG;
	struct fservice *sv = service_find(c, name);
	if (!listen) {
		if (sv && sv->owner == cl) {
			LIST_REMOVE(sv, link);
			free(sv);
			cl->n_listens--;
		}
		return 0;
	}
	struct ferry_evt_status st = {.status = 0};
	if (sv && sv->owner != cl) {
		st.status = -EADDRINUSE;
	} else if (sv == NULL && cl->n_listens >= c->p.max_listens_per_client) {
		st.status = -EMFILE;
	} else if (sv == NULL) {
		sv = calloc(1, sizeof(*sv));
		if (sv == NULL) {
			st.status = -ENOMEM;
		} else {
			memcpy(sv->name, name, sizeof(name));
			sv->owner = cl;
			LIST_INSERT_HEAD(&c->services, sv, link);
			cl->n_listens++;
			LOG_D("client %u listens on \"%s\"", cl->id, name);
		}
	}
	c->co.emit(c->co.arg, cl, FERRY_EVT_LISTEN, 0, v->aux, &st, sizeof(st));
	return 0;
}

static int command(struct fcore *c, struct fcore_client *cl, const struct ferry_rec_view *v)
{
	switch (v->type) {
	case FERRY_CMD_LISTEN:
		return cmd_listen(c, cl, v, true);
	case FERRY_CMD_UNLISTEN:
		return cmd_listen(c, cl, v, false);
	case FERRY_CMD_CONNECT:
		return cmd_connect(c, cl, v);
	case FERRY_CMD_ACCEPT:
		return cmd_accept(c, cl, v);
	case FERRY_CMD_CLOSE:
		return cmd_close(c, cl, v);
	case FERRY_REC_DATA:
		return remote_send(c, cl, v);
	default:
		return -EBADMSG; /* not a command at all */
	}
}

int fcore_command(struct fcore *c, struct fcore_client *cl, const struct ferry_rec_view *v)
{
	if (cl->gone)
		return -EBADMSG;
	core_enter(c);
	int rc = command(c, cl, v);
	core_leave(c);
	return rc;
}

/* ---- clients ----------------------------------------------------------- */

void fcore_client_init(struct fcore *c, struct fcore_client *cl, uint32_t id, uint32_t pid,
		       uint32_t uid, struct ferry_counter *sessions)
{
	memset(cl, 0, sizeof(*cl));
	cl->id = id;
	cl->pid = pid;
	cl->uid = uid;
	LIST_INIT(&cl->sessions);
	LIST_INIT(&cl->room_waiters);
	LIST_INSERT_HEAD(&c->clients, cl, link);
	cl->c_sessions = sessions;
}

void fcore_client_room(struct fcore *c, struct fcore_client *cl)
{
	if (cl->gone)
		return;
	core_enter(c);
	/* Only the sessions that asked (held messages, a window to reopen):
	 * take them all off first, as each may ask again. A session still in
	 * its handshake has nothing to deliver, and its window goes out with
	 * its OPEN or ACCEPT. */
	LIST_HEAD(, fsession) todo = LIST_HEAD_INITIALIZER(todo);
	struct fsession *s;
	while ((s = LIST_FIRST(&cl->room_waiters)) != NULL) {
		LIST_REMOVE(s, room_link);
		LIST_INSERT_HEAD(&todo, s, room_link);
	}
	while ((s = LIST_FIRST(&todo)) != NULL) {
		LIST_REMOVE(s, room_link);
		s->room_wait = false;
		if (!s->dead && s->remote && s->state != FS_OPENING && s->state != FS_INCOMING)
			rtx_on_room(c, s);
	}
	core_leave(c);
}

void fcore_client_gone(struct fcore *c, struct fcore_client *cl, int reason)
{
	assert(c->depth == 0);
	core_enter(c);
	cl->gone = true;
	struct fservice *sv, *next;
	for (sv = LIST_FIRST(&c->services); sv; sv = next) {
		next = LIST_NEXT(sv, link);
		if (sv->owner == cl) {
			LIST_REMOVE(sv, link);
			free(sv);
		}
	}
	cl->n_listens = 0;
	/* Each turn takes the first session off the list: a live one ends
	 * (and, lingering, detaches itself); what is left, dead, is detached
	 * here, so nothing names this client once it is freed. */
	struct fsession_link *l;
	while ((l = LIST_FIRST(&cl->sessions)) != NULL) {
		struct fsession *s = l->s;
		session_end(c, s, cl, reason);
		for (int i = 0; i < 2; i++)
			if (s->end[i] == cl)
				session_detach(c, s, i);
	}
	LIST_REMOVE(cl, link);
	core_leave(c);
}

void fcore_shutdown(struct fcore *c)
{
	core_enter(c);
	c->stopping = true;
	for (uint32_t i = 0; i <= c->sessions.mask; i++) {
		while (c->sessions.s[i].key) /* deletion may shift another in */
			session_end(c, c->sessions.s[i].val, NULL, FERRY_REASON_SHUTDOWN);
	}
	core_leave(c);
}
