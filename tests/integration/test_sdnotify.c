/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The systemd notification contract, end to end: the real ferryd talks to a
 * NOTIFY_SOCKET that this test owns, so the test plays the service manager.
 *
 * The test reads every datagram with the kernel's receive timestamp and the
 * sender's credentials (SO_TIMESTAMPNS, SO_PASSCRED). Timestamps taken by the
 * kernel when the daemon sends are what the watchdog contract is about; a
 * test process that happens to be scheduled late must not turn into a
 * watchdog gap. Credentials show that messages sent after the daemon dropped
 * privileges still arrive, and that they come from the daemon's pid.
 *
 * Harness.h unsets NOTIFY_SOCKET on purpose, so the daemon is started here.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "ferry.h"
#include "harness.h"

/* WATCHDOG_USEC handed to the daemon; it must ping at least this often. */
#define WD_USEC 400000
#define WD_MS (WD_USEC / 1000)
#define MAX_MSGS 512

/* One datagram from the daemon, or (pid 0) a note of what the test did. */
struct msg {
	int64_t t_ns; /* since the start of the test, kernel receive time */
	pid_t pid;
	uid_t uid;
	char text[256]; /* newlines shown as " | " */
};

struct sdn {
	struct daemon d; /* ferryd (pid 0 once reaped), its dirs, socket, log */
	int status;    /* its wait status once reaped */
	int flags;     /* ENV_*: what the daemon's environment gets */
	char ndir[64]; /* the notify socket's dir; owned by root, 0755 */
	char notify[108]; /* NOTIFY_SOCKET as given to the daemon, "@..." if abstract */
	int nfd;
	int64_t t0_ns; /* CLOCK_REALTIME, the clock SO_TIMESTAMPNS uses */
	struct msg msgs[MAX_MSGS];
	int n;
	int done; /* the test ran to its end */
};

static int64_t real_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
	nanosleep(&ts, NULL);
}

static void note(struct sdn *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(struct sdn *s, const char *fmt, ...)
{
	if (s->n >= MAX_MSGS)
		return;
	struct msg *m = &s->msgs[s->n++];
	memset(m, 0, sizeof(*m));
	m->t_ns = real_ns() - s->t0_ns;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(m->text, sizeof(m->text), fmt, ap);
	va_end(ap);
}

static void print_conversation(struct sdn *s)
{
	print_message("---- sd_notify conversation (NOTIFY_SOCKET=%s, WATCHDOG_USEC=%d) ----\n",
		      s->notify, WD_USEC);
	for (int i = 0; i < s->n; i++) {
		const struct msg *m = &s->msgs[i];
		if (m->pid == 0)
			print_message("%+9.1f ms  ---- test: %s\n", (double)m->t_ns / 1e6, m->text);
		else
			print_message("%+9.1f ms  pid %d uid %u  %s\n", (double)m->t_ns / 1e6,
				      (int)m->pid, (unsigned)m->uid, m->text);
	}
	print_message("---- end of conversation ----\n");
}

static void dump_log(const struct sdn *s)
{
	FILE *f = fopen(s->d.log, "r");
	if (f == NULL)
		return;
	char line[512];
	print_message("---- ferryd log ----\n");
	while (fgets(line, sizeof(line), f))
		print_message("%s", line);
	fclose(f);
}

/* ---- the notify socket ---------------------------------------------------- */

static int notify_open(struct sdn *s, int abstract)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	socklen_t len;
	s->nfd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s->nfd < 0)
		return -1;
	if (abstract) {
		snprintf(s->notify, sizeof(s->notify), "@ferry-sdn-%d-%lld", (int)getpid(),
			 (long long)(real_ns() % 1000000007));
		/* sd_notify turns the leading '@' into the NUL of the
		 * abstract namespace; the name is not NUL-terminated */
		memcpy(sa.sun_path + 1, s->notify + 1, strlen(s->notify) - 1);
		len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(s->notify));
	} else {
		snprintf(s->ndir, sizeof(s->ndir), "/tmp/ferry-sdn-XXXXXX");
		if (mkdtemp(s->ndir) == NULL)
			return -1;
		snprintf(s->notify, sizeof(s->notify), "%s/notify", s->ndir);
		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", s->notify);
		len = sizeof(sa);
	}
	if (bind(s->nfd, (struct sockaddr *)&sa, len) < 0)
		return -1;
	/* The daemon sends as its own user after dropping root: it needs to
	 * search the directory and write the socket, nothing more. */
	if (!abstract && (chmod(s->ndir, 0755) < 0 || chmod(s->notify, 0777) < 0))
		return -1;
	int one = 1;
	if (setsockopt(s->nfd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) < 0 ||
	    setsockopt(s->nfd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one)) < 0)
		return -1;
	return 0;
}

