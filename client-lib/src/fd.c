/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ferry_fd(): one descriptor an application's event loop can wait on
 * instead of ferry_poll() waiting itself. It is an epoll set of five:
 *
 *   client wake  the receiving end of the wake socket ferryd alone writes
 *   peer wake    the receiving end of the one our local-session peers
 *                write (shm layout 1.3): each side sends a datagram when
 *                it publishes something for us and our bell says we wait
 *                on them (FERRY_BELL_ON_FD, set when a non-blocking
 *                ferry_poll() comes back empty). Two, so that nothing a
 *                peer does to its end can flood or silence ferryd's wakes.
 *   socket       the control socket, for its hang-up: a dead ferryd sends
 *                no more wakes, and the next ferry_poll() reports it
 *   timer        a timerfd at the earliest RPC call deadline, so a timeout
 *                completes without anything else happening
 *   self         an eventfd nobody else holds, to keep the set readable
 *                ourselves (until the caller looks again)
 *
 * Arming follows the bell's protocol (ferry_shm.h): take what earlier
 * wakes left in the fds, set the flag, fence, look at every ring once
 * more. An arm that finds the flag still set and nothing readable (nobody
 * woke us since) costs one epoll_wait().
 */
#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "ferry_pvt.h"

enum { FD_WAKE = 1, FD_PEER_WAKE, FD_SOCK, FD_TIMER, FD_SELF };

static int add(int ep, int fd, uint32_t events, uint32_t tag)
{
	struct epoll_event ev = {.events = events, .data.u32 = tag};
	return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}

/* Keep the set readable until the caller's next look (an eventfd only we
 * hold: writing it cannot block). */
static void self_ring(ferry_t *f)
{
	uint64_t one = 1;
	ssize_t w = write(f->self_fd, &one, sizeof(one));
	(void)w;
	f->fd_self_rung = true;
}

FERRY_API int ferry_fd(ferry_t *f)
{
	if (f == NULL)
		return ferry_err(-EINVAL, "ferry_fd: f is NULL");
	if (f->poll_fd >= 0)
		return f->poll_fd;
	if (f->wake_fd < 0)
		return ferry_err(-EOPNOTSUPP, "this ferryd has no wake sockets (shm layout before 1.3): "
					      "upgrade ferryd to wait on ferry_fd()");
	int ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0)
		return ferry_err(-errno, "epoll_create1: %s", strerror(errno));
	int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	int sfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	/* The socket only for its hang-up: descriptors ferryd queues on it
	 * for a new local session are read with that session's event. */
	if (tfd < 0 || sfd < 0 || add(ep, f->wake_fd, EPOLLIN, FD_WAKE) < 0 ||
	    add(ep, f->peer_wake_rd, EPOLLIN, FD_PEER_WAKE) < 0 ||
	    add(ep, f->sock, EPOLLRDHUP, FD_SOCK) < 0 || add(ep, tfd, EPOLLIN, FD_TIMER) < 0 ||
	    add(ep, sfd, EPOLLIN, FD_SELF) < 0) {
		int e = errno;
		if (tfd >= 0)
			close(tfd);
		if (sfd >= 0)
			close(sfd);
		close(ep);
		return ferry_err(-e, "ferry_fd: %s", strerror(e));
	}
	f->poll_fd = ep;
	f->timer_fd = tfd;
	f->self_fd = sfd;
	f->timer_at = INT64_MAX;
	/* Readable from the start: the caller looks with ferry_poll() before
	 * it first waits, and that poll arms the descriptor. */
	self_ring(f);
	return ep;
}

void ferry_fd_close(ferry_t *f)
{
	if (f->poll_fd < 0)
		return;
	close(f->timer_fd);
	close(f->self_fd);
	close(f->poll_fd);
	f->poll_fd = f->timer_fd = f->self_fd = -1;
}

/* The timerfd follows the earliest RPC deadline (none: disarmed). */
static void set_timer(ferry_t *f)
{
	int64_t at = f->rpc_list ? f->rpc_next_deadline : INT64_MAX;
	if (at == f->timer_at)
		return;
	struct itimerspec its;
	memset(&its, 0, sizeof(its));
	if (at != INT64_MAX) {
		its.it_value.tv_sec = at / 1000000000;
		its.it_value.tv_nsec = at % 1000000000;
		if (its.it_value.tv_sec == 0 && its.it_value.tv_nsec == 0)
			its.it_value.tv_nsec = 1; /* 0 would disarm it */
	}
	if (timerfd_settime(f->timer_fd, TFD_TIMER_ABSTIME, &its, NULL) == 0)
		f->timer_at = at;
}

void ferry_fd_deadline(ferry_t *f)
{
	if (f->poll_fd >= 0)
		set_timer(f);
}

/* Empty what made the set readable: wakes, an expired timer, our own
 * ring; and notice a hang-up (the next gather then ends every session).
 * @return whether anything was: then the caller gathers again, since a
 * peer maps our bell and can set its flag as it likes (a datagram with
 * the flag still set), and a deadline may have passed since the last
 * gather (the timer, read here, would not fire again) */
static bool take_events(ferry_t *f)
{
	struct epoll_event ev[5];
	int k = epoll_wait(f->poll_fd, ev, 5, 0);
	for (int i = 0; i < k; i++) {
		uint64_t v;
		ssize_t r;
		switch (ev[i].data.u32) {
		case FD_WAKE:
			ferry_wake_take(f->wake_fd);
			break;
		case FD_PEER_WAKE:
			ferry_wake_take(f->peer_wake_rd);
			break;
		case FD_SELF:
			r = read(f->self_fd, &v, sizeof(v));
			(void)r;
			break;
		case FD_TIMER:
			r = read(f->timer_fd, &v, sizeof(v));
			(void)r;
			f->timer_at = INT64_MAX; /* spent: set again if still wanted */
			break;
		default:
			ferry_check_daemon(f);
			break;
		}
	}
	return k > 0;
}

/* A session whose peer cannot send on our peer wake (its library or ferryd
 * predates them): it would futex-wake us while we wait on the fd. Every
 * local session that is up is on f->pending (sess_wants_gather()), so
 * this costs what is active, not what is open. */
static bool peer_without_fd(const ferry_t *f)
{
	for (const ferry_session_t *s = f->pending; s; s = s->pnext)
		if (s->local && s->state == S_UP && s->peer_wake_fd < 0)
			return true;
	return false;
}

int ferry_fd_arm(ferry_t *f, ferry_event_t *evs, int max)
{
	/* One system call, and nothing readable is left behind: a level-
	 * triggered loop must not come back for a datagram we never read. */
	bool readable = take_events(f);
	/* after reading it: a deadline already past fires the timer at once */
	set_timer(f);
	/* relaxed: only a waker changes the flag away from ON_FD, and our own
	 * gather just came back empty after the fence of the last arm */
	if (FA_LOAD_RLX(&f->bell->sleeping) == FERRY_BELL_ON_FD && !f->fd_self_rung && !readable)
		return 0;
	f->fd_self_rung = false;
	ferry_bell_prepare_fd(f->bell, -1); /* the wakes are taken */
	int n = ferry_gather(f, evs, max);
	/* nothing new, but a wake could be missed or ferryd is gone: keep
	 * the caller coming back (the descriptor stays readable) */
	if (n == 0 && (f->dead || peer_without_fd(f)))
		self_ring(f);
	return n;
}
