/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ferry_poll(): release what the last call returned, gather events from
 * the daemon's event ring and from the sessions that may have some, and
 * when there are none, spin, then yield, then sleep on our doorbell.
 *
 * A poll costs what is active, not what is open: a remote session's
 * messages come through the one event ring, so only the sessions on
 * f->pending are visited (local sessions that are up, whose rings have no
 * per-session signal; a DOWN to report; a blocked send), and only the
 * rings the last poll read from are released (f->held).
 *
 * Session-down and writable events are derived from session state rather
 * than queued, so gathering can stop at any point when the caller's array
 * is full and resume on the next call without losing one.
 */
#include <errno.h>
#include <sched.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ferry_pvt.h"

/* Longest single sleep: the daemon's death is noticed (via the control
 * socket) at least this often even when nothing else wakes us. */
#define SLICE_NS 100000000ll
/* Empty non-blocking polls between two checks of the daemon's socket. */
#define LIVENESS_EVERY 4096

int64_t ferry_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

/* The session our connect with @p cookie opens (no daemon id yet). */
static ferry_session_t *find_cookie(ferry_t *f, uint32_t cookie)
{
	ferry_session_t *s = fmap_get(&f->by_cookie, cookie);
	return s && s->id == 0 ? s : NULL;
}

static void ev_set(ferry_event_t *e, uint32_t type, int32_t status, ferry_session_t *s)
{
	e->type = type;
	e->status = status;
	e->session = s;
	e->data = NULL;
	e->len = 0;
	e->service = s ? s->service : NULL;
}

static int32_t payload_status(const struct ferry_rec_view *v)
{
	struct ferry_evt_status st;
	if (v->len < sizeof(st))
		return FERRY_REASON_PROTOCOL;
	memcpy(&st, v->payload, sizeof(st));
	return st.status;
}

static void on_up(ferry_t *f, const struct ferry_rec_view *v, ferry_event_t *evs, int *n)
{
	struct ferry_evt_up up;
	int fds[3] = {-1, -1, -1};
	if (v->len < sizeof(up)) {
		ferry_daemon_gone(f);
		return;
	}
	memcpy(&up, v->payload, sizeof(up));
	bool local = up.flags & FERRY_EVTF_LOCAL;
	/* The daemon queued the session's descriptors before this event:
	 * take them off the socket even if we no longer want the session. */
	if (local && ferry_recv_fds(f, v->session, fds) < 0) {
		ferry_daemon_gone(f);
		return;
	}
	ferry_session_t *s = v->aux ? find_cookie(f, v->aux) : fmap_get(&f->by_id, v->session);
	if (s == NULL || (s->state != S_OPENING && s->state != S_ACCEPTING)) {
		/* closed meanwhile: our close is on its way to the daemon */
		ferry_close_fds(fds, 3);
		return;
	}
	if (s->id == 0)
		fmap_del(&f->by_cookie, s->cookie);
	s->id = v->session;
	s->max_msg = up.max_message < f->max_msg ? up.max_message : (uint32_t)f->max_msg;
	if (fmap_put(&f->by_id, s->id, s) < 0) {
		sess_set_down(s, FERRY_REASON_LIMIT);
	} else if (local) {
		/* the session keeps the peer's wake, closes it at unmap */
		int wake = fds[2];
		fds[2] = -1;
		if (sess_map_local(s, fds[0], fds[1], wake, up.role ? 1 : 0) < 0) {
			struct ferry_cmd_close c = {0};
			ferry_cmd(f, FERRY_CMD_CLOSE, s->id, FERRY_REASON_PROTOCOL, &c, sizeof(c));
			sess_set_down(s, FERRY_REASON_PROTOCOL);
		}
	}
	ferry_close_fds(fds, 3);
	if (s->down_reason == 0) {
		s->state = S_UP;
		sess_watch(s); /* a local session's ring is read from now on */
		ev_set(&evs[(*n)++], FERRY_EV_SESSION_UP, 0, s);
	}
}