/* Receive one datagram within @p timeout_ms and record it.
 * @return the record, or NULL on timeout */
static struct msg *recv_one(struct sdn *s, int timeout_ms)
{
	struct pollfd p = {.fd = s->nfd, .events = POLLIN};
	if (timeout_ms < 0)
		timeout_ms = 0;
	if (poll(&p, 1, timeout_ms) <= 0)
		return NULL;
	char buf[4096];
	union {
		char b[CMSG_SPACE(sizeof(struct ucred)) + CMSG_SPACE(sizeof(struct timespec))];
		struct cmsghdr align;
	} cbuf;
	struct iovec iov = {buf, sizeof(buf) - 1};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1,
			    .msg_control = cbuf.b, .msg_controllen = sizeof(cbuf.b)};
	ssize_t n = recvmsg(s->nfd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	if (n < 0)
		return NULL;
	assert_true(s->n < MAX_MSGS);
	struct msg *m = &s->msgs[s->n++];
	memset(m, 0, sizeof(*m));
	m->t_ns = real_ns() - s->t0_ns; /* if the kernel gave no stamp */
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level != SOL_SOCKET)
			continue;
		if (c->cmsg_type == SCM_CREDENTIALS) {
			struct ucred u;
			memcpy(&u, CMSG_DATA(c), sizeof(u));
			m->pid = u.pid;
			m->uid = u.uid;
		} else if (c->cmsg_type == SCM_TIMESTAMPNS) {
			struct timespec ts;
			memcpy(&ts, CMSG_DATA(c), sizeof(ts));
			m->t_ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec - s->t0_ns;
		}
	}
	buf[n] = '\0';
	/* one line per record: "READY=1 | STATUS=..." */
	size_t o = 0;
	for (ssize_t i = 0; i < n && o + 4 < sizeof(m->text); i++) {
		if (buf[i] == '\n') {
			if (i + 1 < n)
				o += (size_t)snprintf(m->text + o, sizeof(m->text) - o, " | ");
		} else {
			m->text[o++] = buf[i];
		}
	}
	return m;
}

/* Does the datagram carry the assignment @p kv (a whole line)? */
static int has(const struct msg *m, const char *kv)
{
	size_t l = strlen(kv);
	for (const char *p = m->text; (p = strstr(p, kv)) != NULL; p++) {
		int starts = p == m->text || (p >= m->text + 3 && strncmp(p - 3, " | ", 3) == 0);
		int ends = p[l] == '\0' || p[l] == ' ';
		if (starts && ends)
			return 1;
	}
	return 0;
}

/* Receive until a datagram satisfies @p pred, at most @p timeout_ms.
 * @return it, or NULL */
static struct msg *recv_until(struct sdn *s, int timeout_ms, int (*pred)(const struct msg *))
{
	uint64_t end = now_ms() + (uint64_t)timeout_ms;
	for (uint64_t t; (t = now_ms()) < end;) {
		struct msg *m = recv_one(s, (int)(end - t));
		if (m && pred(m))
			return m;
	}
	return NULL;
}

