/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Sessions: listen, connect, accept, close, and sending. A local session's
 * messages go straight into the ring shared with the peer client; ferryd
 * sees none of them.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "ferry_pvt.h"
#include "ferry_shm_util.h"

/* Longest a close waits for room in a full command ring. */
#define CLOSE_WAIT_NS 1000000000ll

static int check_service(const char *service, char out[FERRY_SERVICE_MAX])
{
	if (service == NULL || service[0] == '\0')
		return ferry_err(-EINVAL, "service name is empty");
	size_t n = strlen(service);
	if (n > FERRY_SERVICE_NAME_MAX)
		return ferry_err(-EINVAL, "service name \"%s\" is longer than %d bytes", service,
				 FERRY_SERVICE_NAME_MAX);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)service[i] <= 0x20 || (unsigned char)service[i] >= 0x7f ||
		    service[i] == '/')
			return ferry_err(-EINVAL, "service name \"%s\": only printable ASCII without "
						  "spaces or '/'", service);
	memset(out, 0, FERRY_SERVICE_MAX);
	memcpy(out, service, n);
	return 0;
}

void sess_set_down(ferry_session_t *s, int reason)
{
	if (s->down_reason == 0)
		s->down_reason = reason;
	sess_watch(s);
}

bool sess_wants_gather(const ferry_session_t *s)
{
	if (s->closed)
		return false;
	if (s->down_reason && s->state != S_DOWN)
		return true;
	return s->state == S_UP && ((s->local && !s->rx_broken) || s->blocked);
}

/* On f->pending: the head has no pprev, every other member has one. */
static inline bool on_pending(const ferry_session_t *s)
{
	return s->pprev != NULL || s->f->pending == s;
}

void sess_watch(ferry_session_t *s)
{
	ferry_t *f = s->f;
	if (on_pending(s) || !sess_wants_gather(s))
		return;
	s->pprev = NULL;
	s->pnext = f->pending;
	if (f->pending)
		f->pending->pprev = s;
	f->pending = s;
	f->n_pending++;
}

void sess_unwatch(ferry_session_t *s)
{
	ferry_t *f = s->f;
	if (!on_pending(s))
		return;
	if (s->pprev)
		s->pprev->pnext = s->pnext;
	else
		f->pending = s->pnext;
	if (s->pnext)
		s->pnext->pprev = s->pprev;
	if (f->rr == s)
		f->rr = s->pnext;
	s->pnext = s->pprev = NULL;
	f->n_pending--;
}

ferry_session_t *sess_new(ferry_t *f)
{
	ferry_session_t *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return NULL;
	s->f = f;
	s->peer_wake_fd = -1;
	s->next = f->sessions;
	if (f->sessions)
		f->sessions->prev = s;
	f->sessions = s;
	f->n_sessions++;
	if (f->dead_marked)
		sess_set_down(s, FERRY_REASON_DAEMON_GONE);
	return s;
}

void sess_unmap(ferry_session_t *s)
{
	if (s->map)
		munmap(s->map, s->map_len);
	if (s->peer_bell)
		munmap(s->peer_bell, FERRY_BELL_FILE_SIZE);
	if (s->peer_wake_fd >= 0)
		close(s->peer_wake_fd);
	s->map = NULL;
	s->peer_bell = NULL;
	s->peer_wake_fd = -1;
}

int sess_map_local(ferry_session_t *s, int memfd, int bellfd, int wakefd, uint32_t role)
{
	s->peer_wake_fd = wakefd;
	char why[128];
	uint64_t blen;
	void *bell;
	int rc = ferry_shm_map_fd(memfd, true, FERRY_SHM_MAGIC_SESSION, &s->map, &s->map_len, why,
				  sizeof(why));
	if (rc < 0)
		return ferry_err(rc, "session %u rings: %s", s->id, why);
	rc = ferry_shm_map_fd(bellfd, true, 0, &bell, &blen, why, sizeof(why));
	if (rc < 0 || blen < sizeof(struct ferry_bell)) {
		if (rc == 0)
			munmap(bell, blen);
		sess_unmap(s);
		return ferry_err(-EPROTO, "session %u peer doorbell: %s", s->id, why);
	}
	s->peer_bell = bell;
	const struct ferry_shm_hdr *h = s->map;
	/* role 0 (opener) produces ring 0 and consumes ring 1 */
	uint32_t maxp = (uint32_t)s->f->max_msg;
	if (ferry_ring_attach(&s->tx, s->map, s->map_len, &h->ring[role], true, 0) < 0 ||
	    ferry_ring_attach(&s->rx, s->map, s->map_len, &h->ring[role ^ 1], false, maxp) < 0) {
		sess_unmap(s);
		return ferry_err(-EPROTO, "session %u: ring descriptors do not fit", s->id);
	}
	s->local = true;
	return 0;
}