static void on_incoming(ferry_t *f, const struct ferry_rec_view *v, ferry_event_t *evs, int *n)
{
	struct ferry_evt_incoming in;
	if (v->len < sizeof(in) || v->session == 0) {
		ferry_daemon_gone(f);
		return;
	}
	memcpy(&in, v->payload, sizeof(in));
	in.service[FERRY_SERVICE_MAX - 1] = '\0';
	ferry_session_t *s = sess_new(f);
	if (s == NULL || fmap_put(&f->by_id, v->session, s) < 0) {
		/* refuse what we cannot track */
		struct ferry_cmd_close c = {0};
		ferry_cmd(f, FERRY_CMD_CLOSE, v->session, FERRY_REASON_LIMIT, &c, sizeof(c));
		if (s) {
			s->state = S_DOWN;
			ferry_session_close(s);
		}
		return;
	}
	s->id = v->session;
	s->state = S_INCOMING;
	s->announced = true;
	memcpy(s->service, in.service, sizeof(s->service));
	ev_set(&evs[(*n)++], FERRY_EV_INCOMING, 0, s);
}

/* One record of the daemon's event ring; may add one event.
 * @return false to leave the record for the next ferry_poll() */
static bool on_event(ferry_t *f, const struct ferry_rec_view *v, ferry_event_t *evs, int *n)
{
	switch (v->type) {
	case FERRY_EVT_LISTEN: {
		size_t k = v->aux % (sizeof(f->listens) / sizeof(f->listens[0]));
		ferry_event_t *e = &evs[(*n)++];
		ev_set(e, FERRY_EV_LISTEN, payload_status(v), NULL);
		e->service = f->listens[k].cookie == v->aux ? f->listens[k].name : "";
		break;
	}
	case FERRY_EVT_INCOMING:
		on_incoming(f, v, evs, n);
		break;
	case FERRY_EVT_UP:
		on_up(f, v, evs, n);
		break;
	case FERRY_REC_DATA: {
		/* a message of a remote session, read in place */
		ferry_session_t *s = fmap_get(&f->by_id, v->session);
		if (s == NULL || s->state != S_UP || s->local)
			break; /* closed meanwhile */
		if (v->flags & FERRY_RECF_RPC) {
			if (rpc_input(f, s, v, evs, n) == RPC_LATER)
				return false;
			break;
		}
		ferry_event_t *e = &evs[(*n)++];
		e->type = FERRY_EV_MESSAGE;
		e->status = 0;
		e->session = s;
		e->data = v->payload;
		e->len = v->len;
		e->service = s->service;
		break;
	}
	case FERRY_EVT_DOWN: {
		ferry_session_t *s = fmap_get(&f->by_id, v->session);
		if (s == NULL && v->aux)
			s = find_cookie(f, v->aux);
		if (s && s->state != S_DOWN)
			sess_set_down(s, payload_status(v));
		break; /* reported from the session's state, after draining */
	}
	default:
		/* newer event types need a newer library */
		break;
	}
	return true;
}

/* Remember that the caller may hold records of @p s's RX ring until the
 * next poll, which releases them (release_all()). */
static inline void hold(ferry_t *f, ferry_session_t *s)
{
	if (!s->held) {
		s->held = true;
		s->hnext = f->held;
		f->held = s;
	}
}

