/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The control socket. Clients attach through it and it is how ferryd
 * learns a client died: SOCK_SEQPACKET keeps message boundaries for the
 * attach exchange and fd passing, and its hang-up reaches epoll the moment
 * the client's last reference to the socket goes away, SIGKILL included.
 * Nothing else travels on it: commands and events use the rings.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "clients_pvt.h"
#include "ferry.h"

#include "log.h"

static void refused_drop(struct fclients *e, struct ipc_refused *r);

static int mkdir_owned(const char *dir, mode_t mode, uid_t uid, gid_t gid)
{
	struct stat st;
	if (stat(dir, &st) == 0)
		return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
	char tmp[4096];
	snprintf(tmp, sizeof(tmp), "%s", dir);
	char *parent = dirname(tmp);
	if (strcmp(parent, dir) != 0 && strcmp(parent, "/") != 0 && strcmp(parent, ".") != 0) {
		int rc = mkdir_owned(parent, 0755, (uid_t)-1, (gid_t)-1);
		if (rc < 0)
			return rc;
	}
	if (mkdir(dir, mode) < 0 && errno != EEXIST)
		return -errno;
	if (uid != (uid_t)-1 && chown(dir, uid, gid) < 0)
		return -errno;
	return 0;
}

int ipc_prepare_dir(const char *dir, mode_t mode, uid_t uid, gid_t gid)
{
	return mkdir_owned(dir, mode, uid, gid);
}

int ipc_open(struct fclients *e)
{
	const char *path = e->cfg->ipc_socket;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(sa.sun_path)) {
		LOG_E("ipc.socket: path \"%s\" is longer than %zu bytes", path, sizeof(sa.sun_path) - 1);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, path);

	char tmp[4096];
	snprintf(tmp, sizeof(tmp), "%s", path);
	int rc = ipc_prepare_dir(dirname(tmp), 0755, e->privs->file_uid, e->privs->file_gid);
	if (rc < 0) {
		LOG_E("ipc.socket: cannot create the directory of %s: %s", path, strerror(-rc));
		return rc;
	}

	e->lsock = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (e->lsock < 0)
		return -errno;
	/* A socket file that nobody answers on is left from a daemon that
	 * died; one that answers belongs to a running daemon. */
	int probe = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (probe >= 0 && connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
		close(probe);
		LOG_E("ipc.socket: another ferryd is serving %s; stop it or choose another ipc.socket",
		      path);
		return -EADDRINUSE;
	}
	if (probe >= 0)
		close(probe);
	unlink(path);
	if (bind(e->lsock, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		rc = -errno;
		LOG_E("ipc.socket: cannot bind %s: %s", path, strerror(errno));
		return rc;
	}
	/* Owner and group may connect: the group is how operators admit
	 * client users (clients.allowed_* is checked again on attach). */
	if (chmod(path, 0660) < 0 || chown(path, e->privs->file_uid, e->privs->file_gid) < 0) {
		rc = -errno;
		LOG_E("ipc.socket: cannot set owner and mode of %s: %s", path, strerror(errno));
		return rc;
	}
	if (listen(e->lsock, 128) < 0)
		return -errno;
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = TAG_LISTEN};
	if (epoll_ctl(e->epfd, EPOLL_CTL_ADD, e->lsock, &ev) < 0)
		return -errno;
	return 0;
}

void ipc_close(struct fclients *e)
{
	while (e->refused)
		refused_drop(e, e->refused);
	if (e->lsock >= 0) {
		close(e->lsock);
		e->lsock = -1;
		unlink(e->cfg->ipc_socket);
	}
}

/* Refused connections waiting for their ATTACH, at most this many and
 * for at most this long: a flood of them costs a little memory only. */
#define REFUSED_MAX 32
#define REFUSED_WAIT_NS 1000000000ull

static void refuse(int sock, int status, const char *reason)
{
	struct ferry_ctl_attached rep = {
		.magic = FERRY_CTL_MAGIC, .type = FERRY_CTL_ATTACHED, .status = status};
	snprintf(rep.reason, sizeof(rep.reason), "%s", reason);
	ssize_t n = send(sock, &rep, sizeof(rep), MSG_DONTWAIT | MSG_NOSIGNAL);
	(void)n;
}