/* Receive everything for @p ms. */
static void recv_for(struct sdn *s, int ms)
{
	uint64_t end = now_ms() + (uint64_t)ms;
	for (uint64_t t; (t = now_ms()) < end;)
		recv_one(s, (int)(end - t));
}

static int is_ready(const struct msg *m) { return has(m, "READY=1"); }
static int is_watchdog(const struct msg *m) { return has(m, "WATCHDOG=1"); }
static int is_stopping(const struct msg *m) { return has(m, "STOPPING=1"); }
static int is_one_client(const struct msg *m) { return strstr(m->text, "STATUS=serving: 1 clients") != NULL; }
static int is_no_client(const struct msg *m) { return strstr(m->text, "STATUS=serving: 0 clients") != NULL; }

/* Check the WATCHDOG=1 pings among records [from, to): at least @p min of
 * them, and none further than WATCHDOG_USEC from the previous one (the
 * first from @p prev_ns, if >= 0). @return the time of the last ping */
static int64_t check_pings(const struct sdn *s, int from, int to, int min, int64_t prev_ns)
{
	int count = 0;
	int64_t worst = 0;
	for (int i = from; i < to; i++) {
		const struct msg *m = &s->msgs[i];
		if (m->pid == 0 || !is_watchdog(m))
			continue;
		if (prev_ns >= 0 && m->t_ns - prev_ns > worst)
			worst = m->t_ns - prev_ns;
		prev_ns = m->t_ns;
		count++;
	}
	print_message("watchdog: %d pings, largest gap %.1f ms (limit %d ms)\n", count,
		      (double)worst / 1e6, WD_MS);
	assert_true(count >= min);
	assert_true(worst <= (int64_t)WD_USEC * 1000);
	return prev_ns;
}

/* ---- the daemon ----------------------------------------------------------- */

enum {
	ENV_NOTIFY = 1,      /* NOTIFY_SOCKET and WATCHDOG_USEC */
	ENV_WATCHDOG_PID = 2 /* WATCHDOG_PID set to the daemon's pid */
};

/* In the daemon's child, before exec: the systemd variables under test. */
static void sdn_env(void *arg)
{
	const struct sdn *s = arg;
	char v[32];
	if (!(s->flags & ENV_NOTIFY))
		return;
	setenv("NOTIFY_SOCKET", s->notify, 1);
	snprintf(v, sizeof(v), "%d", WD_USEC);
	setenv("WATCHDOG_USEC", v, 1);
	if (s->flags & ENV_WATCHDOG_PID) {
		/* sd_watchdog_enabled() ignores the watchdog unless this is
		 * our pid; exec keeps it */
		snprintf(v, sizeof(v), "%d", (int)getpid());
		setenv("WATCHDOG_PID", v, 1);
	}
}

static int sdn_spawn(struct sdn *s, int flags)
{
	s->flags = flags;
	return daemon_spawn(&s->d, NULL, sdn_env, s);
}

/* Wait for the daemon to exit, at most @p ms. @return 1 if it did */
static int daemon_reap(struct sdn *s, int ms)
{
	for (uint64_t end = now_ms() + (uint64_t)ms;;) {
		if (s->d.pid <= 0)
			return 1;
		if (waitpid(s->d.pid, &s->status, WNOHANG) == s->d.pid) {
			s->d.pid = 0;
			return 1;
		}
		if (now_ms() >= end)
			return 0;
		sleep_ms(5);
	}
}

/* Wait until the daemon is stopped by SIGSTOP, at most 2 s. */
static int daemon_wait_stopped(struct sdn *s)
{
	for (uint64_t end = now_ms() + 2000; now_ms() < end;) {
		int st;
		pid_t r = waitpid(s->d.pid, &st, WNOHANG | WUNTRACED);
		if (r == s->d.pid && WIFSTOPPED(st))
			return 1;
		if (r == s->d.pid) {
			s->status = st;
			s->d.pid = 0;
			return 0;
		}
		sleep_ms(2);
	}
	return 0;
}