/* Events of one session: messages, then DOWN once drained, or WRITABLE. */
static void gather_session(ferry_t *f, ferry_session_t *s, ferry_event_t *evs, int *n, int max)
{
	if (s->local && (s->state == S_UP) && !s->rx_broken) {
		struct ferry_rec_view v;
		int rc;
		uint64_t at = s->rx.pos;
		hold(f, s); /* what we read is released at the next poll */
		while (*n < max && (rc = ferry_ring_peek(&s->rx, &v)) > 0) {
			if (FERRY_UNLIKELY(v.type != FERRY_REC_DATA)) {
				rc = -EBADMSG;
				break;
			}
			if (FERRY_UNLIKELY(v.flags & FERRY_RECF_RPC)) {
				enum rpc_verdict r = rpc_input(f, s, &v, evs, n);
				if (r == RPC_CLOSED)
					return; /* a handler closed the session */
				if (r == RPC_LATER) {
					s->rx.pos = at; /* read it again next time */
					return;
				}
				at = s->rx.pos;
				continue;
			}
			at = s->rx.pos;
			ferry_event_t *e = &evs[(*n)++];
			e->type = FERRY_EV_MESSAGE;
			e->status = 0;
			e->session = s;
			e->data = v.payload;
			e->len = v.len;
			e->service = s->service;
		}
		if (*n >= max)
			return;
		if (FERRY_UNLIKELY(rc < 0)) {
			s->rx_broken = true;
			if (!s->down_reason && !f->dead) {
				struct ferry_cmd_close c = {0};
				ferry_cmd(f, FERRY_CMD_CLOSE, s->id, FERRY_REASON_PROTOCOL, &c, sizeof(c));
			}
			sess_set_down(s, FERRY_REASON_PROTOCOL);
		}
	}
	if (*n >= max)
		return;
	if (FERRY_UNLIKELY(s->down_reason) && s->state != S_DOWN) {
		s->state = S_DOWN;
		f->rpc_recheck = f->rpc_list != NULL;
		ev_set(&evs[(*n)++], FERRY_EV_SESSION_DOWN, s->down_reason, s);
		return;
	}
	/* wait_space, not a plain check: the consumer clears the waiting
	 * flag when it wakes us, so it must be set again while we wait */
	if (FERRY_UNLIKELY(s->blocked) && s->state == S_UP &&
	    ferry_ring_wait_space(s->local ? &s->tx : &f->cmd, s->blocked_len)) {
		s->blocked = false;
		ev_set(&evs[(*n)++], FERRY_EV_WRITABLE, 0, s);
	}
}

int ferry_gather(ferry_t *f, ferry_event_t *evs, int max)
{
	int n = 0;
	struct ferry_rec_view v;
	int rc = 0;
	uint64_t at = f->evt.pos;
	while (n < max && (rc = ferry_ring_peek(&f->evt, &v)) > 0) {
		if (!on_event(f, &v, evs, &n)) {
			f->evt.pos = at; /* an RPC handler waits for this batch */
			rc = 0;
			break;
		}
		at = f->evt.pos;
	}
	if (rc < 0 && n < max) {
		ferry_err(-EPROTO, "ferryd's event ring is corrupt");
		ferry_daemon_gone(f);
	}
	/* the daemon is gone and everything it wrote has been read: tell
	 * every session, once (sess_new() tells those made later) */
	if (FERRY_UNLIKELY(f->dead) && !f->dead_marked && n < max) {
		f->dead_marked = true;
		for (ferry_session_t *s = f->sessions; s; s = s->next)
			if (s->state != S_DOWN)
				sess_set_down(s, FERRY_REASON_DAEMON_GONE);
	}
	if (FERRY_UNLIKELY(f->rpc_list != NULL))
		rpc_expire(f, evs, &n, max);
	/* Only the sessions that may have events, round robin, so one chatty
	 * session cannot starve the rest; each leaves the list once it has
	 * nothing more to say. */
	ferry_session_t *s = f->rr ? f->rr : f->pending;
	uint32_t todo = f->n_pending;
	uint32_t closes = f->closes;
	for (; s && todo > 0; todo--) {
		if (n >= max) {
			f->rr = s;
			return n;
		}
		gather_session(f, s, evs, &n, max);
		/* an RPC handler closed a session: the list changed under us */
		if (FERRY_UNLIKELY(f->closes != closes)) {
			f->rr = NULL;
			return n;
		}
		ferry_session_t *next = s->pnext ? s->pnext : f->pending;
		if (!sess_wants_gather(s)) {
			sess_unwatch(s);
			if (next == s)
				next = f->pending;
		}
		s = next;
	}
	f->rr = s && s->pnext ? s->pnext : NULL;
	return n;
}

