/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Attaching to ferryd and detaching; commands to the daemon; noticing that
 * the daemon is gone.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "ferry_pvt.h"
#include "ferry_shm_util.h"

/* How long ferry_open() waits for the daemon's answer. */
#define ATTACH_TIMEOUT_MS 5000

/* ferry_poll()'s waiting before it sleeps (ferry.h says why these). On a
 * small VM ferryd often shares the caller's CPU: a long spin there holds
 * up the very daemon that is to bring the answer, while a yield lets it
 * run; 200 us of yielding covers a round trip to another host, so a
 * sparse request's answer seldom needs a futex wake-up. Measured on the
 * lab at 100 and 1,000 requests/s (README, Performance). */
#define DEFAULT_SPIN_US 2
#define DEFAULT_YIELD_US 200

FERRY_API void ferry_opts_init(ferry_opts_t *o)
{
	memset(o, 0, sizeof(*o));
	o->size = sizeof(*o);
	o->spin_us = -1;
	o->yield_us = -1;
}

FERRY_API uint32_t ferry_version(void)
{
	return FERRY_VERSION;
}

FERRY_API size_t ferry_max_message(const ferry_t *f)
{
	return f ? (size_t)f->max_msg : 0;
}

void ferry_close_fds(int *fds, int n)
{
	for (int i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

/* Receive one control message and up to @p maxfds descriptors. Extra or
 * truncated descriptors are closed; @return bytes or -errno. */
static ssize_t recv_ctl(int sock, void *buf, size_t len, int *fds, int maxfds, int *nfds,
			int flags)
{
	union {
		char b[CMSG_SPACE(sizeof(int) * 8)];
		struct cmsghdr align;
	} u;
	struct iovec iov = {.iov_base = buf, .iov_len = len};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.b,
			    .msg_controllen = sizeof(u.b)};
	*nfds = 0;
	ssize_t n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC | flags);
	if (n < 0)
		return -errno;
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		int k = (int)((cm->cmsg_len - CMSG_LEN(0)) / sizeof(int));
		int got[8];
		memcpy(got, CMSG_DATA(cm), sizeof(int) * (size_t)k);
		for (int i = 0; i < k; i++) {
			if (*nfds < maxfds)
				fds[(*nfds)++] = got[i];
			else
				close(got[i]);
		}
	}
	if (mh.msg_flags & (MSG_CTRUNC | MSG_TRUNC)) {
		ferry_close_fds(fds, *nfds);
		*nfds = 0;
		return -EPROTO;
	}
	return n;
}

static int connect_daemon(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(sa.sun_path))
		return ferry_err(-ENAMETOOLONG, "socket path too long: %s", path);
	strcpy(sa.sun_path, path);
	int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (s < 0)
		return ferry_err(-errno, "socket: %s", strerror(errno));
	if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;
		close(s);
		if (e == ENOENT || e == ECONNREFUSED)
			return ferry_err(-e, "no ferryd is listening on %s (start ferryd, or set "
					     "FERRY_SOCKET to its ipc.socket)", path);
		if (e == EACCES)
			return ferry_err(-e, "permission denied on %s: the user needs to be in "
					     "ferryd's group (clients.allowed_groups)", path);
		return ferry_err(-e, "connect to %s: %s", path, strerror(e));
	}
	return s;
}