static int rm_one(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)sb;
	(void)type;
	(void)ftw;
	remove(path);
	return 0;
}

/* ---- setup and teardown --------------------------------------------------- */

static int teardown(void **state);

/* cmocka skips teardown when setup fails, so setup cleans up after itself. */
static int setup_common(void **state, int abstract, int flags)
{
	struct sdn *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return -1;
	s->nfd = -1;
	s->t0_ns = real_ns();
	*state = s;
	if (flags & ENV_NOTIFY) {
		if (notify_open(s, abstract) < 0) {
			print_message("notify socket %s: %s\n", s->notify, strerror(errno));
			s->done = 1;
			teardown(state);
			return -1;
		}
	}
	if (sdn_spawn(s, flags) < 0) {
		print_message("cannot start ferryd: %s\n", strerror(errno));
		s->done = 1;
		teardown(state);
		return -1;
	}
	note(s, "started ferryd, pid %d", (int)s->d.pid);
	return 0;
}

static int setup_path(void **state)
{
	return setup_common(state, 0, ENV_NOTIFY | ENV_WATCHDOG_PID);
}

static int setup_abstract(void **state)
{
	return setup_common(state, 1, ENV_NOTIFY);
}

static int setup_none(void **state)
{
	return setup_common(state, 0, 0);
}

/* Runs after a failed assertion too: kill the daemon, show what happened,
 * remove the scratch directories. */
