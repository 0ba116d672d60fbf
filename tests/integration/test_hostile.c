/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Hostile local clients against the real ferryd and the real libferry:
 *
 *  - a listener that stops reading its events while another client opens
 *    and closes thousands of sessions to it: its backlog passes ferryd's
 *    limit of queued events while ferryd tells it a session ended, and
 *    ferryd must disconnect it without ending that session twice;
 *  - the same with a listener whose event ring head is impossible (it
 *    corrupted its own ring): ferryd finds out while telling it a session
 *    ended;
 *  - a client whose command ring is corrupted, or that writes a record
 *    that is no command: ferryd disconnects it, and libferry says so
 *    (-EPROTO, "disconnected ... corrupt" / "malformed"), not "ferryd is
 *    gone" (-ECONNRESET);
 *  - a client that waits on ferry_fd() and then does the worst it can to
 *    every wake descriptor it shares with ferryd (clears O_NONBLOCK on the
 *    open file, fills it, floods it, shuts it down) while ferryd keeps
 *    waking it: ferryd must not block on any of them.
 *
 * Each test starts its own daemon in a scratch directory and checks that
 * it is alive and serving afterwards.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "ferry_ring.h"
#include "ferry_shm_util.h"
#include "harness.h"

/* Small rings, limits far above the default, and sessions that wait for
 * their accept as long as ferryd allows: the backlog is all that moves. */
static const char *const busy_args[] = {
	"--ipc.client_ring_size=65536",   "--ipc.session_ring_size=65536",
	"--ipc.max_message_size=16384",   "--limits.max_sessions=16384",
	"--limits.max_sessions_per_client=16384", "--transport.open_timeout_ms=600000",
	NULL};

static int setup_busy(void **state)
{
	return h_setup_daemon(state, busy_args);
}

/* ---- what every test checks at the end ----------------------------------- */

/* The last lines of ferryd's log that say why it died, if they are there. */
static void print_death(const struct daemon *d, int st)
{
	if (WIFSIGNALED(st))
		print_message("ferryd died of signal %d (%s)\n", WTERMSIG(st), strsignal(WTERMSIG(st)));
	else
		print_message("ferryd exited with status %d\n", WEXITSTATUS(st));
	FILE *f = fopen(d->log, "r");
	if (f == NULL)
		return;
	char line[512];
	int shown = 0;
	while (fgets(line, sizeof(line), f) && shown < 12)
		if (strstr(line, "ERROR: AddressSanitizer") || strstr(line, "SUMMARY:") ||
		    strstr(line, "free()") || strstr(line, "double free") ||
		    strstr(line, "corrupted") || strstr(line, "runtime error")) {
			print_message("  ferryd log: %s", line);
			shown++;
		}
	fclose(f);
}

/* ferryd is alive, attaches a new pair of clients and carries a message
 * between them. */
static void assert_daemon_serves(struct daemon *d)
{
	int st;
	pid_t w = waitpid(d->pid, &st, WNOHANG);
	if (w == d->pid) {
		print_death(d, st);
		d->pid = 0;
		fail_msg("ferryd is gone");
	}
	assert_int_equal(h_pair_talks(d, "still-there"), 0);
}

/* ---- a client's ring file, mapped by a hostile hand ---------------------- */

struct ringfile {
	void *map;
	uint64_t len;
	struct ferry_ring cmd; /* as its producer, the client */
	struct ferry_ring evt; /* as its consumer, the client */
};

