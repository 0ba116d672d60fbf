/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The clients of the daemon under test (fuzz_daemon.h): attaching as
 * ipc_accept() and libferry would have it, the control socket, commands
 * into the ring and events out of it, the model of each client's sessions
 * its events are checked against, and the client actions an input asks
 * for.
 *
 * The edge gets its end of a socketpair through client_new() and epoll
 * (what ipc_accept() does after accept4() and the credential check), and
 * the client sends ATTACH, receives ATTACHED with its ring file, bell, the
 * daemon wake and the status file, maps the ring file and validates
 * it. From then on it speaks only through its rings and its socket, and a
 * hang-up is a close() of its end.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core_pvt.h"
#include "ferry.h"
#include "ferry_shm_util.h"
#include "fuzz_daemon.h"
#include "log.h"

/* ---- clients: attach, socket, teardown ---------------------------------- */

static void client_path(struct fd_client *c)
{
	snprintf(c->path, sizeof(c->path), "%s/client-%u", fd.dir, c->id);
}

int fd_attach(int slot, const char *name, uint32_t pid, unsigned flavor)
{
	struct fd_client *c = &fd.cl[slot];
	if (c->used || fd.edge->n >= (uint32_t)fd.cfg.limits_max_clients)
		return -1; /* ipc_accept() refuses past limits.max_clients */
	int sv[2];
	FUZZ_CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) == 0,
		   "socketpair: %s", strerror(errno));
	struct fclient *ec = client_new(fd.edge, sv[0], (pid_t)pid, getuid(), getgid());
	FUZZ_CHECK(ec != NULL, "client_new");
	struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.u64 = (uintptr_t)ec | TAG_SOCK};
	FUZZ_CHECK(epoll_ctl(fd.epfd, EPOLL_CTL_ADD, sv[0], &ev) == 0, "epoll_ctl: %s",
		   strerror(errno));
	memset(c, 0, sizeof(*c));
	c->used = true;
	c->reading = true;
	c->id = ec->id;
	c->pid = pid;
	c->sock = sv[1];
	c->ring_fd = c->evfd = -1;
	client_path(c);

	struct ferry_ctl_attach a = {.magic = FERRY_CTL_MAGIC,
				     .type = FERRY_CTL_ATTACH,
				     .version_major = FERRY_SHM_VERSION_MAJOR,
				     .version_minor = FERRY_SHM_VERSION_MINOR};
	memcpy(a.name, name, strnlen(name, sizeof(a.name)));
	size_t len = sizeof(a);
	switch (flavor & 3) {
	case 1: /* another major version: refused, told why */
		a.version_major++;
		break;
	case 2: /* not an ATTACH at all */
		len = 6;
		break;
	case 3: /* a second message after it: a protocol error, told BYE */
		c->expect_bye = true;
		break;
	}
	FUZZ_CHECK(send(c->sock, &a, len, MSG_NOSIGNAL) == (ssize_t)len, "send ATTACH: %s",
		   strerror(errno));
	if ((flavor & 3) == 3)
		FUZZ_CHECK(send(c->sock, &a, sizeof(a), MSG_NOSIGNAL) == (ssize_t)sizeof(a),
			   "send: %s", strerror(errno));
	return 0;
}

static void map_rings(struct fd_client *c, const int *fds)
{
	char why[256];
	c->ring_fd = fds[0];
	c->evfd = fds[2];
	close(fds[1]); /* our bell: this client never sleeps */
	close(fds[3]); /* the status file */
	FUZZ_CHECK(ferry_shm_map_fd(c->ring_fd, true, FERRY_SHM_MAGIC_CLIENT, &c->map, &c->map_len,
				    why, sizeof(why)) == 0,
		   "client %u: its ring file does not validate: %s", c->id, why);
	const struct ferry_shm_hdr *h = c->map;
	FUZZ_CHECK(h->id == c->id, "ring file of client %u says %u", c->id, h->id);
	FUZZ_CHECK(ferry_ring_attach(&c->cmd, c->map, c->map_len, &h->ring[0], true, 0) == 0 &&
			   ferry_ring_attach(&c->evt, c->map, c->map_len, &h->ring[1], false,
					     (uint32_t)fd.cfg.ipc_max_message_size) == 0,
		   "client %u: its rings do not attach", c->id);
	struct stat st;
	FUZZ_CHECK(stat(c->path, &st) == 0, "client %u: no ring file %s", c->id, c->path);
	c->attached = true;
}