static int teardown(void **state)
{
	struct sdn *s = *state;
	if (s == NULL)
		return 0;
	if (s->d.pid > 0) {
		kill(s->d.pid, SIGKILL);
		waitpid(s->d.pid, NULL, 0);
		s->d.pid = 0;
	}
	if (!s->done) {
		if (s->nfd >= 0)
			print_conversation(s);
		dump_log(s);
	}
	if (s->nfd >= 0)
		close(s->nfd);
	if (s->ndir[0])
		nftw(s->ndir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
	if (s->d.dir[0])
		nftw(s->d.dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
	if (s->d.shm[0])
		nftw(s->d.shm, rm_one, 8, FTW_DEPTH | FTW_PHYS);
	free(s);
	return 0;
}

/* ---- the tests ------------------------------------------------------------ */

/* READY=1 once set up, with a STATUS= line, before any WATCHDOG=1; sent as
 * the daemon's own user once it has dropped root. @return READY's index */
static int expect_ready(struct sdn *s)
{
	struct msg *r = recv_until(s, 5000, is_ready);
	assert_non_null(r);
	int ready = (int)(r - s->msgs);
	for (int i = 0; i < ready; i++)
		assert_false(s->msgs[i].pid && is_watchdog(&s->msgs[i]));
	assert_non_null(strstr(r->text, "STATUS="));
	assert_int_equal(r->pid, s->d.pid);
	assert_int_equal(r->uid, geteuid() == 0 ? 65534 : geteuid());
	return ready;
}

/* SIGTERM: STOPPING=1 with a STATUS= line, nothing after it but perhaps
 * more STATUS=, and exit 0 within 5 s of the signal. */
static void expect_clean_stop(struct sdn *s)
{
	uint64_t t = now_ms();
	note(s, "SIGTERM");
	assert_int_equal(kill(s->d.pid, SIGTERM), 0);
	struct msg *m = recv_until(s, 5000, is_stopping);
	assert_non_null(m);
	int stopping = (int)(m - s->msgs);
	assert_non_null(strstr(m->text, "STATUS="));
	int64_t left = 5000 - (int64_t)(now_ms() - t);
	assert_true(daemon_reap(s, left > 0 ? (int)left : 0));
	note(s, "ferryd exited, status %d, %llu ms after SIGTERM",
	     WIFEXITED(s->status) ? WEXITSTATUS(s->status) : -1,
	     (unsigned long long)(now_ms() - t));
	while (recv_one(s, 0) != NULL)
		;
	for (int i = stopping + 1; i < s->n; i++)
		assert_false(s->msgs[i].pid && (is_watchdog(&s->msgs[i]) || is_ready(&s->msgs[i])));
	assert_true(WIFEXITED(s->status));
	assert_int_equal(WEXITSTATUS(s->status), 0);
}

static void test_conversation(void **state)
{
	struct sdn *s = *state;

	int ready = expect_ready(s);

	/* steady state: pings every tick (WATCHDOG_USEC / 2) */
	recv_for(s, 1500);
	int64_t last = check_pings(s, ready + 1, s->n, 5, s->msgs[ready].t_ns);

	/* a client attaches: STATUS= says so within a tick or two */
	ferry_opts_t o;
	ferry_opts_init(&o);
	o.socket_path = s->d.sock;
	o.name = "sdnotify";
	ferry_t *f = NULL;
	int from = s->n;
	note(s, "ferry_open");
	int rc = ferry_open(&f, &o);
	if (rc < 0)
		print_message("ferry_open: %s (%s)\n", strerror(-rc), ferry_errmsg());
	assert_int_equal(rc, 0);
	assert_non_null(recv_until(s, 3000, is_one_client));
	note(s, "ferry_close");
	assert_int_equal(ferry_close(f), 0);
	assert_non_null(recv_until(s, 3000, is_no_client));
	recv_for(s, 300);
	last = check_pings(s, from, s->n, 1, last);

	/* stopped: no pings. Whatever was queued before the stop took hold
	 * is read first; the second the daemon spends stopped starts then. */
	note(s, "SIGSTOP");
	assert_int_equal(kill(s->d.pid, SIGSTOP), 0);
	assert_true(daemon_wait_stopped(s));
	while (recv_one(s, 0) != NULL)
		;
	note(s, "ferryd is stopped");
	from = s->n;
	recv_for(s, 1000);
	for (int i = from; i < s->n; i++)
		assert_false(s->msgs[i].pid && is_watchdog(&s->msgs[i]));

	/* continued: pings resume at once and keep the pace */
	note(s, "SIGCONT");
	assert_int_equal(kill(s->d.pid, SIGCONT), 0);
	struct msg *m = recv_until(s, WD_MS, is_watchdog);
	assert_non_null(m);
	recv_for(s, 1200);
	check_pings(s, (int)(m - s->msgs), s->n, 5, -1);

	expect_clean_stop(s);
	print_conversation(s);
	s->done = 1;
}

/* NOTIFY_SOCKET="@name": the abstract namespace, and no WATCHDOG_PID. */
static void test_abstract_socket(void **state)
{
	struct sdn *s = *state;
	int ready = expect_ready(s);
	recv_for(s, 1000);
	check_pings(s, ready + 1, s->n, 3, s->msgs[ready].t_ns);
	expect_clean_stop(s);
	print_conversation(s);
	s->done = 1;
}

/* Not under systemd: a missing NOTIFY_SOCKET is not an error. */
static void test_no_notify_socket(void **state)
{
	struct sdn *s = *state;
	int up = 0;
	for (uint64_t end = now_ms() + 5000; !up && now_ms() < end; sleep_ms(5)) {
		up = h_can_connect(s->d.sock);
		if (!up && daemon_reap(s, 0))
			break;
	}
	assert_true(up);
	ferry_opts_t o;
	ferry_opts_init(&o);
	o.socket_path = s->d.sock;
	ferry_t *f = NULL;
	assert_int_equal(ferry_open(&f, &o), 0);
	assert_int_equal(ferry_close(f), 0);
	sleep_ms(300);
	assert_int_equal(kill(s->d.pid, SIGTERM), 0);
	assert_true(daemon_reap(s, 5000));
	assert_true(WIFEXITED(s->status));
	assert_int_equal(WEXITSTATUS(s->status), 0);
	s->done = 1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_conversation, setup_path, teardown),
		cmocka_unit_test_setup_teardown(test_abstract_socket, setup_abstract, teardown),
		cmocka_unit_test_setup_teardown(test_no_notify_socket, setup_none, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