/* Map the only client-* file in the shm dir (the client just attached). */
static void map_only_client(const struct daemon *d, struct ringfile *r)
{
	if (geteuid() != 0) {
		print_message("skipped: opening ferryd's ring file needs root\n");
		skip();
	}
	assert_int_equal(h_count_files(d->shm, "client-"), 1);
	DIR *dir = opendir(d->shm);
	assert_non_null(dir);
	struct dirent *e;
	char path[512] = "";
	while ((e = readdir(dir)) != NULL)
		if (strncmp(e->d_name, "client-", 7) == 0)
			snprintf(path, sizeof(path), "%s/%s", d->shm, e->d_name);
	closedir(dir);
	int fd = open(path, O_RDWR | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(ferry_shm_map_fd(fd, true, FERRY_SHM_MAGIC_CLIENT, &r->map, &r->len, NULL, 0),
			 0);
	close(fd);
	const struct ferry_shm_hdr *h = r->map;
	assert_int_equal(ferry_ring_attach(&r->cmd, r->map, r->len, &h->ring[0], true, 0), 0);
	assert_int_equal(ferry_ring_attach(&r->evt, r->map, r->len, &h->ring[1], false, 0), 0);
}

/* ---- a listener far behind on its events ---------------------------------- */

/* Open @p n sessions from @p o to service @p svc; nobody accepts them. */
static void open_many(ferry_t *o, const char *svc, ferry_session_t **s, int n)
{
	ferry_event_t ev[64];
	for (int i = 0; i < n; i++) {
		int rc;
		while ((rc = ferry_connect(o, NULL, svc, NULL, &s[i])) == -EAGAIN)
			assert_true(ferry_poll(o, ev, 64, 10) >= 0);
		assert_int_equal(rc, 0);
	}
	/* ferryd has read them all once the ring is empty: a command after
	 * them comes back */
	assert_int_equal(h_listen(o, "sync"), 0);
}

/*
 * The listener reads nothing. Each open queues INCOMING for it, each close
 * DOWN. With 4096 sessions opened, then closed, the listener's event number
 * (ring capacity + 4097) that passes the backlog limit is one of the DOWNs,
 * written from inside the end of a session: ferryd must disconnect the
 * listener and carry on, not end the same session again.
 */
static void test_backlog_limit_during_close(void **state)
{
	struct daemon *d = *state;
	enum { N = 4096 };
	ferry_t *l = h_open(d, "deaf");
	ferry_t *o = h_open(d, "opener");
	assert_non_null(l);
	assert_non_null(o);
	assert_int_equal(h_listen(l, "hold"), 0);
	static ferry_session_t *s[N];
	open_many(o, "hold", s, N);
	for (int i = 0; i < N; i++)
		assert_int_equal(ferry_session_close(s[i]), 0);
	/* the closes reach ferryd: a command after them comes back */
	int rc = h_listen(o, "sync2");
	assert_daemon_serves(d);
	assert_int_equal(rc, 0);
	/* the deaf listener was disconnected; its ring file is gone */
	int n;
	ferry_event_t ev[64];
	for (uint64_t end = h_now_ms() + 3000; h_now_ms() < end;)
		if ((n = ferry_poll(l, ev, 64, 10)) < 0)
			break;
	assert_true(n < 0);
	ferry_close(l);
	ferry_close(o);
	for (uint64_t end = h_now_ms() + 2000; h_count_files(d->shm, "client-") && h_now_ms() < end;)
		h_sleep_ms(10);
	assert_int_equal(h_count_files(d->shm, "client-"), 0);
}

/*
 * The listener's event ring fills with INCOMING, more wait in ferryd's
 * backlog, then the listener writes an impossible head into its ring. A
 * close makes ferryd tell it DOWN, find the head, and disconnect it, from
 * inside the end of that session.
 */
static void test_bad_event_head_during_close(void **state)
{
	struct daemon *d = *state;
	/* a 64 KiB ring holds about 1000 INCOMING (64 bytes each) */
	enum { N = 1500 };
	ferry_t *l = h_open(d, "liar");
	assert_non_null(l);
	struct ringfile r;
	map_only_client(d, &r);
	ferry_t *o = h_open(d, "opener");
	assert_non_null(o);
	assert_int_equal(h_listen(l, "hold"), 0);
	static ferry_session_t *s[N];
	open_many(o, "hold", s, N);
	/* a head ahead of everything ferryd wrote */
	atomic_store(&r.evt.ctl->head, (uint64_t)1 << 40);
	assert_int_equal(ferry_session_close(s[0]), 0);
	int rc = h_listen(o, "sync2");
	assert_daemon_serves(d);
	assert_int_equal(rc, 0);
	for (int i = 1; i < N; i++)
		ferry_session_close(s[i]);
	munmap(r.map, r.len);
	ferry_close(l);
	ferry_close(o);
}

/* ---- a client that corrupts its own command ring ---------------------------- */

/* ferry_poll() of a client ferryd disconnected: -EPROTO within 3 s, and an
 * error message with @p word in it; other calls say the same. */
static void expect_disconnected(ferry_t *f, const char *word)
{
	ferry_event_t ev[8];
	int n = 0;
	for (uint64_t end = h_now_ms() + 3000; h_now_ms() < end;)
		if ((n = ferry_poll(f, ev, 8, 20)) < 0)
			break;
	print_message("ferry_poll: %d (%s), \"%s\"\n", n, n < 0 ? strerror(-n) : "events",
		      ferry_errmsg());
	assert_int_equal(n, -EPROTO);
	assert_non_null(strstr(ferry_errmsg(), "disconnected"));
	assert_non_null(strstr(ferry_errmsg(), word));
	ferry_session_t *s;
	int rc = ferry_connect(f, NULL, "any", NULL, &s);
	print_message("ferry_connect afterwards: %d (%s), \"%s\"\n", rc, strerror(-rc),
		      ferry_errmsg());
	assert_int_equal(rc, -EPROTO);
}

/* Make ferryd look at every client's ring now: another client's command
 * wakes it, and it reads all rings in that pass. */
static void wake_daemon(struct daemon *d)
{
	ferry_t *w = h_open(d, "waker");
	assert_non_null(w);
	assert_int_equal(h_listen(w, "wake"), 0);
	ferry_close(w);
}

static void test_corrupt_command_ring(void **state)
{
	struct daemon *d = *state;
	ferry_t *f = h_open(d, "corrupt");
	assert_non_null(f);
	struct ringfile r;
	map_only_client(d, &r);
	/* where libferry's first command goes: a record longer than the ring */
	struct ferry_rec *rec = (struct ferry_rec *)r.cmd.data;
	rec->type = FERRY_CMD_LISTEN;
	atomic_store(&rec->len, (uint32_t)r.cmd.cap + 64);
	wake_daemon(d);
	expect_disconnected(f, "corrupt");
	munmap(r.map, r.len);
	ferry_close(f);
	assert_daemon_serves(d);
}

static void test_malformed_command(void **state)
{
	struct daemon *d = *state;
	ferry_t *f = h_open(d, "malformed");
	assert_non_null(f);
	struct ringfile r;
	map_only_client(d, &r);
	/* a well-formed record that is no command at all */
	assert_int_equal(ferry_ring_write(&r.cmd, 999, 0, 0, "junk", 4), 0);
	wake_daemon(d);
	expect_disconnected(f, "malformed");
	munmap(r.map, r.len);
	ferry_close(f);
	assert_daemon_serves(d);
}

/* ---- wake descriptors spoiled by their client ------------------------------ */

/* Every descriptor this process holds that it may share with ferryd (an
 * eventfd, a socket other than a control socket) but the epoll set
 * ferry_fd() returned: O_NONBLOCK cleared on the open file, what can be
 * filled filled to the brim, datagram sockets flooded and shrunk. */
static void spoil_wake_fds(int keep)
{
	DIR *dir = opendir("/proc/self/fd");
	assert_non_null(dir);
	struct dirent *e;
	while ((e = readdir(dir)) != NULL) {
		int fd = atoi(e->d_name);
		if (fd <= 2 || fd == keep || fd == dirfd(dir))
			continue;
		char path[64], what[128] = "";
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		ssize_t n = readlink(path, what, sizeof(what) - 1);
		if (n <= 0)
			continue;
		what[n] = '\0';
		int type = 0;
		socklen_t tl = sizeof(type);
		if (strcmp(what, "anon_inode:[eventfd]") == 0) {
			/* fill it to the brim while a write cannot block us (empty
			 * it first: someone may have just rung it), then clear
			 * O_NONBLOCK for everyone who shares the open file */
			fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
			for (int i = 0; i < 100; i++) {
				uint64_t v;
				ssize_t r = read(fd, &v, sizeof(v));
				(void)r;
				v = 0xfffffffffffffffeull;
				if (write(fd, &v, sizeof(v)) == sizeof(v))
					break;
			}
			fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
		} else if (strncmp(what, "socket:", 7) == 0 &&
			   getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) == 0 &&
			   type != SOCK_SEQPACKET) {
			fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
			int small = 1;
			setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
			static const uint64_t junk = 0xfffffffffffffffeull;
			for (int i = 0; i < 10000; i++)
				if (send(fd, &junk, sizeof(junk), MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
					break;
		}
	}
	closedir(dir);
}

/*
 * The client arms ferry_fd() (its bell says: wake me through my wake
 * descriptor), spoils every descriptor it shares with ferryd, and asks for
 * something that makes ferryd write it an event, so ferryd wakes it, over
 * and over. With the eventfds of shm layout 1.2 the first wake blocked
 * ferryd in write() for good; a 1.3 wake is a datagram sent MSG_DONTWAIT.
 */
static void test_wake_fds_cannot_block(void **state)
{
	struct daemon *d = *state;
	ferry_t *f = h_open(d, "spoiler");
	assert_non_null(f);
	int ep = ferry_fd(f);
	assert_true(ep >= 0);
	ferry_event_t ev[16];
	for (int i = 0; i < 20; i++) {
		/* gather what came and arm (sleeping = on the fd) */
		while (ferry_poll(f, ev, 16, 0) > 0)
			;
		spoil_wake_fds(ep);
		char svc[32];
		snprintf(svc, sizeof(svc), "spoiled-%d", i);
		assert_int_equal(ferry_listen(f, svc), 0);
		/* ferryd wrote the answer, then woke us through the fd */
		assert_int_equal(h_wait_event(f, FERRY_EV_LISTEN, 3000, NULL), 1);
		/* before we touch the fds again (our next arm empties them,
		 * which would free a ferryd stuck on them): it must serve */
		assert_daemon_serves(d);
	}
	assert_daemon_serves(d);
	ferry_close(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_backlog_limit_during_close, setup_busy, h_teardown_daemon),
		cmocka_unit_test_setup_teardown(test_bad_event_head_during_close, setup_busy, h_teardown_daemon),
		cmocka_unit_test_setup_teardown(test_corrupt_command_ring, setup_busy, h_teardown_daemon),
		cmocka_unit_test_setup_teardown(test_malformed_command, setup_busy, h_teardown_daemon),
		cmocka_unit_test_setup_teardown(test_wake_fds_cannot_block, setup_busy, h_teardown_daemon),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