static int attach(ferry_t *f, const char *name)
{
	struct ferry_ctl_attach a = {.magic = FERRY_CTL_MAGIC,
				     .type = FERRY_CTL_ATTACH,
				     .version_major = FERRY_SHM_VERSION_MAJOR,
				     .version_minor = FERRY_SHM_VERSION_MINOR,
				     .flags = FERRY_ATTACH_F_WAKE_SOCK};
	strncpy(a.name, name, sizeof(a.name));
	/* A refusing daemon may have answered and closed already: ignore
	 * EPIPE here and read its answer. */
	ssize_t w = send(f->sock, &a, sizeof(a), MSG_NOSIGNAL);
	(void)w;

	struct pollfd p = {.fd = f->sock, .events = POLLIN};
	int pr = poll(&p, 1, ATTACH_TIMEOUT_MS);
	if (pr == 0)
		return ferry_err(-ETIMEDOUT, "ferryd did not answer the attach within %d ms",
				 ATTACH_TIMEOUT_MS);
	struct ferry_ctl_attached rep;
	int fds[6] = {-1, -1, -1, -1, -1, -1}, nfds = 0;
	ssize_t n = recv_ctl(f->sock, &rep, sizeof(rep), fds, 6, &nfds, 0);
	if (n == 0)
		return ferry_err(-ECONNRESET, "ferryd closed the connection during attach");
	if (n < 0)
		return ferry_err((int)n, "attach: %s", strerror((int)-n));
	if ((size_t)n < sizeof(rep) || rep.magic != FERRY_CTL_MAGIC || rep.type != FERRY_CTL_ATTACHED) {
		ferry_close_fds(fds, nfds);
		return ferry_err(-EPROTO, "ferryd sent a malformed attach answer");
	}
	if (rep.status < 0) {
		ferry_close_fds(fds, nfds);
		rep.reason[sizeof(rep.reason) - 1] = '\0';
		return ferry_err(rep.status < -4095 ? -EPROTO : rep.status, "ferryd refused: %s",
				 rep.reason);
	}
	/* a ferryd of shm layout 1.0 to 1.2 has no wake sockets for us */
	int want = rep.flags & FERRY_ATTACHED_F_WAKE_SOCK ? 6 : 4;
	if (nfds != want) {
		ferry_close_fds(fds, nfds);
		return ferry_err(-EPROTO, "ferryd passed %d descriptors, expected %d", nfds, want);
	}
	char why[128];
	int rc = ferry_shm_map_fd(fds[0], true, FERRY_SHM_MAGIC_CLIENT, &f->map, &f->map_len, why,
				  sizeof(why));
	if (rc < 0) {
		ferry_err(rc, "client ring file: %s", why);
		goto err;
	}
	void *bell;
	uint64_t bell_len;
	rc = ferry_shm_map_fd(fds[1], true, 0, &bell, &bell_len, why, sizeof(why));
	if (rc < 0) {
		ferry_err(rc, "doorbell: %s", why);
		goto err;
	}
	f->bell = bell;
	if (bell_len < sizeof(struct ferry_bell)) {
		munmap(bell, bell_len);
		f->bell = NULL;
		rc = ferry_err(-EPROTO, "doorbell file too small");
		goto err;
	}
	rc = ferry_shm_map_fd(fds[3], false, FERRY_SHM_MAGIC_STATUS, &f->status_map, &f->status_len,
			      why, sizeof(why));
	if (rc < 0) {
		ferry_err(rc, "status file: %s", why);
		goto err;
	}
	f->status = (const struct ferry_status_daemon *)((const uint8_t *)f->status_map +
							  sizeof(struct ferry_shm_hdr));
	const struct ferry_shm_hdr *h = f->map;
	f->max_msg = rep.max_message_size;
	if (ferry_ring_attach(&f->cmd, f->map, f->map_len, &h->ring[0], true, 0) < 0 ||
	    ferry_ring_attach(&f->evt, f->map, f->map_len, &h->ring[1], false,
			      (uint32_t)(f->max_msg < h->ring[1].capacity ? f->max_msg
									: h->ring[1].capacity)) < 0) {
		rc = ferry_err(-EPROTO, "ring descriptors do not fit the ring file");
		goto err;
	}
	f->client_id = rep.client_id;
	f->daemon_evfd = fds[2];
	f->wake_fd = fds[4];
	f->peer_wake_rd = fds[5];
	close(fds[0]);
	close(fds[1]);
	close(fds[3]);
	return 0;
err:
	ferry_close_fds(fds, 6);
	return rc;
}

static void unmap_all(ferry_t *f)
{
	if (f->map)
		munmap(f->map, f->map_len);
	if (f->bell)
		munmap(f->bell, FERRY_BELL_FILE_SIZE);
	if (f->status_map)
		munmap(f->status_map, f->status_len);
	f->map = f->status_map = NULL;
	f->bell = NULL;
}

FERRY_API int ferry_open(ferry_t **out, const ferry_opts_t *opts)
{
	ferry_opts_t o;
	ferry_opts_init(&o);
	if (out == NULL)
		return ferry_err(-EINVAL, "ferry_open: out is NULL");
	if (opts) {
		if (opts->size < offsetof(ferry_opts_t, reserved))
			return ferry_err(-EINVAL, "ferry_open: opts not initialised with ferry_opts_init()");
		memcpy(&o, opts, opts->size < sizeof(o) ? opts->size : sizeof(o));
	}
	const char *path = o.socket_path;
	if (path == NULL)
		path = getenv("FERRY_SOCKET");
	if (path == NULL || path[0] == '\0')
		path = FERRY_DEFAULT_SOCKET;
	extern char *program_invocation_short_name;
	const char *name = o.name ? o.name : program_invocation_short_name;

	ferry_t *f = calloc(1, sizeof(*f));
	if (f == NULL)
		return ferry_err(-ENOMEM, "out of memory");
	f->daemon_evfd = -1;
	f->wake_fd = f->peer_wake_rd = -1;
	f->poll_fd = f->timer_fd = f->self_fd = -1;
	f->rpc_next_deadline = INT64_MAX;
	f->spin_ns = (o.spin_us < 0 ? DEFAULT_SPIN_US : o.spin_us) * 1000ll;
	f->yield_ns = (o.yield_us < 0 ? DEFAULT_YIELD_US : o.yield_us) * 1000ll;
	if (fmap_init(&f->by_id, 64) < 0) {
		free(f);
		return ferry_err(-ENOMEM, "out of memory");
	}
	f->sock = connect_daemon(path);
	if (f->sock < 0) {
		int rc = f->sock;
		fmap_fini(&f->by_id);
		free(f);
		return rc;
	}
	int rc = attach(f, name ? name : "client");
	if (rc < 0) {
		unmap_all(f);
		close(f->sock);
		fmap_fini(&f->by_id);
		free(f);
		return rc;
	}
	*out = f;
	return 0;
}