/* What the daemon said on the control socket: ATTACHED, FDS, BYE, or the
 * hang-up that ends a reclaimed client. */
static void drain_socket(struct fd_client *c)
{
	for (;;) {
		union {
			struct ferry_ctl_attached a;
			struct ferry_ctl_fds f;
			struct ferry_ctl_bye b;
			char raw[512];
		} m;
		union {
			char buf[CMSG_SPACE(sizeof(int) * 8)];
			struct cmsghdr align;
		} u;
		struct iovec iov = {.iov_base = &m, .iov_len = sizeof(m)};
		struct msghdr mh = {.msg_iov = &iov,
				    .msg_iovlen = 1,
				    .msg_control = u.buf,
				    .msg_controllen = sizeof(u.buf)};
		ssize_t n = recvmsg(c->sock, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		int fds[8], nfds = 0;
		for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); n >= 0 && cm; cm = CMSG_NXTHDR(&mh, cm)) {
			if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
				continue;
			int k = (int)((cm->cmsg_len - CMSG_LEN(0)) / sizeof(int));
			for (int i = 0; i < k && nfds < 8; i++)
				memcpy(&fds[nfds++], CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
		}
		FUZZ_CHECK(n < 0 || !(mh.msg_flags & (MSG_CTRUNC | MSG_TRUNC)),
			   "client %u: a control message too large", c->id);
		if (n <= 0) {
			c->dead = true; /* the daemon closed its end */
			return;
		}
		FUZZ_CHECK(n >= 8 && m.a.magic == FERRY_CTL_MAGIC, "client %u: not a control message",
			   c->id);
		switch (m.a.type) {
		case FERRY_CTL_ATTACHED:
			FUZZ_CHECK(n == sizeof(m.a) && !c->attached, "client %u: ATTACHED again or short",
				   c->id);
			if (m.a.status == 0) {
				FUZZ_CHECK(nfds == 4 && m.a.client_id == c->id &&
						   m.a.max_message_size ==
							   (uint64_t)fd.cfg.ipc_max_message_size,
					   "client %u: ATTACHED with %d fds, id %u", c->id, nfds,
					   m.a.client_id);
				map_rings(c, fds);
				nfds = 0;
			} else {
				FUZZ_CHECK(m.a.status < 0 && memchr(m.a.reason, 0, sizeof(m.a.reason)),
					   "client %u: refused without a reason", c->id);
				c->refused = true;
			}
			break;
		case FERRY_CTL_FDS:
			FUZZ_CHECK(n == sizeof(m.f) && nfds == 2 && c->attached && m.f.session != 0,
				   "client %u: FDS with %d fds", c->id, nfds);
			break;
		case FERRY_CTL_BYE:
			FUZZ_CHECK(n == sizeof(m.b) && nfds == 0 && !c->got_bye &&
					   memchr(m.b.reason, 0, sizeof(m.b.reason)),
				   "client %u: a malformed or second BYE", c->id);
			c->got_bye = true;
			c->bye_status = m.b.status;
			snprintf(c->bye_reason, sizeof(c->bye_reason), "%s", m.b.reason);
			break;
		default:
			FUZZ_CHECK(0, "client %u: control message type %u", c->id, m.a.type);
		}
		for (int i = 0; i < nfds; i++)
			close(fds[i]);
	}
}

/* Active counters whose label begins "client.<id>.". */
static uint32_t client_counters(uint32_t id)
{
	char want[48];
	snprintf(want, sizeof(want), "client.%u.", id);
	size_t wl = strlen(want);
	uint32_t n = 0;
	for (uint32_t i = 0; i < fd.st.max; i++) {
		const struct ferry_counter *k = &fd.st.ctr[i];
		if (FA_LOAD_RLX(&k->state) == FERRY_COUNTER_ACTIVE && strncmp(k->label, want, wl) == 0)
			n++;
	}
	return n;
}