/* Give back what the previous call returned: its data pointers die here. */
static void release_all(ferry_t *f)
{
	if (ferry_ring_release(&f->evt)) {
		/* ferryd waits for room in our event ring */
		ferry_bell_ring_fd(f->daemon_evfd);
	}
	/* before the graveyard goes: a session closed since is on it */
	while (f->held) {
		ferry_session_t *s = f->held;
		f->held = s->hnext;
		s->held = false;
		if (!s->closed && s->local && ferry_ring_release(&s->rx))
			ferry_bell_wake(s->peer_bell, s->peer_wake_fd);
	}
	sess_free_graveyard(f);
}

static int finish(ferry_t *f, int n)
{
	if (n == 0 && f->dead) {
		for (ferry_session_t *s = f->sessions; s; s = s->next)
			if (s->state != S_DOWN)
				return 0; /* a DOWN is still to come */
		return ferry_gone_err(f);
	}
	return n;
}

FERRY_API int ferry_poll(ferry_t *f, ferry_event_t *evs, int max, int timeout_ms)
{
	if (f == NULL || evs == NULL || max <= 0)
		return ferry_err(-EINVAL, "ferry_poll: bad arguments");
	release_all(f);
	/* Work done through RPC callbacks and handlers ends the wait as an
	 * event would: the caller's loop may be waiting for just that. */
	uint32_t cb0 = f->callbacks;
	int n = ferry_gather(f, evs, max);
	/* about to return empty-handed to an event loop waiting on ferry_fd():
	 * arm it, even after callbacks ran, since the loop sleeps next */
	if (n == 0 && timeout_ms == 0 && f->poll_fd >= 0)
		n = ferry_fd_arm(f, evs, max);
	if (n || timeout_ms == 0 || f->callbacks != cb0) {
		if (n == 0 && ++f->idle_polls >= LIVENESS_EVERY) {
			f->idle_polls = 0;
			ferry_check_daemon(f);
		}
		return finish(f, n);
	}
	int64_t t0 = ferry_now_ns();
	int64_t deadline = timeout_ms < 0 ? INT64_MAX : t0 + (int64_t)timeout_ms * 1000000;
	for (;;) {
		int64_t now = ferry_now_ns();
		int64_t idle = now - t0;
		if (idle < f->spin_ns) {
			FERRY_CPU_RELAX();
		} else if (idle < f->spin_ns + f->yield_ns) {
			sched_yield();
		} else {
			uint32_t seq = ferry_bell_prepare(f->bell);
			n = ferry_gather(f, evs, max);
			if (n || f->callbacks != cb0) {
				ferry_bell_cancel(f->bell);
				return finish(f, n);
			}
			if (f->dead) {
				ferry_bell_cancel(f->bell);
				return finish(f, 0);
			}
			int64_t left = deadline - now;
			/* an RPC call's timeout wakes us too */
			if (f->rpc_list && f->rpc_next_deadline - now < left)
				left = f->rpc_next_deadline - now > 0 ? f->rpc_next_deadline - now : 1;
			if (left <= 0) {
				ferry_bell_cancel(f->bell);
				return 0;
			}
			int rc = ferry_bell_wait(f->bell, seq, left < SLICE_NS ? left : SLICE_NS);
			if (rc == -EINTR)
				return ferry_err(-EINTR, "interrupted by a signal");
			ferry_check_daemon(f);
		}
		n = ferry_gather(f, evs, max);
		if (n || f->dead || f->callbacks != cb0)
			return finish(f, n);
		if (ferry_now_ns() >= deadline)
			return 0;
	}
}