FERRY_API int ferry_close(ferry_t *f)
{
	if (f == NULL)
		return 0;
	while (f->sessions)
		ferry_session_close(f->sessions);
	rpc_fini(f);
	sess_free_graveyard(f);
	unmap_all(f);
	if (f->daemon_evfd >= 0)
		close(f->daemon_evfd);
	ferry_fd_close(f);
	if (f->wake_fd >= 0)
		close(f->wake_fd);
	if (f->peer_wake_rd >= 0)
		close(f->peer_wake_rd);
	/* Closing the socket is the detach: ferryd reclaims everything. */
	close(f->sock);
	fmap_fini(&f->by_id);
	fmap_fini(&f->by_cookie);
	free(f);
	return 0;
}

int ferry_cmd(ferry_t *f, uint16_t type, uint32_t session, uint32_t aux, const void *p,
	      uint32_t len)
{
	if (f->dead)
		return ferry_gone_err(f);
	int rc = ferry_ring_write(&f->cmd, type, session, aux, p, len);
	if (rc == -EAGAIN) {
		f->cmd_blocked = true;
		return ferry_err(-EAGAIN, "command ring full: ferryd is not keeping up; poll and retry");
	}
	if (rc < 0)
		return ferry_err(-EPROTO, "command ring corrupt");
	ferry_wake_daemon(f);
	return 0;
}

void ferry_wake_daemon(ferry_t *f)
{
	/* Dekker with the daemon's sleep: our record, fence, its flag. */
	atomic_thread_fence(memory_order_seq_cst);
	if (FA_LOAD_RLX((_Atomic uint32_t *)&f->status->daemon_sleeping))
		ferry_bell_ring_fd(f->daemon_evfd);
}

bool ferry_check_daemon(ferry_t *f)
{
	if (f->dead)
		return false;
	struct pollfd p = {.fd = f->sock, .events = POLLIN};
	if (poll(&p, 1, 0) > 0 && (p.revents & (POLLHUP | POLLERR))) {
		ferry_daemon_gone(f);
		return false;
	}
	return true;
}

void ferry_daemon_gone(ferry_t *f)
{
	/* Sessions are ended in ferry_gather() once the event ring is
	 * drained: the daemon's last words (say, "shutting down") were
	 * written before it hung up and give the better reason. */
	if (f->dead)
		return;
	f->dead = true;
	f->gone_err = -ECONNRESET;
	snprintf(f->gone_msg, sizeof(f->gone_msg), "ferryd is gone");
	/* A daemon that disconnects us on purpose says why, last, on the
	 * socket; what comes before it (descriptors of sessions that are
	 * ending anyway) is closed. */
	for (int i = 0; i < 64; i++) {
		union {
			struct ferry_ctl_bye bye;
			char raw[256];
		} m;
		int fds[8], nfds = 0;
		ssize_t n = recv_ctl(f->sock, &m, sizeof(m), fds, 8, &nfds, MSG_DONTWAIT);
		ferry_close_fds(fds, nfds);
		if (n <= 0)
			break;
		if ((size_t)n >= sizeof(m.bye) && m.bye.magic == FERRY_CTL_MAGIC &&
		    m.bye.type == FERRY_CTL_BYE) {
			m.bye.reason[sizeof(m.bye.reason) - 1] = '\0';
			f->gone_err = m.bye.status < 0 && m.bye.status > -4096 ? m.bye.status : -EPROTO;
			snprintf(f->gone_msg, sizeof(f->gone_msg), "%s", m.bye.reason);
			break;
		}
	}
}

int ferry_gone_err(ferry_t *f)
{
	return ferry_err(f->gone_err ? f->gone_err : -ECONNRESET, "%s",
			 f->gone_msg[0] ? f->gone_msg : "ferryd is gone");
}

int ferry_recv_fds(ferry_t *f, uint32_t session, int fds[3])
{
	struct ferry_ctl_fds m;
	int nfds = 0;
	ssize_t n = recv_ctl(f->sock, &m, sizeof(m), fds, 3, &nfds, MSG_DONTWAIT);
	if (n < (ssize_t)sizeof(m) || m.magic != FERRY_CTL_MAGIC || m.type != FERRY_CTL_FDS ||
	    m.session != session || nfds != (m.flags & FERRY_FDS_F_WAKE_SOCK ? 3 : 2)) {
		ferry_close_fds(fds, nfds);
		return ferry_err(-EPROTO, "expected the descriptors of session %u on the control "
					  "socket", session);
	}
	if (nfds == 2)
		fds[2] = -1;
	return 0;
}