/* The daemon reclaimed @p c (or @p c hung up): nothing of it may be left. */
static void client_gone(struct fd_client *c)
{
	struct stat st;
	FUZZ_CHECK(fd_edge_client(c->id) == NULL, "client %u reclaimed but still listed", c->id);
	FUZZ_CHECK(stat(c->path, &st) < 0 && errno == ENOENT,
		   "client %u: ring file %s left after reclaim", c->id, c->path);
	FUZZ_CHECK(client_counters(c->id) == 0, "client %u: counters left after reclaim",
		   c->id);
	/* (unless ferryd stopped before it read the second message) */
	if (c->expect_bye && !fd.ending)
		FUZZ_CHECK(c->hung_up || (c->got_bye && c->bye_status == -EPROTO),
			   "client %u broke the protocol and was not told (BYE %d \"%s\")", c->id,
			   c->got_bye ? c->bye_status : 0, c->bye_reason);
	if (c->attached)
		fd.reclaimed++;
	if (fd.on_gone)
		fd.on_gone(c);
	if (c->map && !c->shrunk)
		munmap(c->map, c->map_len);
	if (c->ring_fd >= 0)
		close(c->ring_fd);
	if (c->evfd >= 0)
		close(c->evfd);
	if (!c->hung_up)
		close(c->sock);
	memset(c, 0, sizeof(*c));
}

void fd_hang_up(struct fd_client *c)
{
	/* the process died: its descriptors and mappings go with it */
	close(c->sock);
	c->hung_up = true;
}

void fd_shrink(struct fd_client *c, uint64_t len)
{
	if (!c->attached || c->shrunk)
		return;
	munmap(c->map, c->map_len); /* ours would fault too */
	c->shrunk = true;
	FUZZ_CHECK(ftruncate(c->ring_fd, (off_t)len) == 0, "ftruncate: %s", strerror(errno));
}

void fd_clients_turn(void)
{
	for (int i = 0; i < FD_CLIENTS; i++) {
		struct fd_client *c = &fd.cl[i];
		if (!c->used)
			continue;
		if (c->hung_up) {
			/* a hang-up reaches epoll at once, and so the safe point */
			FUZZ_CHECK(fd_edge_client(c->id) == NULL,
				   "client %u hung up and was not reclaimed in the same pass", c->id);
			client_gone(c);
			continue;
		}
		drain_socket(c);
		if (c->dead) {
			client_gone(c);
			continue;
		}
		if (c->reading)
			fd_read_events(c, 0);
	}
}

void fd_clients_end(void)
{
	for (int k = 0; k < FD_CLIENTS; k++) {
		struct fd_client *c = &fd.cl[k];
		if (!c->used)
			continue;
		if (!c->hung_up)
			drain_socket(c);
		FUZZ_CHECK(c->hung_up || c->dead, "client %u: its socket is still open", c->id);
		client_gone(c);
	}
}

/* ---- clients: commands and events --------------------------------------- */

int fd_cmd(struct fd_client *c, uint16_t type, uint16_t flags, uint32_t session, uint32_t aux,
	   const void *p, uint32_t len)
{
	if (!c->attached || c->shrunk)
		return -EPIPE;
	int rc = ferry_ring_write_flags(&c->cmd, type, flags, session, aux, p, len);
	FUZZ_CHECK(rc == 0 || rc == -EAGAIN || rc == -EMSGSIZE || c->tampered,
		   "client %u: its command ring refuses a record: %d", c->id, rc);
	return rc;
}

struct fd_csess *fd_csess_find(struct fd_client *c, uint32_t id)
{
	for (int i = 0; id && i < FD_CSESS; i++)
		if (c->s[i].state && c->s[i].id == id)
			return &c->s[i];
	return NULL;
}

/* Session @p id as its acceptor sees it, or as the opener that chose
 * @p cookie does (its id 0 until UP): a client connected to its own
 * service has both. */
