/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Local sessions end to end: the real ferryd, the real libferry, client
 * processes. Each test starts its own daemon in a scratch directory.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "harness.h"

static int setup(void **state)
{
	return h_setup_daemon(state, NULL);
}

static int setup_allowed_user(void **state)
{
	static const char *const extra[] = {"--clients.allowed_users=23457", NULL};
	return h_setup_daemon(state, extra);
}

static int setup_timeouts(void **state)
{
	static const char *const extra[] = {"--transport.open_timeout_ms=200",
					    "--limits.max_sessions_per_client=2", NULL};
	return h_setup_daemon(state, extra);
}

static int setup_small_rings(void **state)
{
	static const char *const extra[] = {"--ipc.session_ring_size=65536",
					    "--ipc.max_message_size=16384", NULL};
	return h_setup_daemon(state, extra);
}

static int teardown(void **state)
{
	return h_teardown_daemon(state);
}
/* ---- several processes exchanging checked messages ---------------------- */

#define X_SERVERS 3
#define X_CLIENTS 3
#define X_MSGS 5000
#define X_MAXLEN 4000

struct xsess {
	uint64_t sent, recvd;
	uint32_t stream_out;
};

static void x_fill(uint8_t *buf, uint32_t stream, uint64_t seq, uint32_t len)
{
	memcpy(buf, &stream, 4);
	memcpy(buf + 4, &len, 4);
	memcpy(buf + 8, &seq, 8);
	for (uint32_t i = 16; i < len; i++)
		buf[i] = h_byte(stream, seq, i);
}

/* Returns 0 when every session sent and received X_MSGS intact messages. */
static int x_peer(const struct daemon *d, int id, int is_server)
{
	char name[32], svc[32];
	snprintf(name, sizeof(name), "%s-%d", is_server ? "srv" : "cli", id);
	ferry_t *f = h_open(d, name);
	if (f == NULL)
		return 10;
	int want = is_server ? X_CLIENTS : X_SERVERS;
	if (is_server) {
		/* the result comes as an event in the loop below, with the
		 * incoming sessions that may follow it in the same batch */
		snprintf(svc, sizeof(svc), "svc-%d", id);
		if (ferry_listen(f, svc) != 0)
			return 11;
	} else {
		/* the servers may not listen yet: DOWN with NO_LISTENER makes
		 * the loop below connect again */
		for (int s = 0; s < X_SERVERS; s++) {
			ferry_session_t *h;
			snprintf(svc, sizeof(svc), "svc-%d", s);
			if (ferry_connect(f, NULL, svc, NULL, &h) < 0)
				return 12;
		}
	}
	uint8_t *buf = malloc(X_MAXLEN);
	uint64_t rng = 0x1234567ull + (uint64_t)id * 7919 + (uint64_t)is_server;
	ferry_session_t *ss[8];
	struct xsess xs[8];
	int n = 0, done = 0, rc = 0, retries = 0;
	memset(xs, 0, sizeof(xs));
	/* clients' sessions are up already: find them through the events
	 * that follow; servers accept as sessions come in */
	uint64_t end = h_now_ms() + 60000;
	ferry_event_t ev[64];
	while (done < want && h_now_ms() < end) {
		int k = ferry_poll(f, ev, 64, n && done < n ? 0 : 50);
		if (k < 0) {
			rc = 20;
			break;
		}
		for (int i = 0; i < k; i++) {
			ferry_event_t *e = &ev[i];
			if (e->type == FERRY_EV_LISTEN && e->status != 0) {
				rc = 11;
			} else if (e->type == FERRY_EV_SESSION_UP && n < 8) {
				/* registered in order: its messages may follow in
				 * this same batch */
				ss[n] = e->session;
				xs[n].stream_out = (uint32_t)(id * 16 + n + (is_server ? 1000 : 0));
				ferry_session_set_user(ss[n], &xs[n]);
				n++;
			} else if (e->type == FERRY_EV_INCOMING) {
				ferry_accept(e->session);
			} else if (e->type == FERRY_EV_MESSAGE) {
				struct xsess *x = ferry_session_user(e->session);
				uint32_t stream, len;
				uint64_t seq;
				if (x == NULL || e->len < 16) {
					fprintf(stderr, "%s: message on an unknown session\n", name);
					rc = 21;
					continue;
				}
				memcpy(&stream, e->data, 4);
				memcpy(&len, (const uint8_t *)e->data + 4, 4);
				memcpy(&seq, (const uint8_t *)e->data + 8, 8);
				if (len != e->len || seq != x->recvd) {
					fprintf(stderr, "%s: got seq %llu len %u, expected seq %llu len %zu\n",
						name, (unsigned long long)seq, len,
						(unsigned long long)x->recvd, e->len);
					rc = 22;
					continue;
				}
				for (uint32_t j = 16; j < len; j++)
					if (((const uint8_t *)e->data)[j] != h_byte(stream, seq, j)) {
						rc = 23;
						break;
					}
				if (++x->recvd == X_MSGS && x->sent == X_MSGS)
					done++;
			} else if (e->type == FERRY_EV_SESSION_DOWN) {
				struct xsess *x = ferry_session_user(e->session);
				if (x == NULL && !is_server && e->status == FERRY_REASON_NO_LISTENER &&
				    retries++ < 500) {
					ferry_session_t *h;
					h_sleep_ms(10);
					if (ferry_connect(f, NULL, e->service, NULL, &h) < 0)
						rc = 27;
				} else if (x == NULL || x->recvd < X_MSGS) {
					fprintf(stderr, "%s: session down (%s) after %llu of %d messages\n",
						name, ferry_reason_str(e->status),
						x ? (unsigned long long)x->recvd : 0ull, X_MSGS);
					rc = 24;
				}
				ferry_session_close(e->session);
			}
		}
		/* send a burst on every session */
		for (int s = 0; s < n; s++) {
			struct xsess *x = &xs[s];
			for (int burst = 0; burst < 32 && x->sent < X_MSGS; burst++) {
				uint32_t len = 16 + h_rand(&rng) % (X_MAXLEN - 16);
				x_fill(buf, x->stream_out, x->sent, len);
				int r = ferry_send(ss[s], buf, len, 0);
				if (r == -EAGAIN)
					break;
				if (r < 0) {
					rc = 25;
					break;
				}
				if (++x->sent == X_MSGS && x->recvd == X_MSGS)
					done++;
			}
		}
	}
	if (done < want && rc == 0)
		rc = 26;
	/* let the peers drain before closing: they report CLOSED only after
	 * reading everything, so closing now would also be safe */
	ferry_close(f);
	free(buf);
	return rc;
}