void sess_free_graveyard(ferry_t *f)
{
	while (f->graveyard) {
		ferry_session_t *s = f->graveyard;
		f->graveyard = s->next_free;
		free(s);
	}
}

FERRY_API int ferry_listen(ferry_t *f, const char *service)
{
	struct ferry_cmd_service c;
	int rc = check_service(service, c.service);
	if (rc < 0)
		return rc;
	uint32_t cookie = ++f->next_cookie;
	rc = ferry_cmd(f, FERRY_CMD_LISTEN, 0, cookie, &c, sizeof(c));
	if (rc < 0)
		return rc;
	/* remember the name for the FERRY_EV_LISTEN event */
	int slot = (int)(cookie % (sizeof(f->listens) / sizeof(f->listens[0])));
	f->listens[slot].cookie = cookie;
	memcpy(f->listens[slot].name, c.service, sizeof(c.service));
	return 0;
}

FERRY_API int ferry_unlisten(ferry_t *f, const char *service)
{
	struct ferry_cmd_service c;
	int rc = check_service(service, c.service);
	if (rc < 0)
		return rc;
	return ferry_cmd(f, FERRY_CMD_UNLISTEN, 0, 0, &c, sizeof(c));
}

FERRY_API int ferry_connect(ferry_t *f, const char *host, const char *service, const void *opts,
			    ferry_session_t **out)
{
	(void)opts;
	struct ferry_cmd_connect c;
	memset(&c, 0, sizeof(c));
	if (out == NULL)
		return ferry_err(-EINVAL, "ferry_connect: out is NULL");
	int rc = check_service(service, c.service);
	if (rc < 0)
		return rc;
	if (host && host[0] && strcmp(host, "local") != 0) {
		struct in_addr a;
		if (inet_pton(AF_INET, host, &a) != 1)
			return ferry_err(-EINVAL, "host \"%s\" is not an IPv4 address", host);
		c.ipv4 = a.s_addr;
	}
	ferry_session_t *s = sess_new(f);
	if (s == NULL)
		return ferry_err(-ENOMEM, "out of memory");
	if (++f->next_cookie == 0)
		++f->next_cookie; /* 0 means "no cookie" */
	s->cookie = f->next_cookie;
	s->state = S_OPENING;
	memcpy(s->service, c.service, sizeof(c.service));
	if ((f->by_cookie.s == NULL && fmap_init(&f->by_cookie, 64) < 0) ||
	    fmap_put(&f->by_cookie, s->cookie, s) < 0) {
		s->state = S_DOWN;
		ferry_session_close(s);
		return ferry_err(-ENOMEM, "out of memory");
	}
	rc = ferry_cmd(f, FERRY_CMD_CONNECT, 0, s->cookie, &c, sizeof(c));
	if (rc < 0) {
		s->state = S_DOWN; /* nothing to tell the daemon */
		ferry_session_close(s);
		return rc;
	}
	*out = s;
	return 0;
}

FERRY_API int ferry_accept(ferry_session_t *s)
{
	/* An INCOMING and its session's end can come in one poll's batch:
	 * then the application accepts what has already ended. */
	if (s != NULL && s->announced && (s->state == S_DOWN || s->down_reason))
		return ferry_err(-ECONNRESET, "ferry_accept: the session ended before it was "
					      "accepted (FERRY_EV_SESSION_DOWN says why)");
	if (s == NULL || s->state != S_INCOMING)
		return ferry_err(-EINVAL, "ferry_accept: not an incoming session");
	int rc = ferry_cmd(s->f, FERRY_CMD_ACCEPT, s->id, 0, NULL, 0);
	if (rc == 0) {
		s->state = S_ACCEPTING;
		s->announced = false;
	}
	return rc;
}