static struct fd_csess *as_acceptor(struct fd_client *c, uint32_t id)
{
	for (int i = 0; id && i < FD_CSESS; i++)
		if (c->s[i].state && c->s[i].cookie == 0 && c->s[i].id == id)
			return &c->s[i];
	return NULL;
}

static struct fd_csess *as_opener(struct fd_client *c, uint32_t id, uint32_t cookie)
{
	for (int i = 0; cookie && i < FD_CSESS; i++)
		if (c->s[i].state && c->s[i].cookie == cookie && (c->s[i].id == 0 || c->s[i].id == id))
			return &c->s[i];
	return NULL;
}

/* A session of @p c to itself, seen from one end, might be @p o seen from
 * the other: an opener learns its session's id only with UP. */
static bool maybe_same(const struct fd_client *c, const struct fd_csess *s,
		       const struct fd_csess *o)
{
	if (s->id && o->id)
		return s->id == o->id;
	const struct fd_csess *acc = s->cookie ? o : s, *opn = s->cookie ? s : o;
	return acc->cookie == 0 && opn->cookie && !acc->remote && acc->peer_pid == c->pid &&
	       opn->to_self;
}

/* The client closed @p s: so it did every view it has of that session
 * (both, connected to itself; where it cannot tell which, all that may be
 * it are let go: they are then checked leniently). */
static void closed(struct fd_client *c, struct fd_csess *s)
{
	for (int i = 0; i < FD_CSESS; i++) {
		struct fd_csess *o = &c->s[i];
		if (o != s && o->state && o->state != CS_CLOSED && maybe_same(c, s, o))
			o->state = CS_CLOSED;
	}
	s->state = CS_CLOSED;
}

/* A free entry; a closed session's, the oldest, if need be (its id is
 * then tolerated in late events). */
static struct fd_csess *cs_new(struct fd_client *c)
{
	struct fd_csess *old = NULL;
	for (int i = 0; i < FD_CSESS; i++) {
		if (c->s[i].state == 0)
			return &c->s[i];
		if (c->s[i].state == CS_CLOSED && (!old || c->s[i].seq < old->seq))
			old = &c->s[i];
	}
	if (old) {
		c->tol[c->n_tol++ % FD_TOL] = old->id;
		c->tol_cookie[(c->n_tol - 1) % FD_TOL] = old->cookie;
		memset(old, 0, sizeof(*old));
	}
	return old;
}

static bool tolerated(const struct fd_client *c, uint32_t id, uint32_t cookie)
{
	for (uint32_t i = 0; i < FD_TOL && i < c->n_tol; i++)
		if ((id && c->tol[i] == id) || (cookie && c->tol_cookie[i] == cookie))
			return true;
	return false;
}