static void test_many_clients_exchange(void **state)
{
	struct daemon *d = *state;
	pid_t pids[X_SERVERS + X_CLIENTS];
	int np = 0;
	for (int i = 0; i < X_SERVERS; i++)
		if ((pids[np++] = fork()) == 0)
			_exit(x_peer(d, i, 1));
	for (int i = 0; i < X_CLIENTS; i++)
		if ((pids[np++] = fork()) == 0)
			_exit(x_peer(d, i, 0));
	for (int i = 0; i < np; i++) {
		int st;
		waitpid(pids[i], &st, 0);
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			daemon_dump_log(d);
		assert_true(WIFEXITED(st));
		assert_int_equal(WEXITSTATUS(st), 0);
	}
	/* everybody detached: every ring file is gone */
	for (uint64_t end = h_now_ms() + 2000; h_count_files(d->shm, "client-") && h_now_ms() < end;)
		h_sleep_ms(10);
	assert_int_equal(h_count_files(d->shm, "client-"), 0);
}

/* ---- a client killed mid-stream ---------------------------------------- */

static void test_sigkill_client(void **state)
{
	struct daemon *d = *state;
	ferry_t *srv = h_open(d, "srv");
	assert_non_null(srv);
	assert_int_equal(h_listen(srv, "sink"), 0);

	pid_t pid = fork();
	if (pid == 0) {
		ferry_t *f = h_open(d, "doomed");
		ferry_session_t *s;
		if (f == NULL || ferry_connect(f, NULL, "sink", NULL, &s) < 0 ||
		    h_wait_event(f, FERRY_EV_SESSION_UP, 3000, NULL) != 1)
			_exit(1);
		uint8_t buf[256];
		for (uint64_t seq = 0;; seq++) {
			x_fill(buf, 7, seq, sizeof(buf));
			while (ferry_send(s, buf, sizeof(buf), 0) == -EAGAIN) {
				ferry_event_t ev[8];
				ferry_poll(f, ev, 8, 10);
			}
		}
	}
	ferry_event_t ev[64];
	uint64_t recvd = 0, killed_at = 0, down_at = 0;
	int down_reason = 0, bad = 0;
	ferry_session_t *sess = NULL;
	for (uint64_t end = h_now_ms() + 10000; h_now_ms() < end && !down_at;) {
		int n = ferry_poll(srv, ev, 64, 20);
		assert_true(n >= 0);
		for (int i = 0; i < n; i++) {
			if (ev[i].type == FERRY_EV_INCOMING)
				ferry_accept(sess = ev[i].session);
			if (ev[i].type == FERRY_EV_MESSAGE) {
				uint64_t seq;
				memcpy(&seq, (const uint8_t *)ev[i].data + 8, 8);
				bad |= seq != recvd || ev[i].len != 256 ||
				       ((const uint8_t *)ev[i].data)[200] != h_byte(7, seq, 200);
				recvd++;
			}
			if (ev[i].type == FERRY_EV_SESSION_DOWN) {
				down_at = h_now_ms();
				down_reason = ev[i].status;
			}
		}
		if (!killed_at && recvd >= 5000) {
			assert_int_equal(h_count_files(d->shm, "client-"), 2);
			kill(pid, SIGKILL);
			killed_at = h_now_ms();
		}
	}
	waitpid(pid, NULL, 0);
	assert_true(killed_at > 0);
	assert_true(down_at > 0);
	assert_int_equal(down_reason, FERRY_REASON_PEER_GONE);
	assert_int_equal(bad, 0);
	/* every message sent before the kill was delivered, in order */
	assert_true(recvd >= 5000);
	/* its ring file is gone */
	assert_int_equal(h_count_files(d->shm, "client-"), 1);
	print_message("killed client reclaimed and peer told in %llu ms\n",
		      (unsigned long long)(down_at - killed_at));
	assert_int_equal(ferry_session_close(sess), 0);

	/* new clients still attach and talk */
	assert_int_equal(h_pair_talks(d, "after"), 0);
	ferry_close(srv);
}