/* Answer once the ATTACH is read; until then, park the connection. */
static void refuse_later(struct fclients *e, int sock, int status, const char *reason)
{
	char buf[512];
	if (recv(sock, buf, sizeof(buf), MSG_DONTWAIT) > 0 || e->n_refused >= REFUSED_MAX) {
		refuse(sock, status, reason);
		close(sock);
		return;
	}
	struct ipc_refused *r = calloc(1, sizeof(*r));
	if (r == NULL) {
		close(sock);
		return;
	}
	r->sock = sock;
	r->status = status;
	r->deadline_ns = e->now_ns + REFUSED_WAIT_NS;
	snprintf(r->reason, sizeof(r->reason), "%s", reason);
	struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP,
				 .data.u64 = (uintptr_t)r | TAG_REFUSED};
	if (epoll_ctl(e->epfd, EPOLL_CTL_ADD, sock, &ev) < 0) {
		close(sock);
		free(r);
		return;
	}
	r->next = e->refused;
	e->refused = r;
	e->n_refused++;
}

static void refused_drop(struct fclients *e, struct ipc_refused *r)
{
	struct ipc_refused **pp = &e->refused;
	while (*pp && *pp != r)
		pp = &(*pp)->next;
	if (*pp)
		*pp = r->next;
	epoll_ctl(e->epfd, EPOLL_CTL_DEL, r->sock, NULL);
	close(r->sock);
	e->n_refused--;
	free(r);
}

void ipc_refused_event(struct fclients *e, struct ipc_refused *r)
{
	char buf[512];
	if (recv(r->sock, buf, sizeof(buf), MSG_DONTWAIT) > 0)
		refuse(r->sock, r->status, r->reason);
	refused_drop(e, r);
}

void ipc_refused_timers(struct fclients *e)
{
	struct ipc_refused *r = e->refused;
	while (r) {
		struct ipc_refused *next = r->next;
		if (r->deadline_ns <= e->now_ns)
			refused_drop(e, r);
		r = next;
	}
}