static void on_event(struct fd_client *c, const struct ferry_rec_view *v)
{
	c->events++;
	if (flog_enabled(FLOG_DEBUG))
		fprintf(stderr, "  client %u reads event %u session %u aux %u, %u bytes\n", c->id,
			v->type, v->session, v->aux, v->len);
	if (c->hostile || c->lenient) {
		/* only the shape: this client wrote commands we do not model */
		FUZZ_CHECK(v->type == FERRY_REC_DATA || (v->type >= FERRY_EVT_LISTEN &&
							 v->type <= FERRY_EVT_DOWN),
			   "client %u: event type %u", c->id, v->type);
		return;
	}
	struct fd_csess *s = NULL;
	switch (v->type) {
	case FERRY_EVT_LISTEN:
		FUZZ_CHECK(v->len == sizeof(struct ferry_evt_status), "LISTEN of %u bytes", v->len);
		return;
	case FERRY_EVT_INCOMING: {
		struct ferry_evt_incoming in;
		FUZZ_CHECK(v->len == sizeof(in) && v->session != 0, "INCOMING of %u bytes, session %u",
			   v->len, v->session);
		FUZZ_CHECK(as_acceptor(c, v->session) == NULL,
			   "client %u: INCOMING for session %u, which it has", c->id, v->session);
		memcpy(&in, v->payload, sizeof(in));
		bool local = in.flags & FERRY_EVTF_LOCAL;
		FUZZ_CHECK(local == (in.peer_ipv4 == 0), "INCOMING: local flag and address disagree");
		if ((s = cs_new(c)) == NULL) {
			c->lenient = true; /* more sessions than we keep: shape only */
			return;
		}
		*s = (struct fd_csess){.id = v->session, .state = CS_INCOMING, .remote = !local,
				       .peer_pid = in.peer_pid, .seq = ++c->cs_seq};
		/* from itself, and it closed a connect to itself it cannot tell
		 * from this one: this may be that session, ended already */
		for (int i = 0; i < FD_CSESS; i++)
			if (c->s[i].state == CS_CLOSED && c->s[i].id == 0 && maybe_same(c, &c->s[i], s))
				s->state = CS_CLOSED;
		return;
	}
	case FERRY_EVT_UP: {
		struct ferry_evt_up up;
		FUZZ_CHECK(v->len == sizeof(up) && v->session != 0, "UP of %u bytes", v->len);
		memcpy(&up, v->payload, sizeof(up));
		s = up.role == 0 ? as_opener(c, v->session, v->aux) : as_acceptor(c, v->session);
		if (s == NULL && tolerated(c, v->session, v->aux))
			return;
		FUZZ_CHECK(s != NULL, "client %u: UP for session %u (cookie %u) it never opened or "
				      "accepted", c->id, v->session, v->aux);
		if (up.role == 0)
			FUZZ_CHECK(s->cookie == v->aux && (s->state == CS_OPENING ||
							   (s->state == CS_CLOSED && s->id == 0)),
				   "client %u: UP as opener of session %u in state %d", c->id,
				   v->session, s->state);
		else
			FUZZ_CHECK(up.role == 1 && v->aux == 0 &&
					   (s->state == CS_ACCEPTING || s->state == CS_CLOSED),
				   "client %u: UP as acceptor (role %u) of session %u in state %d",
				   c->id, up.role, v->session, s->state);
		FUZZ_CHECK(up.max_message >= 1 && up.max_message <= fd.cfg.ipc_max_message_size,
			   "UP: largest message %u", up.max_message);
		s->id = v->session;
		if (s->state != CS_CLOSED)
			s->state = CS_UP;
		s->remote = !(up.flags & FERRY_EVTF_LOCAL);
		s->max_msg = up.max_message;
		if (s->remote)
			fd_vsess_up(v->session, (int)(c - fd.cl), up.max_message);
		return;
	}
	case FERRY_EVT_DOWN: {
		struct ferry_evt_status st;
		FUZZ_CHECK(v->len == sizeof(st), "DOWN of %u bytes", v->len);
		memcpy(&st, v->payload, sizeof(st));
		FUZZ_CHECK(st.status >= FERRY_REASON_CLOSED && st.status <= CORE_REASON_MAX,
			   "DOWN with reason %d", st.status);
		/* one DOWN for both views of a session to itself */
		struct fd_csess *a = as_acceptor(c, v->session);
		s = as_opener(c, v->session, v->aux);
		if (s == NULL && a == NULL && tolerated(c, v->session, v->aux))
			return;
		FUZZ_CHECK(s != NULL || a != NULL, "client %u: DOWN for session %u (cookie %u) it "
						   "does not have, or a second DOWN", c->id,
			   v->session, v->aux);
		FUZZ_CHECK(!s || !a || a->peer_pid == c->pid, "client %u: DOWN names two sessions",
			   c->id);
		if (s == NULL)
			s = a;
		if (s->remote && v->session)
			fd_vsess_down(v->session, st.status);
		if (fd.on_down)
			fd.on_down(c, s, st.status);
		if (a)
			memset(a, 0, sizeof(*a));
		memset(s, 0, sizeof(*s));
		return;
	}
	case FERRY_REC_DATA:
		s = fd_csess_find(c, v->session);
		if (s == NULL && tolerated(c, v->session, 0))
			return;
		FUZZ_CHECK(s != NULL && s->remote && (s->state == CS_UP || s->state == CS_CLOSED),
			   "client %u: a message on session %u, which is not an up remote session",
			   c->id, v->session);
		FUZZ_CHECK(v->len <= s->max_msg, "a message of %u bytes on a session of %u", v->len,
			   s->max_msg);
		fd_vsess_delivered(v->session, v->payload, v->len);
		return;
	default:
		FUZZ_CHECK(0, "client %u: event type %u", c->id, v->type);
	}
}