/* ---- the daemon killed under blocked clients ---------------------------- */

static void test_sigkill_daemon(void **state)
{
	struct daemon *d = *state;
	int pfd[2];
	assert_int_equal(pipe(pfd), 0);
	pid_t pid = fork();
	if (pid == 0) {
		struct pair p;
		if (open_pair(d, &p, "svc") < 0)
			_exit(1);
		ssize_t w = write(pfd[1], "u", 1);
		(void)w;
		/* block without a time limit: must come back with the DOWN
		 * and then -ECONNRESET, not hang */
		ferry_event_t ev[8];
		int n = ferry_poll(p.b, ev, 8, -1);
		if (n != 1 || ev[0].type != FERRY_EV_SESSION_DOWN ||
		    ev[0].status != FERRY_REASON_DAEMON_GONE)
			_exit(2);
		if (ferry_send(p.sb, "x", 1, 0) != -EPIPE)
			_exit(3);
		ferry_session_close(p.sb);
		if (ferry_poll(p.b, ev, 8, -1) != -ECONNRESET)
			_exit(4);
		if (ferry_poll(p.a, ev, 8, -1) != 1 || ev[0].type != FERRY_EV_SESSION_DOWN)
			_exit(5);
		ferry_session_close(p.sa);
		if (ferry_poll(p.a, ev, 8, 1000) != -ECONNRESET)
			_exit(6);
		ferry_close(p.a);
		ferry_close(p.b);
		_exit(0);
	}
	char c;
	assert_int_equal(read(pfd[0], &c, 1), 1);
	h_sleep_ms(200); /* let the child settle into its sleep */
	uint64_t t0 = h_now_ms();
	daemon_stop(d, SIGKILL);
	int st;
	waitpid(pid, &st, 0);
	uint64_t dt = h_now_ms() - t0;
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	print_message("blocked clients returned %llu ms after the daemon was killed\n",
		      (unsigned long long)dt);
	assert_true(dt < 3000);
	/* and attaching now fails cleanly */
	ferry_opts_t o;
	ferry_opts_init(&o);
	o.socket_path = d->sock;
	ferry_t *f;
	int rc = ferry_open(&f, &o);
	assert_true(rc == -ECONNREFUSED || rc == -ENOENT);
	assert_non_null(strstr(ferry_errmsg(), "no ferryd"));
}

/* ---- who may attach ------------------------------------------------------ */