/* A close must reach the daemon: wait (bounded) for room if needed. */
static void send_close(ferry_t *f, uint32_t id, uint32_t cookie, int reason)
{
	struct ferry_cmd_close c = {.cookie = cookie};
	struct timespec t0, t;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (ferry_cmd(f, FERRY_CMD_CLOSE, id, (uint32_t)reason, &c, sizeof(c)) == -EAGAIN) {
		clock_gettime(CLOCK_MONOTONIC, &t);
		int64_t el = (t.tv_sec - t0.tv_sec) * 1000000000ll + (t.tv_nsec - t0.tv_nsec);
		if (el > CLOSE_WAIT_NS || !ferry_check_daemon(f))
			return; /* the daemon ends it when we detach */
		uint32_t seq = ferry_bell_prepare(f->bell);
		if (ferry_ring_wait_space(&f->cmd, sizeof(c)))
			ferry_bell_cancel(f->bell);
		else
			ferry_bell_wait(f->bell, seq, 10000000);
	}
}

FERRY_API int ferry_session_close(ferry_session_t *s)
{
	if (s == NULL)
		return 0;
	ferry_t *f = s->f;
	if (!f->dead) {
		switch (s->state) {
		case S_OPENING:
			send_close(f, 0, s->cookie, FERRY_REASON_CLOSED);
			break;
		case S_INCOMING:
			send_close(f, s->id, 0, FERRY_REASON_REFUSED);
			break;
		case S_ACCEPTING:
		case S_UP:
			if (!s->down_reason)
				send_close(f, s->id, 0, FERRY_REASON_CLOSED);
			break;
		case S_DOWN:
			break;
		}
	}
	if (s->id)
		fmap_del(&f->by_id, s->id);
	else if (s->cookie && fmap_get(&f->by_cookie, s->cookie) == s)
		fmap_del(&f->by_cookie, s->cookie);
	sess_unwatch(s);
	s->closed = true;
	f->closes++;
	rpc_forget_session(f, s);
	if (s->prev)
		s->prev->next = s->next;
	else
		f->sessions = s->next;
	if (s->next)
		s->next->prev = s->prev;
	f->n_sessions--;
	sess_unmap(s);
	s->state = S_DOWN;
	/* Freed at the next ferry_poll(): events already returned by the
	 * current one may still name it. */
	s->next_free = f->graveyard;
	f->graveyard = s;
	return 0;
}

static int send_check(ferry_session_t *s, size_t len)
{
	if (FERRY_UNLIKELY(s->state != S_UP || s->down_reason)) {
		if (s->state == S_DOWN || s->down_reason)
			return ferry_err(-EPIPE, "session %u is down", s->id);
		return ferry_err(-ENOTCONN, "session is not up yet");
	}
	if (FERRY_UNLIKELY(len > s->max_msg))
		return ferry_err(-EMSGSIZE, "message of %zu bytes is larger than this session's "
					    "maximum of %u", len, s->max_msg);
	return 0;
}

/* Where a session's messages go: the shared ring of a local session, or
 * the command ring (tagged with the session) for ferryd to send on. */
static inline struct ferry_ring *sess_ring(ferry_session_t *s)
{
	return s->local ? &s->tx : &s->f->cmd;
}

static inline void sess_notify(ferry_session_t *s)
{
	if (s->local)
		ferry_bell_wake(s->peer_bell, s->peer_wake_fd);
	else
		ferry_wake_daemon(s->f);
}