void fd_read_events(struct fd_client *c, uint32_t max)
{
	if (!c->attached || c->shrunk)
		return;
	struct ferry_rec_view v;
	uint32_t n = 0;
	int rc = 1;
	while ((max == 0 || n < max) && (rc = ferry_ring_peek(&c->evt, &v)) > 0) {
		on_event(c, &v);
		n++;
	}
	if (rc < 0) {
		FUZZ_CHECK(c->tampered, "client %u: ferryd wrote a malformed event record", c->id);
		c->reading = false;
	}
	if (ferry_ring_release(&c->evt)) {
		/* ferryd waits for room in our event ring: libferry's wake */
		uint64_t one = 1;
		ssize_t w = write(c->evfd, &one, sizeof(one));
		(void)w;
	}
}

/* ---- client actions from the input -------------------------------------- */

static struct fd_csess *pick(struct fd_client *c, uint8_t k, unsigned states)
{
	unsigned n = 0;
	for (int i = 0; i < FD_CSESS; i++)
		n += c->s[i].state && (states >> c->s[i].state & 1);
	if (n == 0)
		return NULL;
	k %= n;
	for (int i = 0; i < FD_CSESS; i++)
		if (c->s[i].state && (states >> c->s[i].state & 1) && k-- == 0)
			return &c->s[i];
	return NULL;
}

static uint8_t g_payload[1 << 16];

/* A message's bytes: a pattern the input seeds, so short inputs send
 * long messages. */
const uint8_t *fd_pattern(uint32_t len, uint8_t fill, uint32_t n)
{
	/* the fill, with the message's number and the offset every 64 bytes:
	 * messages differ, and a slice moved or repeated shows */
	memset(g_payload, fill, len);
	for (uint32_t i = 0; i + 8 <= len; i += 64) {
		uint64_t w = (uint64_t)n << 32 | i;
		memcpy(g_payload + i, &w, sizeof(w));
	}
	return g_payload;
}

static uint32_t connect_ip(uint8_t target)
{
	switch (target % 6) {
	case 0:
		return 0; /* this host */
	case 1:
		return FD_LOCAL_IP;
	case 5:
		return FD_ALIEN_IP;
	default:
		return FD_LOCAL_IP + (uint32_t)(target % 6) - 1;
	}
}

static void service_cmd(struct fd_client *c, uint16_t type, uint8_t svc)
{
	struct ferry_cmd_service m = {{0}};
	snprintf(m.service, sizeof(m.service), "%s", fd_services[svc % FD_SERVICES]);
	fd_cmd(c, type, 0, 0, ++c->next_cookie, &m, sizeof(m));
}

static void send_data(struct fd_client *c, uint8_t k, uint16_t len, uint8_t count, uint8_t fill)
{
	for (unsigned i = 0; i <= count % 8u; i++) {
		struct fd_csess *s = pick(c, k, 1u << CS_UP);
		if (s == NULL || !s->remote)
			return; /* a local session's data never passes ferryd */
		uint32_t n = len % (s->max_msg + 1u);
		const uint8_t *p = fd_pattern(n, fill, (uint32_t)c->events + i);
		if (fd_cmd(c, FERRY_REC_DATA, 0, s->id, 0, p, n) != 0)
			return;
		fd_vsess_sent(s->id, p, n);
	}
}