static int attach_as(const struct daemon *d, uid_t uid)
{
	pid_t pid = fork();
	if (pid == 0) {
		gid_t g = (gid_t)uid;
		if (setgroups(1, &g) < 0 || setgid(g) < 0 || setuid(uid) < 0)
			_exit(100);
		ferry_opts_t o;
		ferry_opts_init(&o);
		o.socket_path = d->sock;
		ferry_t *f;
		int rc = ferry_open(&f, &o);
		if (rc == 0) {
			ferry_close(f);
			_exit(0);
		}
		if (rc == -EACCES && strstr(ferry_errmsg(), "not allowed"))
			_exit(1);
		_exit(2);
	}
	int st;
	waitpid(pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 99;
}

static void test_user_not_allowed(void **state)
{
	struct daemon *d = *state;
	if (geteuid() != 0)
		skip();
	/* open the socket's mode so the credential check is what decides */
	assert_int_equal(chmod(d->sock, 0666), 0);
	assert_int_equal(attach_as(d, 23456), 1); /* refused with a reason */
	assert_int_equal(attach_as(d, 23457), 0); /* listed: admitted */
}

/* ---- hostile clients ------------------------------------------------------ */

#include "ferry_ring.h"
#include "ferry_shm_util.h"

struct raw {
	int sock, ring_fd, evfd;
	void *map;
	uint64_t len;
	struct ferry_ring cmd;
};

/* Attach by hand, as a hostile program would, keeping the ring fd. */
static int raw_attach(const struct daemon *d, struct raw *r)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", d->sock);
	r->sock = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (connect(r->sock, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -1;
	struct ferry_ctl_attach a = {.magic = FERRY_CTL_MAGIC, .type = FERRY_CTL_ATTACH,
				     .version_major = FERRY_SHM_VERSION_MAJOR};
	strcpy(a.name, "hostile");
	if (send(r->sock, &a, sizeof(a), 0) != sizeof(a))
		return -1;
	struct ferry_ctl_attached rep;
	char cbuf[CMSG_SPACE(4 * sizeof(int))];
	struct iovec iov = {&rep, sizeof(rep)};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			    .msg_controllen = sizeof(cbuf)};
	if (recvmsg(r->sock, &mh, 0) != sizeof(rep) || rep.status != 0)
		return -1;
	int fds[4];
	memcpy(fds, CMSG_DATA(CMSG_FIRSTHDR(&mh)), sizeof(fds));
	r->ring_fd = fds[0];
	r->evfd = fds[2];
	close(fds[1]);
	close(fds[3]);
	if (ferry_shm_map_fd(r->ring_fd, true, FERRY_SHM_MAGIC_CLIENT, &r->map, &r->len, NULL, 0) < 0)
		return -1;
	const struct ferry_shm_hdr *h = r->map;
	return ferry_ring_attach(&r->cmd, r->map, r->len, &h->ring[0], true, 0);
}

static void raw_wake(struct raw *r)
{
	uint64_t one = 1;
	ssize_t w = write(r->evfd, &one, sizeof(one));
	(void)w;
}

/* The daemon must say why (FERRY_CTL_BYE, -EPROTO) and hang up on us
 * within 3 s, stay up, and serve others. */
static void expect_disconnect_and_service(struct daemon *d, struct raw *r)
{
	struct ferry_ctl_bye bye;
	struct timeval tv = {3, 0};
	setsockopt(r->sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	assert_int_equal(recv(r->sock, &bye, sizeof(bye), 0), sizeof(bye));
	assert_int_equal(bye.magic, FERRY_CTL_MAGIC);
	assert_int_equal(bye.type, FERRY_CTL_BYE);
	assert_int_equal(bye.status, -EPROTO);
	assert_non_null(memchr(bye.reason, '\0', sizeof(bye.reason)));
	assert_non_null(strstr(bye.reason, "disconnected"));
	assert_int_equal(recv(r->sock, &bye, sizeof(bye), 0), 0);
	assert_int_equal(kill(d->pid, 0), 0);
	for (uint64_t end = h_now_ms() + 2000; h_count_files(d->shm, "client-") && h_now_ms() < end;)
		h_sleep_ms(10);
	assert_int_equal(h_count_files(d->shm, "client-"), 0);
	struct pair p;
	assert_int_equal(open_pair(d, &p, "still"), 0);
	ferry_close(p.a);
	ferry_close(p.b);
	munmap(r->map, r->len);
	close(r->sock);
	close(r->ring_fd);
	close(r->evfd);
}

static void test_hostile_record(void **state)
{
	struct daemon *d = *state;
	struct raw r;
	assert_int_equal(raw_attach(d, &r), 0);
	/* a record claiming more bytes than the ring has to its end */
	struct ferry_rec *rec = (struct ferry_rec *)r.cmd.data;
	rec->type = FERRY_CMD_LISTEN;
	atomic_store(&rec->len, (uint32_t)r.cmd.cap + 64);
	raw_wake(&r);
	expect_disconnect_and_service(d, &r);
}

static void test_hostile_command(void **state)
{
	struct daemon *d = *state;
	struct raw r;
	assert_int_equal(raw_attach(d, &r), 0);
	/* a well-formed record that is not a command at all */
	assert_int_equal(ferry_ring_write(&r.cmd, 999, 0, 0, "junk", 4), 0);
	raw_wake(&r);
	expect_disconnect_and_service(d, &r);
}

static void test_hostile_truncate(void **state)
{
	struct daemon *d = *state;
	struct raw r;
	assert_int_equal(raw_attach(d, &r), 0);
	munmap(r.map, r.len);
	r.map = NULL;
	/* shrink the file under the daemon's mapping: its next look at our
	 * ring would be a SIGBUS without the guard */
	assert_int_equal(ftruncate(r.ring_fd, 0), 0);
	raw_wake(&r);
	r.map = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	r.len = 4096;
	expect_disconnect_and_service(d, &r);
}

static void test_hostile_socket_message(void **state)
{
	struct daemon *d = *state;
	struct raw r;
	assert_int_equal(raw_attach(d, &r), 0);
	assert_int_equal(send(r.sock, "again", 5, 0), 5);
	expect_disconnect_and_service(d, &r);
}

/* ---- session setup errors ------------------------------------------------- */

static int wait_down(ferry_t *f, int timeout_ms)
{
	ferry_event_t e;
	if (h_wait_event(f, FERRY_EV_SESSION_DOWN, timeout_ms, &e) != 1)
		return -1;
	ferry_session_close(e.session);
	return e.status;
}

static void test_session_errors(void **state)
{
	struct daemon *d = *state;
	ferry_t *a = h_open(d, "a"), *b = h_open(d, "b");
	ferry_session_t *s;
	assert_non_null(a);
	assert_non_null(b);

	assert_int_equal(ferry_connect(a, NULL, "nobody-here", NULL, &s), 0);
	assert_int_equal(wait_down(a, 2000), FERRY_REASON_NO_LISTENER);

	assert_int_equal(ferry_connect(a, "10.99.0.1", "x", NULL, &s), 0);
	assert_int_equal(wait_down(a, 2000), FERRY_REASON_UNREACHABLE);

	assert_int_equal(ferry_listen(a, ""), -EINVAL);
	assert_int_equal(ferry_listen(a, "has space"), -EINVAL);
	assert_int_equal(ferry_listen(a, "0123456789012345678901234567890123"), -EINVAL);
	assert_int_equal(ferry_connect(a, "not-an-ip", "x", NULL, &s), -EINVAL);

	assert_int_equal(h_listen(b, "taken"), 0);
	assert_int_equal(h_listen(b, "taken"), 0); /* again by the owner: fine */
	assert_int_equal(h_listen(a, "taken"), -EADDRINUSE);

	/* the listener refuses */
	assert_int_equal(ferry_connect(a, NULL, "taken", NULL, &s), 0);
	ferry_event_t e;
	assert_int_equal(h_wait_event(b, FERRY_EV_INCOMING, 2000, &e), 1);
	assert_string_equal(e.service, "taken");
	assert_int_equal(ferry_session_close(e.session), 0);
	assert_int_equal(wait_down(a, 2000), FERRY_REASON_REFUSED);

	/* sending before up */
	assert_int_equal(ferry_connect(a, NULL, "taken", NULL, &s), 0);
	assert_int_equal(ferry_send(s, "x", 1, 0), -ENOTCONN);
	ferry_session_close(s);

	/* the listener leaves: new sessions find nobody. ferryd keeps each
	 * client's commands in order but not one client's against another's,
	 * so b waits for an answer to a later command of its own first */
	assert_int_equal(ferry_unlisten(b, "taken"), 0);
	assert_int_equal(h_listen(b, "sync"), 0);
	assert_int_equal(ferry_connect(a, NULL, "taken", NULL, &s), 0);
	assert_int_equal(wait_down(a, 2000), FERRY_REASON_NO_LISTENER);
	ferry_close(a);
	ferry_close(b);
}

static void test_accept_timeout_and_limits(void **state)
{
	struct daemon *d = *state;
	ferry_t *a = h_open(d, "a"), *b = h_open(d, "b");
	assert_int_equal(h_listen(b, "slow"), 0);
	ferry_session_t *s;
	/* nobody accepts: both ends hear about it */
	assert_int_equal(ferry_connect(a, NULL, "slow", NULL, &s), 0);
	uint64_t t0 = h_now_ms();
	ferry_event_t e = {0};
	assert_int_equal(h_wait_event(b, FERRY_EV_INCOMING, 2000, &e), 1);
	assert_int_equal(wait_down(a, 3000), FERRY_REASON_TIMEOUT);
	assert_true(h_now_ms() - t0 >= 150);
	/* the incoming handle b got is down too */
	assert_int_equal(ferry_accept(e.session), 0);
	assert_int_equal(wait_down(b, 2000), FERRY_REASON_TIMEOUT);

	/* a third session on a client is refused with LIMIT */
	ferry_session_t *s1, *s2, *s3;
	assert_int_equal(ferry_connect(a, NULL, "slow", NULL, &s1), 0);
	assert_int_equal(ferry_connect(a, NULL, "slow", NULL, &s2), 0);
	assert_int_equal(ferry_connect(a, NULL, "slow", NULL, &s3), 0);
	assert_int_equal(wait_down(a, 2000), FERRY_REASON_LIMIT);
	ferry_close(a);
	ferry_close(b);
}

/* An INCOMING whose session ended before the listener polled: both come
 * in one batch, and accepting it says the session is gone (-ECONNRESET),
 * not that it never was incoming. */
static void test_accept_after_end(void **state)
{
	struct daemon *d = *state;
	ferry_t *a = h_open(d, "a"), *b = h_open(d, "b");
	ferry_session_t *s;
	ferry_event_t ev[16];
	assert_int_equal(h_listen(b, "brief"), 0);
	assert_int_equal(ferry_connect(a, NULL, "brief", NULL, &s), 0);
	/* the opener gives up once ferryd has announced it (its commands are
	 * taken in order), before b looks */
	assert_int_equal(ferry_session_close(s), 0);
	usleep(300 * 1000);
	int n = ferry_poll(b, ev, 16, 1000);
	ferry_session_t *in = NULL;
	bool down = false;
	for (int i = 0; i < n; i++) {
		if (ev[i].type == FERRY_EV_INCOMING)
			in = ev[i].session;
		else if (ev[i].type == FERRY_EV_SESSION_DOWN && ev[i].session == in)
			down = true;
	}
	assert_non_null(in);
	assert_true(down);
	assert_int_equal(ferry_accept(in), -ECONNRESET);
	assert_non_null(strstr(ferry_errmsg(), "ended before it was accepted"));
	assert_int_equal(ferry_session_close(in), 0);
	ferry_close(a);
	ferry_close(b);
}

/* ---- back-pressure, zero copy, close ------------------------------------- */

static void test_backpressure(void **state)
{
	struct daemon *d = *state;
	struct pair p;
	assert_int_equal(open_pair(d, &p, "bp"), 0);
	assert_int_equal(ferry_max_message(p.a), 16384);
	uint8_t buf[1000];
	uint64_t sent = 0;
	int rc;
	while ((rc = ferry_send(p.sa, buf, sizeof(buf), 0)) == 0)
		sent++;
	assert_int_equal(rc, -EAGAIN);
	assert_true(sent > 30 && sent < 66);
	uint8_t big[20000];
	assert_int_equal(ferry_send(p.sa, big, sizeof(big), 0), -EMSGSIZE);
	/* the reader drains; the writer hears it may go on */
	uint64_t got = 0;
	ferry_event_t ev[16];
	while (got < sent) {
		int n = ferry_poll(p.b, ev, 16, 1000);
		assert_true(n > 0);
		for (int i = 0; i < n; i++)
			got += ev[i].type == FERRY_EV_MESSAGE;
	}
	ferry_poll(p.b, ev, 16, 0); /* releases the last batch */
	assert_int_equal(h_wait_event(p.a, FERRY_EV_WRITABLE, 2000, NULL), 1);
	assert_int_equal(ferry_send(p.sa, buf, sizeof(buf), 0), 0);
	ferry_close(p.a);
	ferry_close(p.b);
}

static void test_zero_copy(void **state)
{
	struct daemon *d = *state;
	struct pair p;
	assert_int_equal(open_pair(d, &p, "zc"), 0);
	void *w, *w2;
	assert_int_equal(ferry_reserve(p.sa, 100, &w), 0);
	assert_int_equal(ferry_reserve(p.sa, 100, &w2), -EINVAL);
	memcpy(w, "hello zero copy", 15);
	assert_int_equal(ferry_commit(p.sa, w, 200, 0), -EINVAL);
	assert_int_equal(ferry_commit(p.sa, w, 15, 0), 0);
	ferry_event_t e;
	assert_int_equal(h_wait_event(p.b, FERRY_EV_MESSAGE, 2000, &e), 1);
	assert_int_equal(e.len, 15);
	assert_memory_equal(e.data, "hello zero copy", 15);
	assert_true(ferry_session_is_local(p.sb));
	assert_int_equal(ferry_session_id(p.sa), ferry_session_id(p.sb));
	ferry_close(p.a);
	ferry_close(p.b);
}

static void test_close_delivers_everything(void **state)
{
	struct daemon *d = *state;
	struct pair p;
	assert_int_equal(open_pair(d, &p, "fin"), 0);
	for (uint64_t i = 0; i < 1000; i++)
		assert_int_equal(ferry_send(p.sa, &i, sizeof(i), 0), 0);
	/* detaching closes the session; the peer still gets all 1000 */
	ferry_close(p.a);
	uint64_t got = 0;
	int down = 0;
	ferry_event_t ev[64];
	for (uint64_t end = h_now_ms() + 3000; !down && h_now_ms() < end;) {
		int n = ferry_poll(p.b, ev, 64, 50);
		assert_true(n >= 0);
		for (int i = 0; i < n; i++) {
			if (ev[i].type == FERRY_EV_MESSAGE) {
				uint64_t v;
				memcpy(&v, ev[i].data, 8);
				assert_int_equal(v, got);
				got++;
			}
			if (ev[i].type == FERRY_EV_SESSION_DOWN) {
				assert_int_equal(ev[i].status, FERRY_REASON_CLOSED);
				assert_int_equal(got, 1000);
				down = 1;
			}
		}
	}
	assert_int_equal(down, 1);
	ferry_close(p.b);
}

/* ---- many sessions, few of them active ---------------------------------- */

/* A poll walks only the sessions that may have events (a local ring to
 * read, a DOWN to report, a blocked send) and releases only the rings it
 * read: with many sessions open, what one busy session sends all arrives,
 * in order, through rings many times smaller than the stream; DOWN and
 * WRITABLE reach exactly the sessions they concern, once. */

#define MS_N 100
#define MS_BUSY 37
#define MS_STREAM 20000

struct ms_side {
	ferry_session_t *s[MS_N]; /* by index, the same on both sides */
	uint64_t msgs[MS_N], next_seq[MS_N];
	int downs[MS_N], down_reason[MS_N], writables[MS_N];
	int bad; /* a message out of order, or an event for no known session */
};

static int ms_index(const struct ms_side *m, const ferry_session_t *s)
{
	for (int k = 0; k < MS_N; k++)
		if (m->s[k] == s)
			return k;
	return -1;
}

/* One poll of @p f with room for @p max events, tallied into @p m.
 * @return the number of events */
static int ms_poll(ferry_t *f, struct ms_side *m, int max, int timeout_ms)
{
	ferry_event_t ev[64];
	int n = ferry_poll(f, ev, max, timeout_ms);
	assert_true(n >= 0);
	for (int i = 0; i < n; i++) {
		int k = ms_index(m, ev[i].session);
		if (k < 0) {
			m->bad++;
			continue;
		}
		switch (ev[i].type) {
		case FERRY_EV_MESSAGE: {
			uint64_t seq;
			assert_int_equal(ev[i].len, sizeof(seq));
			memcpy(&seq, ev[i].data, sizeof(seq));
			m->bad += seq != m->next_seq[k];
			m->next_seq[k] = seq + 1;
			m->msgs[k]++;
			break;
		}
		case FERRY_EV_SESSION_DOWN:
			m->downs[k]++;
			m->down_reason[k] = ev[i].status;
			break;
		case FERRY_EV_WRITABLE:
			m->writables[k]++;
			break;
		default:
			m->bad++;
		}
	}
	return n;
}

/* Send messages seq .. seq + count - 1 on session k of @p m. */
static void ms_send(struct ms_side *m, int k, uint64_t seq, uint64_t count)
{
	for (uint64_t i = seq; i < seq + count; i++)
		assert_int_equal(ferry_send(m->s[k], &i, sizeof(i), 0), 0);
}

/* Fill session k's ring until a send says -EAGAIN. @return messages sent */
static uint64_t ms_fill(struct ms_side *m, int k)
{
	uint64_t i = 0;
	int rc;
	while ((rc = ferry_send(m->s[k], &i, sizeof(i), 0)) == 0)
		i++;
	assert_int_equal(rc, -EAGAIN);
	return i;
}

/* Poll until session k has @p msgs messages (and @p downs DOWNs). */
static void ms_wait(ferry_t *f, struct ms_side *m, int k, uint64_t msgs, int downs)
{
	for (uint64_t end = h_now_ms() + 3000; h_now_ms() < end;) {
		if (m->msgs[k] >= msgs && m->downs[k] >= downs)
			break;
		ms_poll(f, m, 64, 10);
	}
	assert_int_equal(m->msgs[k], msgs);
	assert_int_equal(m->downs[k], downs);
}

static void test_many_sessions_few_active(void **state)
{
	struct daemon *d = *state;
	ferry_t *a = h_open(d, "a"), *b = h_open(d, "b");
	assert_non_null(a);
	assert_non_null(b);
	assert_int_equal(h_listen(b, "many"), 0);
	struct ms_side *ma = calloc(1, sizeof(*ma)), *mb = calloc(1, sizeof(*mb));
	assert_non_null(ma);
	assert_non_null(mb);
	for (int k = 0; k < MS_N; k++)
		assert_int_equal(ferry_connect(a, NULL, "many", NULL, &ma->s[k]), 0);
	/* accept all; b's handles get a's indexes through the shared id */
	int incoming = 0, up_a = 0, up_b = 0;
	ferry_session_t *in[MS_N];
	ferry_event_t ev[64];
	for (uint64_t end = h_now_ms() + 5000; (up_a < MS_N || up_b < MS_N) && h_now_ms() < end;) {
		int n = ferry_poll(b, ev, 64, 1);
		for (int i = 0; i < n; i++) {
			if (ev[i].type == FERRY_EV_INCOMING) {
				assert_true(incoming < MS_N);
				in[incoming++] = ev[i].session;
				assert_int_equal(ferry_accept(ev[i].session), 0);
			}
			up_b += ev[i].type == FERRY_EV_SESSION_UP;
		}
		n = ferry_poll(a, ev, 64, 1);
		for (int i = 0; i < n; i++)
			up_a += ev[i].type == FERRY_EV_SESSION_UP;
	}
	assert_int_equal(up_a, MS_N);
	assert_int_equal(up_b, MS_N);
	for (int k = 0; k < MS_N; k++)
		for (int j = 0; j < MS_N; j++)
			if (ferry_session_id(in[j]) == ferry_session_id(ma->s[k]))
				mb->s[k] = in[j];
	for (int k = 0; k < MS_N; k++)
		assert_non_null(mb->s[k]);

	/* one busy session streams many rings' worth: every record read is
	 * released, or the sender would stall */
	uint64_t seq = 0;
	while (seq < MS_STREAM) {
		int rc = ferry_send(ma->s[MS_BUSY], &seq, sizeof(seq), 0);
		if (rc == 0) {
			seq++;
			continue;
		}
		assert_int_equal(rc, -EAGAIN);
		ms_poll(b, mb, 64, 0);
		ms_poll(a, ma, 64, 0);
	}
	ms_wait(b, mb, MS_BUSY, MS_STREAM, 0);
	for (int k = 0; k < MS_N; k++)
		if (k != MS_BUSY)
			assert_int_equal(mb->msgs[k], 0);

	/* ten sessions with a few messages each, read one event per poll:
	 * every session's messages arrive, in order, none starved */
	for (int k = 0; k < 10; k++)
		ms_send(ma, k, 0, 3);
	uint64_t total = 0;
	for (uint64_t end = h_now_ms() + 3000; total < 30 && h_now_ms() < end;)
		total += (uint64_t)ms_poll(b, mb, 1, 10);
	assert_int_equal(total, 30);
	for (int k = 0; k < 10; k++)
		assert_int_equal(mb->msgs[k], 3);

	/* a session that ends with messages unread: they come first, then
	 * its DOWN, once */
	ms_send(ma, 50, 0, 50);
	assert_int_equal(ferry_session_close(ma->s[50]), 0);
	ma->s[50] = NULL;
	ms_wait(b, mb, 50, 50, 1);
	assert_int_equal(mb->down_reason[50], FERRY_REASON_CLOSED);

	/* two blocked sends: the one whose reader drains hears WRITABLE, the
	 * one whose reader goes away hears DOWN and nothing else */
	uint64_t f51 = ms_fill(mb, 51);
	ms_wait(a, ma, 51, f51, 0);
	ms_poll(a, ma, 64, 0); /* releases the last batch */
	ms_fill(mb, 52);       /* a reads no more */
	assert_int_equal(ferry_session_close(ma->s[52]), 0);
	ma->s[52] = NULL;
	for (uint64_t end = h_now_ms() + 3000;
	     (mb->writables[51] == 0 || mb->downs[52] == 0) && h_now_ms() < end;)
		ms_poll(b, mb, 64, 10);
	assert_int_equal(mb->writables[51], 1);
	assert_int_equal(mb->downs[52], 1);
	assert_int_equal(mb->writables[52], 0);

	/* fifty sessions end at once: fifty DOWNs, one each */
	for (int k = 60; k < 100; k++) {
		assert_int_equal(ferry_session_close(mb->s[k]), 0);
		mb->s[k] = NULL;
	}
	for (int k = 10; k < 20; k++) {
		assert_int_equal(ferry_session_close(mb->s[k]), 0);
		mb->s[k] = NULL;
	}
	int downs = 0;
	for (uint64_t end = h_now_ms() + 3000; downs < 50 && h_now_ms() < end;) {
		ms_poll(a, ma, 64, 10);
		downs = 0;
		for (int k = 0; k < MS_N; k++)
			downs += ma->downs[k];
	}
	ms_poll(a, ma, 64, 20);
	for (int k = 0; k < MS_N; k++) {
		int ended = (k >= 10 && k < 20) || k >= 60;
		assert_int_equal(ma->downs[k], ended);
		if (ended)
			assert_int_equal(ma->down_reason[k], FERRY_REASON_CLOSED);
	}
	assert_int_equal(ma->bad, 0);
	assert_int_equal(mb->bad, 0);
	ferry_close(a);
	ferry_close(b);
	free(ma);
	free(mb);
}

static void test_graceful_shutdown(void **state)
{
	struct daemon *d = *state;
	struct pair p;
	assert_int_equal(open_pair(d, &p, "bye"), 0);
	for (uint64_t i = 0; i < 100; i++)
		assert_int_equal(ferry_send(p.sa, &i, sizeof(i), 0), 0);
	kill(d->pid, SIGTERM);
	uint64_t got = 0;
	int status = 0;
	ferry_event_t ev[64];
	for (uint64_t end = h_now_ms() + 3000; !status && h_now_ms() < end;) {
		int n = ferry_poll(p.b, ev, 64, 50);
		assert_true(n >= 0);
		for (int i = 0; i < n; i++) {
			got += ev[i].type == FERRY_EV_MESSAGE;
			if (ev[i].type == FERRY_EV_SESSION_DOWN)
				status = ev[i].status;
		}
	}
	assert_int_equal(status, FERRY_REASON_SHUTDOWN);
	assert_int_equal(got, 100);
	int st;
	assert_int_equal(waitpid(d->pid, &st, 0), d->pid);
	d->pid = 0;
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	/* the daemon removed its files and socket */
	assert_int_equal(h_count_files(d->shm, "client-"), 0);
	assert_int_equal(h_count_files(d->shm, "status"), 0);
	assert_int_equal(access(d->sock, F_OK), -1);
	ferry_close(p.a);
	ferry_close(p.b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_many_clients_exchange, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sigkill_client, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sigkill_daemon, setup, teardown),
		cmocka_unit_test_setup_teardown(test_user_not_allowed, setup_allowed_user, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_record, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_command, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_truncate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_socket_message, setup, teardown),
		cmocka_unit_test_setup_teardown(test_session_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_accept_timeout_and_limits, setup_timeouts, teardown),
		cmocka_unit_test_setup_teardown(test_accept_after_end, setup, teardown),
		cmocka_unit_test_setup_teardown(test_backpressure, setup_small_rings, teardown),
		cmocka_unit_test_setup_teardown(test_zero_copy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_close_delivers_everything, setup, teardown),
		cmocka_unit_test_setup_teardown(test_graceful_shutdown, setup, teardown),
		cmocka_unit_test_setup_teardown(test_many_sessions_few_active, setup_small_rings,
						teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