static int send_fail(ferry_session_t *s, int rc, size_t len)
{
	if (rc == -EAGAIN) {
		/* Ask the consumer to ring our bell when it frees space; it
		 * might have already: then the caller may retry at once. */
		if (ferry_ring_wait_space(sess_ring(s), (uint32_t)len))
			return 1;
		s->blocked = true;
		s->blocked_len = (uint32_t)len;
		sess_watch(s);
		return ferry_err(-EAGAIN, "session %u: the peer's ring is full", s->id);
	}
	if (rc == -EMSGSIZE)
		return ferry_err(rc, "message of %zu bytes does not fit the session ring", len);
	/* the peer corrupted our ring's head */
	send_close(s->f, s->id, 0, FERRY_REASON_PROTOCOL);
	sess_set_down(s, FERRY_REASON_PROTOCOL);
	return ferry_err(-EPIPE, "session %u: the peer corrupted its ring", s->id);
}

FERRY_API int ferry_send(ferry_session_t *s, const void *buf, size_t len, unsigned flags)
{
	int rc = send_check(s, len);
	if (FERRY_UNLIKELY(rc < 0))
		return rc;
	struct ferry_ring *r = sess_ring(s);
	uint32_t tag = s->local ? 0 : s->id;
	for (;;) {
		rc = ferry_ring_write(r, FERRY_REC_DATA, tag, 0, buf, (uint32_t)len);
		if (FERRY_LIKELY(rc == 0))
			break;
		rc = send_fail(s, rc, len);
		if (rc <= 0)
			return rc;
	}
	if (!(flags & FERRY_SEND_MORE))
		sess_notify(s);
	return 0;
}

FERRY_API int ferry_reserve(ferry_session_t *s, size_t len, void **buf)
{
	int rc = send_check(s, len);
	if (FERRY_UNLIKELY(rc < 0))
		return rc;
	if (s->reserved)
		return ferry_err(-EINVAL, "a reservation is already open on this session");
	for (;;) {
		int err;
		void *p = ferry_ring_reserve(sess_ring(s), (uint32_t)len, FERRY_REC_DATA,
					     s->local ? 0 : s->id, 0, &err);
		if (FERRY_LIKELY(p != NULL)) {
			s->reserved = true;
			s->blocked_len = (uint32_t)len;
			*buf = p;
			return 0;
		}
		rc = send_fail(s, err, len);
		if (rc <= 0)
			return rc;
	}
}

FERRY_API int ferry_commit(ferry_session_t *s, void *buf, size_t len, unsigned flags)
{
	if (!s->reserved || len > s->blocked_len)
		return ferry_err(-EINVAL, "ferry_commit without a matching ferry_reserve");
	s->reserved = false;
	ferry_ring_commit(sess_ring(s), buf, (uint32_t)len);
	if (!(flags & FERRY_SEND_MORE))
		sess_notify(s);
	return 0;
}

FERRY_API void ferry_session_set_user(ferry_session_t *s, void *user)
{
	s->user = user;
}

FERRY_API void *ferry_session_user(const ferry_session_t *s)
{
	return s->user;
}

FERRY_API int ferry_session_is_local(const ferry_session_t *s)
{
	return s->local;
}

FERRY_API uint32_t ferry_session_id(const ferry_session_t *s)
{
	return s->id;
}

FERRY_API const char *ferry_reason_str(int reason)
{
	switch (reason) {
	case FERRY_REASON_CLOSED: return "closed by the peer";
	case FERRY_REASON_PEER_GONE: return "the peer's process ended";
	case FERRY_REASON_NO_LISTENER: return "nobody listens on that service";
	case FERRY_REASON_REFUSED: return "refused by the listener";
	case FERRY_REASON_LIMIT: return "a ferryd limit was reached";
	case FERRY_REASON_DAEMON_GONE: return "ferryd ended";
	case FERRY_REASON_PROTOCOL: return "protocol violation";
	case FERRY_REASON_TIMEOUT: return "timed out";
	case FERRY_REASON_UNREACHABLE: return "host unreachable";
	case FERRY_REASON_SHUTDOWN: return "ferryd is shutting down";
	case FERRY_REASON_RESET: return "the peer's ferryd lost the session (it restarted)";
	case FERRY_REASON_UNTRUSTED: return "the ferryds do not trust each other's keys";
	case FERRY_REASON_SECURITY: return "the ferryds' security modes differ";
	default: return "unknown reason";
	}
}