void ipc_accept(struct fclients *e)
{
	for (;;) {
		int s = accept4(e->lsock, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (s < 0) {
			if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
				LOG_W("accept on control socket: %s", strerror(errno));
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			return;
		}
		struct ucred cr;
		socklen_t len = sizeof(cr);
		if (getsockopt(s, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0) {
			close(s);
			continue;
		}
		if (!privs_client_allowed(e->privs, s, cr.uid, cr.gid)) {
			LOG_N("refused client pid %d uid %u gid %u: not in clients.allowed_users or "
			      "clients.allowed_groups",
			      (int)cr.pid, (unsigned)cr.uid, (unsigned)cr.gid);
			refuse_later(e, s, -EACCES,
				     "this user is not allowed to attach (clients.allowed_users / "
				     "clients.allowed_groups)");
			fctr_add(e->c_refused, 1);
			continue;
		}
		if (e->n >= (uint32_t)e->cfg->limits_max_clients) {
			LOG_N("refused client pid %d: limits.max_clients (%lld) reached", (int)cr.pid,
			      (long long)e->cfg->limits_max_clients);
			refuse_later(e, s, -EUSERS, "ferryd has reached limits.max_clients");
			fctr_add(e->c_refused, 1);
			continue;
		}
		struct fclient *c = client_new(e, s, cr.pid, cr.uid, cr.gid);
		if (c == NULL) {
			refuse_later(e, s, -ENOMEM, "ferryd is out of memory");
			continue;
		}
		struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP,
					 .data.u64 = (uintptr_t)c | TAG_SOCK};
		if (epoll_ctl(e->epfd, EPOLL_CTL_ADD, s, &ev) < 0)
			client_reclaim_later(e, c, FERRY_REASON_PEER_GONE, "epoll");
	}
}

static void on_attach(struct fclients *e, struct fclient *c, const void *buf, ssize_t n)
{
	const struct ferry_ctl_attach *a = buf;
	if ((size_t)n < sizeof(*a) || a->magic != FERRY_CTL_MAGIC || a->type != FERRY_CTL_ATTACH) {
		client_reclaim_later(e, c, FERRY_REASON_PROTOCOL, "malformed attach message");
		return;
	}
	if (a->version_major != FERRY_SHM_VERSION_MAJOR) {
		char why[96];
		snprintf(why, sizeof(why), "library speaks shm layout %u.x, ferryd speaks %u.x",
			 a->version_major, FERRY_SHM_VERSION_MAJOR);
		refuse(c->sock, -EPROTONOSUPPORT, why);
		client_reclaim_later(e, c, FERRY_REASON_PROTOCOL, why);
		return;
	}
	char name[sizeof(a->name) + 1];
	memcpy(name, a->name, sizeof(a->name));
	name[sizeof(a->name)] = '\0';
	for (char *p = name; *p; p++)
		if (*p < 0x20 || *p > 0x7e)
			*p = '?';
	if (client_attach(e, c, name, a->flags) < 0)
		client_reclaim_later(e, c, FERRY_REASON_LIMIT, "cannot set up rings");
}

void ipc_client_event(struct fclients *e, struct fclient *c, uint32_t events)
{
	if (events & EPOLLIN) {
		union {
			struct ferry_ctl_attach a;
			char raw[512];
		} buf;
		ssize_t n = recv(c->sock, &buf, sizeof(buf), MSG_DONTWAIT);
		if (n > 0) {
			if (c->state == FCLIENT_CONNECTED)
				on_attach(e, c, &buf, n);
			else
				client_reclaim_later(e, c, FERRY_REASON_PROTOCOL,
						"unexpected message on the control socket");
			return;
		}
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		/* n == 0: orderly hang-up; n < 0: reset */
		client_reclaim_later(e, c, FERRY_REASON_PEER_GONE, "hung up");
		return;
	}
	if (events & (EPOLLHUP | EPOLLRDHUP | EPOLLERR))
		client_reclaim_later(e, c, FERRY_REASON_PEER_GONE, "hung up");
}

static int send_with_fds(int sock, const void *msg, size_t len, const int *fds, int nfds)
{
	struct iovec iov = {.iov_base = (void *)msg, .iov_len = len};
	union {
		char buf[CMSG_SPACE(sizeof(int) * 8)];
		struct cmsghdr align;
	} u;
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
	if (nfds) {
		memset(&u, 0, sizeof(u));
		mh.msg_control = u.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds);
		struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
		memcpy(CMSG_DATA(cm), fds, sizeof(int) * (size_t)nfds);
	}
	/* A client whose socket buffer is full is not reading: the caller
	 * treats that as a dead client rather than blocking the loop. */
	if (sendmsg(sock, &mh, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
		return -errno;
	return 0;
}

int ipc_send_attached(struct fclient *c, const struct ferry_ctl_attached *rep, const int *fds,
		      int nfds)
{
	return send_with_fds(c->sock, rep, sizeof(*rep), fds, nfds);
}

int ipc_send_fds(struct fclient *c, uint32_t session, int fd_a, int fd_b, int fd_wake)
{
	struct ferry_ctl_fds m = {.magic = FERRY_CTL_MAGIC, .type = FERRY_CTL_FDS, .session = session};
	int fds[3] = {fd_a, fd_b, fd_wake};
	if (fd_wake >= 0)
		m.flags = FERRY_FDS_F_WAKE_SOCK;
	return send_with_fds(c->sock, &m, sizeof(m), fds, fd_wake >= 0 ? 3 : 2);
}

void ipc_send_bye(struct fclient *c, int status, const char *why)
{
	struct ferry_ctl_bye m = {.magic = FERRY_CTL_MAGIC, .type = FERRY_CTL_BYE, .status = status};
	snprintf(m.reason, sizeof(m.reason), "ferryd disconnected this client: it %s", why);
	/* best effort: a client that does not read its socket learns only of
	 * the hang-up */
	if (send_with_fds(c->sock, &m, sizeof(m), NULL, 0) < 0)
		LOG_D("client %u: could not say why it is disconnected", c->id);
	/* What it sent us and we never read would make our close reset its
	 * socket, and its next read would return the reset, not this (as for
	 * refusals): read it first (descriptors in it are closed unseen). */
	char buf[512];
	for (int i = 0; i < 64 && recv(c->sock, buf, sizeof(buf), MSG_DONTWAIT) > 0; i++)
		;
}