void fd_client_op(struct fuzz_in *in, bool hostile_slot0, unsigned leave_alone)
{
	int slot = fuzz_u8(in) % FD_CLIENTS;
	unsigned act = fuzz_u8(in) % FC_NACTIONS;
	uint8_t a = fuzz_u8(in), b = 0, n = 0, fill = 0;
	uint16_t len = 0;
	if (act == FC_CONNECT)
		b = fuzz_u8(in);
	if (act == FC_SEND) {
		len = fuzz_u16(in);
		n = fuzz_u8(in);
		fill = fuzz_u8(in);
	}
	struct fd_client *c = &fd.cl[slot];
	if (leave_alone >> slot & 1)
		return;
	if (flog_enabled(FLOG_DEBUG))
		fprintf(stderr, "client slot %d (id %u): action %u (%u)\n", slot, c->id, act, a);
	if (act == FC_ATTACH) {
		static const char *const names[] = {"app", "we.ird \"name\"\\\x01", "x", ""};
		char name[40];
		snprintf(name, sizeof(name), "%s%d", names[(a >> 2) % 4], slot);
		if (fd_attach(slot, name, 1000 + (uint32_t)slot, a) == 0 && hostile_slot0 && slot == 0)
			c->hostile = true;
		return;
	}
	if (!c->used || c->hung_up || !c->attached)
		return;
	if (c->hostile && act != FC_READ && act != FC_READER && act != FC_HANGUP)
		return; /* its commands are the cmds target's own */
	struct fd_csess *s;
	switch (act) {
	case FC_LISTEN:
	case FC_UNLISTEN:
		service_cmd(c, act == FC_LISTEN ? FERRY_CMD_LISTEN : FERRY_CMD_UNLISTEN, a);
		break;
	case FC_CONNECT: {
		struct ferry_cmd_connect m = {.ipv4 = htonl(connect_ip(a))};
		snprintf(m.service, sizeof(m.service), "%s", fd_services[b % FD_SERVICES]);
		if ((s = cs_new(c)) == NULL)
			break;
		uint32_t cookie = ++c->next_cookie;
		if (fd_cmd(c, FERRY_CMD_CONNECT, 0, 0, cookie, &m, sizeof(m)) == 0)
			*s = (struct fd_csess){.cookie = cookie, .state = CS_OPENING,
					       .to_self = connect_ip(a) == 0 ||
							  connect_ip(a) == FD_LOCAL_IP,
					       .seq = ++c->cs_seq};
		break;
	}
	case FC_ACCEPT:
		if ((s = pick(c, a, 1u << CS_INCOMING)) != NULL &&
		    fd_cmd(c, FERRY_CMD_ACCEPT, 0, s->id, 0, NULL, 0) == 0)
			s->state = CS_ACCEPTING;
		break;
	case FC_REFUSE:
	case FC_CLOSE: {
		unsigned states = act == FC_REFUSE ? 1u << CS_INCOMING
						   : (1u << CS_OPENING | 1u << CS_INCOMING |
						      1u << CS_ACCEPTING | 1u << CS_UP);
		struct ferry_cmd_close m = {0};
		if ((s = pick(c, a, states)) == NULL)
			break;
		m.cookie = s->cookie;
		if (fd_cmd(c, FERRY_CMD_CLOSE, 0, s->id, 0, &m, sizeof(m)) == 0)
			closed(c, s);
		break;
	}
	case FC_SEND:
		send_data(c, a, len, n, fill);
		break;
	case FC_READ:
		fd_read_events(c, a);
		break;
	case FC_READER:
		c->reading = !c->reading;
		break;
	case FC_HANGUP:
		fd_hang_up(c);
		break;
	}
}

/* ---- writing seeds ------------------------------------------------------ */

void fds_client(struct fuzz_out *o, uint8_t slot, uint8_t act, uint8_t a)
{
	fuzz_put8(o, FD_OP_CLIENT);
	fuzz_put8(o, slot);
	fuzz_put8(o, act);
	fuzz_put8(o, a);
}

void fds_connect(struct fuzz_out *o, uint8_t slot, uint8_t target, uint8_t svc)
{
	fds_client(o, slot, FC_CONNECT, target);
	fuzz_put8(o, svc);
}

void fds_send(struct fuzz_out *o, uint8_t slot, uint8_t k, uint16_t len, uint8_t count,
	      uint8_t fill)
{
	fds_client(o, slot, FC_SEND, k);
	fuzz_put16(o, len);
	fuzz_put8(o, count);
	fuzz_put8(o, fill);
}

void fds_peer(struct fuzz_out *o, uint8_t act)
{
	fuzz_put8(o, FD_OP_PEER);
	fuzz_put8(o, act);
}
